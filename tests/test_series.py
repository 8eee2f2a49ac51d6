"""read_series: slices sorted along the normal, geometry, rescale, and series that must not stack."""

from __future__ import annotations

import json
import pickle
import random
import shutil

import numpy as np
import pydicom
import pytest
from pydicom.pixels import apply_rescale

import dicodec
from dicodec.samples import sample_files
from dicodec.series import SeriesError, SeriesWarning, Volume, group_series, read_series


@pytest.fixture(scope="module")
def table(dicom_tree):
    return dicodec.scan(dicom_tree.root)


def pydicom_volume(paths):
    """What a careful pydicom user stacks: files sorted by position along the slice normal."""
    datasets = [pydicom.dcmread(p) for p in paths]
    orientation = np.array(datasets[0].ImageOrientationPatient, dtype=float)
    normal = np.cross(orientation[:3], orientation[3:])
    datasets.sort(key=lambda ds: float(np.dot(np.array(ds.ImagePositionPatient, dtype=float), normal)))
    return datasets, np.stack([ds.pixel_array for ds in datasets])


@pytest.mark.parametrize("name", ["ct", "mr", "pt"])
def test_volume_equals_pydicom_arrays_sorted_by_position(dicom_tree, name):
    series = dicom_tree.series[name]
    shuffled = [str(p) for p in series.paths]
    random.Random(3).shuffle(shuffled)
    datasets, expected = pydicom_volume(shuffled)
    volume = read_series(shuffled)
    assert volume.array.dtype == expected.dtype and volume.array.shape == expected.shape
    np.testing.assert_array_equal(volume.array, expected)
    assert volume.files == tuple(str(ds.filename) for ds in datasets) == tuple(map(str, series.paths))
    assert volume.sop_instance_uids == tuple(ds.SOPInstanceUID for ds in datasets)
    assert volume.series_uid == series.uid and volume.warnings == []
    # neither file names nor Instance Numbers give this order
    assert list(volume.files) != sorted(volume.files)
    assert [ds.InstanceNumber for ds in datasets] != sorted(ds.InstanceNumber for ds in datasets)


@pytest.mark.parametrize("name", ["ct", "mr"])
def test_affine_maps_indices_to_patient_coordinates(dicom_tree, name):
    series = dicom_tree.series[name]
    volume = read_series(series.paths)
    datasets, _ = pydicom_volume(series.paths)
    np.testing.assert_allclose(volume.spacing, series.spacing, atol=1e-3)
    for k, ds in enumerate(datasets):
        position = np.array(ds.ImagePositionPatient, dtype=float)
        row, col = np.array(ds.ImageOrientationPatient[:3], dtype=float), np.array(ds.ImageOrientationPatient[3:], dtype=float)
        dy, dx = (float(v) for v in ds.PixelSpacing)
        for j, i in ((0, 0), (5, 0), (0, 7), (15, 15)):
            expected = position + i * dx * row + j * dy * col  # PS3.3 C.7.6.2.1.1
            np.testing.assert_allclose((volume.affine @ [k, j, i, 1])[:3], expected, atol=1e-3)
    np.testing.assert_allclose(volume.affine[3], [0, 0, 0, 1])


def test_rescale_applies_slope_and_intercept_slice_by_slice(dicom_tree):
    for name in ("ct", "pt"):
        paths = dicom_tree.series[name].paths
        datasets, _ = pydicom_volume(paths)
        volume = read_series(paths, rescale=True)
        expected = np.stack([apply_rescale(ds.pixel_array, ds) for ds in datasets])
        assert volume.array.dtype == np.float32 and volume.rescaled
        np.testing.assert_allclose(volume.array, expected, rtol=1e-6)
    assert len(set(dicom_tree.series["pt"].slopes)) == 12  # the PET-like series has a slope per slice


def test_files_directory_and_table_give_the_same_volume(dicom_tree, table):
    series = dicom_tree.series["mr"]
    from_files = read_series(series.paths)
    for source in (dicom_tree.root, table, str(dicom_tree.root)):
        volume = read_series(source, series.uid)
        np.testing.assert_array_equal(volume.array, from_files.array)
        assert volume.files == from_files.files
        np.testing.assert_allclose(volume.affine, from_files.affine)


def test_several_series_need_a_choice(dicom_tree, table):
    with pytest.raises(SeriesError, match=r"series found, pass series_uid=") as info:
        read_series(table)
    assert dicom_tree.series["ct"].uid in str(info.value)
    with pytest.raises(SeriesError, match="no image files"):
        read_series(table, "1.2.3.404")


def test_group_series_holds_every_image_once(dicom_tree, table):
    groups = group_series(table)
    assert set(groups) == {s.uid for s in dicom_tree.series.values()}
    assert sum(rows.num_rows for rows in groups.values()) == sum(
        len(s.paths) for s in dicom_tree.series.values()
    )
    assert groups[dicom_tree.series["ct"].uid].num_rows == 40


@pytest.mark.parametrize(
    "name, message",
    [
        ("gap", r"uneven slice spacing: 2.0000 mm mostly, but 4.0000 mm .* \(about 1 missing\)"),
        ("mixed_orientation", r"mixed orientations: \[1.0, 0.0, 0.0, 0.0, 1.0, 0.0\] \(4 files\), \[0.0, 1.0, 0.0, 0.0, 0.0, -1.0\] \(2 files\)"),
        ("mixed_size", r"mixed image sizes: 16x16x1 16-bit signed \(5 files\), 20x20x1 16-bit signed \(1 file\)"),
        ("duplicate_position", r"two slices at position .* along the normal"),
    ],
)
def test_series_that_must_not_be_stacked_raise(dicom_tree, name, message):
    series = dicom_tree.series[name]
    with pytest.raises(SeriesError, match=message) as info:
        read_series(series.paths)
    assert info.value.series_uid == series.uid
    copy = pickle.loads(pickle.dumps(info.value))
    assert (copy.series_uid, str(copy)) == (series.uid, str(info.value))


def test_allow_uneven_stacks_with_a_warning(dicom_tree):
    series = dicom_tree.series["gap"]
    with pytest.warns(SeriesWarning, match="uneven slice spacing"):
        volume = read_series(series.paths, allow_uneven=True)
    np.testing.assert_array_equal(volume.array, np.stack(series.pixels))
    np.testing.assert_allclose(np.diff(volume.positions), [2, 2, 2, 2, 4, 2, 2, 2], atol=1e-3)
    assert volume.spacing[0] == pytest.approx(2.0) and "uneven" in volume.warnings[0]


def test_pixel_data_cut_short_raises_a_dicom_error(dicom_tree):
    series = dicom_tree.series["short_pixels"]
    with pytest.raises(dicodec.TruncatedDataError) as info:
        read_series(series.paths)
    assert info.value.path == str(series.paths[2])


def test_files_without_position_cannot_be_ordered(dicom_tree, tmp_path):
    paths = []
    for number, source in enumerate(dicom_tree.series["bulk1"].paths[:3]):
        ds = pydicom.dcmread(source)
        del ds.ImagePositionPatient
        paths.append(tmp_path / f"{number}.dcm")
        ds.save_as(paths[-1])
    with pytest.raises(SeriesError, match="3 of 3 files have no ImagePositionPatient .*: slices cannot be ordered"):
        read_series(paths)
    alone = read_series(paths[:1])  # one image needs no order
    assert alone.shape == (1, 16, 16) and alone.affine is None
    assert alone.spacing[1:] == (0.7, 0.7) and np.isnan(alone.spacing[0])


def test_a_file_stored_twice_counts_once():
    trio = [p for p in sample_files() if p.name.startswith("MR_small")]
    assert len(trio) == 3  # one SOP instance in three transfer syntaxes
    with pytest.warns(SeriesWarning, match="repeats SOP instance"):
        volume = read_series(trio)
    assert volume.shape == (1, 64, 64) and len(volume.warnings) == 2
    np.testing.assert_array_equal(volume.array[0], pydicom.dcmread(trio[0]).pixel_array)
    assert volume.spacing == (0.8, 0.3125, 0.3125)  # one slice: its Slice Thickness


def test_multi_frame_file_keeps_stored_order_with_a_warning(dicom_tree):
    series = dicom_tree.series["multiframe"]
    with pytest.warns(SeriesWarning, match="multi-frame file without per-frame plane positions"):
        volume = read_series(series.paths)
    np.testing.assert_array_equal(volume.array, np.stack(series.pixels))
    assert volume.affine is None and volume.positions is None and volume.frames == (0, 1, 2, 3)


def enhanced_ct(path, positions, *, slopes=None, tilt_free=True):
    """An Enhanced CT file written by pydicom: one frame a position, stored in the order given,
    orientation and pixel measures in the shared functional groups, positions (and rescale
    values, when given) per frame."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    rng = np.random.default_rng(len(positions))
    frames = rng.integers(-1000, 3000, (len(positions), 12, 10)).astype(np.int16)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2.1"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.SeriesInstanceUID, ds.Modality = generate_uid(), "CT"
    orientation = Dataset()
    orientation.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    measures = Dataset()
    measures.PixelSpacing, measures.SliceThickness = [0.5, 0.6], 2.0
    shared = Dataset()
    shared.PlaneOrientationSequence = [orientation]
    shared.PixelMeasuresSequence = [measures]
    ds.SharedFunctionalGroupsSequence = [shared]
    items = []
    for number, z in enumerate(positions):
        position = Dataset()
        position.ImagePositionPatient = [-10.0, 20.0, z]
        item = Dataset()
        item.PlanePositionSequence = [position]
        if slopes is not None:
            rescale = Dataset()
            rescale.RescaleSlope, rescale.RescaleIntercept, rescale.RescaleType = slopes[number], -1024, "HU"
            item.PixelValueTransformationSequence = [rescale]
        items.append(item)
    ds.PerFrameFunctionalGroupsSequence = items
    ds.NumberOfFrames, ds.Rows, ds.Columns = len(positions), 12, 10
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.PixelData = frames.tobytes()
    ds.save_as(path, enforce_file_format=True)
    return frames


def test_enhanced_multi_frame_is_sorted_by_its_per_frame_positions(tmp_path):
    positions = [7.5, -2.5, 5.0, 0.0, 2.5]
    frames = enhanced_ct(tmp_path / "enhanced.dcm", positions, slopes=[1.0, 2.0, 0.5, 1.0, 4.0])
    volume = read_series([tmp_path / "enhanced.dcm"])
    order = np.argsort(positions)
    np.testing.assert_array_equal(volume.array, frames[order])
    assert volume.frames == tuple(int(i) for i in order)
    assert volume.files == (str(tmp_path / "enhanced.dcm"),) * 5
    np.testing.assert_allclose(volume.positions, sorted(positions))
    assert volume.spacing == (2.5, 0.5, 0.6)
    # Index (k, j, i) -> LPS: k along z by 2.5 mm from the lowest frame, j down the rows (y), i along x.
    np.testing.assert_allclose(volume.affine @ [2, 3, 4, 1], [-10.0 + 4 * 0.6, 20.0 + 3 * 0.5, -2.5 + 2 * 2.5, 1])
    rescaled = read_series([tmp_path / "enhanced.dcm"], rescale=True)
    slopes = np.array([1.0, 2.0, 0.5, 1.0, 4.0])[order]
    np.testing.assert_array_equal(rescaled.array, (frames[order] * slopes[:, None, None] - 1024).astype(np.float32))
    assert [item["frame"] for item in volume.metadata()["instances"]] == list(volume.frames)


def test_enhanced_multi_frame_of_several_stacks_keeps_its_stored_order(tmp_path):
    # Two echoes (or phases) at each position: not one volume, so nothing is reordered.
    frames = enhanced_ct(tmp_path / "enhanced.dcm", [0.0, 2.5, 5.0, 0.0, 2.5, 5.0])
    with pytest.warns(SeriesWarning, match="not one volume .*frame 0 and .* frame 3"):
        volume = read_series([tmp_path / "enhanced.dcm"])
    np.testing.assert_array_equal(volume.array, frames)
    assert volume.frames == tuple(range(6)) and volume.positions is None and volume.affine is None
    assert volume.spacing[1:] == (0.5, 0.6)


def test_enhanced_multi_frame_with_a_malformed_position_keeps_its_stored_order(tmp_path):
    import pydicom

    path = tmp_path / "enhanced.dcm"
    frames = enhanced_ct(path, [5.0, 0.0, 2.5])
    ds = pydicom.dcmread(path)
    ds.PerFrameFunctionalGroupsSequence[1].PlanePositionSequence[0].ImagePositionPatient = [-10.0, 20.0]
    ds.save_as(path)
    with pytest.warns(SeriesWarning, match="without per-frame plane positions"):
        volume = read_series([path])
    np.testing.assert_array_equal(volume.array, frames)


def test_metadata_is_json(dicom_tree):
    volume = read_series(dicom_tree.series["ct"].paths)
    meta = json.loads(json.dumps(volume.metadata(), allow_nan=False))
    assert meta["shape"] == [40, 16, 16] and meta["dtype"] == "<i2" and meta["spacing"] == [2.5, 0.7, 0.7]
    assert [item["path"] for item in meta["instances"]] == list(volume.files)
    assert meta["instances"][1]["position"] - meta["instances"][0]["position"] == pytest.approx(2.5)
    assert np.allclose(meta["affine"], volume.affine)
    assert isinstance(volume, Volume) and "int16" in repr(volume)


def test_a_directory_ignores_files_that_are_not_images(dicom_tree, tmp_path):
    for path in dicom_tree.series["bulk2"].paths + dicom_tree.not_dicom + dicom_tree.broken:
        shutil.copy(path, tmp_path / path.name)
    volume = read_series(tmp_path)
    np.testing.assert_array_equal(volume.array, np.stack(dicom_tree.series["bulk2"].pixels))
    with pytest.raises(dicodec.InvalidDicomError):  # given explicitly, a bad file is an error
        read_series([*dicom_tree.series["bulk2"].paths, dicom_tree.not_dicom[0]])
