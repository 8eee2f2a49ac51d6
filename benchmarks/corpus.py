"""The benchmark corpus: realistic DICOM files made from seeded synthetic images by real encoders.

Four data sets, each written in several transfer syntaxes:

``ct``
    A CT series of single-frame files, 512x512 signed 16-bit with 12 bits stored, each with a
    realistic header (about 150 elements with nested sequences and private tags).
``ct-mf``
    An Enhanced CT multi-frame (200 frames by default) with per-frame functional groups.
``us-mf``
    An 8-bit RGB ultrasound multi-frame.
``be-mf``
    The ``ct-mf`` pixels in Explicit VR Big Endian.

Encodings are ``native`` (Explicit VR Little Endian), ``rle`` (RLE Lossless, by pylibjpeg-rle
through pydicom, else pydicom's own encoder) and ``jpegll`` (JPEG Lossless SV1, by libjpeg-turbo
through imagecodecs), encapsulated by pydicom with a Basic Offset Table.

The pixels every file was made from are kept beside it (``truth/<dataset>.npy``, in pydicom's
shapes) so that any decoder's output can be checked against what was encoded, and so are the
encoded frames of each compressed multi-frame (``frames/<dataset>-<encoding>.bin``) for
codec-only work. A corpus is built once per :class:`CorpusSpec` and cached under a directory
named by the spec's hash.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

#: Bumped whenever the files this module writes change, so that stale caches are not reused.
CORPUS_VERSION = 4
#: Where corpora are cached unless told otherwise (``DICODEC_BENCH_CORPUS`` overrides it).
DEFAULT_CACHE = Path(__file__).resolve().parent / ".corpus"

ENCODINGS = ("native", "rle", "jpegll")
#: Bits Stored of the CT data sets (signed, in 16 bits allocated).
CT_BITS_STORED = 12
#: The data sets, each with the encodings it is written in.
DATASETS: Dict[str, Tuple[str, ...]] = {
    "ct": ENCODINGS,
    "ct-mf": ENCODINGS,
    "us-mf": ENCODINGS,
    "be-mf": ("native",),
}


@dataclass(frozen=True)
class CorpusSpec:
    """The sizes of a corpus; the same spec and seed always give the same files."""

    ct_slices: int = 24
    ct_size: int = 512
    mf_frames: int = 200
    mf_size: int = 256
    us_frames: int = 40
    us_rows: int = 480
    us_columns: int = 640
    #: Files in the scan tree: the CT series again and again, one folder a series.
    tree_files: int = 10_000
    seed: int = 20240611

    def key(self) -> str:
        """A short name for this spec, used as the cache directory."""
        text = json.dumps([CORPUS_VERSION, dataclasses.asdict(self)], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


#: The corpus of a full comparison.
FULL = CorpusSpec()
#: A small corpus for the quick mode and the pytest-benchmark suites (built in seconds).
QUICK = CorpusSpec(
    ct_slices=3, ct_size=256, mf_frames=12, mf_size=128, us_frames=3, us_rows=240, us_columns=320, tree_files=30
)


class Corpus:
    """A built corpus on disk: paths by data set and encoding, and the pixels they hold."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.manifest = json.loads((root / "manifest.json").read_text())
        self._truth: Dict[str, np.ndarray] = {}

    @property
    def encoders(self) -> Dict[str, str]:
        """The encoder that made each encoding, or why an encoding is missing."""
        return self.manifest["encoders"]

    def has(self, dataset: str, encoding: str) -> bool:
        """Whether the corpus holds ``dataset`` in ``encoding`` (an encoder may be absent)."""
        return encoding in self.manifest["datasets"][dataset]["files"]

    def paths(self, dataset: str, encoding: str = "native") -> List[Path]:
        """The files of ``dataset`` in ``encoding`` (one for a multi-frame data set)."""
        return [self.root / p for p in self.manifest["datasets"][dataset]["files"][encoding]]

    def path(self, dataset: str, encoding: str = "native") -> Path:
        """The first (for a multi-frame data set, the only) file of ``dataset``."""
        return self.paths(dataset, encoding)[0]

    def frames(self, dataset: str, encoding: str) -> List[bytes]:
        """The encoded frames of a compressed multi-frame ``dataset``, one fragment each."""
        data = (self.root / "frames" / f"{dataset}-{encoding}.bin").read_bytes()
        ends = np.cumsum(self.manifest["datasets"][dataset]["frame_lengths"][encoding]).tolist()
        return [data[start:end] for start, end in zip([0] + ends[:-1], ends)]

    @property
    def tree_files(self) -> int:
        """How many files :meth:`tree` holds."""
        return int(self.manifest["spec"]["tree_files"])

    def tree(self) -> Path:
        """The scan tree: ``tree_files`` CT files in one folder a series (see :func:`_write_tree`)."""
        return self.root / "tree"

    def truth(self, dataset: str) -> np.ndarray:
        """The pixels ``dataset`` was encoded from: (files or frames, rows, columns[, samples])."""
        if dataset not in self._truth:
            self._truth[dataset] = np.load(self.root / "truth" / f"{dataset}.npy", mmap_mode="r")
        return self._truth[dataset]


def build(spec: CorpusSpec = FULL, cache: Optional[Path] = None, log: Callable[[str], None] = print) -> Corpus:
    """The corpus for ``spec``, built into the cache unless it is there already."""
    cache = Path(cache or os.environ.get("DICODEC_BENCH_CORPUS") or DEFAULT_CACHE)
    missing = sorted(_missing_encoders())
    # A corpus made without an encoder is kept apart, so that installing it later adds the files.
    root = cache / "-".join([spec.key(), *(f"no-{encoding}" for encoding in missing)])
    if (root / "manifest.json").is_file():
        return Corpus(root)
    cache.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".building-", dir=cache))
    try:
        log(f"building the benchmark corpus {spec.key()} ...")
        _write_corpus(spec, staging)
        try:
            staging.rename(root)
        except OSError:  # another process finished the same corpus first
            if not (root / "manifest.json").is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return Corpus(root)


# -- images -------------------------------------------------------------------------------------


def _box_blur(image: np.ndarray, radius: int) -> np.ndarray:
    """A (2r+1)-square mean filter over the first two axes, edges clamped."""
    width = 2 * radius + 1
    out = image.astype(np.float64)
    for axis in (0, 1):
        padded = np.concatenate(
            [np.repeat(out.take([0], axis), radius + 1, axis), out, np.repeat(out.take([-1], axis), radius, axis)],
            axis,
        )
        summed = np.cumsum(padded, axis)
        n = summed.shape[axis]
        out = (summed.take(range(width, n), axis) - summed.take(range(n - width), axis)) / width
    return out


def _ellipse(x: np.ndarray, y: np.ndarray, cx: float, cy: float, rx: float, ry: float) -> np.ndarray:
    return ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 < 1.0


def ct_slice(rng: np.random.Generator, z: float, size: int) -> np.ndarray:
    """A chest/abdomen-like axial slice in HU as int16 (``CT_BITS_STORED`` bits, signed).

    ``z`` in [0, 1] runs from the lung apices to the abdomen. The anatomy is blurred as a
    reconstruction kernel would, then correlated noise of about 27 HU is added; outside the
    reconstruction circle the padding value is -2000.
    """
    y, x = np.mgrid[-1.0 : 1.0 : size * 1j, -1.0 : 1.0 : size * 1j]
    hu = np.full((size, size), -1000.0)
    body = _ellipse(x, y, 0, 0.05, 0.82, 0.62)
    hu[body] = -100.0  # subcutaneous fat
    muscle = _ellipse(x, y, 0, 0.05, 0.76, 0.56)
    hu[muscle] = 45.0 + 15.0 * np.sin(3 * x[muscle] + 2 * y[muscle])
    lung_r = 0.28 * max(0.0, 1.0 - abs(z - 0.3) * 1.6)
    for side in (-1, 1):
        if lung_r > 0.02:
            lung = _ellipse(x, y, side * 0.33, 0.0, lung_r, lung_r * 1.45)
            hu[lung] = -860.0 + 40.0 * np.cos(9 * x[lung] + 7 * y[lung])
    if z > 0.45:
        liver = _ellipse(x, y, -0.25, 0.05, 0.3 * (z - 0.3), 0.3)
        hu[liver] = 62.0
        for side in (-1, 1):
            hu[_ellipse(x, y, side * 0.42, 0.35, 0.09, 0.12)] = 35.0  # kidneys
    hu[_ellipse(x, y, 0.08, 0.22, 0.06, 0.06)] = 180.0  # aorta with contrast
    hu[_ellipse(x, y, 0, 0.45, 0.1, 0.09)] = 950.0  # vertebral cortex
    hu[_ellipse(x, y, 0, 0.45, 0.07, 0.06)] = 260.0  # cancellous bone
    for angle in np.linspace(0.3, np.pi - 0.3, 9):  # ribs
        hu[_ellipse(x, y, 0.74 * np.cos(angle), 0.05 + 0.55 * np.sin(angle), 0.03, 0.025)] = 700.0
    hu[(y > 0.8) & (y < 0.86) & (abs(x) < 0.9)] = 150.0  # table
    hu = _box_blur(hu, 1)
    noise = _box_blur(rng.normal(0.0, 20.0, (size, size)), 1) * 4.0
    hu += np.where(hu > -950.0, noise, noise / 4)
    hu[x**2 + y**2 > 1.0] = -2000.0  # outside the reconstruction circle
    limit = 1 << (CT_BITS_STORED - 1)
    return np.clip(np.rint(hu), -limit, limit - 1).astype(np.int16)


def us_frames(rng: np.random.Generator, frames: int, rows: int, columns: int) -> np.ndarray:
    """A cardiac-like ultrasound cine as uint8 RGB (frames, rows, columns, 3).

    A grey speckle sector that drifts between frames, with a colour Doppler box and white
    annotation blocks, as an ultrasound scanner's secondary capture.
    """
    y, x = np.mgrid[0:rows, 0:columns].astype(np.float64)
    r = np.hypot(x - columns / 2, y) / rows
    theta = np.arctan2(x - columns / 2, y)
    sector = (r > 0.08) & (r < 0.95) & (abs(theta) < 0.75)
    echo = 0.5 + 0.35 * np.sin(8 * r + 3 * theta) * np.cos(5 * r)
    field = _box_blur(rng.rayleigh(1.0, (rows + frames * 2, columns)), 1)
    doppler = (r > 0.35) & (r < 0.55) & (abs(theta) < 0.2)
    out = np.zeros((frames, rows, columns, 3), np.uint8)
    for f in range(frames):
        speckle = field[f * 2 : f * 2 + rows] * (0.75 + 0.25 * np.sin(f / 3))
        grey = np.clip(echo * speckle * 110, 0, 255) * sector
        frame = np.repeat(grey[..., None], 3, axis=2)
        flow = np.sin(6 * r[doppler] - f / 2)
        frame[doppler, 0] = np.clip(200 * flow, 0, 255)
        frame[doppler, 2] = np.clip(-200 * flow, 0, 255)
        frame[10:22, 10 : 10 + 8 * (f % 10 + 3)] = 255  # frame counter
        out[f] = np.rint(frame)
    return out


# -- headers ------------------------------------------------------------------------------------


#: The Implementation Class UID the corpus files are written with (under a made-up root).
_IMPLEMENTATION_UID = "1.2.826.0.1.3680043.10.1234.1"


#: The root of the corpus's UIDs (made up, beside the implementation's).
_UID_ROOT = "1.2.826.0.1.3680043.10.1234.2."


def _uid(seed: int, *parts: object) -> Any:
    """The UID named by ``seed`` and ``parts``: the same every time, so that the slices of a
    series share their Series Instance UID. (``generate_uid`` ignores ``entropy_srcs`` without
    a prefix and returns a random UID.)"""
    from pydicom.uid import generate_uid

    return generate_uid(prefix=_UID_ROOT, entropy_srcs=[str(seed), *map(str, parts)])


def _item(**elements: object):
    from pydicom.dataset import Dataset

    item = Dataset()
    for keyword, value in elements.items():
        setattr(item, keyword, value)
    return item


def _code(value: str, scheme: str, meaning: str):
    return _item(CodeValue=value, CodingSchemeDesignator=scheme, CodeMeaning=meaning)


def _add_private(ds, seed: int) -> None:
    """Private blocks as a GE and a Siemens scanner would write them, one holding a sequence."""
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    iden = ds.private_block(0x0009, "GEMS_IDEN_01", create=True)
    iden.add_new(0x01, "LO", "CT_LIGHTSPEED")
    iden.add_new(0x02, "SH", "CT01")
    iden.add_new(0x04, "SH", "LightSpeed VCT")
    acqu = ds.private_block(0x0019, "GEMS_ACQU_01", create=True)
    for offset, (vr, value) in enumerate(
        [("DS", "2.5"), ("SS", 1), ("DS", "0.0"), ("DS", "984.0"), ("DS", "541.0"), ("SS", 2),
         ("DS", "0.984375"), ("LO", "HELICAL"), ("SS", 0), ("DS", "1.375"), ("US", 64), ("DS", "-250.0")],
        start=0x02,
    ):
        acqu.add_new(offset, vr, value)
    parm = ds.private_block(0x0043, "GEMS_PARM_01", create=True)
    parm.add_new(0x10, "US", 1)
    parm.add_new(0x11, "US", 64)
    parm.add_new(0x12, "SS", [7, 2, 9])
    parm.add_new(0x1E, "DS", "0.625")
    parm.add_new(0x27, "SH", "/1.4:1")
    parm.add_new(0x2C, "SS", 0)
    parm.add_new(0x4D, "FL", [0.1, 0.2, 0.3])
    csa = ds.private_block(0x0029, "SIEMENS CSA HEADER", create=True)
    csa.add_new(0x08, "CS", "IMAGE NUM 4")
    csa.add_new(0x09, "LO", "20240611")
    csa.add_new(0x10, "OB", np.random.default_rng(seed).integers(0, 256, 3072, dtype=np.uint8).tobytes())
    helios = ds.private_block(0x0045, "GEMS_HELIOS_01", create=True)
    helios.add_new(0x01, "SS", 64)
    items = []
    for k in range(2):
        item = Dataset()
        inner = item.private_block(0x0045, "GEMS_HELIOS_01", create=True)
        inner.add_new(0x02, "FL", 0.5 * k)
        inner.add_new(0x03, "LO", f"ZONE{k}")
        items.append(item)
    helios.add_new(0x10, "SQ", Sequence(items))


def ct_header(spec: CorpusSpec, index: int, position_mm: float):
    """The header of slice ``index`` of the CT series, without its pixel data."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import UID, CTImageStorage, ExplicitVRLittleEndian

    seed = spec.seed
    sop = _uid(seed, "ct", index)
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = sop
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.ImplementationClassUID = UID(_IMPLEMENTATION_UID)
    ds.file_meta.ImplementationVersionName = "DICODEC_BENCH"
    ds.file_meta.SourceApplicationEntityTitle = "CT01"
    fields = dict(
        # SOP common
        SpecificCharacterSet="ISO_IR 100", ImageType=["ORIGINAL", "PRIMARY", "AXIAL"],
        InstanceCreationDate="20240611", InstanceCreationTime="101502.123456",
        InstanceCreatorUID="1.2.826.0.1.3680043.10.1234", SOPClassUID=CTImageStorage, SOPInstanceUID=sop,
        TimezoneOffsetFromUTC="+0200",
        # study, series, equipment
        StudyDate="20240611", SeriesDate="20240611", AcquisitionDate="20240611", ContentDate="20240611",
        AcquisitionDateTime="20240611101458.500000", StudyTime="100912", SeriesTime="101402",
        AcquisitionTime=f"1014{index % 60:02d}.500", ContentTime=f"1015{index % 60:02d}.123",
        AccessionNumber="A20240611-0042", Modality="CT", Manufacturer="GE MEDICAL SYSTEMS",
        InstitutionName="Dicodec General Hospital", InstitutionAddress="1 Bench Street, Testville",
        ReferringPhysicianName="Referrer^Rita^^Dr", StationName="CT01", StudyDescription="CT CHEST ABDOMEN W CONTRAST",
        ProcedureCodeSequence=[_code("CTCAP", "L", "CT chest abdomen pelvis with contrast")],
        SeriesDescription="AXIAL 2.5 STD", InstitutionalDepartmentName="Radiology",
        NameOfPhysiciansReadingStudy="Reader^Rob", PerformingPhysicianName="Performer^Pat", OperatorsName="Tech^Tom",
        ManufacturerModelName="LightSpeed VCT",
        ReferencedImageSequence=[
            _item(ReferencedSOPClassUID=CTImageStorage, ReferencedSOPInstanceUID=_uid(seed, "scout", k))
            for k in range(2)
        ],
        # patient
        PatientName="Doe^Jane^Q", PatientID="PAT0042", IssuerOfPatientID="DGH", PatientBirthDate="19640203",
        PatientSex="F", OtherPatientIDsSequence=[
            _item(PatientID="9876543", IssuerOfPatientID="NATIONAL", TypeOfPatientID="TEXT")
        ],
        PatientAge="060Y", PatientSize="1.68", PatientWeight="71.5", AdditionalPatientHistory="Follow-up",
        # contrast and CT acquisition
        ContrastBolusAgent="OMNIPAQUE 350", ContrastBolusAgentSequence=[_code("C-B0322", "SRT", "Iohexol")],
        BodyPartExamined="CHEST", ScanOptions="HELICAL MODE", SliceThickness="2.5", KVP="120",
        DataCollectionDiameter="500.0", DeviceSerialNumber="*CT01SN*",
        SoftwareVersions=["LightSpeedverrel", "gmp_vct.40"],
        ProtocolName="5.1 CHEST ABD PELVIS", ContrastBolusRoute="IV", ContrastBolusVolume="100.0",
        ContrastBolusStartTime="101230", ContrastBolusIngredient="IODINE",
        ReconstructionDiameter="380.0", DistanceSourceToDetector="949.075012", DistanceSourceToPatient="541.0",
        GantryDetectorTilt="0.0", TableHeight="154.5", RotationDirection="CW", ExposureTime="700",
        XRayTubeCurrent="310", Exposure="12", FilterType="BODY FILTER", GeneratorPower="37200",
        FocalSpots="0.7", DateOfLastCalibration="20240610", TimeOfLastCalibration="070500",
        ConvolutionKernel="STANDARD", PatientPosition="FFS", RevolutionTime=0.5, SingleCollimationWidth=0.625,
        TotalCollimationWidth=40.0, TableSpeed=78.75, TableFeedPerRotation=39.375, SpiralPitchFactor=0.984375,
        DataCollectionCenterPatient=[0.0, -154.5, position_mm],
        ReconstructionTargetCenterPatient=[0.0, -154.5, position_mm],
        ExposureModulationType="SMART MA", CTDIvol=11.27,
        CTDIPhantomTypeCodeSequence=[_code("113691", "DCM", "IEC Body Dosimetry Phantom")],
        # relationship, plane, pixel, VOI
        StudyInstanceUID=_uid(seed, "study"), SeriesInstanceUID=_uid(seed, "ct-series"), StudyID="42",
        SeriesNumber="3", AcquisitionNumber="1", InstanceNumber=str(index + 1),
        ImagePositionPatient=["-190.0", "-190.0", str(position_mm)],
        ImageOrientationPatient=["1", "0", "0", "0", "1", "0"],
        FrameOfReferenceUID=_uid(seed, "for"), PositionReferenceIndicator="SN", SliceLocation=str(position_mm),
        ImagesInAcquisition=str(spec.ct_slices), ImageComments="synthetic phantom",
        SamplesPerPixel=1, PhotometricInterpretation="MONOCHROME2", Rows=spec.ct_size, Columns=spec.ct_size,
        PixelSpacing=["0.742188", "0.742188"], BitsAllocated=16, BitsStored=CT_BITS_STORED,
        HighBit=CT_BITS_STORED - 1, PixelRepresentation=1,
        WindowCenter=["40", "-600"], WindowWidth=["400", "1500"],
        WindowCenterWidthExplanation=["WINDOW1", "WINDOW2"], RescaleIntercept="0", RescaleSlope="1",
        RescaleType="HU", LossyImageCompression="00",
        RequestAttributesSequence=[
            _item(
                RequestedProcedureDescription="CT CHEST ABDOMEN", RequestedProcedureID="RP42",
                ScheduledProcedureStepID="SPS42",
                ScheduledProtocolCodeSequence=[_code("CTCAP", "L", "CT chest abdomen pelvis")],
            )
        ],
        PerformedProcedureStepStartDate="20240611", PerformedProcedureStepStartTime="100912",
        PerformedProcedureStepID="PPS42", PerformedProcedureStepDescription="CT CHEST ABDOMEN",
        IrradiationEventUID=_uid(seed, "event"),
    )
    for keyword, value in fields.items():
        setattr(ds, keyword, value)
    _add_private(ds, seed)
    return ds


def _multiframe_header(spec: CorpusSpec, name: str):
    """The Enhanced CT header of multi-frame data set ``name``, with per-frame functional groups."""
    from pydicom.uid import EnhancedCTImageStorage

    frames = spec.mf_frames

    ds = ct_header(spec, 0, 0.0)
    sop = _uid(spec.seed, name)
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID = EnhancedCTImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID = sop
    ds.SeriesInstanceUID = _uid(spec.seed, name, "series")
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL", "NONE"]
    for keyword in ("ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing", "SliceLocation",
                    "SliceThickness", "RescaleIntercept", "RescaleSlope", "RescaleType", "WindowCenter",
                    "WindowWidth", "WindowCenterWidthExplanation", "DataCollectionCenterPatient",
                    "ReconstructionTargetCenterPatient"):
        delattr(ds, keyword)
    ds.Rows = ds.Columns = spec.mf_size
    ds.NumberOfFrames = frames
    ds.SharedFunctionalGroupsSequence = [
        _item(
            PixelMeasuresSequence=[_item(PixelSpacing=["1.484375", "1.484375"], SliceThickness="2.5")],
            PlaneOrientationSequence=[_item(ImageOrientationPatient=["1", "0", "0", "0", "1", "0"])],
            PixelValueTransformationSequence=[_item(RescaleIntercept="0", RescaleSlope="1", RescaleType="HU")],
            FrameVOILUTSequence=[_item(WindowCenter="40", WindowWidth="400")],
        )
    ]
    ds.PerFrameFunctionalGroupsSequence = [
        _item(
            FrameContentSequence=[_item(StackID="1", InStackPositionNumber=f + 1, DimensionIndexValues=[1, f + 1])],
            PlanePositionSequence=[_item(ImagePositionPatient=["-190.0", "-190.0", f"{0.0 - 2.5 * f:.1f}"])],
        )
        for f in range(frames)
    ]
    return ds


def us_header(spec: CorpusSpec, frames: int):
    """An ultrasound multi-frame header (RGB, 8 bits)."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.tag import Tag
    from pydicom.uid import ExplicitVRLittleEndian, UltrasoundMultiFrameImageStorage

    sop = _uid(spec.seed, "us-mf")
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = UltrasoundMultiFrameImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = sop
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    fields = dict(
        SpecificCharacterSet="ISO_IR 100", ImageType=["ORIGINAL", "PRIMARY", "CARDIAC", "0001"],
        SOPClassUID=UltrasoundMultiFrameImageStorage, SOPInstanceUID=sop, StudyDate="20240611",
        ContentDate="20240611", StudyTime="111500", ContentTime="111742", AccessionNumber="A20240611-0043",
        Modality="US", Manufacturer="Dicodec Echo", InstitutionName="Dicodec General Hospital",
        ReferringPhysicianName="Referrer^Rita", StudyDescription="ECHO TTE", ManufacturerModelName="Echo 9",
        PatientName="Doe^Jane^Q", PatientID="PAT0042", PatientBirthDate="19640203", PatientSex="F",
        FrameTime="33.333", CineRate=30, EffectiveDuration=f"{frames / 30.0:.3f}", HeartRate=72,
        StudyInstanceUID=_uid(spec.seed, "us-study"), SeriesInstanceUID=_uid(spec.seed, "us-series"),
        StudyID="43", SeriesNumber="1", InstanceNumber="1", SamplesPerPixel=3, PhotometricInterpretation="RGB",
        PlanarConfiguration=0, NumberOfFrames=frames, FrameIncrementPointer=Tag("FrameTime"),
        Rows=spec.us_rows, Columns=spec.us_columns, BitsAllocated=8, BitsStored=8, HighBit=7, PixelRepresentation=0,
        LossyImageCompression="00",
        SequenceOfUltrasoundRegions=[
            _item(
                RegionSpatialFormat=1, RegionDataType=1, RegionFlags=2, RegionLocationMinX0=0, RegionLocationMinY0=0,
                RegionLocationMaxX1=spec.us_columns - 1, RegionLocationMaxY1=spec.us_rows - 1,
                PhysicalUnitsXDirection=3, PhysicalUnitsYDirection=3,
                PhysicalDeltaX=0.03, PhysicalDeltaY=0.03,
            )
        ],
    )
    for keyword, value in fields.items():
        setattr(ds, keyword, value)
    return ds


# -- encoders -----------------------------------------------------------------------------------


def _rle_plugin() -> str:
    """pylibjpeg-rle when installed (fast), else pydicom's pure-Python RLE encoder."""
    from pydicom.pixels import get_encoder
    from pydicom.uid import RLELossless

    return "pylibjpeg" if "pylibjpeg" in get_encoder(RLELossless).available_plugins else "pydicom"


def jpegll_frame(frame: np.ndarray, bits_stored: int, predictor: int = 1) -> bytes:
    """One frame as JPEG Lossless with ``predictor`` (1: SV1), by libjpeg-turbo via imagecodecs.

    Signed samples are encoded as their ``bits_stored``-bit two's complement, as DICOM expects.
    """
    import imagecodecs

    if frame.dtype.kind == "i":
        frame = frame.view(frame.dtype.str.replace("i", "u")) & ((1 << bits_stored) - 1)
    return bytes(imagecodecs.jpeg8_encode(frame, lossless=True, predictor=predictor, bitspersample=bits_stored))


def _pixel_bytes(ds) -> int:
    """The size of the decoded Pixel Data of ``ds``, in bytes."""
    return ds.Rows * ds.Columns * ds.SamplesPerPixel * ds.BitsAllocated // 8 * int(ds.get("NumberOfFrames", 1))


def _encode(ds, pixels: np.ndarray, encoding: str, big_endian: bool = False):
    """A copy of ``ds`` holding ``pixels`` in ``encoding`` (native may be big endian)."""
    import copy

    from pydicom.encaps import encapsulate
    from pydicom.uid import ExplicitVRBigEndian, JPEGLosslessSV1, RLELossless

    out = copy.deepcopy(ds)
    pixels = np.ascontiguousarray(pixels)
    out.PixelData = (pixels.astype(pixels.dtype.newbyteorder(">")) if big_endian else pixels).tobytes()
    out["PixelData"].VR = "OB" if ds.BitsAllocated == 8 else "OW"
    if big_endian:
        out.file_meta.TransferSyntaxUID = ExplicitVRBigEndian
    elif encoding == "rle":
        out.compress(RLELossless, encoding_plugin=_rle_plugin(), generate_instance_uid=False)
    elif encoding == "jpegll":
        frames = pixels if "NumberOfFrames" in ds else pixels[None]
        out.PixelData = encapsulate([jpegll_frame(f, ds.BitsStored) for f in frames], has_bot=True)
        out["PixelData"].VR = "OB"
        out["PixelData"].is_undefined_length = True
        out.file_meta.TransferSyntaxUID = JPEGLosslessSV1
    return out


def _missing_encoders() -> Dict[str, str]:
    """The encodings this environment cannot make, with why."""
    missing = {}
    try:
        import imagecodecs  # noqa: F401
    except ImportError as exc:
        missing["jpegll"] = f"absent: JPEG Lossless files need imagecodecs ({exc})"
    return missing


def _write_corpus(spec: CorpusSpec, root: Path) -> None:
    import pydicom
    from pydicom.encaps import generate_frames

    missing = _missing_encoders()
    encoders = {
        "native": f"pydicom {pydicom.__version__}",
        "rle": f"pydicom {pydicom.__version__} ({_rle_plugin()} plugin)",
        "jpegll": missing.get("jpegll") or _imagecodecs_name(),
    }
    rng = np.random.default_rng(spec.seed)
    truth = {
        "ct": np.stack([ct_slice(rng, i / max(1, spec.ct_slices - 1), spec.ct_size) for i in range(spec.ct_slices)]),
        "ct-mf": np.stack([ct_slice(rng, i / max(1, spec.mf_frames - 1), spec.mf_size) for i in range(spec.mf_frames)]),
        "us-mf": us_frames(rng, spec.us_frames, spec.us_rows, spec.us_columns),
    }
    truth["be-mf"] = truth["ct-mf"]
    (root / "truth").mkdir()
    for name, pixels in truth.items():
        np.save(root / "truth" / f"{name}.npy", pixels)

    headers = {
        "ct": [ct_header(spec, i, 0.0 - 2.5 * i) for i in range(spec.ct_slices)],
        "ct-mf": [_multiframe_header(spec, "ct-mf")],
        "us-mf": [us_header(spec, spec.us_frames)],
        "be-mf": [_multiframe_header(spec, "be-mf")],
    }
    datasets = {}
    (root / "frames").mkdir()
    for name, encodings in DATASETS.items():
        files: Dict[str, List[str]] = {}
        ratios: Dict[str, float] = {}
        frame_lengths: Dict[str, List[int]] = {}
        for encoding in encodings:
            if encoding in missing:
                continue
            folder = root / name / encoding
            folder.mkdir(parents=True)
            written, encoded, decoded = [], 0, 0
            for i, header in enumerate(headers[name]):
                pixels = truth[name][i] if name == "ct" else truth[name]
                ds = _encode(header, pixels, encoding, big_endian=name == "be-mf")
                path = folder / f"{i:04d}.dcm"
                ds.save_as(path, enforce_file_format=True, implicit_vr=False, little_endian=name != "be-mf")
                written.append(path.relative_to(root).as_posix())
                decoded += _pixel_bytes(ds)
                encoded += len(ds.PixelData)
                if encoding != "native" and "NumberOfFrames" in ds:
                    frames = list(generate_frames(ds.PixelData, number_of_frames=ds.NumberOfFrames))
                    (root / "frames" / f"{name}-{encoding}.bin").write_bytes(b"".join(frames))
                    frame_lengths[encoding] = [len(f) for f in frames]
            files[encoding] = written
            ratios[encoding] = round(decoded / encoded, 3)
        datasets[name] = {"files": files, "ratios": ratios, "frame_lengths": frame_lengths,
                          "shape": list(truth[name].shape), "dtype": truth[name].dtype.str}
    _write_tree(spec, root, [root / p for p in datasets["ct"]["files"]["native"]])
    manifest = {"version": CORPUS_VERSION, "spec": dataclasses.asdict(spec), "encoders": encoders, "datasets": datasets}
    (root / "manifest.json").write_text(json.dumps(manifest, indent=1))


def _write_tree(spec: CorpusSpec, root: Path, series: List[Path]) -> None:
    """``spec.tree_files`` files for the bulk-scan workload: ``tree/series-NNNN/NNNN.dcm``, the CT
    series over and over. They are hard links where the file system has them (so that 10,000
    files cost no disk), copies elsewhere; every path is opened and read on its own either way."""
    for i in range(spec.tree_files):
        folder = root / "tree" / f"series-{i // len(series):04d}"
        if i % len(series) == 0:
            folder.mkdir(parents=True)
        source, target = series[i % len(series)], folder / f"{i % len(series):04d}.dcm"
        try:
            os.link(source, target)
        except OSError:
            shutil.copyfile(source, target)


def _imagecodecs_name() -> str:
    import imagecodecs

    turbo = next((v for v in imagecodecs.version().split(", ") if v.startswith("libjpeg_turbo")), "libjpeg-turbo")
    return f"imagecodecs {imagecodecs.__version__} jpeg8_encode ({turbo})"
