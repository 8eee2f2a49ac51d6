"""Every reference file reads to the same elements as pydicom 3 reads from it."""

from __future__ import annotations

import math
import os
import warnings

import numpy as np
import pytest

import dicodec

from reference import DATA, KNOWN_DAMAGED, manifest_rows, needs_force, param_rows, pydicom_bundled_files, pydicom_read, pydicom_read_all

pydicom = pytest.importorskip("pydicom")

READABLE = [r for r in manifest_rows() if r["reference_decoder"] != "error"]
# Files whose damage is in the element structure itself (not in the pixel data, whose errors
# surface when pixels are decoded).
STRUCTURALLY_BROKEN = [r for r in manifest_rows() if "truncated mid-element" in r["notes"]]


def _same_number(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or float(a) == float(b)
    return int(a) == int(b)


def _normalise(value):
    """pydicom's value in plain Python types: lists for multi-values, bytes for binary."""
    if isinstance(value, pydicom.multival.MultiValue) or isinstance(value, list):
        return [_normalise(v) for v in value]
    if isinstance(value, pydicom.valuerep.PersonName):
        return str(value)
    return value


def assert_same_value(ours, theirs, where):
    theirs = _normalise(theirs)
    if isinstance(ours, np.ndarray):
        if isinstance(theirs, (bytes, bytearray)):
            assert ours.tobytes() == bytes(theirs), where
            return
        theirs_list = theirs if isinstance(theirs, list) else [theirs]
        assert len(ours) == len(theirs_list), where
        assert all(_same_number(a, b) for a, b in zip(ours.tolist(), theirs_list)), where
        return
    if isinstance(theirs, list):
        assert isinstance(ours, list) and len(ours) == len(theirs), f"{where}: {ours!r} != {theirs!r}"
        for a, b in zip(ours, theirs):
            assert_same_scalar(a, b, where)
        return
    assert_same_scalar(ours, theirs, where)


def assert_same_scalar(ours, theirs, where):
    if isinstance(theirs, (int, float)) and not isinstance(theirs, bool) and not isinstance(ours, str):
        assert ours is not None and _same_number(ours, theirs), f"{where}: {ours!r} != {theirs!r}"
    elif isinstance(theirs, bytes):
        assert bytes(ours if ours is not None else b"") == theirs, where
    else:
        assert ours == theirs, f"{where}: {ours!r} != {theirs!r}"


def assert_same_dataset(ours: dicodec.Dataset, theirs, where: str) -> None:
    their_tags = [int(e.tag) for e in theirs]
    assert ours.keys() == their_tags, where
    for element in theirs:
        mine = ours[int(element.tag)]
        here = f"{where} {mine.tag} {element.keyword}"
        if element.VR == "SQ":
            assert mine.VR == "SQ", here
            assert len(mine.value) == len(element.value), here
            for number, (a, b) in enumerate(zip(mine.value, element.value)):
                assert_same_dataset(a, b, f"{here}[{number}]")
            continue
        if element.VR in ("UN", "OB or OW", "US or SS", "US or SS or OW", "US or OW") or (
            mine.VR == "UN" and mine.tag.is_private
        ):
            # pydicom keeps these unresolved, or types private tags from its private
            # dictionaries, which dicodec does not carry: compare the bytes.
            raw = theirs.get_item(element.tag)
            if raw is not None and isinstance(raw.value, bytes):
                assert mine.raw_bytes == raw.value, here
            continue
        assert mine.VR == element.VR, f"{here}: VR {mine.VR} != {element.VR}"
        assert_same_value(mine.value, element.value, here)


@pytest.mark.parametrize("row", param_rows(READABLE))
def test_every_element_equals_pydicom(row):
    path = DATA / row["path"]
    theirs = pydicom_read(path, needs_force(row))
    with dicodec.dcmread(path, force=needs_force(row)) as ours, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom validates values lazily, as they are compared
        assert_same_dataset(ours.file_meta, theirs.file_meta, "meta")
        assert_same_dataset(ours, theirs, "root")


@pytest.mark.parametrize("row", param_rows(READABLE))
def test_header_reads_equal_pydicom(row):
    """A header read, which reads the items of sequences only when one is asked for, finds what
    pydicom's ``stop_before_pixels`` read finds, nested items included."""
    path = DATA / row["path"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = pydicom.dcmread(path, force=needs_force(row), stop_before_pixels=True)
    with dicodec.dcmread(path, force=needs_force(row), stop_before_pixels=True) as ours, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_same_dataset(ours, theirs, "root")


@pytest.mark.parametrize("row", param_rows(STRUCTURALLY_BROKEN))
def test_structurally_broken_files_raise(row):
    with pytest.raises(dicodec.DicomError) as info:
        dicodec.dcmread(DATA / row["path"], force=True)
    assert info.value.path == str(DATA / row["path"])
    assert info.value.offset is not None and info.value.tag is not None


@pytest.mark.parametrize("path", pydicom_bundled_files())
def test_pydicom_bundled_files_read_the_same(path):
    if os.path.basename(path) in KNOWN_DAMAGED:
        with pytest.raises(dicodec.DicomError):
            dicodec.dcmread(path, force=True)
        return
    try:
        theirs = pydicom_read_all(path)
    except Exception as exc:  # pydicom cannot read it either: we must fail cleanly
        with pytest.raises(dicodec.DicomError):
            with dicodec.dcmread(path, force=True) as ours:
                for _ in ours.walk():
                    pass
        pytest.skip(f"pydicom cannot read it ({type(exc).__name__}); dicodec raises DicomError")
    with dicodec.dcmread(path, force=True) as ours, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_same_dataset(ours.file_meta, theirs.file_meta, "meta")
        assert_same_dataset(ours, theirs, "root")


def _nested(ds: dicodec.Dataset) -> list:
    """Every element of the data set and its items, as (tag, VR, offset, raw bytes or items)."""
    found = []
    for element in ds:
        if element.VR == "SQ":
            found.append((int(element.tag), "SQ", element.offset, [_nested(item) for item in element.value]))
        else:
            found.append((int(element.tag), element.VR, element.offset, element.raw_bytes))
    return found


@pytest.mark.parametrize("row", param_rows(READABLE))
def test_header_reads_by_bytes_and_by_tags_equal_a_whole_read(row):
    """A header read, which reads the items of top-level sequences when first asked for,
    from a path or from bytes, with stop_before_pixels or specific_tags, finds what a whole
    read finds, whether elements were looked at before the items were read or not."""
    path = DATA / row["path"]
    force = needs_force(row)
    with dicodec.dcmread(path, force=force) as whole:
        expected = [e for e in _nested(whole) if e[0] < 0x7FE00008]
        tags = [e[0] for e in expected]
        warnings = [(w.message, w.offset) for w in whole.warnings]
    data = path.read_bytes()
    for source in (path, data):
        ds = dicodec.dcmread(source, force=force, stop_before_pixels=True)
        # Look at every top-level element first: the items are read behind positions handed out.
        looked = [ds[t] for t in tags]
        assert _nested(ds) == expected
        assert [int(e.tag) for e in looked] == tags
        # What the header read tolerated, the whole read did too; both in stream order.
        found = [(w.message, w.offset) for w in ds.warnings]
        assert all(w in warnings for w in found), (found, warnings)
        assert [w[1] for w in found] == sorted(w[1] for w in found)
    if tags:
        wanted = tags[::2]
        ds = dicodec.dcmread(path, force=force, specific_tags=wanted)
        assert _nested(ds) == [e for e in expected if e[0] in wanted or e[0] == 0x00080005]
