"""Property tests: data sets pydicom writes, and bytes nobody wrote, read by dicodec.

* Random data sets holding an element of every VR of PS3.5 Table 6.2-1 and more (valid values,
  random multiplicity, odd and even lengths, empty values, leading and trailing spaces, text in
  six Specific Character Sets, items with a character set of their own), private blocks with
  their creators, sequences nested three deep with items of defined and undefined length,
  "US or SS" elements with and without a Pixel Representation, and (in explicit VR little
  endian) public and private elements sent as UN (PS3.5 6.2.2, CP-246). pydicom writes each in
  the four uncompressed transfer syntaxes with file meta; dicodec reads it back from bytes and
  from a file (mapped and not), and every element (tag, VR, value and its Python type, nesting,
  raw bytes, length, offset) must equal what pydicom reads back from the same bytes, and so must
  the DICOM JSON model, with and without a bulk data handler; specific_tags and
  stop_before_pixels must read the same elements as a full read.
* Random bytes, element-shaped random streams after a valid file meta, and valid files with bit
  flips, truncations, splices and length fields set to 0xFFFFFFFF and other huge values:
  dicodec raises only :class:`dicodec.DicomError`, or returns a data set whose every element can
  be walked and read (value, raw bytes, JSON, repr, pixels) raising only DicomError.

The examples are derandomized (no example database), so CI runs the same cases every time;
``DICODEC_PROPERTY_SCALE=10`` runs ten times as many, for a hunt. Differences from pydicom
that dicodec keeps on purpose (an empty undefined-length private element in implicit VR is
an empty sequence; "US or SS" in undefined-length items follows the nearest Pixel
Representation, where pydicom uses none) are set aside in the
comparison, each where it is, with a comment: both are deliberate and tested on their own.
"""

from __future__ import annotations

import datetime
import io
import math
import os
import string
import struct
import tempfile
import warnings
import zlib
from functools import lru_cache
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dicodec
from reference import canonical_json, has_null

pydicom = pytest.importorskip("pydicom")

from pydicom import uid as pydicom_uid  # noqa: E402
from pydicom.dataelem import RawDataElement  # noqa: E402
from pydicom.datadict import DicomDictionary  # noqa: E402
from pydicom.dataset import Dataset as PyDataset  # noqa: E402
from pydicom.dataset import FileMetaDataset  # noqa: E402
from pydicom.filebase import DicomBytesIO  # noqa: E402
from pydicom.filewriter import write_data_element  # noqa: E402
from pydicom.multival import MultiValue  # noqa: E402
from pydicom.sequence import Sequence as PySequence  # noqa: E402
from pydicom.tag import Tag as PyTag  # noqa: E402

# ------------------------------------------------------------------------------------------
# Settings

#: DICODEC_PROPERTY_SCALE=10 runs ten times as many examples (for a local hunt; CI runs 1).
_SCALE = float(os.environ.get("DICODEC_PROPERTY_SCALE", "1"))
ROUND_TRIP = settings(
    max_examples=max(1, int(100 * _SCALE)),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    report_multiple_bugs=False,
)
FUZZ = settings(ROUND_TRIP, max_examples=max(1, int(300 * _SCALE)))

TRANSFER_SYNTAXES = [
    pydicom_uid.ImplicitVRLittleEndian,
    pydicom_uid.ExplicitVRLittleEndian,
    pydicom_uid.ExplicitVRBigEndian,
    pydicom_uid.DeflatedExplicitVRLittleEndian,
]

#: PS3.5 Table 6.2-1, all of it.
ALL_VRS = (
    "AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI UL UN UR US UT UV"
).split()
TEXT_VRS = frozenset("AE AS CS DA DT LO LT PN SH ST TM UC UI UR UT".split())
BULK_VRS = {"OB": 1, "UN": 1, "OW": 2, "OF": 4, "OL": 4, "OD": 8, "OV": 8}
INT_RANGES = {
    "US": (0, 2**16 - 1),
    "SS": (-(2**15), 2**15 - 1),
    "UL": (0, 2**32 - 1),
    "SL": (-(2**31), 2**31 - 1),
    "UV": (0, 2**64 - 1),
    "SV": (-(2**63), 2**63 - 1),
}
NUMBER_VRS = frozenset(INT_RANGES) | {"FL", "FD"}
MAX_DEPTH = 3

_SPECIFIC_CHARACTER_SET = 0x00080005
_PIXEL_REPRESENTATION = 0x00280103
_PIXEL_DATA = 0x7FE00010


# ------------------------------------------------------------------------------------------
# Tags: standard tags whose dictionary VR is the VR wanted, so implicit VR reads type them.


def _tag_pools() -> Dict[str, List[int]]:
    pools: Dict[str, List[int]] = {vr: [] for vr in ALL_VRS}
    for tag, (vr, _vm, _name, retired, _keyword) in sorted(DicomDictionary.items()):
        group = tag >> 16
        if group in (0x0000, 0x0002, 0x7FE0, 0xFFFA, 0xFFFC, 0xFFFE) or tag in (
            _SPECIFIC_CHARACTER_SET,
            _PIXEL_REPRESENTATION,
        ):
            continue
        if vr in pools and (not retired or vr in ("UN", "OV", "SV", "UV", "OD", "OL")):
            pools[vr].append(tag)
    # Keep the pools small and spread over the dictionary: a few dozen tags a VR is plenty.
    for vr, tags in pools.items():
        step = max(1, len(tags) // 24)
        pools[vr] = tags[::step]
    # Group length elements: UL, typed by their element number alone in implicit VR.
    pools["UL"] += [0x00080000, 0x00100000, 0x00200000, 0x00400000]
    assert all(pools[vr] for vr in ALL_VRS), [vr for vr in ALL_VRS if not pools[vr]]
    return pools


TAGS = _tag_pools()
#: "US or SS" tags, settled by Pixel Representation when the VR is not in the stream.
US_OR_SS_TAGS = [0x00280106, 0x00280107, 0x00280108, 0x00280109, 0x00280120, 0x00281101, 0x00283002]
#: Public text tags that an explicit VR writer may send as UN (PS3.5 6.2.2): readers type them.
UN_PUBLIC_TEXT_TAGS = [(t, vr) for vr in ("CS", "LO", "SH", "DA", "PN") for t in TAGS[vr][:4]]
#: Public sequences that a writer may send as UN of undefined length (CP-246).
UN_PUBLIC_SQ_TAGS = TAGS["SQ"][:6]
PRIVATE_GROUPS = [0x0009, 0x0011, 0x0029, 0x4001, 0x7FDF]


# ------------------------------------------------------------------------------------------
# Values: valid for each VR, as pydicom takes them.

ASCII_TEXT = "".join(c for c in string.printable if c not in "\\\t\n\r\x0b\x0c")
#: Specific Character Sets, with characters each can encode beyond ASCII.
CHARSETS = {
    None: "",
    "ISO_IR 100": "àéîõüßÆØÅñ¿",
    "ISO_IR 144": "ЖДЯжда",
    "ISO_IR 192": "ÀЖΩ山田太郎한글ﾃｽﾄ€",
    "GB18030": "中文测试山田",
    "\\ISO 2022 IR 87": "山田太郎",
}


def _alphabet(charset: Optional[str], extra_allowed: bool) -> str:
    return ASCII_TEXT + (CHARSETS[charset] if extra_allowed else "")


def _trimmed(alphabet: str, max_size: int, *, min_size: int = 0) -> st.SearchStrategy[str]:
    """Text, mostly with no leading or trailing spaces (padding to some VRs), sometimes with."""
    text = st.text(alphabet, min_size=min_size, max_size=max_size)
    return st.one_of(text.map(str.strip), text.map(str.strip), text)


def _multi(component: st.SearchStrategy[Any], max_size: int = 4) -> st.SearchStrategy[Any]:
    """A value of random multiplicity: "" (empty), one value, or a list (which may hold empties)."""
    return st.one_of(
        st.just(""),
        component,
        st.lists(component, min_size=2, max_size=max_size),
    )


def _date() -> st.SearchStrategy[str]:
    return st.dates(datetime.date(1000, 1, 1), datetime.date(9999, 12, 31)).map(lambda d: d.strftime("%Y%m%d"))


def _time() -> st.SearchStrategy[str]:
    def build(t: datetime.time, parts: int, fraction: int) -> str:
        text = f"{t.hour:02d}{t.minute:02d}{t.second:02d}"[: 2 * parts]
        if parts == 3 and fraction:
            text += "." + f"{t.microsecond:06d}"[:fraction]
        return text

    return st.builds(build, st.times(), st.integers(1, 3), st.integers(0, 6))


def _datetime() -> st.SearchStrategy[str]:
    def build(date: str, time: str, parts: int, offset: Optional[int]) -> str:
        text = date[: (4, 6, 8)[parts]] if parts < 3 else date + time
        if offset is not None:
            text += ("-" if offset < 0 else "+") + f"{abs(offset) // 60:02d}{abs(offset) % 60:02d}"
        return text

    return st.builds(build, _date(), _time(), st.integers(0, 3), st.none() | st.integers(-12 * 60, 14 * 60))


def _decimal_string() -> st.SearchStrategy[str]:
    def build(sign: str, whole: int, fraction: Optional[str], exponent: Optional[int]) -> str:
        text = f"{sign}{whole}"
        if fraction is not None:
            text += "." + fraction
        if exponent is not None:
            text += f"e{exponent}"
        return text[:16].rstrip(".e-") or "0"

    return st.builds(
        build,
        st.sampled_from(["", "-", "+"]),
        st.integers(0, 10**6),
        st.none() | st.text("0123456789", min_size=1, max_size=6),
        st.none() | st.integers(-30, 30),
    ).filter(lambda s: len(s) <= 16 and s[-1].isdigit())


def _integer_string() -> st.SearchStrategy[str]:
    return st.builds(
        lambda sign, n: f"{sign}{n}" if n >= 0 else str(n),
        st.sampled_from(["", "+"]),
        st.integers(-(2**31), 2**31 - 1),
    )


def _uid() -> st.SearchStrategy[str]:
    component = st.one_of(st.just(0), st.integers(1, 10**12)).map(str)
    return st.lists(component, min_size=2, max_size=8).map(".".join).filter(lambda s: len(s) <= 64)


def _person_name(charset: Optional[str]) -> st.SearchStrategy[str]:
    letters = string.ascii_letters + " '-."
    alphabetic = st.lists(_trimmed(letters, 8), min_size=1, max_size=5).map("^".join)
    other = st.lists(_trimmed(_alphabet(charset, True).replace("^", "").replace("=", ""), 6), max_size=5).map("^".join)
    return st.one_of(
        alphabetic,
        st.builds(lambda a, b: f"{a}={b}", alphabetic, other),
        st.builds(lambda a, b, c: f"{a}={b}={c}", alphabetic, other, other),
    ).map(lambda s: s.rstrip(" "))


def _floats(width: int) -> st.SearchStrategy[float]:
    return st.floats(width=width, allow_nan=True, allow_infinity=True)


@lru_cache(maxsize=None)
def value_strategy(vr: str, charset: Optional[str]) -> st.SearchStrategy[Any]:
    """A valid pydicom value for ``vr`` (SQ excepted)."""
    if vr == "AE":
        return _multi(_trimmed(ASCII_TEXT, 16))
    if vr == "AS":
        return _multi(st.builds(lambda n, u: f"{n:03d}{u}", st.integers(0, 999), st.sampled_from("DWMY")))
    if vr == "AT":
        return st.one_of(
            st.just([]), st.integers(0, 2**32 - 1), st.lists(st.integers(0, 2**32 - 1), min_size=2, max_size=20)
        )
    if vr == "CS":
        return _multi(_trimmed(string.ascii_uppercase + string.digits + " _", 16))
    if vr == "DA":
        return _multi(_date())
    if vr == "DT":
        return _multi(_datetime())
    if vr == "TM":
        return _multi(_time())
    if vr == "DS":
        return _multi(_decimal_string())
    if vr == "IS":
        return _multi(_integer_string())
    if vr in ("LO", "SH", "UC"):
        return _multi(_trimmed(_alphabet(charset, True), {"LO": 64, "SH": 16, "UC": 80}[vr]))
    if vr in ("LT", "ST", "UT"):
        text = st.text(_alphabet(charset, True) + "\\\r\n\t\x0c", max_size=120)
        # Trailing spaces are padding to every reader; leading spaces are significant.
        return text.map(lambda s: s.rstrip(" "))
    if vr == "PN":
        return _multi(_person_name(charset), max_size=3)
    if vr == "UI":
        return _multi(_uid())
    if vr == "UR":
        return st.one_of(
            st.just(""),
            st.text(string.ascii_letters + string.digits + "/:.?=&%-_~", max_size=60).map(
                lambda s: "http://example.org/" + s
            ),
        )
    if vr in INT_RANGES:
        low, high = INT_RANGES[vr]
        number = st.integers(low, high)
        # More than 16 values: dicodec gives a NumPy array over the file.
        return st.one_of(
            st.just([]), number, st.lists(number, min_size=2, max_size=4), st.lists(number, min_size=17, max_size=24)
        )
    if vr in ("FL", "FD"):
        number = _floats(32 if vr == "FL" else 64)
        return st.one_of(
            st.just([]), number, st.lists(number, min_size=2, max_size=4), st.lists(number, min_size=17, max_size=20)
        )
    if vr in BULK_VRS:
        width = BULK_VRS[vr]
        # Odd lengths for the byte VRs (pydicom pads them), whole words for the others.
        return st.integers(0, 48).flatmap(lambda n: st.binary(min_size=n * width, max_size=n * width))
    raise AssertionError(vr)


# ------------------------------------------------------------------------------------------
# Data sets as plain descriptions, turned into pydicom data sets.

# An element is (tag, vr, value, extra): value is a list of items for SQ, each item being
# (elements, undefined_length); extra is the sequence's undefined-length flag for SQ, the
# kind of special encoding otherwise ("un-public", "un-sq").


def element_of_vr(charset: Optional[str], depth: int):
    """vr -> a strategy for a (tag, vr, value, extra) of a standard tag of that VR."""

    def for_vr(vr: str) -> st.SearchStrategy[Tuple]:
        if vr == "SQ":
            return st.tuples(st.sampled_from(TAGS[vr]), st.just(vr), items_strategy(charset, depth + 1), st.booleans())
        return st.tuples(st.sampled_from(TAGS[vr]), st.just(vr), value_strategy(vr, charset), st.just(None))

    return for_vr


@lru_cache(maxsize=None)
def element_strategy(charset: Optional[str], depth: int) -> st.SearchStrategy[Tuple]:
    vrs = [vr for vr in ALL_VRS if vr != "SQ" or depth < MAX_DEPTH]

    standard = st.sampled_from(vrs).flatmap(element_of_vr(charset, depth))
    us_or_ss = st.builds(
        lambda tag, vr, n: (tag, vr, n, None),
        st.sampled_from(US_OR_SS_TAGS),
        st.sampled_from(["US", "SS"]),
        st.integers(0, 2**15 - 1) | st.lists(st.integers(0, 2**15 - 1), min_size=3, max_size=3),
    )
    return st.one_of(standard, standard, standard, us_or_ss)


@lru_cache(maxsize=None)
def private_block_strategy(charset: Optional[str], depth: int) -> st.SearchStrategy[Tuple]:
    """(group, creator, [(offset, vr, value, extra)])."""
    vrs = [vr for vr in ALL_VRS if vr != "SQ" or depth < MAX_DEPTH]

    def for_vr(vr: str) -> st.SearchStrategy[Tuple]:
        if vr == "SQ":
            return st.tuples(st.integers(0, 0xFF), st.just(vr), items_strategy(charset, depth + 1), st.booleans())
        return st.tuples(st.integers(0, 0xFF), st.just(vr), value_strategy(vr, charset), st.just(None))

    return st.tuples(
        st.sampled_from(PRIVATE_GROUPS),
        st.integers(0, 5).map(lambda n: f"DICODEC PROPERTY {n}"),
        st.lists(st.sampled_from(vrs).flatmap(for_vr), max_size=4, unique_by=lambda e: e[0]),
    )


@lru_cache(maxsize=None)
def dataset_strategy(charset: Optional[str], depth: int, every_vr: bool = False) -> st.SearchStrategy[Dict[str, Any]]:
    size = max(2, 10 - 3 * depth)
    elements = st.lists(element_strategy(charset, depth), max_size=size, unique_by=lambda e: e[0])
    if every_vr:
        # Every VR in every top-level data set, then a random few more.
        every_vr = st.tuples(*(element_of_vr(charset, depth)(vr) for vr in ALL_VRS))
        elements = st.tuples(every_vr, elements).map(lambda t: _unique_tags(list(t[0]) + t[1]))
    return st.fixed_dictionaries(
        {
            "elements": elements,
            "private": st.lists(private_block_strategy(charset, depth), max_size=2, unique_by=lambda b: b[0]),
        }
    )


def _unique_tags(elements: List[Tuple]) -> List[Tuple]:
    return list({element[0]: element for element in elements}.values())


def _with_charset(charset: Optional[str], depth: int) -> st.SearchStrategy[Dict[str, Any]]:
    return dataset_strategy(charset, depth).map(lambda d: dict(d, charset=charset))


def items_strategy(charset: Optional[str], depth: int) -> st.SearchStrategy[List]:
    """Items inheriting the character set, or (now and then) with one of their own."""
    item = st.deferred(
        lambda: st.one_of(
            dataset_strategy(charset, depth),
            dataset_strategy(charset, depth),
            st.sampled_from(sorted(c for c in CHARSETS if c)).flatmap(lambda c: _with_charset(c, depth)),
        )
    )
    return st.lists(st.tuples(item, st.booleans()), max_size=3)


@st.composite
def file_descriptions(draw, every_vr: bool = True) -> Dict[str, Any]:
    charset = draw(st.sampled_from(list(CHARSETS)))
    description = draw(dataset_strategy(charset, 0, every_vr))
    description["charset"] = charset
    description["pixel_representation"] = draw(st.sampled_from([None, 0, 1]))
    # Pixel data only with a Pixel Representation: pydicom cannot settle "US or SS" without one
    # when there is pixel data (it raises AttributeError).
    pixel_data = st.none() | st.tuples(st.sampled_from(["OB", "OW"]), st.integers(1, 32))
    description["pixel_data"] = None if description["pixel_representation"] is None else draw(pixel_data)
    # Public elements an explicit VR writer sends as UN (ignored in implicit VR).
    # Elements an explicit VR writer sends as UN (PS3.5 6.2.2; ignored in implicit VR): public
    # text, public sequences of defined and undefined length, and private sequences of undefined
    # length, whose items are then implicit VR little endian.
    description["un_public"] = draw(
        st.lists(
            st.one_of(
                st.tuples(st.just("text"), st.sampled_from(UN_PUBLIC_TEXT_TAGS), st.just(None)),
                st.tuples(
                    st.sampled_from(["sq-defined", "sq-undefined"]),
                    st.sampled_from(UN_PUBLIC_SQ_TAGS).map(lambda t: (t, "SQ")),
                    items_strategy(None, 1),
                ),
                st.tuples(st.just("private-sq"), st.just((0x00191001, "SQ")), items_strategy(None, 1)),
            ),
            max_size=2,
        )
    )
    return description


def _build_items(items, charset) -> PySequence:
    sequence = []
    for description, undefined in items:
        item = PyDataset()
        _fill(item, description, charset)
        item.is_undefined_length_sequence_item = undefined
        sequence.append(item)
    return PySequence(sequence)


def _add(ds: PyDataset, tag: int, vr: str, value: Any, extra: Any, charset) -> None:
    if vr == "SQ":
        ds.add_new(tag, vr, _build_items(value, charset))
        ds[tag].is_undefined_length = extra
    else:
        ds.add_new(tag, vr, value)


def _fill(ds: PyDataset, description: Dict[str, Any], charset) -> None:
    if description.get("charset") is not None:
        charset = description["charset"]
        ds.SpecificCharacterSet = charset
    for tag, vr, value, extra in description["elements"]:
        _add(ds, tag, vr, value, extra, charset)
    for group, creator, elements in description["private"]:
        block = ds.private_block(group, creator, create=True)
        for offset, vr, value, extra in elements:
            _add(ds, block.get_tag(offset), vr, value, extra, charset)


def _implicit_le_sequence_value(items) -> bytes:
    """The bytes of a sequence's items (and delimiter) in implicit VR little endian."""
    fp = DicomBytesIO()
    fp.is_little_endian = True
    fp.is_implicit_VR = True
    holder = PyDataset()
    holder.add_new(0x00081032, "SQ", _build_items(items, None))
    holder[0x00081032].is_undefined_length = True
    write_data_element(fp, holder[0x00081032])
    data = fp.getvalue()
    return data[8:-8]  # the items, without the element header and the closing delimiter


def build_dataset(description: Dict[str, Any], transfer_syntax) -> PyDataset:
    ds = PyDataset()
    _fill(ds, description, None)
    if description["pixel_representation"] is not None:
        ds.PixelRepresentation = description["pixel_representation"]
    if description["pixel_data"] is not None:
        vr, words = description["pixel_data"]
        ds.add_new(_PIXEL_DATA, vr, bytes(range(words * 2)))
    if not transfer_syntax.is_implicit_VR and transfer_syntax.is_little_endian:
        # (Not in big endian: pydicom re-encodes these raw little endian elements there, and
        # writes private sequences inside them as UN with a big endian delimiter.)
        for kind, (tag, vr), items in description["un_public"]:
            if tag in ds:
                continue
            if kind == "private-sq":
                ds.add_new(0x00190010, "LO", "DICODEC UN SEQUENCE")
            if vr == "SQ":
                value = _implicit_le_sequence_value(items)
                length = len(value) if kind == "sq-defined" else 0xFFFFFFFF
                ds._dict[PyTag(tag)] = RawDataElement(PyTag(tag), "UN", length, value, 0, False, True)
            else:
                value = {"CS": b"UN CS", "LO": b"sent as UN", "SH": b"UN SH ", "DA": b"20240229", "PN": b"Un^Known"}[vr]
                ds._dict[PyTag(tag)] = RawDataElement(PyTag(tag), "UN", len(value), value, 0, False, True)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    meta.MediaStorageSOPInstanceUID = "1.2.3.4"
    meta.TransferSyntaxUID = transfer_syntax
    ds.file_meta = meta
    return ds


def write(ds: PyDataset) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom warns about values it writes anyway
        ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def pydicom_read(data: bytes) -> PyDataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(io.BytesIO(data))


# ------------------------------------------------------------------------------------------
# Comparison with pydicom, element by element.


def _same_float(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def _pydicom_plain(value: Any) -> Any:
    if isinstance(value, (MultiValue, list, tuple)):
        return [_pydicom_plain(v) for v in value]
    if isinstance(value, pydicom.valuerep.PersonName):
        return str(value)
    if isinstance(value, pydicom.valuerep.DSfloat):
        return float(value)
    if isinstance(value, pydicom.valuerep.IS):
        return int(value)
    if isinstance(value, pydicom.tag.BaseTag):
        return int(value)
    return value


def _as_list(value: Any) -> List[Any]:
    if value is None or (isinstance(value, str) and value == ""):
        return []
    return list(value) if isinstance(value, (list, np.ndarray)) else [value]


def assert_same_value(vr: str, ours: Any, theirs: Any, where: str) -> None:
    theirs = _pydicom_plain(theirs)
    if vr in BULK_VRS:
        if not theirs:
            assert ours is None, f"{where}: {ours!r} for an empty value"
            return
        assert isinstance(ours, np.ndarray) and not ours.flags.writeable, where
        assert ours.tobytes() == theirs, f"{where}: {ours.tobytes()!r} != {theirs!r}"
        return
    if vr in NUMBER_VRS or vr == "AT":
        if isinstance(ours, np.ndarray):
            assert not ours.flags.writeable, where
            ours = ours.tolist()
        a, b = _as_list(ours), _as_list(theirs)
        assert len(a) == len(b), f"{where}: {ours!r} != {theirs!r}"
        for x, y in zip(a, b):
            if vr in ("FL", "FD"):
                assert isinstance(x, float) and _same_float(x, y), f"{where}: {ours!r} != {theirs!r}"
            else:
                assert isinstance(x, int) and x == y, f"{where}: {ours!r} != {theirs!r}"
        if vr == "AT":
            assert all(isinstance(x, dicodec.Tag) for x in a), where
        return
    if vr in ("DS", "IS"):
        a, b = (ours if isinstance(ours, list) else [ours]), (theirs if isinstance(theirs, list) else [theirs])
        assert len(a) == len(b), f"{where}: {ours!r} != {theirs!r}"
        for x, y in zip(a, b):
            if y is None or y == "":
                assert x == y and type(x) is type(y), f"{where}: {ours!r} != {theirs!r}"
            elif vr == "DS":
                assert type(x) is float and _same_float(x, float(y)), f"{where}: {ours!r} != {theirs!r}"
            else:
                assert type(x) is int and x == y, f"{where}: {ours!r} != {theirs!r}"
        return
    assert vr in TEXT_VRS, vr
    if vr == "PN":
        for name in ours if isinstance(ours, list) else [ours]:
            assert isinstance(name, dicodec.PersonName), f"{where}: {name!r} is not a PersonName"
    assert ours == theirs, f"{where}: {ours!r} != {theirs!r}"
    assert all(type(v) in (str, dicodec.PersonName) for v in (ours if isinstance(ours, list) else [ours])), where


def assert_same_dataset(
    ours: dicodec.Dataset, theirs: PyDataset, raw: PyDataset, where: str, implicit: bool = False, in_item: bool = False
) -> None:
    """``raw`` is a second pydicom read of the same bytes, whose elements are still raw."""
    their_tags = [int(t) for t in theirs.keys()]
    assert [int(t) for t in ours.keys()] == their_tags, f"{where}: tags differ"
    assert len(ours) == len(their_tags), where
    for tag in their_tags:
        here = f"{where} ({tag >> 16:04X},{tag & 0xFFFF:04X})"
        raw_element = raw.get_item(tag)
        element = theirs[tag]
        mine = ours[tag]
        assert mine.tag == tag, here
        if in_item and tag in US_OR_SS_TAGS:
            # "US or SS" in an item read in implicit VR (an implicit data set, or a UN sequence's
            # items in any syntax): pydicom settles it by the nearest ancestor's
            # Pixel Representation for items of defined length but by none for items of undefined
            # length (a pydicom quirk); dicodec always by the nearest ancestor's (the
            # test_us_or_ss_* tests). Compare the bytes.
            assert mine.VR in ("US", "SS") and mine.raw_bytes == (raw_element.value or b""), here
            continue
        if _empty_undefined_length_sequence_read_as_un(mine, element):
            continue  # deliberate; see test_empty_private_sequence_in_implicit_vr_is_an_empty_sequence
        assert mine.VR == element.VR, f"{here}: VR {mine.VR} != {element.VR}"
        is_raw = isinstance(raw_element, RawDataElement)  # pydicom converts the file meta at once
        if is_raw:
            assert mine.length == raw_element.length, f"{here}: length {mine.length} != {raw_element.length}"
        if element.VR == "SQ":
            assert isinstance(mine.value, list) and len(mine.value) == len(element.value), here
            raw_items = raw[tag].value
            for number, (a, b, c) in enumerate(zip(mine.value, element.value, raw_items)):
                assert isinstance(a, dicodec.Dataset), here
                assert a.parent is ours, here
                assert_same_dataset(a, b, c, f"{here}[{number}]", implicit, True)
            continue
        if is_raw and raw_element.length != 0xFFFFFFFF and isinstance(raw_element.value, bytes):
            assert mine.raw_bytes == raw_element.value, f"{here}: raw bytes differ"
        assert_same_value(element.VR, mine.value, element.value, here)


def _empty_undefined_length_sequence_read_as_un(mine, element) -> bool:
    """An unknown (private) tag of undefined length with no items, in implicit VR: pydicom
    reads it as UN with no value (it looks for a first Item tag to call it SQ), dicodec as an
    empty SQ (only sequences have undefined length there)."""
    return mine.VR == "SQ" and mine.value == [] and element.VR == "UN" and not element.value


def _normalise(ours: Dict[str, Any], theirs: Dict[str, Any], implicit: bool, depth: int = 0) -> Dict[str, Any]:
    """``theirs`` (pydicom's JSON of a data set) with the deliberate differences made ours:

    * pydicom's ``{"vr": "UN"}`` for an unknown tag of undefined length with no items in
      implicit VR, where dicodec has ``{"vr": "SQ", "Value": []}``;
    * "US or SS" elements inside items in implicit VR, settled differently (see
      assert_same_dataset): ours are taken.
    """
    out = {}
    for key, element in theirs.items():
        mine = ours.get(key)
        if not isinstance(mine, dict):
            out[key] = element
        elif mine == {"vr": "SQ", "Value": []} and element == {"vr": "UN"}:
            out[key] = mine
        elif depth > 0 and int(key, 16) in US_OR_SS_TAGS:
            out[key] = mine
        elif element.get("vr") == "SQ" and len(mine.get("Value", [])) == len(element.get("Value", [])):
            items = [_normalise(a, b, implicit, depth + 1) for a, b in zip(mine["Value"], element["Value"])]
            out[key] = dict(element, Value=items)
        else:
            out[key] = element
    return out


def assert_same_json(ours: dicodec.Dataset, theirs: PyDataset, where: str, implicit: bool) -> None:
    handler = lambda element: f"bulk://{int(element.tag):08X}/{element.VR}"  # noqa: E731
    for kwargs in ({}, {"bulk_data_threshold": 16, "bulk_data_element_handler": handler}):
        mine = ours.to_json_dict(**kwargs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                expected = theirs.to_json_dict(**kwargs)
            except (ValueError, IndexError):
                # pydicom cannot write an empty value inside a multi-valued IS, DS or PN (it
                # raises; test_json.py checks dicodec writes null there): compare the others.
                expected = {}
                for key in list(mine):
                    try:
                        expected[key] = theirs[int(key, 16)].to_json_dict(
                            kwargs.get("bulk_data_element_handler"), kwargs.get("bulk_data_threshold", 1024)
                        )
                    except (ValueError, IndexError):
                        assert has_null(mine[key]), f"{where} {key}: pydicom raises, and ours has no null"
                        del mine[key]
        expected = _normalise(mine, expected, implicit)
        assert canonical_json(mine) == canonical_json(expected), f"{where} {kwargs}"


def _check_offsets(ours: dicodec.FileDataset, data: bytes, big_endian: bool) -> None:
    """Each top-level element's offset points at its tag in the stream."""
    order = ">" if big_endian else "<"
    for element in ours:
        tag = int(element.tag)
        assert data[element.offset : element.offset + 4] == struct.pack(order + "HH", tag >> 16, tag & 0xFFFF)


def _check_partial_reads(ours: dicodec.FileDataset, data: bytes, where: str) -> None:
    """specific_tags and stop_before_pixels read the same elements as a full read, and no others."""
    full = {key: canonical_json(value) for key, value in ours.to_json_dict().items()}
    tags = [int(t) for t in ours.keys()]
    wanted = tags[::2] + [0x00100010]  # every other element, and one that may be absent
    partial = dicodec.dcmread(data, specific_tags=wanted).to_json_dict()
    expected = {f"{t:08X}" for t in tags if t in wanted or t == _SPECIFIC_CHARACTER_SET}
    assert set(partial) == expected, f"{where} specific_tags"
    assert {k: canonical_json(v) for k, v in partial.items()} == {k: full[k] for k in expected}, where
    before = dicodec.dcmread(data, stop_before_pixels=True).to_json_dict()
    assert {k: canonical_json(v) for k, v in before.items()} == {
        k: v for k, v in full.items() if int(k, 16) < _PIXEL_DATA
    }, where


@given(description=file_descriptions())
@ROUND_TRIP
def test_round_trip_in_every_transfer_syntax_equals_pydicom(description):
    for transfer_syntax in TRANSFER_SYNTAXES:
        data = write(build_dataset(description, transfer_syntax))
        theirs = pydicom_read(data)
        raw = pydicom_read(data)
        ours = dicodec.dcmread(data)
        where = transfer_syntax.name
        assert ours.transfer_syntax == transfer_syntax, where
        assert ours.is_implicit_VR == transfer_syntax.is_implicit_VR, where
        assert ours.is_little_endian == transfer_syntax.is_little_endian, where
        assert ours.preamble, where
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pydicom validates values as they are converted
            assert_same_dataset(ours.file_meta, theirs.file_meta, raw.file_meta, f"{where} meta")
            assert_same_dataset(ours, theirs, raw, where, transfer_syntax.is_implicit_VR)
            assert_same_json(ours, theirs, where, transfer_syntax.is_implicit_VR)
        if not transfer_syntax.is_deflated:
            _check_offsets(ours, data, not transfer_syntax.is_little_endian)
        _check_partial_reads(ours, data, where)
        # The same bytes from a file, mapped and read into memory, give the same data set.
        expected = canonical_json(ours.to_json_dict())
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "round_trip.dcm")
            with open(path, "wb") as f:
                f.write(data)
            for mmap in (True, False):
                with dicodec.dcmread(path, mmap=mmap) as from_file:
                    assert from_file.filename == path
                    if not mmap:
                        assert not from_file.is_memory_mapped
                    assert canonical_json(from_file.to_json_dict()) == expected, f"{where} from a file (mmap={mmap})"
                    assert from_file.file_meta.to_json_dict() == ours.file_meta.to_json_dict(), where


# ------------------------------------------------------------------------------------------
# Damaged and arbitrary bytes: DicomError or a data set that reads, never anything else.


def read_everything(source: Any, **options: Any) -> None:
    """dcmread, then walk and read every element; only DicomError may come out."""
    try:
        ds = dicodec.dcmread(source, **options)
    except dicodec.DicomError:
        return
    for attribute in ("transfer_syntax", "warnings", "is_implicit_VR", "is_little_endian", "preamble"):
        getattr(ds, attribute)
    try:
        _ = ds.pixel_array
    except dicodec.DicomError:
        pass
    for dataset in (ds.file_meta, ds):
        _read_all(dataset, 0)
        for call in (dataset.to_json_dict, dataset.__repr__):
            try:
                call()
            except dicodec.DicomError:
                pass
    ds.close()


def _read_all(dataset: dicodec.Dataset, depth: int) -> None:
    assert depth < 200
    len(dataset)
    for element in dataset:
        for attribute in ("value", "raw_bytes", "VM", "keyword", "name"):
            try:
                getattr(element, attribute)
            except dicodec.DicomError:
                pass
        if element.VR == "SQ":
            try:
                items = element.value
            except dicodec.DicomError:
                continue
            for item in items:
                _read_all(item, depth + 1)


@given(data=st.binary(max_size=512), force=st.booleans())
@FUZZ
def test_arbitrary_bytes_raise_only_dicom_error(data, force):
    read_everything(data, force=force)
    read_everything(b"\0" * 128 + b"DICM" + data, force=force)


@st.composite
def element_soup(draw) -> bytes:
    """A valid file meta, then a stream of plausible element headers with random lengths and
    values (item and delimiter tags, undefined lengths, VRs real and not), in one of the four
    transfer syntaxes: the shapes a parser meets, put together wrongly."""
    transfer_syntax = draw(st.sampled_from(TRANSFER_SYNTAXES))
    empty = write(
        build_dataset(
            {
                "elements": [],
                "private": [],
                "charset": None,
                "pixel_representation": None,
                "pixel_data": None,
                "un_public": [],
            },
            transfer_syntax,
        )
    )
    order = "<" if transfer_syntax.is_little_endian else ">"
    tags = st.one_of(
        st.sampled_from(
            [
                0xFFFEE000,
                0xFFFEE00D,
                0xFFFEE0DD,
                0x7FE00010,
                0x00080005,
                0x00280103,
                0x00280106,
                0x00091001,
                0x00081115,
                0x00100010,
            ]
        ),
        st.integers(0, 2**32 - 1),
    )
    vrs = st.one_of(st.sampled_from(ALL_VRS), st.binary(min_size=2, max_size=2).map(lambda b: b.decode("latin-1")))
    lengths = st.one_of(st.sampled_from([0, 1, 2, 4, 8, 0xFFFFFFFF, 0xFFFF, 0x7FFFFFFF]), st.integers(0, 64))
    out = bytearray()
    for _ in range(draw(st.integers(1, 12))):
        tag, vr, length = draw(tags), draw(vrs), draw(lengths)
        out += struct.pack(order + "HH", tag >> 16, tag & 0xFFFF)
        explicit = not transfer_syntax.is_implicit_VR and tag >> 16 != 0xFFFE
        if (
            explicit
            and vr in ALL_VRS
            and vr not in ("OB", "OD", "OF", "OL", "OV", "OW", "SQ", "UC", "UN", "UR", "UT", "SV", "UV")
        ):
            out += vr.encode("latin-1") + struct.pack(order + "H", length & 0xFFFF)
        elif explicit:
            out += vr.encode("latin-1") + b"\0\0" + struct.pack(order + "I", length)
        else:
            out += struct.pack(order + "I", length)
        out += draw(st.binary(max_size=24))
    if transfer_syntax.is_deflated:
        compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
        out = bytearray(compressor.compress(bytes(out)) + compressor.flush())
    return empty + bytes(out)


@given(data=element_soup())
@FUZZ
def test_element_soup_raises_only_dicom_error(data):
    read_everything(data)
    read_everything(data, stop_before_pixels=True, specific_tags=[0x00100010, 0x7FE00010])


def _length_fields(ds: dicodec.Dataset, explicit: bool, order: str) -> List[Tuple[int, int, str]]:
    """(offset, width, byte order) of every element's length field, in sequences too."""
    fields = []
    for _parent, element in ds.walk():
        if not explicit:
            fields.append((element.offset + 4, 4, order))
        elif element.value_offset - element.offset == 12:
            fields.append((element.offset + 8, 4, order))
        else:
            fields.append((element.offset + 6, 2, order))
    return fields


@st.composite
def damaged_files(draw) -> bytes:
    description = draw(file_descriptions(every_vr=False))  # small files: faster, and they shrink
    transfer_syntax = draw(st.sampled_from(TRANSFER_SYNTAXES))
    data = bytearray(write(build_dataset(description, transfer_syntax)))
    fields: List[Tuple[int, int, str]] = []
    if not transfer_syntax.is_deflated:
        ds = dicodec.dcmread(bytes(data))
        order = "little" if transfer_syntax.is_little_endian else "big"
        fields = _length_fields(ds, not transfer_syntax.is_implicit_VR, order)
        fields += _length_fields(ds.file_meta, True, "little")
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "truncate", "length", "length", "splice", "zero"]))
        if kind == "flip" and data:
            position = draw(st.integers(0, len(data) - 1))
            data[position] ^= 1 << draw(st.integers(0, 7))
        elif kind == "truncate" and data:
            del data[draw(st.integers(0, len(data) - 1)) :]
        elif kind == "length" and fields:
            offset, width, order = draw(st.sampled_from(fields))
            if offset + width <= len(data):
                if width == 4:
                    sizes = [0xFFFFFFFF, 0xFFFFFFFE, 0x7FFFFFFF, 0x80000000, len(data), len(data) + 1, 0, 1, 3]
                else:
                    sizes = [0xFFFF, 0xFFFE, 0, 1, 3]
                data[offset : offset + width] = draw(st.sampled_from(sizes)).to_bytes(width, order)
        elif kind == "splice" and data:
            start = draw(st.integers(0, len(data) - 1))
            data[start:start] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "zero" and data:
            start = draw(st.integers(0, len(data) - 1))
            end = min(len(data), start + draw(st.integers(1, 16)))
            data[start:end] = bytes(end - start)
    return bytes(data)


@given(data=damaged_files())
@FUZZ
def test_damaged_files_raise_only_dicom_error(data):
    read_everything(data)
    read_everything(data, force=True)
    read_everything(data, stop_before_pixels=True)


@given(data=damaged_files())
@settings(FUZZ, max_examples=15)
def test_damaged_files_from_disk_raise_only_dicom_error(data):
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "damaged.dcm")
        with open(path, "wb") as f:
            f.write(data)
        read_everything(path)
        read_everything(path, mmap=False)


# ------------------------------------------------------------------------------------------
# Cases the properties found, each on its own.


def _write(build, syntax=pydicom_uid.ImplicitVRLittleEndian) -> bytes:
    ds = PyDataset()
    build(ds)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    meta.MediaStorageSOPInstanceUID = "1.2.3.4"
    meta.TransferSyntaxUID = syntax
    ds.file_meta = meta
    return write(ds)


def test_empty_person_name_is_a_person_name():
    # pydicom gives PersonName("") for an empty PN, alone or inside a multi-valued one, so
    # that .family_name and the like work on every PN value.
    def build(ds):
        ds.PatientName = ""
        ds.add_new(0x00081060, "PN", ["Doe^John", ""])  # NameOfPhysiciansReadingStudy

    data = _write(build, pydicom_uid.ExplicitVRLittleEndian)
    ours = dicodec.dcmread(data)
    assert isinstance(ours.PatientName, dicodec.PersonName) and ours.PatientName == ""
    assert ours.PatientName.family_name == ""
    names = ours.NameOfPhysiciansReadingStudy
    assert names == ["Doe^John", ""] and all(isinstance(n, dicodec.PersonName) for n in names)


def test_us_or_ss_pixel_representation_inside_an_item_stays_in_the_item():
    # Implicit VR: Smallest Image Pixel Value ("US or SS") at the top level, no Pixel
    # Representation there, but one of 1 inside an earlier sequence item. pydicom: US.
    def build(ds):
        item = PyDataset()
        item.PixelRepresentation = 1
        ds.ReferencedImageSequence = PySequence([item])  # (0008,1140), before (0028,0106)
        ds.add_new(0x00280106, "US", 40000)

    data = _write(build)
    theirs = pydicom_read(data)
    ours = dicodec.dcmread(data)
    assert theirs[0x00280106].VR == "US" and theirs[0x00280106].value == 40000
    assert ours[0x00280106].VR == "US" and ours[0x00280106].value == 40000


def test_us_or_ss_in_an_item_takes_the_pixel_representation_of_its_data_set():
    # Implicit VR: a sequence of defined length before (0028,0103) Pixel Representation 1;
    # its item holds Smallest Image Pixel Value. pydicom settles it by the nearest ancestor's
    # Pixel Representation, whatever its position in the stream: SS.
    def build(ds):
        ds.PixelRepresentation = 1
        item = PyDataset()
        item.add_new(0x00280106, "SS", -5)
        ds.ReferencedImageSequence = PySequence([item])  # (0008,1140)

    data = _write(build)
    theirs = pydicom_read(data)
    ours = dicodec.dcmread(data)
    their_value = theirs.ReferencedImageSequence[0][0x00280106]
    our_value = ours.ReferencedImageSequence[0][0x00280106]
    assert (their_value.VR, their_value.value) == ("SS", -5)
    assert (our_value.VR, our_value.value) == ("SS", -5)


def test_empty_private_sequence_in_implicit_vr_is_an_empty_sequence():
    # Implicit VR, a private tag of undefined length whose value is at once a Sequence
    # Delimitation Item. pydicom calls it a sequence only when an Item tag comes first, so it
    # reads UN with no value. dicodec deliberately reads an empty SQ: in implicit VR only a
    # sequence can have an undefined length (PS3.5 7.1.3, and CP-246 for UN).
    def build(ds):
        block = ds.private_block(0x0011, "DICODEC PROPERTY", create=True)
        block.add_new(0x01, "SQ", PySequence([]))
        block[0x01].is_undefined_length = True

    data = _write(build)
    theirs = pydicom_read(data)
    ours = dicodec.dcmread(data)
    assert theirs[0x00111001].VR == "UN" and theirs[0x00111001].value in (b"", None)
    assert ours[0x00111001].VR == "SQ" and ours[0x00111001].value == []
    assert ours.to_json_dict()["00111001"] == {"vr": "SQ", "Value": []}


def test_integer_string_with_a_fraction_reads_as_pydicom_reads_it():
    # IS "1.5" (not a valid IS): pydicom reads the number 1.5 (an ISfloat); dicodec the string.
    def build(ds):
        ds._dict[PyTag(0x00200013)] = RawDataElement(PyTag(0x00200013), "IS", 4, b"1.5 ", 0, False, True)

    data = _write(build, pydicom_uid.ExplicitVRLittleEndian)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom warns that the value is invalid
        assert pydicom_read(data).InstanceNumber == 1.5
    ours = dicodec.dcmread(data).InstanceNumber
    assert not isinstance(ours, str) and ours == 1.5
