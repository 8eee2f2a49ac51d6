"""Reading files: :func:`dcmread`, :class:`Dataset` and :class:`DataElement`.

A :class:`Dataset` is a view over the native element index: nothing is decoded until a value is
asked for, and bulk values (OB, OW, ...) come back as read-only NumPy arrays over the file's
memory map.
"""

from __future__ import annotations

import os
import weakref
from typing import Any, Callable, Dict, Iterable, Iterator, List, NamedTuple, Optional, Tuple, Union

import numpy as np

from . import _native
from .errors import DicomError
from .tag import Tag, TagLike, as_tag, dictionary_description, keyword_for_tag, tag_for_keyword
from .valuerep import PersonName

__all__ = ["dcmread", "Dataset", "DataElement", "FileDataset", "Warning"]

_STRING_VRS = frozenset("AE AS CS DA DT TM UI SH LO UC LT ST UT UR".split())
_NUMERIC_STRING_VRS = frozenset(("DS", "IS"))
#: The VRs whose decoding needs the Specific Character Set (a sequence passes it to its
#: items); the other string VRs are in the default repertoire (PS3.5 6.1.2.3).
_CHARSET_VRS = frozenset("SH LO UC ST LT UT PN SQ".split())
_BINARY_VRS = frozenset("US SS UL SL UV SV FL FD AT".split())
_BULK_DTYPES = {
    "OB": "u1",
    "UN": "u1",
    "OW": "u2",
    "OF": "f4",
    "OD": "f8",
    "OL": "u4",
    "OV": "u8",
}
_NUMBER_DTYPES = {"US": "u2", "SS": "i2", "UL": "u4", "SL": "i4", "UV": "u8", "SV": "i8", "FL": "f4", "FD": "f8"}
#: Binary number values with more values than this come back as NumPy arrays over the file.
LONG_BINARY_VM = 16
_SPECIFIC_CHARACTER_SET = 0x00080005

PathOrBuffer = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview]


class Warning(NamedTuple):  # noqa: A001 (mirrors the core's name; not the builtin category)
    """Something the scanner tolerated and repaired, and where."""

    message: str
    tag: Optional[Tag]
    offset: int


class DataElement:
    """One element: ``tag``, ``VR``, ``keyword``, a lazily decoded ``value``, and where it lies.

    ``offset`` is the position of the element's header in the stream and ``length`` the value
    length as written (``0xFFFFFFFF`` for undefined length).
    """

    # An element holds what decoding needs, not its data set: the data set caches its
    # elements, and a reference back would make a cycle that only the garbage collector frees
    # (keeping each file's buffers alive until it runs).
    __slots__ = (
        "_native", "_index", "tag", "VR", "offset", "value_offset", "length", "_present", "_big_endian",
        "_charset", "_owner", "_value",
    )

    _UNSET: Any = object()

    def __init__(self, dataset: "Dataset", index: int, info: Optional[Tuple[int, str, int, int, int, int, bool]] = None) -> None:
        if info is None:
            info = dataset._native.element_info(index)
        tag, vr, header_offset, value_offset, length, present, big_endian = info
        self._native = dataset._native
        self._index = index
        # Text is decoded with its data set's character set; a sequence's items inherit it.
        self._charset = dataset._character_set() if vr in _CHARSET_VRS else b""
        self._owner = weakref.ref(dataset) if vr == "SQ" else None
        self.tag = Tag(tag)
        self.VR: str = vr
        self.offset: int = header_offset
        self.value_offset: int = value_offset
        self.length: int = length
        self._present: int = present
        self._big_endian: bool = big_endian
        self._value = DataElement._UNSET

    @property
    def keyword(self) -> str:
        """The standard keyword, or ``""`` for private and unknown tags."""
        return keyword_for_tag(self.tag)

    @property
    def name(self) -> str:
        """The standard's name of the element."""
        return dictionary_description(self.tag)

    @property
    def value(self) -> Any:
        """The decoded value (decoded on first access, then kept)."""
        if self._value is DataElement._UNSET:
            self._value = _decode(self)
        return self._value

    @property
    def VM(self) -> int:  # noqa: N802 (the standard's name)
        """The number of values."""
        value = self.value
        if value is None or (isinstance(value, (str, bytes)) and value == ""):
            return 0
        if self.VR == "SQ" or isinstance(value, np.ndarray) and self.VR in _BULK_DTYPES:
            return 1
        if isinstance(value, (list, np.ndarray)):
            return len(value)
        return 1

    @property
    def raw_bytes(self) -> bytes:
        """The value's bytes as written in the stream (a copy)."""
        return self._native.value_bytes(self._index)

    def __repr__(self) -> str:
        value = self.value
        if self.VR == "SQ":
            shown = f"<Sequence, length {len(value)}>"
        elif isinstance(value, np.ndarray) and self.VR in _BULK_DTYPES:
            shown = f"Array of {value.nbytes} bytes"
        else:
            shown = repr(value)
            if len(shown) > 64:
                shown = shown[:61] + "..."
        return f"{self.tag} {self.name:<40.40} {self.VR}: {shown}"


class Dataset:
    """A data set: the top level of a file, its file meta, or a sequence item.

    Reads like pydicom: ``ds.PatientName``, ``ds["PatientName"]``, ``ds[0x00100010]`` and
    ``ds[(0x0010, 0x0010)]``; ``in``, ``len``, ``get`` and iteration in tag order.
    """

    __slots__ = ("_native", "_start", "_end", "_parent", "_inherited_charset", "_only", "_elements", "_charset", "__weakref__")

    def __init__(
        self,
        native: "_native.NativeFile",
        start: int,
        end: int,
        parent: Optional["Dataset"] = None,
        only: Optional[frozenset] = None,
        inherited_charset: bytes = b"",
    ) -> None:
        self._native = native
        self._start = start
        self._end = end
        # Weak, as pydicom's: the parent caches its sequences, which hold this item.
        self._parent = None if parent is None else weakref.ref(parent)
        self._inherited_charset = inherited_charset
        self._only = only
        self._elements: Dict[int, DataElement] = {}
        self._charset: Optional[bytes] = None

    # -- lookup -----------------------------------------------------------------------------

    def _index_of(self, tag: int) -> Optional[int]:
        if self._only is not None and tag not in self._only:
            return None
        return self._native.find(self._start, self._end, tag)

    def _element(self, tag: int) -> Optional[DataElement]:
        element = self._elements.get(tag)
        if element is None:
            if self._only is not None and tag not in self._only:
                return None
            found = self._native.lookup(self._start, self._end, tag)
            if found is None:
                return None
            element = self._elements[tag] = DataElement(self, *found)
        return element

    def __getitem__(self, key: TagLike) -> DataElement:
        tag = as_tag(key)
        element = self._element(tag)
        if element is None:
            raise KeyError(tag)
        return element

    def __getattr__(self, name: str) -> Any:
        if name[:1].isupper():
            tag = tag_for_keyword(name)
            if tag is not None:
                # Later reads of this keyword, on any data set, find it on the class (once put
                # there it is not put again: that would empty the type's attribute cache).
                if name not in Dataset.__dict__:
                    setattr(Dataset, name, _KeywordAttribute(name, tag))
                element = self._element(tag)
                if element is not None:
                    return element.value
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __contains__(self, key: object) -> bool:
        try:
            tag = as_tag(key)  # type: ignore[arg-type]
        except (KeyError, TypeError):
            return False
        return self._index_of(tag) is not None

    def get(self, key: TagLike, default: Any = None) -> Any:
        """The value for a keyword, or the :class:`DataElement` for a tag; ``default`` if absent."""
        try:
            element = self[key]
        except KeyError:
            return default
        return element.value if isinstance(key, str) and tag_for_keyword(key) is not None else element

    def keys(self) -> List[Tag]:
        """The tags present, in order."""
        return [Tag(t) for t in self._tags()]

    def _tags(self) -> List[int]:
        tags = self._native.tags(self._start, self._end)
        return tags if self._only is None else [t for t in tags if t in self._only]

    def __iter__(self) -> Iterator[DataElement]:
        for tag in self._tags():
            yield self[tag]

    def elements(self) -> Iterator[DataElement]:
        """The elements in tag order (the same as iterating)."""
        return iter(self)

    def values(self) -> List[DataElement]:
        """The elements in tag order."""
        return list(self)

    def items(self) -> List[Tuple[Tag, DataElement]]:
        """(tag, element) pairs in tag order."""
        return [(element.tag, element) for element in self]

    def __len__(self) -> int:
        return len(self._tags())

    def __bool__(self) -> bool:
        return True

    def dir(self) -> List[str]:
        """The keywords of the standard elements present."""
        return [kw for kw in (keyword_for_tag(t) for t in self._tags()) if kw]

    def __dir__(self) -> List[str]:
        # Keyword attributes on the class list only the elements this data set has.
        names = {n for n in super().__dir__() if not isinstance(Dataset.__dict__.get(n), _KeywordAttribute)}
        return sorted(names | set(self.dir()))

    def walk(self) -> Iterator[Tuple["Dataset", DataElement]]:
        """Every element, depth first, with the data set it is in."""
        for element in self:
            yield self, element
            if element.VR == "SQ":
                for item in element.value:
                    yield from item.walk()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Dataset):
            return NotImplemented
        return self.to_json_dict() == other.to_json_dict()

    __hash__ = None  # type: ignore[assignment]

    # -- values ------------------------------------------------------------------------------

    def _character_set(self) -> bytes:
        if self._charset is None:
            index = self._index_of(_SPECIFIC_CHARACTER_SET)
            self._charset = self._inherited_charset if index is None else self._native.value_bytes(index)
        return self._charset


    # -- pixels ------------------------------------------------------------------------------

    @property
    def pixel_array(self) -> np.ndarray:
        """All frames as pydicom 3's ``pixel_array`` returns them (see :mod:`dicodec.pixels`)."""
        from .pixels import pixel_array

        return pixel_array(self)

    def frame(self, index: int, *, out: Optional[np.ndarray] = None, as_rgb: bool = True) -> np.ndarray:
        """Frame ``index`` alone, decoded without touching the others."""
        from .pixels import pixel_array

        return pixel_array(self, index=index, out=out, as_rgb=as_rgb)

    def iter_frames(self, indices: Optional[Iterable[int]] = None, *, as_rgb: bool = True) -> Iterator[np.ndarray]:
        """Yield frames one at a time: all of them, or those in ``indices``."""
        from .pixels import iter_pixels

        return iter_pixels(self, indices=None if indices is None else list(indices), as_rgb=as_rgb)

    # -- the file ------------------------------------------------------------------------------

    @property
    def parent(self) -> Optional["Dataset"]:
        """The data set holding the sequence this item is in (None at the top level, or once
        that data set is gone)."""
        return None if self._parent is None else self._parent()

    def __repr__(self) -> str:
        return "\n".join(_tree_lines(self, 0))

    def to_json_dict(
        self,
        bulk_data_threshold: int = 1024,
        bulk_data_element_handler: Optional[Callable[[DataElement], str]] = None,
    ) -> Dict[str, Any]:
        """The DICOM JSON model (PS3.18 F.2) of this data set, as pydicom's ``to_json_dict``.

        Binary values longer than ``bulk_data_threshold`` bytes are given as a ``BulkDataURI``
        from ``bulk_data_element_handler`` when one is passed, otherwise inline as base64.
        """
        from .json import dataset_to_json_dict

        return dataset_to_json_dict(self, bulk_data_threshold, bulk_data_element_handler)


class _KeywordAttribute:
    """``dataset.<keyword>`` for one standard keyword, put on :class:`Dataset` the first time the
    keyword is read. Without it every read goes through a failed attribute lookup (an
    AttributeError made and dropped inside Python) before ``__getattr__``: about 2 µs, more than
    finding and decoding the element."""

    __slots__ = ("keyword", "tag")

    def __init__(self, keyword: str, tag: int) -> None:
        self.keyword = keyword
        self.tag = tag

    def __get__(self, dataset: Optional[Dataset], owner: Optional[type] = None) -> Any:
        if dataset is None:
            return self
        element = dataset._element(self.tag)
        if element is None:
            raise AttributeError(f"{type(dataset).__name__!r} object has no attribute {self.keyword!r}")
        return element.value


class FileDataset(Dataset):
    """The top-level data set of a file, with its file meta, warnings and a context manager
    that lets the memory map go (arrays still viewing the file keep it alive until they die)."""

    __slots__ = ("_file_meta", "filename")

    def __init__(self, native: "_native.NativeFile", only: Optional[frozenset] = None) -> None:
        # Dataset.__init__'s fields, set here: its call was a tenth of a header read's Python.
        self._native = native
        self._start, self._end = native.root()
        self._parent = None
        self._inherited_charset = b""
        self._only = only
        self._elements = {}
        self._charset = None
        self._file_meta: Optional[Dataset] = None
        self.filename: Optional[str] = native.path

    @property
    def file_meta(self) -> Dataset:
        """The file meta information group (empty when the stream had none)."""
        if self._file_meta is None:
            start, end = self._native.meta()
            self._file_meta = Dataset(self._native, start, end)
        return self._file_meta

    @property
    def transfer_syntax(self) -> str:
        """The Transfer Syntax UID of the data set (guessed when the file had none)."""
        return self._native.transfer_syntax

    @property
    def is_little_endian(self) -> bool:
        """Whether the data set is little endian."""
        return not self._native.encoding[1]

    @property
    def is_implicit_VR(self) -> bool:  # noqa: N802 (pydicom's name)
        """Whether the data set is implicit VR."""
        return not self._native.encoding[0]

    @property
    def is_memory_mapped(self) -> bool:
        """Whether values are read from a memory map of the file."""
        return self._native is not None and self._native.is_mapped

    @property
    def preamble(self) -> bool:
        """Whether the file had the 128-byte preamble and ``DICM``."""
        return self._native.has_preamble

    @property
    def warnings(self) -> List[Warning]:
        """What was tolerated and repaired while reading, with byte offsets."""
        return [Warning(m, None if t is None else Tag(t), o) for m, t, o in self._native.warnings()]

    def close(self) -> None:
        """Drop this data set's hold on the file. Values and elements already taken stay
        valid (and keep the file open while they live)."""
        if self._file_meta is not None:
            self._file_meta._native = None  # type: ignore[assignment]
            self._file_meta._elements.clear()
        self._native = None  # type: ignore[assignment]
        self._elements.clear()

    def __enter__(self) -> "FileDataset":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()



def _decode(element: DataElement) -> Any:
    """The value of ``element``, decoded from its file."""
    native, index, vr = element._native, element._index, element.VR
    if vr in _STRING_VRS:
        return _collapse(native.strings(index, element._charset), "")
    if vr == "PN":
        names = [PersonName(n) for n in native.strings(index, element._charset)]
        return _collapse(names, PersonName(""))
    if vr in _NUMERIC_STRING_VRS:
        # As pydicom: None for a zero-length value, "" for one that is only padding.
        return _collapse(native.numeric_strings(index), "" if element._present else None)
    if vr in _BINARY_VRS:
        if vr != "AT" and element._present // int(_NUMBER_DTYPES[vr][1]) > LONG_BINARY_VM:
            return _bulk_view(native, index, _NUMBER_DTYPES[vr], element._big_endian)
        numbers = native.numbers(index)
        if vr == "AT":
            numbers = [Tag(t) for t in numbers]
        return _collapse(numbers, None)
    if vr == "SQ":
        owner = element._owner() if element._owner is not None else None
        items = native.items(index)
        return [Dataset(native, start, end, parent=owner, inherited_charset=element._charset) for start, end, _offset in items]
    if vr in _BULK_DTYPES:
        if element._present == 0:
            return None
        return _bulk_view(native, index, _BULK_DTYPES[vr], element._big_endian)
    raise DicomError(f"no decoder for VR {vr!r}", native.path, None, None)


def _collapse(values: List[Any], empty: Any) -> Any:
    if not values:
        return empty
    if len(values) == 1:
        return values[0]
    return values


def _bulk_view(native: "_native.NativeFile", index: int, dtype: str, big_endian: bool) -> np.ndarray:
    raw = native.value_array(index)
    width = int(dtype[1])
    if width == 1 or raw.nbytes % width:
        return raw
    return raw.view(np.dtype((">" if big_endian else "<") + dtype))


def _tree_lines(dataset: Dataset, depth: int) -> Iterator[str]:
    indent = "  " * depth
    for element in dataset:
        yield indent + repr(element)
        if element.VR == "SQ":
            for number, item in enumerate(element.value, 1):
                yield f"{indent}  (Item #{number})"
                yield from _tree_lines(item, depth + 2)


def dcmread(
    fp: PathOrBuffer,
    *,
    stop_before_pixels: bool = False,
    specific_tags: Optional[Iterable[TagLike]] = None,
    force: bool = False,
    mmap: bool = True,
) -> FileDataset:
    """Read a DICOM file (a path, or the bytes of one) and index its elements.

    Values are decoded only when accessed. ``stop_before_pixels`` stops at the top-level pixel
    data without touching its pages; ``specific_tags`` reads only the listed elements (and
    Specific Character Set), stopping after the last. Such a header read also leaves the items
    of top-level sequences of defined length for when one is first asked for: damage in one is
    raised by that sequence, not by ``dcmread``, and listed in ``warnings``. ``force`` reads a bare data set with no
    preamble or file meta; ``mmap=False`` reads the file into memory instead of mapping it (use
    it for files another process may truncate while you read them).
    """
    only = None
    stop_at = None
    if specific_tags is not None:
        tags = {as_tag(t) for t in specific_tags} | {_SPECIFIC_CHARACTER_SET}
        only = frozenset(tags)
        stop_at = max(tags) + 1 if max(tags) < 0xFFFFFFFF else None
    if isinstance(fp, (bytes, bytearray, memoryview)):
        native = _native.parse_bytes(fp, stop_before_pixels=stop_before_pixels, stop_at=stop_at, force=force)
    else:
        # Positional: keywords cost more to match than the native call's other work.
        native = _native.open(os.fspath(fp), stop_before_pixels, stop_at, force, mmap)
    return FileDataset(native, only)
