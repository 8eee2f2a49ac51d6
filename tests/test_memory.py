"""Decoding every frame of a multi-frame file costs the output array and little more: frames
are decoded into it in place, on several threads, never into a list that is then stacked."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

pydicom = pytest.importorskip("pydicom")
from pydicom.dataset import Dataset, FileMetaDataset  # noqa: E402
from pydicom.encaps import encapsulate  # noqa: E402
from pydicom.uid import ExplicitVRBigEndian, JPEGLosslessSV1, RLELossless, generate_uid  # noqa: E402

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="peak RSS in kilobytes is Linux's")

#: 200 frames of 512x512: a 100 MiB array, against which the few MiB an allocator and the
#: threads take once (about 4 MiB here, whatever the frame count) stay within the bound.
FRAMES, SIDE = 200, 512
#: How far the peak may rise above the array, as a share of it.
SHARE = 0.10

#: Run in a process of its own: the file's bytes in memory, a first whole decode on two threads
#: to start them (kept, so that the measured decode cannot reuse its memory), the peak RSS reset
#: to the RSS of the moment (Linux: "5" to clear_refs), then every frame again on two threads;
#: the rise of the peak is what that decode took.
_MEASURE = textwrap.dedent(
    """
    import json, sys
    import dicodec

    def status(field):
        with open("/proc/self/status") as lines:
            return next(int(line.split()[1]) * 1024 for line in lines if line.startswith(field + ":"))

    data = open(sys.argv[1], "rb").read()
    warm = dicodec.pixel_array(data, threads=2)
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")
    before = status("VmRSS")
    array = dicodec.pixel_array(data, threads=2)
    print(json.dumps({"nbytes": array.nbytes, "shape": array.shape, "rise": status("VmHWM") - before}))
    """
)


def _frame() -> np.ndarray:
    """A 12-bit CT-like frame: a smooth disc with noise, so that it compresses as CT does."""
    y, x = np.mgrid[:SIDE, :SIDE]
    disc = ((x - SIDE / 2) ** 2 + (y - SIDE / 2) ** 2 < (SIDE / 2.5) ** 2) * 1200
    noise = np.random.default_rng(7).integers(0, 40, size=(SIDE, SIDE))
    return (disc + noise).astype(np.uint16)


def _file(transfer_syntax: str, pixel_data: bytes) -> bytes:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = transfer_syntax
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.Rows = ds.Columns = SIDE
    ds.NumberOfFrames = FRAMES
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.PixelData = pixel_data
    if transfer_syntax == ExplicitVRBigEndian:
        ds["PixelData"].VR = "OW"
    buffer = io.BytesIO()
    pydicom.dcmwrite(buffer, ds, enforce_file_format=True)
    return buffer.getvalue()


def _big_endian() -> bytes:
    frames = np.repeat(_frame()[None], FRAMES, axis=0)
    return _file(ExplicitVRBigEndian, frames.astype(">u2").tobytes())


def _rle() -> bytes:
    from pydicom.pixels.encoders.base import RLELosslessEncoder

    one = RLELosslessEncoder.encode(_frame(), rows=SIDE, columns=SIDE, samples_per_pixel=1, bits_allocated=16,
                                    bits_stored=12, pixel_representation=0, photometric_interpretation="MONOCHROME2",
                                    number_of_frames=1, encoding_plugin="pydicom")
    return _file(RLELossless, encapsulate([one] * FRAMES))


def _jpeg_lossless() -> bytes:
    imagecodecs = pytest.importorskip("imagecodecs")
    one = bytes(imagecodecs.jpeg8_encode(_frame(), lossless=True, predictor=1, bitspersample=12))
    return _file(JPEGLosslessSV1, encapsulate([one] * FRAMES))


@pytest.mark.parametrize("make", [_big_endian, _rle, _jpeg_lossless], ids=["big-endian", "rle", "jpeg-lossless"])
def test_all_frames_on_two_threads_peak_near_the_array(tmp_path, make):
    path = tmp_path / "multiframe.dcm"
    path.write_bytes(make())
    found = json.loads(subprocess.run([sys.executable, "-c", _MEASURE, str(path)], check=True, capture_output=True,
                                      text=True).stdout)
    assert found["shape"] == [FRAMES, SIDE, SIDE]
    assert found["rise"] <= found["nbytes"] * (1 + SHARE), found
