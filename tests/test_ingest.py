"""dicodec ingest and dicodec scan: the index, one volume per series, resumable and atomic."""

from __future__ import annotations

import io
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import dicodec
from dicodec import ingest as ingest_module
from dicodec.cli import main
from dicodec.ingest import Progress, ingest, scan_to_parquet
from dicodec.samples import sample_files
from dicodec.series import read_series

BAD_SERIES = {"gap": "SeriesError", "mixed_orientation": "SeriesError", "mixed_size": "SeriesError",
              "duplicate_position": "SeriesError", "short_pixels": "TruncatedDataError"}


@pytest.fixture(scope="module")
def ingested(dicom_tree, tmp_path_factory):
    out = tmp_path_factory.mktemp("ingest") / "out"
    return out, ingest([dicom_tree.root], out)


def test_index_has_one_typed_row_per_file(dicom_tree, ingested):
    out, summary = ingested
    table = pq.read_table(out / "index.parquet")
    assert table.num_rows == len(dicom_tree.files) == summary.files > 2000
    assert sorted(table["path"].to_pylist()) == sorted(map(str, dicom_tree.files))
    assert table.equals(dicodec.scan(dicom_tree.root))
    types = {"path": pa.string(), "file_size": pa.int64(), "Rows": pa.int64(), "RescaleSlope": pa.float64(),
             "ImagePositionPatient": pa.list_(pa.float64()), "StudyDate": pa.date32(), "StudyDate_raw": pa.string()}
    assert {name: table.schema.field(name).type for name in types} == types
    errors = dict(zip(table["path"].to_pylist(), table["error"].to_pylist()))
    for path in dicom_tree.broken + dicom_tree.not_dicom:
        assert errors[str(path)].split(":")[0] in ("InvalidDicomError", "TruncatedDataError")
    assert sum(e is not None for e in errors.values()) == len(dicom_tree.broken + dicom_tree.not_dicom)
    assert summary.errors == {"InvalidDicomError": 4, "TruncatedDataError": 2} and summary.non_images == 1


def test_one_volume_per_series_with_its_metadata(dicom_tree, ingested):
    out, summary = ingested
    good = [name for name in dicom_tree.series if name not in BAD_SERIES]
    assert summary.series_written == len(good) and summary.series_skipped == 0
    for name in ("ct", "mr", "multiframe", *good[::20]):
        series = dicom_tree.series[name]
        array = np.load(out / "series" / f"{series.uid}.npy")
        np.testing.assert_array_equal(array, np.stack(series.pixels))
        meta = json.loads((out / "series" / f"{series.uid}.json").read_text())
        # One entry a slice: a multi-frame file is named once for each of its frames.
        slices = [str(p) for p in series.paths for _ in range(len(series.pixels) // len(series.paths))]
        assert [item["path"] for item in meta["instances"]] == slices
        assert meta["source_files"] == sorted(str(p) for p in series.paths)
        assert meta["shape"] == list(array.shape) and meta["dtype"] == array.dtype.str
    volume = read_series(dicom_tree.series["mr"].paths)
    meta = json.loads((out / "series" / f"{volume.series_uid}.json").read_text())
    np.testing.assert_allclose(meta["affine"], volume.affine)
    np.testing.assert_allclose(meta["spacing"], volume.spacing)


def test_series_that_cannot_stack_are_reported(dicom_tree, ingested):
    out, summary = ingested
    failed = {dicom_tree.series[name].uid: kind for name, kind in BAD_SERIES.items()}
    assert {uid: message.split(":")[0] for uid, message in summary.series_failed.items()} == failed
    for uid in failed:
        assert not list((out / "series").glob(f"{uid}.*"))
    recorded = json.loads((out / "summary.json").read_text())
    assert recorded["series_failed"] == summary.series_failed and recorded["files"] == summary.files
    text = summary.text()
    assert "4 InvalidDicomError, 2 TruncatedDataError" in text
    assert "5 failed (4 SeriesError, 1 TruncatedDataError)" in text and "files/s" in text and "MB/s" in text


def test_rerun_skips_what_is_done(dicom_tree, ingested):
    out, first = ingested
    again = ingest([dicom_tree.root], out)
    assert (again.series_written, again.series_skipped) == (0, first.series_written)
    assert again.series_failed == first.series_failed


def test_an_interrupted_run_leaves_nothing_that_looks_complete(dicom_tree, tmp_path, monkeypatch):
    names = [f"bulk{n}" for n in range(6)]
    sources = [p for name in names for p in dicom_tree.series[name].paths]
    real_save = ingest_module._save_array
    saved = []

    def failing_save(f, array):
        if len(saved) == 3:  # the fourth series: half its bytes, then the "crash"
            f.write(b"\x93NUMPY" + bytes(100))
            raise KeyboardInterrupt
        saved.append(array)
        real_save(f, array)

    monkeypatch.setattr(ingest_module, "_save_array", failing_save)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        ingest(sources, out)
    done = {p.name for p in (out / "series").iterdir()}
    assert done == {f"{dicom_tree.series[n].uid}.{ext}" for n in names[:3] for ext in ("npy", "json")}
    assert not list(out.rglob("*.partial"))

    monkeypatch.setattr(ingest_module, "_save_array", real_save)
    summary = ingest(sources, out)
    assert (summary.series_written, summary.series_skipped, summary.series_failed) == (3, 3, {})
    for name in names:
        np.testing.assert_array_equal(np.load(out / "series" / f"{dicom_tree.series[name].uid}.npy"),
                                      np.stack(dicom_tree.series[name].pixels))


def test_changed_series_is_written_again(dicom_tree, tmp_path):
    paths = dicom_tree.series["bulk8"].paths
    out = tmp_path / "out"
    ingest(paths[:10], out)
    summary = ingest(paths, out)
    assert summary.series_written == 1
    assert np.load(out / "series" / f"{dicom_tree.series['bulk8'].uid}.npy").shape == (20, 16, 16)


def test_list_files_lists_what_scan_reads(dicom_tree):
    assert dicodec.list_files([dicom_tree.root]) == dicodec.scan(dicom_tree.root)["path"].to_pylist()
    one = dicom_tree.series["ct"].paths[0]
    assert dicodec.list_files([one, dicom_tree.root / "c"], recursive=False) == dicodec.scan([one, dicom_tree.root / "c"], recursive=False)["path"].to_pylist()


def test_progress_bar():
    stream = io.StringIO()
    bar = Progress("scan", 200, stream=stream, enabled=True)
    bar.update(50, 5_000_000)
    assert "50/200 files  25%" in bar.line() and "files/s" in bar.line() and "MB/s" in bar.line() and "ETA 0:" in bar.line()
    bar.close()
    assert stream.getvalue().endswith("\n") and "\r" in stream.getvalue()
    quiet = io.StringIO()
    bar = Progress("scan", 10, stream=quiet)  # not a terminal
    bar.update(10)
    bar.close()
    assert quiet.getvalue() == ""


def test_cli_ingest_with_no_argument_uses_the_samples(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["ingest"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""  # no progress bar when stderr is not a terminal
    assert captured.out.startswith(f"dicodec ingest: {len(sample_files())} files")
    assert "series: 7 found, 7 written" in captured.out
    index = pq.read_table(tmp_path / "dicodec-out" / "index.parquet")
    assert index.num_rows == len(sample_files())
    assert len(list((tmp_path / "dicodec-out" / "series").glob("*.npy"))) == 7
    assert main(["ingest"]) == 0
    assert "0 written, 7 already done" in capsys.readouterr().out


def test_cli_scan_writes_the_header_table(dicom_tree, tmp_path, capsys):
    target = tmp_path / "sub" / "index.parquet"
    assert main(["scan", str(dicom_tree.root / "c"), "-o", str(target), "--tag", "SpacingBetweenSlices", "--progress"]) == 0
    captured = capsys.readouterr()
    assert "files/s" in captured.err and "ETA" in captured.err
    assert "dicodec scan:" in captured.out and f"wrote {target}" in captured.out
    table = pq.read_table(target)
    assert table.equals(dicodec.scan(dicom_tree.root / "c", ["SpacingBetweenSlices"]))


def test_scan_to_parquet_counts(dicom_tree, tmp_path):
    summary = scan_to_parquet([*dicom_tree.not_dicom, dicom_tree.dicomdir], tmp_path / "i.parquet")
    assert (summary.files, dict(summary.errors), summary.non_images) == (4, {"InvalidDicomError": 3}, 1)
