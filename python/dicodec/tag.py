"""Tags and the standard data dictionary."""

from __future__ import annotations

from typing import Optional, Tuple, Union

from . import _native

__all__ = ["Tag", "TagLike", "tag_for_keyword", "keyword_for_tag", "dictionary_VR", "dictionary_description"]


class Tag(int):
    """A data element tag: an ``int`` (``group << 16 | element``) that prints as ``(gggg,eeee)``."""

    __slots__ = ()

    @property
    def group(self) -> int:
        """The group number."""
        return self >> 16

    @property
    def element(self) -> int:
        """The element number."""
        return self & 0xFFFF

    @property
    def is_private(self) -> bool:
        """Whether the tag is in an odd (private) group."""
        return self.group % 2 == 1 and self.group > 0x0008 and self.group != 0xFFFF

    @property
    def is_private_creator(self) -> bool:
        """Whether the tag is a Private Creator element, (gggg,0010)-(gggg,00FF) in a private group."""
        return self.is_private and 0x0010 <= self.element <= 0x00FF

    def __str__(self) -> str:
        return f"({self.group:04X},{self.element:04X})"

    __repr__ = __str__


TagLike = Union[int, Tuple[int, int], str]


_KEYWORD_TAGS: dict = {}


def tag_for_keyword(keyword: str) -> Optional[int]:
    """The tag of a standard keyword such as ``"PatientName"``, or None."""
    try:
        return _KEYWORD_TAGS[keyword]
    except KeyError:
        # The dictionary lookup is a binary search in Rust; remember its answers (keywords are
        # few, and attribute access by keyword is the hot path of a data set).
        tag = _KEYWORD_TAGS[keyword] = _native.tag_for_keyword(keyword)
        return tag


def keyword_for_tag(tag: int) -> str:
    """The standard keyword of a tag, or ``""`` for private and unknown tags."""
    return _native.keyword_for_tag(tag) or ""


def dictionary_VR(tag: int) -> Optional[str]:  # noqa: N802 (pydicom's name)
    """The dictionary VR of a tag (``"US or SS"`` style alternatives included), or None."""
    return _native.vr_for_tag(tag)


def dictionary_description(tag: int) -> str:
    """The standard's name of a tag, ``"Private Creator"`` for those, ``"Private tag data"`` for other private tags."""
    name = _native.name_for_tag(tag)
    if name:
        return name
    return "Private tag data" if Tag(tag).is_private else "Unknown"


def as_tag(key: TagLike) -> Tag:
    """A :class:`Tag` from an int, a (group, element) pair, a keyword or a ``"(gggg,eeee)"``/``"ggggeeee"`` string."""
    if isinstance(key, int):
        return Tag(key)
    if isinstance(key, tuple) and len(key) == 2:
        return Tag((key[0] << 16) | key[1])
    if isinstance(key, str):
        tag = tag_for_keyword(key)
        if tag is not None:
            return Tag(tag)
        text = key.strip("() ").replace(",", "")
        if len(text) == 8:
            try:
                return Tag(int(text, 16))
            except ValueError:
                pass
        raise KeyError(f"{key!r} is not a DICOM keyword or tag")
    raise TypeError(f"a tag must be an int, a (group, element) tuple or a keyword, not {type(key).__name__}")
