"""The pixel API: views, out=, batches, threads, the codec functions and the pydicom plugin."""

from __future__ import annotations

import struct
import threading
import time

import numpy as np
import pytest

import dicodec
from dicodec.samples import sample_files
from reference import DATA, manifest_rows, param_rows

pydicom = pytest.importorskip("pydicom")

SAMPLES = {p.name: p for p in sample_files()}
CT = SAMPLES["CT_small.dcm"]
RLE_MULTIFRAME = SAMPLES["emri_small_RLE.dcm"]
RLE_ROWS = [r for r in manifest_rows() if r["transfer_syntax_uid"] == "1.2.840.10008.1.2.5" and r["pixel_sha256"]]


def test_native_little_endian_is_a_read_only_view_of_the_map():
    ds = dicodec.dcmread(CT)
    array = ds.pixel_array
    assert not array.flags.writeable
    assert np.shares_memory(array, ds.PixelData)
    base = array
    while isinstance(base, np.ndarray) and base.base is not None:
        base = base.base
    assert type(base).__name__ == "NativeFile"  # the mapping's owner keeps it alive
    expected = pydicom.dcmread(CT).pixel_array
    np.testing.assert_array_equal(array, expected)


def test_the_view_outlives_the_dataset():
    with dicodec.dcmread(CT) as ds:
        array = ds.pixel_array
    del ds
    assert array.sum() == pydicom.dcmread(CT).pixel_array.sum()


def test_decoded_arrays_are_fresh_and_writeable():
    array = dicodec.pixel_array(SAMPLES["MR_small_bigendian.dcm"])
    assert array.flags.writeable and array.dtype == np.dtype("<i2")
    np.testing.assert_array_equal(array, pydicom.dcmread(SAMPLES["MR_small_bigendian.dcm"]).pixel_array)


def test_out_fills_a_slot_of_a_batch():
    batch = np.zeros((3, 10, 64, 64), dtype=np.uint16)
    result = dicodec.pixel_array(RLE_MULTIFRAME, out=batch[1])
    assert result is batch[1] or np.shares_memory(result, batch)
    np.testing.assert_array_equal(batch[1], pydicom.dcmread(RLE_MULTIFRAME).pixel_array)
    assert not batch[0].any() and not batch[2].any()
    one = np.empty((64, 64), dtype=np.uint16)
    dicodec.pixel_array(RLE_MULTIFRAME, index=3, out=one)
    np.testing.assert_array_equal(one, batch[1, 3])


@pytest.mark.parametrize(
    "out, message",
    [
        (np.empty((10, 64, 64), dtype=np.int16), "uint16"),
        (np.empty((10, 64, 63), dtype=np.uint16), "(10, 64, 64)"),
        (np.empty((10, 64, 128), dtype=np.uint16)[:, :, ::2], "C-contiguous"),
    ],
)
def test_out_that_does_not_fit_is_a_clear_error(out, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        dicodec.pixel_array(RLE_MULTIFRAME, out=out)


def test_frame_index_errors():
    ds = dicodec.dcmread(RLE_MULTIFRAME)
    with pytest.raises(IndexError):
        ds.frame(10)
    np.testing.assert_array_equal(ds.frame(-10), ds.pixel_array[0])


def test_iter_pixels_with_indices():
    frames = list(dicodec.iter_pixels(RLE_MULTIFRAME, indices=[7, 2]))
    whole = dicodec.pixel_array(RLE_MULTIFRAME)
    np.testing.assert_array_equal(frames[0], whole[7])
    np.testing.assert_array_equal(frames[1], whole[2])


def test_sources_path_bytes_and_dataset_agree():
    from_path = dicodec.pixel_array(RLE_MULTIFRAME)
    np.testing.assert_array_equal(dicodec.pixel_array(RLE_MULTIFRAME.read_bytes()), from_path)
    np.testing.assert_array_equal(dicodec.pixel_array(dicodec.dcmread(RLE_MULTIFRAME)), from_path)


def test_decode_files_stacks_frames_of_many_files():
    paths = [RLE_MULTIFRAME, SAMPLES["emri_small_RLE.dcm"]]
    stacked = dicodec.decode_files(paths, threads=2)
    whole = dicodec.pixel_array(RLE_MULTIFRAME)
    assert stacked.shape == (20, 64, 64)
    np.testing.assert_array_equal(stacked[:10], whole)
    np.testing.assert_array_equal(stacked[10:], whole)
    picked = dicodec.decode_files(paths, frames=[1, 9])
    np.testing.assert_array_equal(picked, whole[[1, 9]])
    out = np.empty((2, 64, 64), dtype=np.uint16)
    assert dicodec.decode_files(paths, frames=[0, 0], out=out) is out


def test_decode_files_refuses_mixed_geometry_naming_the_file():
    with pytest.raises(dicodec.DicomError) as info:
        dicodec.decode_files([RLE_MULTIFRAME, CT])
    assert info.value.path == str(CT)


def test_decode_files_names_the_broken_file(tmp_path):
    broken = tmp_path / "broken.dcm"
    broken.write_bytes(RLE_MULTIFRAME.read_bytes()[:-3000])
    with pytest.raises(dicodec.DicomError) as info:
        dicodec.decode_files([RLE_MULTIFRAME, broken])
    assert info.value.path == str(broken)


def _with_damaged_sequence(path, tmp_path):
    """A copy of ``path`` with a Per-frame Functional Groups Sequence of defined length, just
    before its pixel data, whose one item holds bytes that are no element."""
    data = path.read_bytes()
    at = dicodec.dcmread(path)[0x7FE00010].offset
    item = struct.pack("<HHI", 0xFFFE, 0xE000, 8) + b"\x01\x02XXjunk"
    sequence = struct.pack("<HH", 0x5200, 0x9230) + b"SQ\0\0" + struct.pack("<I", len(item)) + item
    damaged = tmp_path / "damaged.dcm"
    damaged.write_bytes(data[:at] + sequence + data[at:])
    return damaged


def test_pixels_by_path_do_not_read_sequences(tmp_path):
    # The pixel paths index only the top-level data set: the items of an enhanced multi-frame
    # file's per-frame sequence, thousands in a large one, are stepped over, damaged or not.
    damaged = _with_damaged_sequence(RLE_MULTIFRAME, tmp_path)
    with pytest.raises(dicodec.InvalidDicomError):
        dicodec.dcmread(damaged)
    whole = dicodec.pixel_array(RLE_MULTIFRAME)
    np.testing.assert_array_equal(dicodec.pixel_array(damaged), whole)
    np.testing.assert_array_equal(dicodec.pixel_array(damaged, index=3), whole[3])
    np.testing.assert_array_equal(dicodec.decode_files([damaged], frames=[5])[0], whole[5])
    # The data set such a read makes says so if anything asks for the items it skipped.
    from dicodec import _native
    from dicodec.dataset import FileDataset

    skipped = FileDataset(_native.open(str(damaged), header_first=False, skip_sequences=True))
    with pytest.raises(dicodec.DicomError, match="not read"):
        skipped.PerFrameFunctionalGroupsSequence


def test_threads_give_identical_results():
    one = dicodec.pixel_array(RLE_MULTIFRAME, threads=1)
    for threads in (2, 4):
        np.testing.assert_array_equal(dicodec.pixel_array(RLE_MULTIFRAME, threads=threads), one)


def test_the_gil_is_released_while_decoding():
    paths = [RLE_MULTIFRAME] * 8
    # Size the work so that one batch decode lasts a good while on this machine.
    while True:
        start = time.perf_counter()
        dicodec.decode_files(paths, threads=1)
        if time.perf_counter() - start > 0.3 or len(paths) > 200_000:
            break
        paths = paths * 4
    started = threading.Event()
    finished = threading.Event()

    def decode():
        started.set()
        dicodec.decode_files(paths, threads=1)
        finished.set()

    worker = threading.Thread(target=decode)
    worker.start()
    started.wait()
    time.sleep(0.02)  # let the worker enter the decode
    total = sum(range(10_000))  # Python work that needs the GIL
    progressed_while_decoding = not finished.is_set()
    worker.join()
    assert total == 49_995_000
    assert progressed_while_decoding, "the main thread could not run Python code during a decode"


@pytest.mark.parametrize("row", param_rows(RLE_ROWS))
def test_codec_level_rle_equals_pydicom_per_frame(row):
    from pydicom.encaps import generate_frames

    ds = pydicom.dcmread(DATA / row["path"])
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    expected = pydicom.pixels.pixel_array(ds, decoding_plugin="pydicom", raw=True).reshape(frames, -1)
    for index, frame in enumerate(generate_frames(ds.PixelData, number_of_frames=frames)):
        decoded = dicodec.codecs.decode_rle(frame, ds.Rows, ds.Columns, ds.SamplesPerPixel, ds.BitsAllocated)
        raw = expected[index].view(expected.dtype.newbyteorder("<").str.replace("i", "u"))
        if ds.BitsStored == ds.BitsAllocated:
            np.testing.assert_array_equal(decoded.reshape(-1), raw)


@pytest.mark.parametrize("row", param_rows(RLE_ROWS))
def test_codec_level_rle_planes_are_the_interleaved_samples(row):
    from pydicom.encaps import generate_frames

    ds = pydicom.dcmread(DATA / row["path"])
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    geometry = (ds.Rows, ds.Columns, ds.SamplesPerPixel, ds.BitsAllocated)
    for frame in generate_frames(ds.PixelData, number_of_frames=frames):
        interleaved = dicodec.codecs.decode_rle(frame, *geometry)
        planes = dicodec.codecs.decode_rle(frame, *geometry, planar=True)
        expected = interleaved if ds.SamplesPerPixel == 1 else np.moveaxis(interleaved, -1, 0)
        assert planes.shape == expected.shape and planes.dtype == expected.dtype
        np.testing.assert_array_equal(planes, expected)
        if ds.SamplesPerPixel > 1:
            # Channels first: an interleaved out= is the wrong shape.
            with pytest.raises(ValueError, match="but the frame needs"):
                dicodec.codecs.decode_rle(frame, *geometry, planar=True, out=np.empty_like(interleaved))


def test_codec_level_rle_rejects_nonsense():
    with pytest.raises(dicodec.DicomError):
        dicodec.codecs.decode_rle(b"\0" * 10, 8, 8, 1, 8)
    with pytest.raises(dicodec.UnsupportedError):
        dicodec.codecs.decode_rle(b"\0" * 64, 8, 8, 1, 12)


@pytest.mark.parametrize("row", param_rows(RLE_ROWS))
def test_pydicom_plugin_gives_identical_arrays(row):
    import dicodec.pydicom_plugin  # noqa: F401  (registers the plugin)
    from pydicom.pixels import pixel_array

    ours = pixel_array(DATA / row["path"], decoding_plugin="dicodec")
    theirs = pixel_array(DATA / row["path"], decoding_plugin="pydicom")
    np.testing.assert_array_equal(ours, theirs)
    assert ours.dtype == theirs.dtype


JPEG_ROWS = [
    r
    for r in manifest_rows()
    if r["transfer_syntax_uid"] in ("1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70") and r["pixel_sha256"]
]


@pytest.mark.parametrize("row", param_rows(JPEG_ROWS))
def test_pydicom_plugin_decodes_jpeg_lossless_to_the_reference(row):
    import hashlib

    import dicodec.pydicom_plugin  # noqa: F401  (registers the plugin)
    from pydicom.pixels import pixel_array

    array = np.ascontiguousarray(pixel_array(DATA / row["path"], decoding_plugin="dicodec"))
    assert hashlib.sha256(array.astype(array.dtype.newbyteorder("<")).tobytes()).hexdigest() == row["pixel_sha256"]


@pytest.mark.parametrize("row", param_rows([r for r in JPEG_ROWS if r["pixel_representation"] == "0"]))
def test_codec_level_jpeg_lossless_equals_the_pipeline(row):
    from pydicom.encaps import generate_frames

    ds = pydicom.dcmread(DATA / row["path"])
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    whole = dicodec.pixel_array(DATA / row["path"]).reshape(frames, ds.Rows, ds.Columns, -1)
    for index, frame in enumerate(generate_frames(ds.PixelData, number_of_frames=frames)):
        header = dicodec.codecs.jpeg_parameters(frame)
        assert (header["rows"], header["columns"], header["components"]) == (ds.Rows, ds.Columns, ds.SamplesPerPixel)
        decoded = dicodec.codecs.decode_jpeg_lossless(frame)
        assert decoded.dtype == (np.uint8 if header["precision"] <= 8 else np.uint16)
        expected = whole[index].reshape(decoded.shape)
        mask = (1 << ds.BitsStored) - 1
        np.testing.assert_array_equal(decoded.astype(np.uint32) & mask, expected.astype(np.uint32))


def test_codec_level_jpeg_lossless_rejects_garbage():
    with pytest.raises(dicodec.DicomError):
        dicodec.codecs.decode_jpeg_lossless(b"\xff\xd8\xff\xd9")
    with pytest.raises(dicodec.DicomError):
        dicodec.codecs.jpeg_parameters(b"not a jpeg")


def _first_frame(rows):
    from pydicom.encaps import generate_frames

    ds = pydicom.dcmread(DATA / rows[0]["path"])
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    return ds, next(generate_frames(ds.PixelData, number_of_frames=frames))


@pytest.mark.skipif(not RLE_ROWS or not JPEG_ROWS, reason="needs RLE and JPEG Lossless files in the reference data")
def test_codec_level_out_is_filled_or_refused():
    ds, frame = _first_frame(RLE_ROWS)
    geometry = (ds.Rows, ds.Columns, ds.SamplesPerPixel, ds.BitsAllocated)
    decodes = {
        "rle": (lambda out=None: dicodec.codecs.decode_rle(frame, *geometry, out=out)),
        "jpeg": (lambda out=None, jpeg=_first_frame(JPEG_ROWS)[1]: dicodec.codecs.decode_jpeg_lossless(jpeg, out=out)),
    }
    for name, decode in decodes.items():
        expected = decode()
        out = np.full_like(expected, 0xAB)
        assert decode(out=out) is out, name
        np.testing.assert_array_equal(out, expected)
        wrongs = [np.empty(expected.shape, np.uint64), np.empty(expected.shape + (1,), expected.dtype), expected[:-1]]
        if expected.dtype.itemsize > 1:
            wrongs.append(np.empty(expected.shape, expected.dtype.newbyteorder(">")))
        for wrong in wrongs:
            with pytest.raises(ValueError, match="but the frame needs"):
                decode(out=wrong)
        with pytest.raises(TypeError):
            decode(out=bytearray(expected.nbytes))


def _decode_in_child(args):
    path, threads = args
    return int(dicodec.decode_files([path], threads=threads).sum())


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="fork is POSIX only")
@pytest.mark.parametrize("threads", [None, 2])
def test_decoding_works_in_forked_children_after_the_parent_decoded(threads):
    """PyTorch's DataLoader forks workers after the parent has decoded: the child must not wait
    on the parent's thread pool (the default one, or the one kept for ``threads=2``), which
    has no threads in the child."""
    import multiprocessing

    expected = int(dicodec.decode_files([RLE_MULTIFRAME], threads=threads).sum())
    with multiprocessing.get_context("fork").Pool(2) as pool:
        result = pool.map_async(_decode_in_child, [(str(RLE_MULTIFRAME), threads)] * 4)
        assert result.get(timeout=60) == [expected] * 4
