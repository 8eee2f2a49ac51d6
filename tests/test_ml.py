"""FrameDataset: items, batches decoded together, pickling and worker processes."""

from __future__ import annotations

import multiprocessing
import pickle

import numpy as np
import pyarrow.parquet as pq
import pytest

import dicodec
from dicodec.ml import FrameDataset


@pytest.fixture(scope="module")
def dataset(dicom_tree):
    return FrameDataset(dicom_tree.root)


def expected_frame(dicom_tree, path, frame):
    """The generated pixels of frame ``frame`` of ``path``."""
    for series in dicom_tree.series.values():
        for number, candidate in enumerate(series.paths):
            if str(candidate) == path:
                return series.pixels[frame if len(series.paths) == 1 else number]
    raise KeyError(path)


def test_every_frame_of_every_image_is_an_item(dicom_tree, dataset):
    images = sum(len(s.paths) for s in dicom_tree.series.values())
    assert len(dataset.paths) == images
    assert len(dataset) == images - 1 + 4  # the multi-frame file has 4 frames
    skipped = {path for path, _reason in dataset.skipped}
    assert skipped == {str(p) for p in dicom_tree.broken + dicom_tree.not_dicom + [dicom_tree.dicomdir]}
    assert dict(dataset.skipped)[str(dicom_tree.dicomdir)] == "no pixel data"
    first = FrameDataset(dicom_tree.root, frames="first")
    assert len(first) == images
    with pytest.raises(ValueError, match="frames must be"):
        FrameDataset(dicom_tree.root, frames="middle")


def test_items_are_the_stored_frames(dicom_tree, dataset):
    multi = str(dicom_tree.series["multiframe"].paths[0])
    start = next(i for i in range(len(dataset)) if dataset.location(i)[0] == multi)
    assert [dataset.location(start + f) for f in range(4)] == [(multi, f) for f in range(4)]
    for index in [0, 1, start + 2, len(dataset) - 1, -1]:
        path, frame = dataset.location(index)
        item = dataset[index]
        assert item.flags.writeable and item.shape == (16, 16)
        np.testing.assert_array_equal(item, expected_frame(dicom_tree, path, frame))
    with pytest.raises(IndexError):
        dataset[len(dataset)]


def test_transform_is_applied(dicom_tree):
    dataset = FrameDataset(dicom_tree.series["ct"].paths, transform=lambda a: a.astype(np.float32) / 2)
    assert dataset[0].dtype == np.float32
    np.testing.assert_array_equal(dataset[3] * 2, dicom_tree.series["ct"].pixels[3])


def test_read_batch_fills_one_array(dicom_tree, dataset):
    bulk = {str(p) for name in ("bulk0", "bulk7") for p in dicom_tree.series[name].paths}
    indices = [i for i in range(len(dataset)) if dataset.location(i)[0] in bulk][::-1]
    expected = np.stack([dataset[i] for i in indices])
    np.testing.assert_array_equal(dataset.read_batch(indices), expected)
    out = np.empty((len(indices), 16, 16), np.uint8)
    assert dataset.read_batch(indices, out=out) is out
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(np.stack(dataset.__getitems__(indices)), expected)


def test_a_batch_of_mixed_sizes_is_refused_but_getitems_copes(dicom_tree, dataset):
    ct = str(dicom_tree.series["ct"].paths[0])
    bulk = str(dicom_tree.series["bulk0"].paths[0])
    indices = [next(i for i in range(len(dataset)) if dataset.location(i)[0] == p) for p in (ct, bulk)]
    with pytest.raises(ValueError, match=r"must share one size.*16x16x1 16-bit signed: 1"):
        dataset.read_batch(indices)
    items = dataset.__getitems__(indices)
    assert [item.dtype for item in items] == [np.int16, np.uint8]


def test_index_parquet_and_table_sources(dicom_tree, dataset, tmp_path):
    table = dicodec.scan(dicom_tree.root)
    pq.write_table(table, tmp_path / "index.parquet")
    for source in (table, tmp_path / "index.parquet", str(tmp_path / "index.parquet")):
        other = FrameDataset(source)
        assert len(other) == len(dataset) and other.paths == dataset.paths


def _batch_sum(args):
    dataset, indices = args
    return int(dataset.read_batch(indices).sum()), int(sum(dataset[i].sum() for i in indices))


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_works_in_worker_processes(dicom_tree, method):
    dataset = FrameDataset(dicom_tree.series["ct"].paths)
    copy = pickle.loads(pickle.dumps(dataset))
    np.testing.assert_array_equal(copy[5], dataset[5])
    # the parent has decoded on its thread pool before forking: workers must not wait on it
    dataset.read_batch(range(len(dataset)))
    jobs = [(dataset, list(range(k, len(dataset), 4))) for k in range(4)]
    with multiprocessing.get_context(method).Pool(2) as pool:
        results = pool.map_async(_batch_sum, jobs).get(timeout=60)
    expected = [int(dataset.read_batch(indices).sum()) for _d, indices in jobs]
    assert [a for a, _b in results] == [b for _a, b in results] == expected
