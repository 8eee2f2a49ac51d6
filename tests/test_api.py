"""The pydicom-like surface of dicodec.dcmread and Dataset."""

from __future__ import annotations

import gc
import os

import numpy as np
import pytest

import dicodec
from dicodec.samples import sample_files

SAMPLES = {p.name: p for p in sample_files()}
CT = SAMPLES["CT_small.dcm"]


def test_samples_are_bundled():
    assert len(SAMPLES) >= 8
    assert sum(p.stat().st_size for p in SAMPLES.values()) < 2 * 1024 * 1024


def test_keyword_tag_and_tuple_access_agree():
    ds = dicodec.dcmread(CT)
    element = ds["PatientName"]
    assert ds[0x00100010] is element
    assert ds[(0x0010, 0x0010)] is element
    assert ds["(0010,0010)"] is element
    assert element.tag == 0x00100010 and str(element.tag) == "(0010,0010)"
    assert element.VR == "PN" and element.keyword == "PatientName"
    assert element.name == "Patient's Name"
    assert ds.PatientName == element.value == "CompressedSamples^CT1"
    assert ds.PatientName.family_name == "CompressedSamples"
    assert ds.PatientName.given_name == "CT1"
    assert ds.Rows == 128 and ds.Columns == 128
    assert ds.ImageType == ["ORIGINAL", "PRIMARY", "AXIAL"]
    assert isinstance(ds.SliceThickness, float)


def test_offsets_point_at_the_element_in_the_file():
    ds = dicodec.dcmread(CT)
    raw = CT.read_bytes()
    element = ds["Rows"]
    assert raw[element.offset : element.offset + 4] == bytes([0x28, 0x00, 0x10, 0x00])
    assert raw[element.value_offset : element.value_offset + 2] == (128).to_bytes(2, "little")
    assert element.length == 2


def test_missing_elements():
    ds = dicodec.dcmread(CT)
    assert "PatientName" in ds and 0x00100010 in ds and (0x0010, 0x0010) in ds
    assert "NotAKeyword" not in ds
    assert "OverlayRows" not in ds
    assert ds.get("OverlayRows") is None
    assert ds.get("OverlayRows", 5) == 5
    assert ds.get("Rows") == 128
    assert ds.get(0x00280010).value == 128
    with pytest.raises(KeyError):
        ds["OverlayRows"]
    with pytest.raises(AttributeError):
        ds.OverlayRows
    with pytest.raises(KeyError):
        ds["NoSuchKeyword"]


def test_keyword_reads_are_the_same_on_every_access_and_data_set():
    # The first read of a keyword puts an attribute for it on the class: later reads, on this
    # data set or any other, must still find each one's own value or raise for absent ones.
    first, second = dicodec.dcmread(CT), dicodec.dcmread(SAMPLES["SC_rgb.dcm"])
    assert first.Rows == 128 and first.Rows == 128
    assert second.Rows == 100 and first.Rows == 128
    assert first.Modality == "CT" and second.Modality == "OT"
    for ds in (first, second):
        assert not hasattr(ds, "OverlayRows")
        with pytest.raises(AttributeError, match="OverlayRows"):
            ds.OverlayRows
        assert getattr(ds, "OverlayRows", "absent") == "absent"
    with pytest.raises(AttributeError):
        first.NotAKeyword
    # dir() lists what each data set has, whatever keywords were read elsewhere.
    assert "Rows" in dir(first) and "OverlayRows" not in dir(first) and "OverlayRows" not in dir(second)


def test_iteration_is_in_tag_order_and_len_counts_top_level():
    ds = dicodec.dcmread(CT)
    tags = [element.tag for element in ds]
    assert tags == sorted(tags)
    assert len(ds) == len(tags) == len(ds.keys())
    assert "PatientName" in ds.dir()


def test_sequences_are_lists_of_datasets():
    ds = dicodec.dcmread(CT)
    items = ds.OtherPatientIDsSequence
    assert [item.PatientID for item in items] == ["ABCD1234", "1234ABCD"]
    assert all(isinstance(item, dicodec.Dataset) for item in items)
    assert items[0].parent is ds
    walked = [element.tag for _ds, element in ds.walk()]
    assert 0x00100022 in walked  # inside the items


def test_data_sets_are_freed_without_the_garbage_collector():
    """Elements, items and data sets refer to each other without cycles, so a file's buffers
    go the moment its last data set does, not when the collector next runs."""
    gc.collect()
    gc.disable()
    try:
        ds = dicodec.dcmread(CT)
        kept = [element.value for _ds, element in ds.walk()]
        items = ds.OtherPatientIDsSequence
        assert items[0].parent is ds and ds.file_meta.TransferSyntaxUID
        del ds, items, kept
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_an_item_outlives_its_parent():
    item = dicodec.dcmread(CT).OtherPatientIDsSequence[1]
    gc.collect()
    assert item.parent is None and item.PatientID == "1234ABCD"


def test_file_meta_and_transfer_syntax():
    ds = dicodec.dcmread(CT)
    assert ds.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"
    assert ds.transfer_syntax == "1.2.840.10008.1.2.1"
    assert ds.is_little_endian and not ds.is_implicit_VR
    assert ds.preamble is True
    assert all(element.tag >> 16 == 2 for element in ds.file_meta)
    assert ds.warnings == []


def test_bulk_values_are_read_only_views_of_the_map():
    ds = dicodec.dcmread(CT)
    assert ds.is_memory_mapped
    pixels = ds.PixelData
    assert isinstance(pixels, np.ndarray) and pixels.dtype == np.dtype("<u2")
    assert not pixels.flags.writeable
    with pytest.raises(ValueError):
        pixels[0] = 1
    raw = CT.read_bytes()
    element = ds["PixelData"]
    assert pixels.tobytes() == raw[element.value_offset : element.value_offset + element.length]


def test_big_endian_words_keep_their_byte_order():
    ds = dicodec.dcmread(SAMPLES["MR_small_bigendian.dcm"])
    assert not ds.is_little_endian
    assert ds.PixelData.dtype == np.dtype(">u2")
    assert ds.Rows == 64


def test_context_manager_releases_the_file_but_values_stay_valid():
    with dicodec.dcmread(CT) as ds:
        pixels = ds.PixelData
        name = ds.PatientName
    assert ds._native is None
    del ds
    gc.collect()
    assert pixels.sum() > 0 and name == "CompressedSamples^CT1"


def test_mmap_false_reads_into_memory():
    ds = dicodec.dcmread(CT, mmap=False)
    assert not ds.is_memory_mapped
    assert ds.PatientName == "CompressedSamples^CT1"


def test_bytes_input_and_buffers():
    raw = CT.read_bytes()
    for source in (raw, bytearray(raw), memoryview(raw)):
        ds = dicodec.dcmread(source)
        assert ds.Rows == 128
        assert ds.filename is None


def test_a_file_data_set_sets_every_field_a_data_set_has():
    # FileDataset sets Dataset's fields itself rather than through Dataset.__init__.
    ds = dicodec.dcmread(CT, stop_before_pixels=True)
    for cls in type(ds).__mro__:
        for name in getattr(cls, "__slots__", ()):
            if name != "__weakref__":
                getattr(ds, name)
    item = ds.file_meta
    assert [getattr(ds, name) for name in ("_parent", "_inherited_charset", "_charset")] == [
        getattr(item, name) for name in ("_parent", "_inherited_charset", "_charset")
    ]


def test_stop_before_pixels_omits_the_pixel_data():
    ds = dicodec.dcmread(CT, stop_before_pixels=True)
    assert "PixelData" not in ds
    assert ds.Rows == 128


def test_specific_tags_reads_only_those():
    ds = dicodec.dcmread(CT, specific_tags=["PatientName", 0x00280010])
    assert ds.keys() == [0x00080005, 0x00100010, 0x00280010]
    assert ds.PatientName == "CompressedSamples^CT1"
    assert "Columns" not in ds
    with pytest.raises(AttributeError):
        ds.Columns


def test_deflated_file_reads():
    ds = dicodec.dcmread(SAMPLES["image_dfl.dcm"])
    assert ds.transfer_syntax == "1.2.840.10008.1.2.1.99"
    assert ds.Rows == 512


def test_repr_lists_elements():
    text = repr(dicodec.dcmread(CT, stop_before_pixels=True))
    assert "(0010,0010) Patient's Name" in text and "CompressedSamples^CT1" in text


def test_dictionary_lookups():
    assert dicodec.tag_for_keyword("PatientName") == 0x00100010
    assert dicodec.keyword_for_tag(0x00100010) == "PatientName"
    assert dicodec.dictionary_VR(0x7FE00010) == "OB or OW"
    assert dicodec.tag_for_keyword("OverlayData") == 0x60003000
    assert dicodec.keyword_for_tag(0x60023000) == "OverlayData"
    assert dicodec.tag_for_keyword("NotAKeyword") is None
    assert dicodec.dictionary_description(0x00091010) == "Private tag data"


def test_date_time_helpers():
    import datetime as dt

    assert dicodec.parse_date("20040119") == dt.date(2004, 1, 19)
    assert dicodec.parse_date("2004.01.19") == dt.date(2004, 1, 19)
    assert dicodec.parse_date("20041319") is None
    assert dicodec.parse_time("072731.5") == dt.time(7, 27, 31, 500000)
    assert dicodec.parse_time("0727") == dt.time(7, 27)
    assert dicodec.parse_datetime("20040119072731+0100").utcoffset() == dt.timedelta(hours=1)
    assert dicodec.parse_datetime("2004") == dt.datetime(2004, 1, 1)


def test_version():
    assert dicodec.__version__.count(".") == 2


def test_a_file_path_that_does_not_exist_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        dicodec.dcmread(tmp_path / "missing.dcm")


def test_os_pathlike_and_str_paths():
    assert dicodec.dcmread(os.fspath(CT)).Rows == dicodec.dcmread(CT).Rows
