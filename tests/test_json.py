"""``Dataset.to_json_dict`` is pydicom 3's ``to_json_dict``, element for element.

On every readable reference file (the MANIFEST rows not marked error) and on pydicom's own
test and character set files, with and without a bulk data handler and at several thresholds;
then pydicom's rules one at a time on small data sets pydicom writes.
"""

from __future__ import annotations

import base64
import io
import json
import os
import warnings
from typing import Any, Callable, Dict, List

import pytest

import dicodec
from dicodec.json import element_to_json_dict

from reference import DATA, KNOWN_DAMAGED, canonical_json, has_null, manifest_rows, needs_force, param_rows, pydicom_bundled_files, pydicom_read, pydicom_read_all

pydicom = pytest.importorskip("pydicom")

from pydicom import uid as pydicom_uid  # noqa: E402
from pydicom.dataelem import RawDataElement  # noqa: E402
from pydicom.dataset import Dataset as PyDataset  # noqa: E402
from pydicom.dataset import FileMetaDataset  # noqa: E402
from pydicom.sequence import Sequence as PySequence  # noqa: E402
from pydicom.tag import Tag as PyTag  # noqa: E402

READABLE = [r for r in manifest_rows() if r["reference_decoder"] != "error"]

#: (bulk_data_threshold, with a handler): pydicom's default, its default with a handler, and
#: small thresholds, one not a multiple of 4 (the comparison is with (threshold // 4) * 3).
VARIANTS = [(1024, False), (1024, True), (64, True), (10, True), (0, True)]


def handler(element) -> str:
    """A BulkDataURI from what both libraries' elements have: the tag (private VRs may differ)."""
    return f"https://example.org/bulk/{int(element.tag):08X}"


# ------------------------------------------------------------------------------------------
# Comparison


def _untyped_private(raw_bytes: bytes, threshold: int, with_handler: bool, tag: int) -> Dict[str, Any]:
    """The JSON of a private element as UN, by pydicom's rules for binary VRs."""
    out: Dict[str, Any] = {"vr": "UN"}
    if not raw_bytes:
        return out
    if with_handler and len(raw_bytes) > (threshold // 4) * 3:
        out["BulkDataURI"] = f"https://example.org/bulk/{tag:08X}"
    else:
        out["InlineBinary"] = base64.b64encode(raw_bytes).decode("ascii")
    return out


def normalise(
    ours: Dict[str, Any], theirs: Dict[str, Any], raw: PyDataset, threshold: int, with_handler: bool, where: str
) -> Dict[str, Any]:
    """pydicom's JSON of a data set, with the one difference that is not a bug made ours.

    pydicom types private elements from its private dictionaries (by their Private Creator)
    where the VR is not in the stream (implicit VR) or is UN; dicodec carries no private
    dictionaries and keeps them UN. For such an element, the expected JSON is that of UN: the
    value's bytes as written, which ``raw`` (a second pydicom read of the file, its elements
    still raw) gives independently of both readers' typing. Everything else is compared as is.
    """
    out: Dict[str, Any] = {}
    for key, element in theirs.items():
        tag = int(key, 16)
        mine = ours.get(key)
        is_private = (tag >> 16) % 2 == 1 and (tag >> 16) > 0x0008 and not 0x0010 <= (tag & 0xFFFF) <= 0x00FF
        if isinstance(mine, dict) and is_private and mine.get("vr") == "UN" and element.get("vr") != "UN":
            raw_element = raw.get_item(tag)
            if isinstance(raw_element, RawDataElement):
                value = raw_element.value
            else:  # pydicom builds empty elements at once: no bytes
                assert raw_element.is_empty, f"{where} {key}"
                value = b""
            assert isinstance(value, bytes), f"{where} {key}"
            out[key] = _untyped_private(value, threshold, with_handler, tag)
        elif isinstance(mine, dict) and element.get("vr") == "SQ" and mine.get("vr") == "SQ":
            mine_items, their_items = mine.get("Value", []), element.get("Value", [])
            if len(mine_items) == len(their_items):
                raw_items = raw[tag].value
                their_items = [
                    normalise(a, b, c, threshold, with_handler, f"{where} {key}[{n}]")
                    for n, (a, b, c) in enumerate(zip(mine_items, their_items, raw_items))
                ]
            out[key] = dict(element, Value=their_items)
        else:
            out[key] = element
    return out


def _diff(ours: Any, theirs: Any, path: str = "") -> List[str]:
    """Where two JSON values differ, for a readable failure."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        out = []
        for key in sorted(set(ours) | set(theirs)):
            if key not in ours or key not in theirs:
                out.append(
                    f"{path}/{key}: ours {ours.get(key, '<absent>')!r:.80} theirs {theirs.get(key, '<absent>')!r:.80}"
                )
            else:
                out += _diff(ours[key], theirs[key], f"{path}/{key}")
        return out
    if isinstance(ours, list) and isinstance(theirs, list) and len(ours) == len(theirs):
        return [d for n, (a, b) in enumerate(zip(ours, theirs)) for d in _diff(a, b, f"{path}[{n}]")]
    return [] if ours == theirs else [f"{path}: ours {ours!r:.80} theirs {theirs!r:.80}"]


def _pydicom_element_json(theirs: PyDataset, tag: int, threshold: int, with_handler: bool) -> Dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return theirs[tag].to_json_dict(handler if with_handler else None, threshold)


def assert_json_equals_pydicom(ours: dicodec.Dataset, path: str, force: bool, where: str) -> None:
    theirs = pydicom_read(path, force)
    raw = pydicom_read(path, force)
    for threshold, with_handler in VARIANTS:
        kwargs: Dict[str, Any] = {"bulk_data_threshold": threshold}
        if with_handler:
            kwargs["bulk_data_element_handler"] = handler
        mine = ours.to_json_dict(**kwargs)
        json.dumps(mine)  # plain JSON types only (NaN aside, which json.dumps writes as pydicom's)
        expected: Dict[str, Any] = {}
        for key in mine:
            tag = int(key, 16)
            try:
                expected[key] = _pydicom_element_json(theirs, tag, threshold, with_handler)
            except (ValueError, IndexError):
                # pydicom cannot write an empty value inside a multi-valued IS, DS or PN; ours
                # writes null there (see test_empty_values_inside_multi_valued_strings).
                assert has_null(mine[key]), f"{where} {key}: pydicom raises, and ours has no null"
                expected[key] = mine[key]
        expected = normalise(mine, expected, raw, threshold, with_handler, where)
        differences = _diff(canonical_json(mine), canonical_json(expected))
        assert not differences, f"{where} {kwargs}:\n" + "\n".join(differences[:20])
    assert list(mine) == sorted(mine), "keys in tag order"


# ------------------------------------------------------------------------------------------
# The corpus


@pytest.mark.parametrize("row", param_rows(READABLE))
def test_reference_files_json_equals_pydicom(row):
    path = str(DATA / row["path"])
    with dicodec.dcmread(path, force=needs_force(row)) as ours:
        assert_json_equals_pydicom(ours, path, needs_force(row), row["path"])


@pytest.mark.parametrize("path", pydicom_bundled_files())
def test_pydicom_bundled_files_json_equals_pydicom(path):
    if os.path.basename(path) in KNOWN_DAMAGED:
        with pytest.raises(dicodec.DicomError):
            dicodec.dcmread(path, force=True).to_json_dict()
        return
    try:
        theirs = pydicom_read_all(path)
    except Exception as exc:
        with pytest.raises(dicodec.DicomError):
            dicodec.dcmread(path, force=True).to_json_dict()
        pytest.skip(f"pydicom cannot read it ({type(exc).__name__}); dicodec raises DicomError")
    with dicodec.dcmread(path, force=True) as ours:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                theirs.to_json_dict()
        except ValueError:
            # pydicom cannot write it (badVR.dcm: IS "1A"): ours raises DicomError, a ValueError.
            with pytest.raises(dicodec.DicomError):
                ours.to_json_dict()
            return
        assert_json_equals_pydicom(ours, path, True, os.path.basename(path))


def test_the_file_meta_has_its_own_json():
    path = pydicom_bundled_files()[0].values[0]
    with dicodec.dcmread(path) as ours:
        theirs = pydicom_read(path, False)
        assert canonical_json(ours.file_meta.to_json_dict()) == canonical_json(theirs.file_meta.to_json_dict())
        assert not any(key.startswith("0002") for key in ours.to_json_dict())


# ------------------------------------------------------------------------------------------
# pydicom's rules, one at a time, on small data sets pydicom writes


def write(build: Callable[[PyDataset], None], syntax=pydicom_uid.ExplicitVRLittleEndian) -> bytes:
    ds = PyDataset()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    meta.MediaStorageSOPInstanceUID = "1.2.3.4"
    meta.TransferSyntaxUID = syntax
    ds.file_meta = meta
    build(ds)
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def raw_element(ds: PyDataset, tag: int, vr: str, value: bytes) -> None:
    """An element written exactly as given (pydicom validates and pads what it builds)."""
    ds._dict[PyTag(tag)] = RawDataElement(PyTag(tag), vr, len(value), value, 0, False, True)


def both(data: bytes, **kwargs: Any):
    """(ours, pydicom's) JSON of the same bytes; pydicom's is an exception when it raises."""
    ours = dicodec.dcmread(data).to_json_dict(**kwargs)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs: Any = pydicom.dcmread(io.BytesIO(data)).to_json_dict(**kwargs)
    except Exception as exc:  # noqa: BLE001 (which pydicom raises is part of what is checked)
        theirs = exc
    return ours, theirs


@pytest.mark.parametrize("syntax", [pydicom_uid.ImplicitVRLittleEndian, pydicom_uid.ExplicitVRBigEndian])
@pytest.mark.parametrize("length", [0, 1, 5, 6, 7, 8, 47, 48, 49, 767, 768, 769])
def test_bulk_threshold_is_three_quarters_of_the_base64_threshold(length, syntax):
    # pydicom: a BulkDataURI when len(value) > (threshold // 4) * 3, so 768 bytes for 1024.
    def build(ds):
        ds.add_new(0x00420011, "OB", bytes(range(256)) * 4 if length else b"")  # EncapsulatedDocument
        ds[0x00420011].value = ds[0x00420011].value[:length]
        ds.add_new(0x00660040, "OL", bytes(length // 4 * 4))  # LongPrimitivePointIndexList

    data = write(build, syntax)
    for threshold in (1024, 64, 10, 9, 8, 1, 0):
        for kwargs in (
            {"bulk_data_threshold": threshold},
            {"bulk_data_threshold": threshold, "bulk_data_element_handler": handler},
        ):
            ours, theirs = both(data, **kwargs)
            assert canonical_json(ours) == canonical_json(theirs), kwargs
    ours = dicodec.dcmread(data).to_json_dict(bulk_data_element_handler=handler)["00420011"]
    padded = length + length % 2  # pydicom pads OB to even length
    if padded == 0:
        assert ours == {"vr": "OB"}
    elif padded > 768:
        assert ours == {"vr": "OB", "BulkDataURI": "https://example.org/bulk/00420011"}
    else:
        assert base64.b64decode(ours["InlineBinary"]) == (bytes(range(256)) * 4)[:length] + bytes(length % 2)


def test_the_handler_gets_the_dicodec_element():
    seen = []

    def record(element):
        seen.append(element)
        return "uri"

    data = write(lambda ds: ds.add_new(0x00420011, "OB", bytes(100)))
    ds = dicodec.dcmread(data)
    assert ds.to_json_dict(bulk_data_threshold=4, bulk_data_element_handler=record)["00420011"] == {
        "vr": "OB",
        "BulkDataURI": "uri",
    }
    assert len(seen) == 1 and isinstance(seen[0], dicodec.DataElement) and seen[0].tag == 0x00420011


EMPTY_VALUES = {
    "AE": "", "AS": "", "AT": None, "CS": "", "DA": "", "DS": "", "DT": "", "FD": None, "FL": None, "IS": "",
    "LO": "", "LT": "", "OB": b"", "OD": b"", "OF": b"", "OL": b"", "OV": b"", "OW": b"", "PN": "", "SH": "",
    "SL": None, "SQ": [], "SS": None, "ST": "", "SV": None, "TM": "", "UC": "", "UI": "", "UL": None, "UN": b"",
    "UR": "", "US": None, "UT": "", "UV": None,
}  # fmt: skip


@pytest.mark.parametrize("syntax", [pydicom_uid.ImplicitVRLittleEndian, pydicom_uid.ExplicitVRLittleEndian])
def test_empty_values_have_no_value_key(syntax):
    from pydicom.datadict import DicomDictionary

    tags = {}
    for tag, (vr, _vm, _name, _retired, _keyword) in sorted(DicomDictionary.items()):
        if vr in EMPTY_VALUES and vr not in tags and tag >> 16 not in (0x0000, 0x0002, 0x0008, 0x7FE0):
            tags[vr] = tag

    def build(ds):
        for vr, tag in tags.items():
            ds.add_new(tag, vr, EMPTY_VALUES[vr])
        raw_element(ds, 0x00100010, "PN", b"  ")  # only padding: as empty as no bytes
        raw_element(ds, 0x00181050, "DS", b"  ")

    ours, theirs = both(write(build, syntax))
    assert canonical_json(ours) == canonical_json(theirs)
    for key, element in ours.items():
        assert element == ({"vr": "SQ", "Value": []} if element["vr"] == "SQ" else {"vr": element["vr"]}), key


def test_empty_values_inside_multi_valued_strings():
    def build(ds):
        raw_element(ds, 0x00080008, "CS", b"ORIGINAL\\\\AXIAL ")  # ImageType
        raw_element(ds, 0x00081030, "LO", b"\\")  # StudyDescription: two empty values
        raw_element(ds, 0x00200037, "DS", b"1\\\\0 ")  # ImageOrientationPatient
        raw_element(ds, 0x00201206, "IS", b"\\7")  # NumberOfStudyRelatedSeries
        raw_element(ds, 0x00081060, "PN", b"Doe^John\\\\Roe")  # NameOfPhysiciansReadingStudy

    data = write(build)
    ours = dicodec.dcmread(data).to_json_dict()
    # pydicom keeps empty strings in text...
    assert ours["00080008"] == {"vr": "CS", "Value": ["ORIGINAL", "", "AXIAL"]}
    assert ours["00081030"] == {"vr": "LO", "Value": ["", ""]}
    # ... but raises on an empty number or name (int(""), float(""), components[0] of ""):
    # dicodec writes null, as PS3.18 F.2.5 says for empty values of a multi-valued attribute.
    assert ours["00200037"] == {"vr": "DS", "Value": [1.0, None, 0.0]}
    assert ours["00201206"] == {"vr": "IS", "Value": [None, 7]}
    assert ours["00081060"] == {"vr": "PN", "Value": [{"Alphabetic": "Doe^John"}, None, {"Alphabetic": "Roe"}]}
    theirs = pydicom.dcmread(io.BytesIO(data))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for tag, error in ((0x00200037, ValueError), (0x00201206, ValueError), (0x00081060, IndexError)):
            with pytest.raises(error):
                theirs[tag].to_json_dict(None, 1024)
        for tag in (0x00080008, 0x00081030):
            assert theirs[tag].to_json_dict(None, 1024) == ours[f"{tag:08X}"]


@pytest.mark.parametrize(
    "raw, expected",
    [
        (b"Doe^John", [{"Alphabetic": "Doe^John"}]),
        (b"Doe^John=", [{"Alphabetic": "Doe^John"}]),  # trailing empty groups are dropped
        (b"Doe^John==", [{"Alphabetic": "Doe^John"}]),
        (b"=Ideo", [{"Alphabetic": "", "Ideographic": "Ideo"}]),
        (b"A==Phon", [{"Alphabetic": "A", "Ideographic": "", "Phonetic": "Phon"}]),
        (b"A=I=P\\B", [{"Alphabetic": "A", "Ideographic": "I", "Phonetic": "P"}, {"Alphabetic": "B"}]),
        (b"^Given", [{"Alphabetic": "^Given"}]),
    ],
)
def test_person_names(raw, expected):
    data = write(lambda ds: raw_element(ds, 0x00100010, "PN", raw + b" " * (len(raw) % 2)))
    ours, theirs = both(data)
    assert ours == {"00100010": {"vr": "PN", "Value": expected}}
    assert canonical_json(ours) == canonical_json(theirs)


def test_a_name_of_only_delimiters_is_empty():
    # pydicom raises IndexError (no components); an empty name has no Value.
    data = write(lambda ds: raw_element(ds, 0x00100010, "PN", b"=="))
    assert dicodec.dcmread(data).to_json_dict() == {"00100010": {"vr": "PN"}}


def test_person_names_in_character_sets():
    path = next(p.values[0] for p in pydicom_bundled_files() if p.values[0].endswith("chrX1.dcm"))  # "...=...=" : trailing group dropped
    ours = dicodec.dcmread(path).to_json_dict()
    theirs = pydicom_read(path, False).to_json_dict()
    assert ours["00100010"] == theirs["00100010"]
    assert "Phonetic" not in ours["00100010"]["Value"][0]


@pytest.mark.parametrize("syntax", [pydicom_uid.ImplicitVRLittleEndian, pydicom_uid.ExplicitVRBigEndian])
def test_numbers_tags_and_text(syntax):
    def build(ds):
        ds.add_new(0x00209165, "AT", [0x00100010, 0x7FE00010])  # DimensionIndexPointer
        ds.add_new(0x00209167, "AT", 0x00200032)  # FunctionalGroupPointer
        ds.add_new(0x00280010, "US", 512)
        ds.add_new(0x00186020, "SL", -5)  # ReferencePixelX0
        ds.add_new(0x00720082, "SV", [-(2**63), 2**63 - 1])  # SelectorSVValue
        ds.add_new(0x00720083, "UV", [0, 2**64 - 1])  # SelectorUVValue
        ds.add_new(0x0018605A, "FL", [float("nan"), float("inf"), -0.0, 1.5])  # TableOfParameterValues
        ds.add_new(0x00720074, "FD", [1e300, float("-inf")])  # SelectorFDValue
        ds.add_new(0x00280030, "DS", ["0.5", "1e3"])
        ds.add_new(0x00200013, "IS", "-12")
        ds.add_new(0x0072007A, "US", list(range(40)))  # SelectorUSValue, > 16 values: NumPy in dicodec
        ds.add_new(0x00080018, "UI", "1.2.3")
        ds.add_new(0x00081030, "LO", ["  leading", "b"])
        ds.add_new(0x00204000, "LT", "line\r\nwith \\ backslash")

    ours, theirs = both(write(build, syntax))
    assert canonical_json(ours) == canonical_json(theirs)
    assert ours["00209165"]["Value"] == ["00100010", "7FE00010"]
    assert ours["00209167"]["Value"] == ["00200032"]
    assert ours["00200013"]["Value"] == [-12] and type(ours["00200013"]["Value"][0]) is int
    assert all(type(v) is float for v in ours["00280030"]["Value"])
    assert ours["0072007A"]["Value"] == list(range(40))
    assert all(type(v) is int for v in ours["0072007A"]["Value"])
    json.dumps(ours)


@pytest.mark.parametrize("pixel_representation, vr", [(0, "US"), (1, "SS")])
def test_us_or_ss_is_settled_by_pixel_representation(pixel_representation, vr):
    def build(ds):
        ds.PixelRepresentation = pixel_representation
        ds.add_new(0x00280106, "US" if pixel_representation == 0 else "SS", 100)  # SmallestImagePixelValue

    ours, theirs = both(write(build, pydicom_uid.ImplicitVRLittleEndian))
    assert ours["00280106"] == {"vr": vr, "Value": [100]}
    assert canonical_json(ours) == canonical_json(theirs)


@pytest.mark.parametrize("syntax", [pydicom_uid.ImplicitVRLittleEndian, pydicom_uid.ExplicitVRLittleEndian])
def test_private_group_length_and_un_elements_are_written(syntax):
    def build(ds):
        ds.PatientName = "Doe^Jane"
        block = ds.private_block(0x0011, "DICODEC JSON TEST", create=True)
        block.add_new(0x01, "LO", "private text")
        block.add_new(0x02, "UN", b"\x01\x02\x03\x04")
        block.add_new(0x03, "SQ", PySequence([PyDataset()]))
        ds.add_new(0x0072006D, "UN", b"\xff\x00")  # SelectorUNValue

    data = write(build, syntax)
    # pydicom does not write group lengths (retired): put one in front of group 0010.
    at = dicodec.dcmread(data)["PatientName"].offset
    header = b"\x10\x00\x00\x00" + (b"\x04\x00\x00\x00" if syntax.is_implicit_VR else b"UL\x04\x00")
    data = data[:at] + header + (1234).to_bytes(4, "little") + data[at:]
    ours, theirs = both(data)
    assert canonical_json(ours) == canonical_json(theirs)
    assert ours["00100000"] == {"vr": "UL", "Value": [1234]}
    assert ours["00110010"] == {"vr": "LO", "Value": ["DICODEC JSON TEST"]}
    assert ours["00111002"] == {"vr": "UN", "InlineBinary": "AQIDBA=="}
    assert ours["0072006D"] == {"vr": "UN", "InlineBinary": "/wA="}
    if syntax.is_implicit_VR:  # an unknown creator: UN to both readers
        assert ours["00111001"]["vr"] == "UN"
    else:
        assert ours["00111001"] == {"vr": "LO", "Value": ["private text"]}
        assert ours["00111003"] == {"vr": "SQ", "Value": [{}]}


def test_nested_sequences_and_bulk_in_items():
    def build(ds):
        inner = PyDataset()
        inner.add_new(0x00420011, "OB", bytes(range(20)))
        inner.CodeValue = "X"
        middle = PyDataset()
        middle.ConceptNameCodeSequence = PySequence([inner])
        middle.is_undefined_length_sequence_item = True
        ds.ContentSequence = PySequence([middle, PyDataset()])
        ds["ContentSequence"].is_undefined_length = True

    data = write(build)
    for kwargs in ({}, {"bulk_data_threshold": 16, "bulk_data_element_handler": handler}):
        ours, theirs = both(data, **kwargs)
        assert canonical_json(ours) == canonical_json(theirs)
    items = ours["0040A730"]["Value"]
    assert items[1] == {} and items[0]["0040A043"]["Value"][0]["00420011"] == {
        "vr": "OB",
        "BulkDataURI": "https://example.org/bulk/00420011",
    }


def test_a_value_that_is_no_number_raises_dicom_error():
    data = write(lambda ds: raw_element(ds, 0x00200013, "IS", b"1A"))  # pydicom: ValueError
    with pytest.raises(dicodec.DicomError) as info:
        dicodec.dcmread(data).to_json_dict()
    assert isinstance(info.value, ValueError) and info.value.tag == 0x00200013


def test_an_integer_string_with_a_fraction_is_truncated_as_pydicom_does():
    ours, theirs = both(write(lambda ds: raw_element(ds, 0x00200013, "IS", b"1.5 ")))
    assert ours == theirs == {"00200013": {"vr": "IS", "Value": [1]}}


def test_element_to_json_dict_is_public():
    ds = dicodec.dcmread(write(lambda ds: ds.add_new(0x00280010, "US", 7)))
    assert element_to_json_dict(ds["Rows"]) == {"vr": "US", "Value": [7]}


def test_equality_of_data_sets_is_equality_of_their_json():
    data = write(lambda ds: ds.add_new(0x00280010, "US", 7))
    assert dicodec.dcmread(data) == dicodec.dcmread(data)
    assert dicodec.dcmread(data) != dicodec.dcmread(write(lambda ds: ds.add_new(0x00280010, "US", 8)))
