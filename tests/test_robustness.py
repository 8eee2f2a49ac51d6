"""Damaged and hostile input: never a crash, a hang or an unbounded allocation."""

from __future__ import annotations

import struct
import subprocess
import sys
import threading

import numpy as np
import pytest

import dicodec
from dicodec.samples import sample_files
from reference import DATA, manifest_rows, param_rows

PIXEL_ROWS = [r for r in manifest_rows() if r["pixel_sha256"] or r["reference_decoder"] != "none (no pixel data)"]


def read_everything(data) -> None:
    """Everything a user can ask of a file: every value, and the pixels if it has any."""
    ds = dicodec.dcmread(data, force=True)
    for _ds, element in ds.walk():
        element.value
    if "PixelData" in ds or "FloatPixelData" in ds or "DoubleFloatPixelData" in ds:
        ds.pixel_array


def cut_points(size: int) -> range:
    if size <= 1024:
        return range(size)
    return range(0, size, max(1, size // 24))


@pytest.mark.parametrize("row", param_rows(manifest_rows()))
def test_every_truncation_raises_dicom_error_or_reads(row):
    raw = (DATA / row["path"]).read_bytes()
    for cut in cut_points(len(raw)):
        try:
            read_everything(raw[:cut])
        except dicodec.DicomError:
            pass
        except dicodec.UnsupportedError:
            pass


def _part10(dataset: bytes) -> bytes:
    def element(tag, vr, value):
        return struct.pack("<HH", tag >> 16, tag & 0xFFFF) + vr + struct.pack("<H", len(value)) + value

    meta = element(0x00020010, b"UI", b"1.2.840.10008.1.2.1\0")
    return b"\0" * 128 + b"DICM" + element(0x00020000, b"UL", struct.pack("<I", len(meta))) + meta + dataset


def test_absurd_dimensions_fail_before_allocating():
    def us(tag, value):
        return struct.pack("<HH", tag >> 16, tag & 0xFFFF) + b"US" + struct.pack("<HH", 2, value)

    dataset = us(0x00280002, 1) + struct.pack("<HH", 0x0028, 0x0004) + b"CS" + struct.pack("<H", 12) + b"MONOCHROME2 "
    dataset += struct.pack("<HH", 0x0028, 0x0008) + b"IS" + struct.pack("<H", 8) + b"1000000 "
    dataset += us(0x00280010, 65535) + us(0x00280011, 65535) + us(0x00280100, 16) + us(0x00280103, 0)
    dataset += struct.pack("<HH", 0x7FE0, 0x0010) + b"OW\0\0" + struct.pack("<I", 4) + b"\0\0\0\0"
    data = _part10(dataset)
    assert len(data) < 400
    with pytest.raises(dicodec.LimitExceededError) as info:
        dicodec.pixel_array(data)
    assert info.value.tag == 0x7FE00010


def test_many_threads_reading_one_dataset_agree():
    path = next(p for p in sample_files() if p.name == "emri_small_RLE.dcm")
    ds = dicodec.dcmread(path)
    expected = dicodec.pixel_array(path)
    names = {str(ds.PatientName)}
    failures = []
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:

        def work():
            try:
                for i in range(10):
                    np.testing.assert_array_equal(ds.frame(i), expected[i])
                    names.add(str(ds.PatientName))
                    assert len(list(ds)) == len(ds)
            except Exception as exc:  # collected and reported below
                failures.append(exc)

        threads = [threading.Thread(target=work) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(previous)
    assert not failures
    assert len(names) == 1


def test_many_files_concurrently_agree():
    paths = [str(p) for p in sample_files() if p.name.endswith(".dcm")]
    expected = {p: dicodec.dcmread(p).get("SOPInstanceUID") for p in paths}
    results = []
    lock = threading.Lock()

    def work():
        got = {p: dicodec.dcmread(p).get("SOPInstanceUID") for p in paths}
        with lock:
            results.append(got)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(r == expected for r in results)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the mapping hazard is described for Linux")
def test_mmap_false_and_scan_survive_a_file_that_shrinks(tmp_path):
    """Documented hazard: a memory map shows the file as it is now, so reading mapped values of
    a file truncated after opening raises SIGBUS (or, on some file systems, reads zeros).
    ``mmap=False`` reads the file into memory and ``scan`` reads headers with ``read``: both
    are immune, which is what this test checks, in a child process."""
    source = next(p for p in sample_files() if p.name == "CT_small.dcm")
    target = tmp_path / "shrinking.dcm"
    program = f"""
import os, dicodec
path = {str(target)!r}
original = open({str(source)!r}, "rb").read()
open(path, "wb").write(original)
safe = dicodec.dcmread(path, mmap=False)
expected = dicodec.pixel_array(original).sum()
os.truncate(path, 2000)
assert safe.pixel_array.sum() == expected
assert safe.PatientName == "CompressedSamples^CT1"
row = dicodec.scan([path]).to_pylist()[0]
assert row["error"].startswith("TruncatedDataError"), row["error"]
print("safe", flush=True)
"""
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "safe" in result.stdout, result.stderr[-800:]


def test_no_rust_panic_reaches_python_on_mutated_files():
    """Bit flips and huge lengths over every sample: only DicomError, never PanicException."""
    rng = np.random.default_rng(7)
    for sample in sample_files():
        raw = bytearray(sample.read_bytes())
        for _ in range(40):
            mutated = bytearray(raw)
            for _ in range(rng.integers(1, 8)):
                at = int(rng.integers(0, len(mutated)))
                mutated[at] ^= 1 << int(rng.integers(0, 8))
            if rng.random() < 0.5:
                at = int(rng.integers(0, max(1, len(mutated) - 4)))
                mutated[at : at + 4] = (b"\xff\xff\xff\xff", b"\xff\xff\xff\x7f", b"\0\0\0\0")[int(rng.integers(0, 3))]
            try:
                read_everything(bytes(mutated))
            except dicodec.DicomError:
                pass
            except BaseException as exc:  # a PanicException is a BaseException
                pytest.fail(f"{sample.name}: {type(exc).__name__}: {exc}")


def test_max_bytes_is_a_limit_the_caller_sets():
    path = next(p for p in sample_files() if p.name == "emri_small_RLE.dcm")  # 10 x 64 x 64 x 2 bytes
    assert dicodec.pixel_array(path, max_bytes=81920).shape == (10, 64, 64)
    with pytest.raises(dicodec.LimitExceededError):
        dicodec.pixel_array(path, max_bytes=81919)
    with pytest.raises(dicodec.LimitExceededError):
        dicodec.decode_files([path], max_bytes=1000)
    assert dicodec.pixels.DEFAULT_MAX_PIXEL_BYTES == 64 << 30
