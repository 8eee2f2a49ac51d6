"""dicodec.dask on a LocalCluster of two worker processes: the same results as one process."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

pytest.importorskip("dask.dataframe", reason="dicodec.dask needs dask[dataframe]")
distributed = pytest.importorskip("distributed", reason="the cluster test needs distributed")

import dicodec  # noqa: E402
import dicodec.dask as dicodec_dask  # noqa: E402
from dicodec.series import read_series  # noqa: E402


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
    ) as cluster, distributed.Client(cluster) as client:
        yield client


def as_table(frame, schema: pa.Schema) -> pa.Table:
    return pa.Table.from_pandas(frame.reset_index(drop=True), schema=schema, preserve_index=False)


def test_scan_on_a_cluster_equals_scan(dicom_tree, client):
    expected = dicodec.scan(dicom_tree.root, ["SpacingBetweenSlices"])
    frame = dicodec_dask.scan(dicom_tree.root, ["SpacingBetweenSlices"], files_per_partition=400)
    assert frame.npartitions == -(-len(dicom_tree.files) // 400)
    assert list(frame.columns) == expected.column_names
    result = as_table(client.compute(frame).result(), expected.schema)
    assert result.num_rows == len(dicom_tree.files)
    assert result.equals(expected)


def test_read_frames_on_a_cluster_equals_read_series(dicom_tree, client):
    volume = read_series(dicom_tree.series["ct"].paths)
    frames = dicodec_dask.read_frames(list(volume.files))
    assert frames.shape == volume.shape and frames.dtype == volume.array.dtype
    assert frames.numblocks[0] == 40
    np.testing.assert_array_equal(client.compute(frames).result(), volume.array)


def test_read_frames_from_a_dask_index(dicom_tree, client):
    multi = dicom_tree.series["multiframe"]
    bulk = dicom_tree.series["bulk3"]
    sources = [*dicom_tree.series["bulk4"].paths, *bulk.paths, *multi.paths, *dicom_tree.not_dicom]
    frame = dicodec_dask.scan(sources, files_per_partition=8)
    index = frame[frame["SeriesInstanceUID"].isin([multi.uid, bulk.uid])]
    chosen = client.compute(index).result()
    for chunks, blocks in (("file", 1 + len(bulk.paths)), ("frame", 4 + len(bulk.paths))):
        frames = dicodec_dask.read_frames(index, chunks=chunks)
        assert frames.numblocks[0] == blocks
        expected = dicodec.decode_files(list(chosen["path"]))
        np.testing.assert_array_equal(client.compute(frames).result(), expected)


def test_parquet_through_partitions(dicom_tree, tmp_path):
    expected = dicodec.scan(dicom_tree.root)
    frame = dicodec_dask.scan(dicom_tree.root, files_per_partition=1000)
    frame.to_parquet(tmp_path / "index", write_index=False)
    parts = sorted((tmp_path / "index").glob("*.parquet"))
    assert len(parts) == frame.npartitions == 3
    written = pq.read_table(tmp_path / "index")
    assert written.schema.field("ImagePositionPatient").type == pa.list_(pa.float64())
    assert written.schema.field("StudyDate").type == pa.date32()
    assert written.num_rows == expected.num_rows
    assert written.cast(expected.schema).equals(expected)


def test_arguments_are_checked(dicom_tree):
    with pytest.raises(ValueError, match="files_per_partition"):
        dicodec_dask.scan(dicom_tree.root, files_per_partition=0)
    with pytest.raises(ValueError, match="chunks"):
        dicodec_dask.read_frames(dicom_tree.series["ct"].paths, chunks="slab")
    with pytest.raises(ValueError, match="no image files"):
        dicodec_dask.read_frames(dicodec.scan(dicom_tree.not_dicom))
