"""dicodec.scan: one typed row per file, read on Rust threads, errors recorded."""

from __future__ import annotations

import datetime as dt
import shutil
import warnings

import pytest

import dicodec
from dicodec.samples import sample_files
from reference import DATA, manifest_rows

pa = pytest.importorskip("pyarrow")
pydicom = pytest.importorskip("pydicom")


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("tree")
    (root / "a" / "b").mkdir(parents=True)
    for sample in sample_files():
        shutil.copy(sample, root / "a" / sample.name)
    ct = next(p for p in sample_files() if p.name == "CT_small.dcm")
    (root / "a" / "b" / "cut.dcm").write_bytes(ct.read_bytes()[:1000])
    (root / "a" / "b" / "notes.txt").write_text("not an image")
    (root / "a" / "b" / "empty").write_bytes(b"")
    return root


def test_one_row_per_file_with_types(tree):
    table = dicodec.scan(tree)
    files = sorted(p for p in tree.rglob("*") if p.is_file())
    assert table.num_rows == len(files)
    assert sorted(table["path"].to_pylist()) == sorted(str(p) for p in files)
    schema = table.schema
    assert schema.field("Rows").type == pa.int64()
    assert schema.field("SliceThickness").type == pa.float64()
    assert schema.field("ImagePositionPatient").type == pa.list_(pa.float64())
    assert schema.field("StudyDate").type == pa.date32()
    assert schema.field("PatientName").type == pa.string()


def test_values_equal_dcmread(tree):
    table = dicodec.scan(tree)
    row = next(r for r in table.to_pylist() if r["path"].endswith("CT_small.dcm"))
    ds = dicodec.dcmread(row["path"])
    assert row["Rows"] == ds.Rows and row["Modality"] == "CT"
    assert row["SeriesInstanceUID"] == ds.SeriesInstanceUID
    assert row["ImagePositionPatient"] == list(ds.ImagePositionPatient)
    assert row["PixelSpacing"] == list(ds.PixelSpacing)
    assert row["SliceThickness"] == ds.SliceThickness
    assert row["StudyDate"] == dt.date(2004, 1, 19) and row["StudyDate_raw"] == "20040119"
    assert row["PatientName"] == "CompressedSamples^CT1"
    assert row["file_size"] == (tree / "a" / "CT_small.dcm").stat().st_size
    assert row["transfer_syntax"] == "1.2.840.10008.1.2.1"
    assert row["error"] is None


def test_errors_are_recorded_never_dropped(tree):
    table = dicodec.scan(tree)
    errors = {r["path"].rsplit("/", 1)[-1]: r["error"] for r in table.to_pylist() if r["error"]}
    assert set(errors) == {"cut.dcm", "notes.txt", "empty"}
    assert errors["cut.dcm"].startswith("TruncatedDataError: ")
    assert errors["notes.txt"].startswith("InvalidDicomError: not a DICOM file")
    skipped = dicodec.scan(tree, on_error="skip")
    assert skipped.num_rows == table.num_rows - 3 and skipped["error"].null_count == skipped.num_rows
    with pytest.raises(dicodec.DicomError) as info:
        dicodec.scan(tree, on_error="raise")
    assert info.value.path.rsplit("/", 1)[-1] in errors
    with pytest.raises(ValueError):
        dicodec.scan(tree, on_error="ignore")


def test_extra_tags_by_keyword_and_number(tree):
    table = dicodec.scan(tree / "a", ["SpacingBetweenSlices", 0x00091001, "ImageType"], recursive=False)
    assert table.num_rows == len(sample_files())
    row = next(r for r in table.to_pylist() if r["path"].endswith("CT_small.dcm"))
    assert row["SpacingBetweenSlices"] == 5.0
    assert row["00091001"] == "GE_GENESIS_FF"
    assert row["ImageType"] == "ORIGINAL\\PRIMARY\\AXIAL"


def test_threads_do_not_change_the_result(tree):
    assert dicodec.scan(tree, threads=1).equals(dicodec.scan(tree, threads=2))


def test_force_reads_bare_data_sets():
    rows = [r for r in manifest_rows() if "no file meta" in r["notes"]]
    if not rows:
        pytest.skip(f"reference data not found at {DATA}")
    paths = [DATA / r["path"] for r in rows]
    assert dicodec.scan(paths)["error"].null_count < len(paths)  # bare data sets: not DICOM
    forced = dicodec.scan(paths, force=True)
    assert forced["error"].null_count == len(paths)


def test_reference_corpus_matches_pydicom_headers():
    rows = [r for r in manifest_rows() if r["reference_decoder"] != "error" and "needs force" not in r["notes"]]
    if not rows:
        pytest.skip(f"reference data not found at {DATA}")
    # On one thread the files, in several character sets, follow each other through one reader.
    table = dicodec.scan([DATA / r["path"] for r in rows], threads=1)
    charsets = set()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom's own complaints about the files
        for row in table.to_pylist():
            assert row["error"] is None, row["path"]
            ds = pydicom.dcmread(row["path"], stop_before_pixels=True)
            charsets.add(str(ds.get("SpecificCharacterSet")))
            for keyword in ("Rows", "Columns", "SOPInstanceUID", "Modality"):
                value = ds.get(keyword)
                assert row[keyword] == (value if value not in ("", None) else None), (row["path"], keyword)
            name = ds.get("PatientName")
            assert row["PatientName"] == (str(name) if name not in ("", None) else None), row["path"]
    assert len(charsets) > 2, charsets
