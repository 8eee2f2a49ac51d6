"""Bad input raises a DicomError that names the file, the tag and the byte offset."""

from __future__ import annotations

import struct

import pytest

import dicodec
from dicodec.samples import sample_files

CT = next(p for p in sample_files() if p.name == "CT_small.dcm")


def _element(tag: int, vr: bytes, value: bytes) -> bytes:
    head = struct.pack("<HH", tag >> 16, tag & 0xFFFF) + vr
    if vr in (b"OB", b"OW", b"SQ", b"UN", b"UT", b"UC", b"UR", b"OD", b"OF", b"OL", b"OV", b"SV", b"UV"):
        return head + b"\0\0" + struct.pack("<I", len(value)) + value
    return head + struct.pack("<H", len(value)) + value


def _part10(dataset: bytes, syntax: bytes = b"1.2.840.10008.1.2.1\0") -> bytes:
    meta = _element(0x00020010, b"UI", syntax)
    return b"\0" * 128 + b"DICM" + _element(0x00020000, b"UL", struct.pack("<I", len(meta))) + meta + dataset


def test_hierarchy():
    assert issubclass(dicodec.DicomError, ValueError)
    for cls in (dicodec.InvalidDicomError, dicodec.TruncatedDataError, dicodec.LimitExceededError):
        assert issubclass(cls, dicodec.DicomError)
    assert issubclass(dicodec.UnsupportedError, NotImplementedError)
    assert issubclass(dicodec.UnsupportedError, dicodec.DicomError)


def test_not_dicom(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes(b"just some text, not an image" * 10)
    with pytest.raises(dicodec.InvalidDicomError) as info:
        dicodec.dcmread(path)
    assert info.value.path == str(path)
    assert "DICM" in str(info.value) and str(path) in str(info.value)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.dcm"
    path.write_bytes(b"")
    with pytest.raises(dicodec.InvalidDicomError):
        dicodec.dcmread(path)


def test_truncated_value_names_tag_and_offset(tmp_path):
    data = _part10(_element(0x00100010, b"PN", b"Doe^John") + _element(0x00100020, b"LO", b"ID12345678"))
    path = tmp_path / "cut.dcm"
    path.write_bytes(data[:-4])
    with pytest.raises(dicodec.TruncatedDataError) as info:
        dicodec.dcmread(path)
    error = info.value
    assert error.tag == 0x00100020
    assert error.offset == len(data) - 8 - 10  # the header of (0010,0020)
    assert "(0010,0020) 'Patient ID'" in str(error) and f"at offset {error.offset}" in str(error)
    assert error.path == str(path)


def test_item_length_beyond_its_sequence():
    item = b"\xfe\xff\x00\xe0" + struct.pack("<I", 1000) + _element(0x00100020, b"LO", b"AB")
    data = _part10(_element(0x00081140, b"SQ", item))
    with pytest.raises(dicodec.TruncatedDataError) as info:
        dicodec.dcmread(data)
    assert info.value.offset is not None


def _item(value: bytes) -> bytes:
    return b"\xfe\xff\x00\xe0" + struct.pack("<I", len(value)) + value


@pytest.mark.parametrize("source", ["path", "bytes"])
def test_a_header_read_raises_for_a_broken_sequence_when_it_is_asked_for(tmp_path, source):
    # A header read steps over sequences of defined length and reads their items when one is
    # first asked for: an item that is no data set raises then, and the rest stays readable.
    sound = _element(0x00081115, b"SQ", _item(_element(0x0020000E, b"UI", b"1.2.3\0")))
    broken = _element(0x00081140, b"SQ", _item(struct.pack("<HH", 0x0010, 0x0020) + b"XXjunk"))
    dataset = sound + broken + _element(0x00100010, b"PN", b"Doe^John")
    data = _part10(dataset)
    path = tmp_path / "broken-item.dcm"
    path.write_bytes(data)
    with pytest.raises(dicodec.InvalidDicomError):
        dicodec.dcmread(path)

    ds = dicodec.dcmread(path if source == "path" else data, stop_before_pixels=True)
    assert str(ds.PatientName) == "Doe^John"
    for _ in range(2):  # and the same again
        with pytest.raises(dicodec.InvalidDicomError) as info:
            ds.ReferencedImageSequence
        error = info.value
        # The bad VR, past the sequence's header (12 bytes), the item's (8) and the tag (4).
        broken_at = len(data) - len(dataset) + len(sound)
        assert (error.tag, error.offset) == (0x00100020, broken_at + 24)
        assert error.path == (str(path) if source == "path" else None)
    assert ds.ReferencedSeriesSequence[0].SeriesInstanceUID == "1.2.3"
    assert str(ds.PatientName) == "Doe^John"
    assert [int(t) for t in ds.keys()] == [0x00081115, 0x00081140, 0x00100010]
    [warning] = ds.warnings
    assert (warning.tag, warning.offset) == (0x00081140, broken_at)
    assert "cannot be read" in warning.message


def test_nesting_beyond_the_limit_is_an_error_not_a_stack_overflow():
    body = b""
    for _ in range(200):
        item = b"\xfe\xff\x00\xe0\xff\xff\xff\xff" + body + b"\xfe\xff\x0d\xe0\0\0\0\0"
        body = struct.pack("<HH", 0x0008, 0x1140) + b"SQ\0\0\xff\xff\xff\xff" + item + b"\xfe\xff\xdd\xe0\0\0\0\0"
    with pytest.raises(dicodec.LimitExceededError) as info:
        dicodec.dcmread(_part10(body))
    assert info.value.tag == 0x00081140


def test_invalid_vr_in_explicit_data():
    # (The first element decides explicit vs implicit, as in pydicom; the bad VR comes second.)
    data = _part10(_element(0x00080060, b"CS", b"CT") + struct.pack("<HH", 0x0010, 0x0010) + b"\x01\x02\x02\x00AB")
    with pytest.raises(dicodec.InvalidDicomError) as info:
        dicodec.dcmread(data)
    assert info.value.tag == 0x00100010


def test_odd_length_and_trailing_bytes_are_warnings():
    data = _part10(_element(0x00100020, b"LO", b"ABC") + b"\0\0\0")
    ds = dicodec.dcmread(data)
    assert ds.PatientID == "ABC"
    messages = [w.message for w in ds.warnings]
    assert any("odd value length" in m for m in messages)
    assert any("trailing zero bytes" in m for m in messages)
    assert all(isinstance(w.offset, int) for w in ds.warnings)


def test_wrong_group_length_is_tolerated():
    meta = _element(0x00020010, b"UI", b"1.2.840.10008.1.2.1\0")
    data = b"\0" * 128 + b"DICM" + _element(0x00020000, b"UL", struct.pack("<I", 999)) + meta
    data += _element(0x00100020, b"LO", b"AB")
    ds = dicodec.dcmread(data)
    assert ds.PatientID == "AB"
    assert any("group length" in w.message for w in ds.warnings)


def test_errors_pickle_with_their_location():
    import pickle

    error = dicodec.TruncatedDataError("cut", "/x.dcm", 0x00100010, 12)
    again = pickle.loads(pickle.dumps(error))
    assert (again.path, again.tag, again.offset, str(again)) == ("/x.dcm", 0x00100010, 12, str(error))


def test_every_truncation_of_a_sample_fails_cleanly():
    raw = CT.read_bytes()
    header_end = dicodec.dcmread(CT)["PixelData"].offset
    for cut in range(0, header_end + 16, 7):
        try:
            ds = dicodec.dcmread(raw[:cut])
            for _ds, element in ds.walk():
                element.value
        except dicodec.DicomError:
            pass
