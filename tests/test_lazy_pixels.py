"""Reading the header of a huge file never touches the pages of its pixel data."""

from __future__ import annotations

import struct
import sys

import pytest

import dicodec

GIB = 1 << 30

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads RSS from /proc (Linux only)")


def _rss_bytes(field: str = "VmRSS") -> int:
    """Resident memory, or with ``field="RssFile"`` the resident pages of mapped files alone."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field}")


def _element(tag: int, vr: bytes, value: bytes) -> bytes:
    """An explicit VR little endian element with a 16-bit length."""
    return struct.pack("<HH", tag >> 16, tag & 0xFFFF) + vr + struct.pack("<H", len(value)) + value


def _file_start(transfer_syntax: bytes) -> bytes:
    """The preamble, ``DICM`` and a file meta group naming ``transfer_syntax`` (even length)."""
    meta = _element(0x00020010, b"UI", transfer_syntax)
    return b"\0" * 128 + b"DICM" + _element(0x00020000, b"UL", struct.pack("<I", len(meta))) + meta


def _sparse_multiframe(path, pixel_bytes: int) -> None:
    """A Part 10 file whose 1 GiB of pixel data is a hole in a sparse file."""
    header = _file_start(b"1.2.840.10008.1.2.1\0")
    header += _element(0x00080060, b"CS", b"CT")
    header += _element(0x00280008, b"IS", b"2048")
    header += _element(0x00280010, b"US", struct.pack("<H", 512))
    header += _element(0x00280011, b"US", struct.pack("<H", 512))
    header += _element(0x00280100, b"US", struct.pack("<H", 16))
    pixel_header = struct.pack("<HH", 0x7FE0, 0x0010) + b"OW\0\0" + struct.pack("<I", pixel_bytes)
    with open(path, "wb") as f:
        f.write(header + pixel_header)
        f.truncate(len(header) + len(pixel_header) + pixel_bytes)


@pytest.mark.parametrize("stop_before_pixels", [True, False])
def test_header_scan_of_a_1gib_file_does_not_touch_its_pixels(tmp_path, stop_before_pixels):
    path = tmp_path / "huge.dcm"
    _sparse_multiframe(path, GIB)
    before = _rss_bytes()
    with dicodec.dcmread(path, stop_before_pixels=stop_before_pixels) as ds:
        assert ds.NumberOfFrames == 2048 and ds.Rows == 512
        if stop_before_pixels:
            assert "PixelData" not in ds
        else:
            assert ds["PixelData"].length == GIB
        grown = _rss_bytes() - before
    # Touching the pixel pages would map 1 GiB; reading the header maps a few pages.
    assert grown < 16 * 1024 * 1024, f"RSS grew by {grown} bytes"


def _sparse_rle_multiframe(path, frames: int, side: int, offset_table: bool = True) -> int:
    """A Part 10 RLE file of ``frames`` 8-bit ``side`` x ``side`` frames with a Basic Offset
    Table (an empty one without ``offset_table``). Each frame is one fragment: a 64-byte RLE
    header, then a segment that is a hole in the sparse file, whose zero bytes are literal runs
    of one zero each. Returns the offset of the first fragment's item tag."""
    header = _file_start(b"1.2.840.10008.1.2.5\0")
    header += _element(0x00280002, b"US", struct.pack("<H", 1))
    header += _element(0x00280004, b"CS", b"MONOCHROME2 ")
    header += _element(0x00280008, b"IS", str(frames).encode().ljust(2 * ((len(str(frames)) + 1) // 2)))
    header += _element(0x00280010, b"US", struct.pack("<H", side))
    header += _element(0x00280011, b"US", struct.pack("<H", side))
    header += _element(0x00280100, b"US", struct.pack("<H", 8))
    header += _element(0x00280103, b"US", struct.pack("<H", 0))
    fragment = 64 + 2 * side * side
    table = struct.pack(f"<{frames}I", *(i * (8 + fragment) for i in range(frames))) if offset_table else b""
    header += struct.pack("<HH", 0x7FE0, 0x0010) + b"OB\0\0" + struct.pack("<I", 0xFFFFFFFF)
    header += struct.pack("<HHI", 0xFFFE, 0xE000, len(table)) + table
    rle_header = struct.pack("<16I", 1, 64, *[0] * 14)
    with open(path, "wb") as f:
        f.write(header)
        for i in range(frames):
            f.seek(len(header) + i * (8 + fragment))
            f.write(struct.pack("<HHI", 0xFFFE, 0xE000, fragment) + rle_header)
        f.seek(len(header) + frames * (8 + fragment))
        f.write(struct.pack("<HHI", 0xFFFE, 0xE0DD, 0))
    return len(header)


def test_a_frame_by_index_touches_only_its_own_pages(tmp_path):
    """With a Basic Offset Table, reading frame i of a 1 GiB RLE file reads the table, frame
    i's item and the last frame's, not the item headers spread over every frame's pages, and
    a damaged frame elsewhere in the file does not stop it."""
    path = tmp_path / "rle.dcm"
    frames, side = 2048, 512
    first_item = _sparse_rle_multiframe(path, frames, side)
    with open(path, "r+b") as f:
        f.seek(first_item + 7 * (8 + 64 + 2 * side * side))
        f.write(b"damaged!")
    before = _rss_bytes("RssFile")
    with dicodec.dcmread(path) as ds:
        frame = ds.frame(1000)
        assert frame.shape == (side, side) and not frame.any()
        grown = _rss_bytes("RssFile") - before
        with pytest.raises(dicodec.DicomError, match="expected an Item tag") as raised:
            ds.frame(7)
        assert raised.value.offset == first_item + 7 * (8 + 64 + 2 * side * side)
    # Frame 1000 is 0.5 MiB; reading every item header would map a page each, 8 MiB at least.
    assert grown < 4 * 1024 * 1024, f"mapped file pages grew by {grown} bytes"


def test_without_an_offset_table_the_item_walk_maps_no_pages(tmp_path):
    """With an empty Basic Offset Table (and no Extended one) every item of the pixel data must
    be walked to find frame i. The item headers, a frame apart, are read with positioned reads
    rather than through the map, so the walk leaves no file pages mapped: frame 1000 of a 1 GiB
    file costs its own pages."""
    path = tmp_path / "rle-no-table.dcm"
    frames, side = 2048, 512
    _sparse_rle_multiframe(path, frames, side, offset_table=False)
    before = _rss_bytes("RssFile")
    with dicodec.dcmread(path) as ds:
        frame = ds.frame(1000)
        assert frame.shape == (side, side) and not frame.any()
        grown = _rss_bytes("RssFile") - before
    # Through the map, the walk would map a page per item header: 8 MiB at least.
    assert grown < 4 * 1024 * 1024, f"mapped file pages grew by {grown} bytes"


def test_mmap_false_with_stop_before_pixels_still_reads_the_header(tmp_path):
    path = tmp_path / "small.dcm"
    _sparse_multiframe(path, 4096)
    ds = dicodec.dcmread(path, stop_before_pixels=True, mmap=False)
    assert ds.Rows == 512 and "PixelData" not in ds


def test_dcmread_reads_the_header_first_and_the_rest_on_demand(tmp_path):
    """A plain ``dcmread`` reads the header, maps the rest when the pixel data (or what follows
    it) is asked for, and then answers exactly as a full read does: elements after the pixel
    data included, elements already handed out unchanged."""
    import pydicom
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian

    ds = pydicom.Dataset()
    ds.PatientName = "Doe^Jane"
    ds.Rows, ds.Columns, ds.SamplesPerPixel, ds.BitsAllocated, ds.BitsStored = 2, 2, 1, 16, 16
    ds.HighBit, ds.PixelRepresentation, ds.PhotometricInterpretation = 15, 0, "MONOCHROME2"
    ds.PixelData = struct.pack("<4H", 1, 2, 3, 4)
    trailer = pydicom.Dataset()
    trailer.CodeValue = "T"
    ds.add_new(0x00091010, "LO", "after")  # a private element before the pixels
    ds.add_new(0xFFFAFFFA, "SQ", [trailer])  # Digital Signatures Sequence, after them
    ds.add_new(0xFFFCFFFC, "OB", b"\0\0")
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.file_meta.MediaStorageSOPInstanceUID = "1.2.3.4"
    path = tmp_path / "trailer.dcm"
    ds.save_as(path, enforce_file_format=True)

    read = dicodec.dcmread(path)
    name = read["PatientName"]
    assert name.value == "Doe^Jane"
    expected = [int(t) for t in pydicom.dcmread(path).keys()]
    assert [int(t) for t in read.keys()] == expected and len(read) == len(expected)
    assert read[0xFFFAFFFA].value[0].CodeValue == "T"
    assert read.pixel_array.tolist() == [[1, 2], [3, 4]]
    assert read["PatientName"] is name and name.value == "Doe^Jane"
    assert dicodec.dcmread(path, mmap=False)[0xFFFCFFFC].length == 2
