"""Property tests for JPEG Lossless: random images encoded by libjpeg-turbo (imagecodecs
``jpeg8_encode(lossless=True)``), never by dicodec, decode to libjpeg-turbo's own output and
to the original samples: every predictor, precision 2-16, 1 and 3 components, sizes down to
1x1, noisy and smooth content. In a DICOM file, signed samples come back sign-extended, and
GDCM decodes the same files to the same samples. (Restart intervals, which imagecodecs does
not write, are tested in Rust against libjpeg-turbo 3: native/core/tests/jpeg_turbo.rs.)"""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dicodec
from dicodec.codecs import decode_jpeg_lossless, jpeg_parameters

imagecodecs = pytest.importorskip("imagecodecs", reason="the JPEG Lossless encoder comes from imagecodecs")
pydicom = pytest.importorskip("pydicom")

SETTINGS = settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def images(draw):
    precision = draw(st.integers(2, 16))
    components = draw(st.sampled_from([1, 3]))
    rows, columns = draw(st.integers(1, 40)), draw(st.integers(1, 40))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    shape = (rows, columns, components) if components > 1 else (rows, columns)
    top = 1 << precision
    if draw(st.booleans()):  # noise: every difference category, 32768 included at 16 bits
        image = rng.integers(0, top, size=shape)
    else:  # a smooth ramp with a little noise: short codes, long runs of small differences
        y, x = np.mgrid[0:rows, 0:columns]
        ramp = (x * 7 + y * 3) % top
        if components > 1:
            ramp = np.stack([ramp, (ramp + top // 3) % top, top - 1 - ramp], axis=-1)
        image = np.clip(ramp + rng.integers(-2, 3, size=shape), 0, top - 1)
    return image.astype(np.uint8 if precision <= 8 else np.uint16), precision, draw(st.integers(1, 7))


def encode(image: np.ndarray, precision: int, predictor: int) -> bytes:
    return bytes(imagecodecs.jpeg8_encode(image, lossless=True, predictor=predictor, bitspersample=precision))


@SETTINGS
@given(images())
def test_equals_libjpeg_turbo(case):
    image, precision, predictor = case
    stream = encode(image, precision, predictor)
    decoded = decode_jpeg_lossless(stream)
    reference = imagecodecs.jpeg8_decode(stream)
    assert decoded.dtype == reference.dtype and decoded.shape == reference.shape
    np.testing.assert_array_equal(decoded, reference)
    np.testing.assert_array_equal(decoded, image)
    parameters = jpeg_parameters(stream)
    assert (parameters["rows"], parameters["columns"]) == image.shape[:2]
    assert (parameters["precision"], parameters["predictor"]) == (precision, predictor)
    assert parameters["components"] == (image.shape[2] if image.ndim == 3 else 1)


def _dicom(frames: list, rows: int, columns: int, bits_stored: int, signed: bool, samples: int = 1,
           transfer_syntax: str = pydicom.uid.JPEGLosslessSV1) -> bytes:
    """A DICOM file of JPEG Lossless ``frames`` (JPEG Lossless SV1 unless ``transfer_syntax``
    says otherwise); ``samples`` 3 is RGB, interleaved."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.encaps import encapsulate
    from pydicom.uid import generate_uid

    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = transfer_syntax
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.Rows, ds.Columns, ds.NumberOfFrames = rows, columns, len(frames)
    ds.SamplesPerPixel, ds.PhotometricInterpretation = samples, "RGB" if samples == 3 else "MONOCHROME2"
    if samples > 1:
        ds.PlanarConfiguration = 0
    ds.BitsAllocated = 8 if bits_stored <= 8 else 16
    ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits_stored, bits_stored - 1, int(signed)
    ds.PixelData = encapsulate(frames)
    buffer = io.BytesIO()
    pydicom.dcmwrite(buffer, ds, enforce_file_format=True)
    return buffer.getvalue()


@SETTINGS
@given(st.integers(2, 16), st.integers(1, 5), st.integers(1, 20), st.integers(1, 20), st.booleans(), st.integers(0, 2**32 - 1))
def test_dicom_frames_are_sign_extended_by_bits_stored(bits_stored, frames, rows, columns, signed, seed):
    # DICOM stores signed samples as their Bits Stored two's complement; decoding gives those
    # codes unsigned, and Pixel Representation turns them back into the signed values.
    rng = np.random.default_rng(seed)
    dtype = np.dtype(("i" if signed else "u") + ("1" if bits_stored <= 8 else "2"))
    low, high = (-(1 << (bits_stored - 1)), (1 << (bits_stored - 1)) - 1) if signed else (0, (1 << bits_stored) - 1)
    values = rng.integers(low, high, size=(frames, rows, columns), endpoint=True).astype(dtype)
    codes = values.view(dtype.str.replace("i", "u")) & ((1 << bits_stored) - 1)
    streams = [encode(np.ascontiguousarray(frame), bits_stored, 1 + (i % 7)) for i, frame in enumerate(codes)]
    decoded = dicodec.pixel_array(_dicom(streams, rows, columns, bits_stored, signed))
    np.testing.assert_array_equal(decoded, values[0] if frames == 1 else values)
    assert decoded.dtype == dtype


# GDCM decodes in a process of its own: python-gdcm 3.2.6 aborts the whole process on some
# valid streams (those with Bits Stored below 8 among them), which would end the test run.
_GDCM_DECODE = """
import sys, gdcm
for path in sys.argv[1:]:
    reader = gdcm.ImageReader()
    reader.SetFileName(path)
    if not reader.Read():
        sys.exit(f"GDCM cannot read {path}")
    with open(path + ".gdcm", "wb") as out:
        out.write(reader.GetImage().GetBuffer().encode("utf-8", "surrogateescape"))
"""


def _gdcm_cases():
    """Every predictor, precisions 8-16 (GDCM aborts below 8), 1 and 3 components, odd sizes."""
    rng = np.random.default_rng(20261203)
    for predictor in range(1, 8):
        for precision in (8, 9, 12, 13, 16):
            for components in (1, 3):
                rows, columns = (int(n) for n in rng.integers(1, 34, size=2))
                shape = (rows, columns, components) if components > 1 else (rows, columns)
                y, x = np.mgrid[0:rows, 0:columns]
                ramp = (x * 5 + y * 9) if components == 1 else (x * 5 + y * 9)[..., None] * [1, 2, 3]
                image = (ramp + rng.integers(0, 1 << min(precision, 6), size=shape)) % (1 << precision)
                yield image.astype(np.uint8 if precision <= 8 else np.uint16), precision, predictor


def test_equals_gdcm(tmp_path):
    pytest.importorskip("gdcm", reason="python-gdcm is not installed")
    import subprocess
    import sys

    from pydicom.uid import JPEGLossless, JPEGLosslessSV1

    cases = list(_gdcm_cases())
    paths = []
    for i, (image, precision, predictor) in enumerate(cases):
        rows, columns = image.shape[:2]
        samples = image.shape[2] if image.ndim == 3 else 1
        syntax = JPEGLosslessSV1 if predictor == 1 else JPEGLossless
        paths.append(str(tmp_path / f"{i:03d}.dcm"))
        with open(paths[-1], "wb") as file:
            file.write(_dicom([encode(image, precision, predictor)], rows, columns, precision, False, samples, syntax))
    done = subprocess.run([sys.executable, "-c", _GDCM_DECODE, *paths], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    for path, (image, precision, predictor) in zip(paths, cases):
        by_gdcm = np.fromfile(path + ".gdcm", image.dtype).reshape(image.shape)
        decoded = dicodec.pixel_array(path)
        assert decoded.dtype == image.dtype, path
        np.testing.assert_array_equal(decoded, by_gdcm, err_msg=f"{path}: precision {precision}, predictor {predictor}")
        np.testing.assert_array_equal(decoded, image, err_msg=path)
