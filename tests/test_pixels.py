"""Decoded pixels equal the MANIFEST hashes (pydicom 3's pixel_array, bit for bit)."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

import dicodec
from reference import DATA, manifest_rows, needs_force, param_rows

NATIVE = {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2", "1.2.840.10008.1.2.1.99"}
RLE = {"1.2.840.10008.1.2.5"}
JPEG_LOSSLESS = {"1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70"}
DECODABLE = NATIVE | RLE | JPEG_LOSSLESS

ROWS = manifest_rows()
REFERENCE = [r for r in ROWS if r["pixel_sha256"] and r["transfer_syntax_uid"] in DECODABLE]
UNSUPPORTED = [r for r in ROWS if r["pixel_sha256"] and r["transfer_syntax_uid"] not in DECODABLE]
MUST_RAISE = [r for r in ROWS if r["reference_decoder"] == "error"]
ANY_CLEAN_OUTCOME = [r for r in ROWS if r["reference_decoder"] == "none (any clean outcome)"]


def sha256_le(array: np.ndarray) -> str:
    array = np.ascontiguousarray(array)
    return hashlib.sha256(array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()).hexdigest()


def expected_shape(row) -> tuple:
    shape = tuple(int(n) for n in row["shape"].split("x"))
    return shape


def read(row):
    return dicodec.dcmread(DATA / row["path"], force=needs_force(row))


@pytest.mark.parametrize("row", param_rows(REFERENCE))
def test_pixel_array_matches_the_reference_hash(row):
    ds = read(row)
    array = ds.pixel_array
    assert array.shape == expected_shape(row)
    assert array.dtype == np.dtype(row["dtype"])
    assert sha256_le(array) == row["pixel_sha256"]


@pytest.mark.parametrize("row", param_rows([r for r in REFERENCE if r["pixel_sha256_raw"] != r["pixel_sha256"]]))
def test_as_rgb_false_matches_the_raw_hash(row):
    array = dicodec.pixel_array(DATA / row["path"], as_rgb=False)
    assert sha256_le(array) == row["pixel_sha256_raw"]


@pytest.mark.parametrize("row", param_rows([r for r in REFERENCE if int(r["frames"] or 1) > 1]))
def test_frames_one_at_a_time_equal_the_whole(row):
    ds = read(row)
    whole = ds.pixel_array
    frames = list(ds.iter_frames())
    assert len(frames) == whole.shape[0]
    for i, frame in enumerate(frames):
        np.testing.assert_array_equal(frame, whole[i])
    last = ds.frame(-1)
    np.testing.assert_array_equal(last, whole[-1])


@pytest.mark.parametrize("row", param_rows(MUST_RAISE))
def test_malformed_files_raise(row):
    with pytest.raises(dicodec.DicomError):
        ds = dicodec.dcmread(DATA / row["path"], force=True)
        ds.pixel_array


@pytest.mark.parametrize("row", param_rows(ANY_CLEAN_OUTCOME))
def test_damaged_files_raise_or_return_the_declared_shape(row):
    try:
        array = dicodec.dcmread(DATA / row["path"], force=True).pixel_array
    except dicodec.DicomError:
        return
    frames, rows, columns = int(row["frames"] or 1), int(row["rows"]), int(row["columns"])
    assert array.shape[:3 if frames > 1 else 2] == ((frames, rows, columns) if frames > 1 else (rows, columns))


@pytest.mark.parametrize("row", param_rows(UNSUPPORTED))
def test_other_compressed_syntaxes_are_unsupported_not_wrong(row):
    with pytest.raises(dicodec.UnsupportedError) as info:
        read(row).pixel_array
    assert isinstance(info.value, NotImplementedError)
