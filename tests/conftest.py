"""Shared fixtures: a generated tree of small DICOM files, built once per session.

The tree holds a few thousand 16x16 images written by pydicom: several good series (axial CT
in mixed transfer syntaxes, an oblique MR, a PET-like series with a rescale slope per slice, a
hundred small series, a multi-frame file), series that must not be stacked (a missing slice,
mixed orientations, mixed sizes, two slices at one position, pixel data cut short), files cut
short in their header, and files that are not DICOM images (text, JPEG, empty, a DICOMDIR).
File names are random and Instance Numbers shuffled, so only the positions give the order.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np
import pytest

AXIAL = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
#: Rows along x, columns tilted 30 degrees about x: an oblique plane, normal (0, -0.5, 0.866).
OBLIQUE = (1.0, 0.0, 0.0, 0.0, 0.866025, 0.5)
TILTED = (0.0, 1.0, 0.0, 0.0, 0.0, -1.0)
CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
MR_IMAGE = "1.2.840.10008.5.1.4.1.1.4"
BULK_SERIES = 95
BULK_SLICES = 20


@dataclass
class Series:
    """A series written into the tree: its UID and, for good ones, what read_series must give."""

    uid: str
    paths: List[Path] = field(default_factory=list)  # in slice order
    pixels: List[np.ndarray] = field(default_factory=list)  # stored values, slice order
    slopes: List[float] = field(default_factory=list)
    intercepts: List[float] = field(default_factory=list)
    spacing: Tuple[float, float, float] = (1.0, 1.0, 1.0)
    orientation: Tuple[float, ...] = AXIAL
    origin: Tuple[float, float, float] = (0.0, 0.0, 0.0)


@dataclass
class DicomTree:
    """The generated tree and what each part of it is."""

    root: Path
    files: List[Path] = field(default_factory=list)
    series: Dict[str, Series] = field(default_factory=dict)
    broken: List[Path] = field(default_factory=list)  # cut short in the header
    not_dicom: List[Path] = field(default_factory=list)
    dicomdir: Optional[Path] = None


def _normal(orientation: Tuple[float, ...]) -> np.ndarray:
    normal = np.cross(orientation[:3], orientation[3:])
    return normal / np.linalg.norm(normal)


#: Placeholders written by pydicom into a template, then replaced by values of the same length.
_UID, _POSITION, _INSTANCE, _SLOPE = "2.25.999999999999", (111.1111, 222.2222, 333.3333), 987654, 555.5555
RLE = "1.2.840.10008.1.2.5"


def _ds(value: float, width: int) -> str:
    return f"{value:+0{width}.4f}" if width == 10 else f"{value:0{width}.4f}"


class _Writer:
    """Writes files with pydicom; a good series' slices come from one template per syntax."""

    def __init__(self, root: Path, seed: int = 7) -> None:
        import pydicom

        self.pydicom = pydicom
        self.root = root
        self.rng = random.Random(seed)
        self.np_rng = np.random.default_rng(seed)
        self.tree = DicomTree(root)
        self.uids = 0
        self.folders = [root / "a", root / "a" / "b", root / "c", root / "d" / "e" / "f"]
        for folder in self.folders:
            folder.mkdir(parents=True, exist_ok=True)

    def uid(self) -> str:
        self.uids += 1
        return f"2.25.{10**11 + self.uids}"

    def path(self, suffix: str = ".dcm") -> Path:
        name = "%016x" % self.rng.getrandbits(64)
        path = self.rng.choice(self.folders) / (name + suffix)
        self.tree.files.append(path)
        return path

    def encode(
        self,
        series_uid: str,
        pixels: np.ndarray,
        *,
        position: Optional[Tuple[float, ...]],
        orientation: Tuple[float, ...],
        instance: int,
        slope: Optional[float] = None,
        syntax: str = "1.2.840.10008.1.2.1",
        modality: str = "CT",
        sop_uid: Optional[str] = None,
    ) -> bytes:
        """One file's bytes, written by pydicom."""
        from io import BytesIO

        from pydicom.dataset import Dataset, FileMetaDataset

        sop_class = MR_IMAGE if modality == "MR" else CT_IMAGE
        sop_uid = sop_uid or self.uid()
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = sop_class
        meta.MediaStorageSOPInstanceUID = sop_uid
        meta.TransferSyntaxUID = syntax
        ds = Dataset()
        ds.file_meta = meta
        ds.SOPClassUID = sop_class
        ds.SOPInstanceUID = sop_uid
        ds.StudyInstanceUID = "2.25.1"
        ds.SeriesInstanceUID = series_uid
        ds.Modality = modality
        ds.PatientName = "Test^Tree"
        ds.StudyDate = "20240229"
        ds.InstanceNumber = f"{instance:06d}"
        if position is not None:
            ds.ImagePositionPatient = [_ds(v, 10) for v in position]
            ds.ImageOrientationPatient = [f"{v:.6f}" for v in orientation]
        ds.PixelSpacing = ["0.7", "0.7"]
        ds.SliceThickness = "2.0"
        if slope is not None:
            ds.RescaleSlope = _ds(slope, 8)
            ds.RescaleIntercept = "-1024" if modality == "CT" else "0"
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        if pixels.ndim == 3:
            ds.NumberOfFrames = pixels.shape[0]
        ds.Rows, ds.Columns = pixels.shape[-2:]
        ds.BitsAllocated = pixels.dtype.itemsize * 8
        ds.BitsStored = ds.BitsAllocated
        ds.HighBit = ds.BitsStored - 1
        ds.PixelRepresentation = int(pixels.dtype.kind == "i")
        if syntax == RLE:
            ds.compress(syntax, pixels, encoding_plugin="pydicom")
        else:
            ds.PixelData = pixels.tobytes()
        buffer = BytesIO()
        ds.save_as(buffer, enforce_file_format=True)
        return buffer.getvalue()

    def series(
        self,
        name: str,
        count: int,
        *,
        dtype: str = "int16",
        orientation: Tuple[float, ...] = AXIAL,
        step: float = 2.5,
        origin: Tuple[float, float, float] = (-20.0, -30.0, 40.0),
        slopes: Optional[List[float]] = None,
        rescale: bool = False,
        syntaxes: Tuple[str, ...] = ("1.2.840.10008.1.2.1",),
        modality: str = "CT",
    ) -> Series:
        """A good series: slices ``step`` mm apart along the normal, written in random order.

        ``rescale`` writes slope 1 and intercept -1024 (CT) on every slice, ``slopes`` one
        slope per slice (intercept 0).
        """
        uid = self.uid()
        record = Series(uid, spacing=(step, 0.7, 0.7), orientation=orientation, origin=origin)
        normal = _normal(orientation)
        info = np.iinfo(dtype)
        instances = list(range(1, count + 1))
        self.rng.shuffle(instances)
        has_slope = rescale or slopes is not None
        templates: Dict[str, bytes] = {}
        for k in range(count):
            pixels = self.np_rng.integers(max(info.min, -2000), min(info.max, 4000), (16, 16), endpoint=True).astype(dtype)
            slope = slopes[k] if slopes else 1.0
            position = tuple(np.asarray(origin) + k * step * normal)
            syntax = syntaxes[k % len(syntaxes)]
            common = {"orientation": orientation, "syntax": syntax, "modality": modality}
            if syntax == RLE:
                data = self.encode(uid, pixels, position=position, instance=instances[k], slope=slope if has_slope else None, **common)
            else:
                if syntax not in templates:
                    templates[syntax] = self.encode(
                        uid, np.zeros_like(pixels), position=_POSITION, instance=_INSTANCE,
                        slope=_SLOPE if has_slope else None, sop_uid=_UID, **common,
                    )
                data = templates[syntax].replace(_UID.encode(), self.uid().encode())
                data = data.replace("\\".join(_ds(v, 10) for v in _POSITION).encode(), "\\".join(_ds(v, 10) for v in position).encode())
                data = data.replace(f"{_INSTANCE:06d}".encode(), f"{instances[k]:06d}".encode())
                data = data.replace(_ds(_SLOPE, 8).encode(), _ds(slope, 8).encode())
                data = data[: -pixels.nbytes] + pixels.tobytes()
            path = self.path()
            path.write_bytes(data)
            record.paths.append(path)
            record.pixels.append(pixels)
            record.slopes.append(float(_ds(slope, 8)) if has_slope else 1.0)
            record.intercepts.append((-1024.0 if modality == "CT" else 0.0) if has_slope else 0.0)
        self.tree.series[name] = record
        return record

    def cut(self, path: Path, keep: int) -> None:
        path.write_bytes(path.read_bytes()[:keep])


def build_tree(root: Path) -> DicomTree:
    """Write the tree under ``root`` and describe it."""
    w = _Writer(root)
    w.series("ct", 40, rescale=True, syntaxes=("1.2.840.10008.1.2.1", "1.2.840.10008.1.2", "1.2.840.10008.1.2.1", RLE))
    w.series("mr", 24, dtype="uint16", orientation=OBLIQUE, step=3.0, origin=(5.0, -7.5, 12.25), modality="MR")
    w.series("pt", 12, dtype="uint16", slopes=[0.5 + 0.25 * k for k in range(12)], step=4.0, modality="PT")
    for number in range(BULK_SERIES):
        w.series(f"bulk{number}", BULK_SLICES, dtype="uint8", step=1.0 + number % 3)

    gap = w.series("gap", 10, step=2.0)
    missing = gap.paths.pop(5)
    missing.unlink()
    w.tree.files.remove(missing)
    del gap.pixels[5], gap.slopes[5], gap.intercepts[5]

    mixed = w.series("mixed_orientation", 6)
    for path in mixed.paths[:2]:
        ds = w.pydicom.dcmread(path)
        ds.ImageOrientationPatient = list(TILTED)
        ds.save_as(path)

    sizes = w.series("mixed_size", 6)
    ds = w.pydicom.dcmread(sizes.paths[3])
    ds.Rows = ds.Columns = 20
    ds.PixelData = np.zeros((20, 20), np.int16).tobytes()
    ds.save_as(sizes.paths[3])

    duplicate = w.series("duplicate_position", 6)
    ds = w.pydicom.dcmread(duplicate.paths[2])
    ds.ImagePositionPatient = w.pydicom.dcmread(duplicate.paths[1]).ImagePositionPatient
    ds.save_as(duplicate.paths[2])

    short = w.series("short_pixels", 5)
    w.cut(short.paths[2], short.paths[2].stat().st_size - 100)

    frames = w.np_rng.integers(0, 255, (4, 16, 16), endpoint=True).astype(np.uint8)
    multi = Series(w.uid(), paths=[w.path()], pixels=list(frames))
    multi.paths[0].write_bytes(w.encode(multi.uid, frames, position=(0.0, 0.0, 0.0), orientation=AXIAL, instance=1))
    w.tree.series["multiframe"] = multi

    donor = w.tree.series["bulk0"].paths[0].read_bytes()
    for keep in (60, 200, 400):
        path = w.path()
        path.write_bytes(donor[:keep])
        w.tree.broken.append(path)

    for suffix, content in ((".txt", b"not an image\n" * 20), (".jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(300)), ("", b"")):
        path = w.path(suffix)
        path.write_bytes(content)
        w.tree.not_dicom.append(path)

    from pydicom.dataset import Dataset, FileMetaDataset

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.1.3.10"
    meta.MediaStorageSOPInstanceUID = w.uid()
    meta.TransferSyntaxUID = "1.2.840.10008.1.2.1"
    directory = Dataset()
    directory.file_meta = meta
    directory.FileSetID = "TREE"
    record = Dataset()
    record.DirectoryRecordType = "IMAGE"
    record.ReferencedFileID = ["A", "B"]
    directory.DirectoryRecordSequence = [record]
    w.tree.dicomdir = root / "DICOMDIR"
    directory.save_as(w.tree.dicomdir, enforce_file_format=True)
    w.tree.files.append(w.tree.dicomdir)
    return w.tree


@pytest.fixture(scope="session")
def dicom_tree(tmp_path_factory) -> DicomTree:
    """The generated tree (see the module docstring), written once per session."""
    return build_tree(tmp_path_factory.mktemp("tree"))
