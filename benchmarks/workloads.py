"""The workloads: one capability on one part of the corpus, with its contenders and its check.

Each :class:`Workload` knows how to get its :class:`~contenders.Inputs` from a corpus, how much
work one call is (bytes of decoded output, files, items), what the right answer is, and how to
tell a wrong one. Pixel workloads are checked against the pixels the corpus was encoded from;
header workloads against dicodec's answer, or pydicom's where dicodec cannot run.
"""

from __future__ import annotations

import fnmatch
import functools
import os
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

import contenders as c
from corpus import CT_BITS_STORED, Corpus, jpegll_frame

#: The element read by the tag-access workload (keyword -> tag).
TAG_KEYWORD = {"SOPInstanceUID": 0x00080018}
#: The elements read by the bulk-scan workload: strings, numbers, multi-values, a person name.
SCAN_KEYWORDS = {
    "SOPInstanceUID": 0x00080018, "StudyDate": 0x00080020, "PatientName": 0x00100010, "KVP": 0x00180060,
    "ConvolutionKernel": 0x00181210, "InstanceNumber": 0x00200013, "ImagePositionPatient": 0x00200032,
    "SliceLocation": 0x00201041, "Rows": 0x00280010,
}
#: How many frames a per-frame workload decodes per call (spread over the file).
FRAMES_PER_CALL = 8

Check = Callable[[Any, Any], Optional[str]]


@dataclass(frozen=True)
class Work:
    """How much one call of a workload does."""

    bytes: int = 0
    files: int = 0
    #: Files, frames or calls: what times are given per (see :attr:`Workload.item`).
    items: int = 1


@dataclass(frozen=True)
class Workload:
    """One capability measured on one input, with the contenders that can do it."""

    name: str
    capability: str
    title: str
    #: "MB/s" (decoded output), "files/s" or "calls/s": what the chart and ratios use.
    unit: str
    #: What one of :attr:`Work.items` is: "file", "frame" or "call".
    item: str
    setup: Callable[[Corpus], c.Inputs]
    work: Callable[[Corpus, c.Inputs], Work]
    contenders: Tuple[c.Contender, ...]
    check: Check
    #: The right answer from the corpus, or None to take the reference contender's answer.
    expected: Optional[Callable[[Corpus, c.Inputs], Any]] = None
    #: The corpus entries this workload needs: (data set, encoding).
    needs: Tuple[Tuple[str, str], ...] = ()
    #: Whether the output is pixels that must be in memory when the call returns (see
    #: :func:`contenders.resident`).
    resident: bool = True

    def call(self, contender: c.Contender, inputs: c.Inputs) -> Callable[[], Any]:
        """The timed call of ``contender`` (:class:`contenders.Unavailable` if it has none)."""
        call = contender.make(inputs)
        if not self.resident:
            return call
        return lambda: c.resident(call())

    def contender(self, label: str) -> c.Contender:
        """The contender called ``label``."""
        for contender in self.contenders:
            if contender.label == label:
                return contender
        raise KeyError(f"{self.name} has no contender {label!r}")


# -- checks -------------------------------------------------------------------------------------


def same_pixels(expected: np.ndarray, output: Any) -> Optional[str]:
    """None when ``output`` (an array or a list of per-file/per-frame arrays) has the expected
    values in the expected order; otherwise what differs. Shapes only need the same size (a
    single slice as (1, rows, columns) is a convention, not an error); dtypes need not match."""
    if isinstance(output, list):
        if len(output) != len(expected):
            return f"{len(output)} arrays for {len(expected)} expected"
        problems = [same_pixels(e, np.asarray(o)) for e, o in zip(expected, output)]
        return next((f"item {i}: {p}" for i, p in enumerate(problems) if p), None)
    output = np.asarray(output)
    if output.size != expected.size:
        return f"shape {output.shape} for expected {expected.shape}"
    output = output.reshape(expected.shape)
    if np.array_equal(output, expected):
        return None
    wrong = np.argwhere(output != expected)
    first = tuple(int(i) for i in wrong[0])
    return f"{len(wrong)} samples differ, first at {first}: {output[first]} for {expected[first]}"


def same_bytes(expected: np.ndarray, output: List[Any]) -> Optional[str]:
    """None when each decoded frame has exactly the expected bytes (RLE decodes bytes). A
    colour frame returned as planes, (samples, rows, columns), is compared as the pixels it
    holds."""
    if len(output) != len(expected):
        return f"{len(output)} frames for {len(expected)} expected"
    for i, (e, o) in enumerate(zip(expected, output)):
        if isinstance(o, np.ndarray) and e.ndim == 3 and o.shape == (e.shape[2], *e.shape[:2]):
            o = np.moveaxis(o, 0, -1)
        got = np.asarray(o).tobytes() if not isinstance(o, (bytes, bytearray)) else bytes(o)
        if got != e.tobytes():
            return f"frame {i}: {len(got)} bytes differ from the expected {e.nbytes}"
    return None


def same_value(expected: Any, output: Any) -> Optional[str]:
    """None when the (canonical) values are equal."""
    return None if expected == output else f"{_short(output)} for {_short(expected)}"


def same_columns(expected: Dict[str, list], output: Dict[str, list]) -> Optional[str]:
    """None when every scanned keyword's column is in ``output`` with the expected values."""
    for name in SCAN_KEYWORDS:
        got, want = output.get(name), expected.get(name)
        if want is None:
            return f"the reference has no column {name}"
        if got is None:
            return f"no column {name}"
        if len(got) != len(want):
            return f"column {name}: {len(got)} rows for {len(want)}"
        row = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), None)
        if row is not None:
            return f"column {name}, row {row}: {_short(got[row])} for {_short(want[row])}"
    return None


def same_headers(expected: List[List[int]], output: List[List[int]]) -> Optional[str]:
    """None when every file lists the same tags in the same order."""
    for i, (e, o) in enumerate(zip(expected, output)):
        if e != o:
            extra = [f"{t:08X}" for t in sorted(set(o) - set(e))[:3]]
            missing = [f"{t:08X}" for t in sorted(set(e) - set(o))[:3]]
            return f"file {i}: {len(o)} elements for {len(e)}; extra {extra}, missing {missing}"
    return None if len(expected) == len(output) else f"{len(output)} files for {len(expected)}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 60 else text[:57] + "..."


# -- inputs -------------------------------------------------------------------------------------


def _spread(count: int, total: int) -> Tuple[int, ...]:
    """``count`` frame indices spread over ``total`` frames, out of order as random access is."""
    picks = np.linspace(0, total - 1, min(count, total)).round().astype(int)
    return tuple(int(i) for i in np.concatenate([picks[::2], picks[1::2][::-1]]))


def _jpeg_samples(truth: np.ndarray, bits_stored: int) -> np.ndarray:
    """What a JPEG decoder returns for these DICOM samples: the unsigned ``bits_stored``-bit code."""
    if truth.dtype.kind != "i":
        return truth
    return truth.view(truth.dtype.str.replace("i", "u")) & ((1 << bits_stored) - 1)


# -- the workloads ------------------------------------------------------------------------------


def _header_workloads() -> List[Workload]:
    def paths(corpus: Corpus) -> c.Inputs:
        return c.Inputs(paths=[str(p) for p in corpus.paths("ct")], keywords=SCAN_KEYWORDS)

    def one_file(corpus: Corpus) -> c.Inputs:
        return c.Inputs(paths=[str(corpus.path("ct"))], keywords=TAG_KEYWORD)

    def tree(corpus: Corpus) -> c.Inputs:
        return c.Inputs(root=str(corpus.tree()), keywords=SCAN_KEYWORDS)

    def files(corpus: Corpus, inputs: c.Inputs) -> Work:
        return Work(files=len(inputs.paths), items=len(inputs.paths))

    return [
        Workload(
            "header-scan", "header scan", "CT series: dcmread(stop_before_pixels=True) of each file", "files/s", "file",
            paths, files,
            (c.dicodec_header(), c.pydicom_header(), c.dicomsdl_header(), c.gdcm_header()),
            same_headers, needs=(("ct", "native"),), resident=False,
        ),
        Workload(
            "tag-access", "tag access", f"one CT file: dcmread + ds.{next(iter(TAG_KEYWORD))}", "calls/s", "call",
            one_file, lambda corpus, inputs: Work(files=1, items=1),
            (c.dicodec_tag(), c.dicodec_tag(specific_tags=True), c.pydicom_tag(), c.dicomsdl_tag(),
             c.dicomsdl_tag(load_until=True), c.gdcm_tag(), c.sitk_tag()),
            same_value, needs=(("ct", "native"),), resident=False,
        ),
        Workload(
            "scan", "bulk scan", f"CT series: {len(SCAN_KEYWORDS)} tags of every file into columns", "files/s", "file",
            paths, files,
            (c.dicodec_scan(), c.pydicom_scan(), c.dicomsdl_scan(), c.gdcm_scan(), c.sitk_scan()),
            same_columns, needs=(("ct", "native"),), resident=False,
        ),
        Workload(
            "scan-tree", "bulk scan", f"a tree of CT series: {len(SCAN_KEYWORDS)} tags of every file into columns",
            "files/s", "file", tree, lambda corpus, inputs: Work(files=corpus.tree_files, items=corpus.tree_files),
            (c.dicodec_scan(), c.dicodec_scan(threads=1, role=c.VARIANT), c.pydicom_scan_pool(), c.dicomsdl_scan(),
             c.gdcm_scan()),
            same_columns, needs=(("ct", "native"),), resident=False,
        ),
    ]


def _file_workload(dataset: str, encoding: str, title: str) -> Workload:
    """Whole files (all their frames) to arrays."""
    multiframe = dataset != "ct"

    def setup(corpus: Corpus) -> c.Inputs:
        paths = [str(p) for p in corpus.paths(dataset, encoding)]
        return c.Inputs(paths=paths, source=lambda: np.array(corpus.truth(dataset)))

    def work(corpus: Corpus, inputs: c.Inputs) -> Work:
        return Work(bytes=corpus.truth(dataset).nbytes, files=len(inputs.paths), items=len(inputs.paths))

    def expected(corpus: Corpus, inputs: c.Inputs) -> Any:
        truth = corpus.truth(dataset)
        return truth[None] if multiframe else truth

    dicodec: Tuple[c.Contender, ...] = (c.dicodec_pixels(),)
    if multiframe:
        dicodec += (c.dicodec_pixels(threads=1, role=c.VARIANT),)
    references = (c.memcpy(), c.byteswap()) if dataset == "be-mf" else (c.memcpy(),)
    return Workload(
        f"file/{dataset}-{encoding}" if dataset != "be-mf" else "file/be-mf", "decode per file", title, "MB/s", "file",
        setup, work,
        (*dicodec, *c.pydicom_pixels(encoding), c.gdcm_pixels(), c.dicomsdl_pixels(), c.sitk_pixels(), *references),
        same_pixels, expected, needs=((dataset, encoding),),
    )


def _frame_workload(dataset: str, encoding: str, title: str) -> Workload:
    """Single frames of a multi-frame file, by index, each call opening the file."""

    def setup(corpus: Corpus) -> c.Inputs:
        frames = _spread(FRAMES_PER_CALL, len(corpus.truth(dataset)))
        return c.Inputs(paths=[str(corpus.path(dataset, encoding))], frames=frames,
                        source=lambda: np.array(corpus.truth(dataset)[list(frames)]))

    def work(corpus: Corpus, inputs: c.Inputs) -> Work:
        return Work(bytes=corpus.truth(dataset)[0].nbytes * len(inputs.frames), items=len(inputs.frames))

    def expected(corpus: Corpus, inputs: c.Inputs) -> Any:
        return corpus.truth(dataset)[list(inputs.frames)]

    references = (c.memcpy(), c.byteswap()) if dataset == "be-mf" else (c.memcpy(),)
    name = f"frame/{dataset}-{encoding}" if dataset != "be-mf" else "frame/be-mf"
    return Workload(
        name, "decode per frame", title, "MB/s", "frame",
        setup, work,
        (c.dicodec_frames(), *c.pydicom_frames(encoding), c.dicomsdl_frames(),
         c.no_frame_api("python-gdcm", "python-gdcm"), c.no_frame_api("SimpleITK", "SimpleITK"), *references),
        same_pixels, expected, needs=((dataset, encoding),),
    )


@functools.lru_cache(maxsize=None)
def _ct_rle_frames(corpus: Corpus) -> Tuple[bytes, ...]:
    """The RLE fragment of each CT series slice (one frame per file), read once a process."""
    import pydicom
    from pydicom.encaps import generate_frames

    return tuple(next(generate_frames(pydicom.dcmread(path).PixelData, number_of_frames=1))
                 for path in corpus.paths("ct", "rle"))


#: The RLE codec workloads' names and titles, by the data set their frames come from.
_RLE_CODEC_NAMES = {
    "ct-mf": ("codec/rle", "RLE frames of the CT multi-frame"),
    "ct": ("codec/rle-ct", "RLE frames of the CT series (512x512 slices)"),
    "us-mf": ("codec/rle-rgb", "RLE frames of the RGB ultrasound (8-bit, 3 samples; imagecodecs returns planes)"),
}


def _rle_codec_workload(dataset: str) -> Workload:
    """Bare RLE frames through the codec alone (no DICOM parsing): they decode to the bytes of
    the samples, pixel by pixel. imagecodecs returns colour planes, which the check compares as
    the pixels they hold, so its figure leaves out the interleaving that dicodec's includes."""

    def setup(corpus: Corpus) -> c.Inputs:
        truth = corpus.truth(dataset)
        rows, columns = truth.shape[1:3]
        samples, bits = (3, 8) if truth.ndim == 4 else (1, 16)
        encoded = list(_ct_rle_frames(corpus)) if dataset == "ct" else corpus.frames(dataset, "rle")
        return c.Inputs(encoded=encoded, geometry=(rows, columns, samples, bits), source=lambda: np.array(truth))

    def work(corpus: Corpus, inputs: c.Inputs) -> Work:
        return Work(bytes=corpus.truth(dataset).nbytes, items=len(inputs.encoded))

    name, title = _RLE_CODEC_NAMES[dataset]
    # Colour decoded to planes too: the same work imagecodecs does, without the interleave.
    planes = (c.dicodec_codec("rle", planar=True),) if dataset == "us-mf" else ()
    return Workload(
        name, "codec only", title, "MB/s", "frame", setup, work,
        (c.dicodec_codec("rle"), *planes, c.imagecodecs_codec("dicomrle_decode"), c.memcpy()),
        same_bytes, lambda corpus, inputs: corpus.truth(dataset), needs=((dataset, "rle"),),
    )


def _big_endian_workload() -> Workload:
    """The big-endian multi-frame file already in memory, to a native array: the same bytes
    numpy's ``byteswap`` reference starts from, so the ratio is the conversion's alone (the
    ``file/be-mf`` row adds reading the file). dicodec and byteswap allocate their outputs;
    memcpy, the bandwidth reference, copies into an array made before timing. The 1.5× target
    is dicodec on one thread, as numpy's swap is."""

    def setup(corpus: Corpus) -> c.Inputs:
        data = corpus.path("be-mf").read_bytes()
        return c.Inputs(encoded=[data], source=lambda: np.array(corpus.truth("be-mf")))

    def work(corpus: Corpus, inputs: c.Inputs) -> Work:
        return Work(bytes=corpus.truth("be-mf").nbytes, files=1, items=1)

    return Workload(
        "codec/be", "codec only", "CT multi-frame, Explicit VR Big Endian, from the file's bytes in memory", "MB/s",
        "file", setup, work,
        (c.dicodec_bytes(threads=1), c.dicodec_bytes(role=c.VARIANT), c.byteswap(), c.memcpy()),
        same_pixels, lambda corpus, inputs: corpus.truth("be-mf")[None], needs=(("be-mf", "native"),),
    )


@functools.lru_cache(maxsize=None)
def _ct_codestreams(corpus: Corpus, predictor: int) -> Tuple[bytes, ...]:
    """The CT series' slices as JPEG Lossless codestreams with ``predictor``, made once a process."""
    return tuple(jpegll_frame(np.asarray(frame), CT_BITS_STORED, predictor) for frame in corpus.truth("ct"))


#: The JPEG Lossless codec workloads' names and titles, by the data set their frames come from.
_JPEG_CODEC_NAMES = {
    "ct-mf": ("codec/jpegll", f"JPEG Lossless SV1 frames of the CT multi-frame ({CT_BITS_STORED}-bit codes)"),
    "us-mf": ("codec/jpegll-rgb", "JPEG Lossless SV1 frames of the RGB ultrasound (8-bit, 3 components)"),
    "ct": ("codec/jpegll-ct-p{}", f"JPEG Lossless, predictor {{}}, of the CT series' slices ({CT_BITS_STORED}-bit codes)"),
}


def _jpeg_codec_workload(dataset: str, predictor: int = 1) -> Workload:
    """Bare JPEG Lossless codestreams through the codec alone: the frames of a multi-frame as
    stored (SV1), or the CT series' slices encoded by libjpeg-turbo with ``predictor`` when the
    workload is set up. A JPEG decoder knows nothing of DICOM's sign and returns the unsigned
    ``BitsStored``-bit codes."""
    stored = dataset != "ct"

    def decoded(corpus: Corpus) -> np.ndarray:
        truth = corpus.truth(dataset)
        return truth if dataset == "us-mf" else _jpeg_samples(truth, CT_BITS_STORED)

    def setup(corpus: Corpus) -> c.Inputs:
        encoded = corpus.frames(dataset, "jpegll") if stored else list(_ct_codestreams(corpus, predictor))
        samples = decoded(corpus)
        rows, columns = samples.shape[1:3]
        geometry = (rows, columns, samples.shape[3] if samples.ndim == 4 else 1, samples.dtype.itemsize * 8)
        return c.Inputs(encoded=encoded, geometry=geometry, source=lambda: np.array(decoded(corpus)))

    def work(corpus: Corpus, inputs: c.Inputs) -> Work:
        return Work(bytes=decoded(corpus).nbytes, items=len(inputs.encoded))

    name, title = (text.format(predictor) for text in _JPEG_CODEC_NAMES[dataset])
    return Workload(
        name, "codec only", title, "MB/s", "frame", setup, work,
        (c.dicodec_codec("jpegll"), c.imagecodecs_codec("ljpeg_decode"), c.imagecodecs_codec("jpeg8_decode"),
         c.libjpeg_codec(), c.memcpy()),
        same_pixels, lambda corpus, inputs: decoded(corpus), needs=((dataset, "jpegll" if stored else "native"),),
    )


def _ingest_workload(encoding: str) -> Workload:
    """A CT series into one caller-owned volume, as a training loader does."""

    def setup(corpus: Corpus) -> c.Inputs:
        truth = corpus.truth("ct")
        return c.Inputs(paths=[str(p) for p in corpus.paths("ct", encoding)],
                        volume=(truth.shape, truth.dtype.str), source=lambda: np.array(truth))

    def work(corpus: Corpus, inputs: c.Inputs) -> Work:
        return Work(bytes=corpus.truth("ct").nbytes, files=len(inputs.paths), items=len(inputs.paths))

    title = f"CT series ({encoding}) into one (slices, rows, columns) volume"
    return Workload(
        f"ingest/ct-{encoding}", "ingest", title, "MB/s", "file",
        setup, work,
        (c.dicodec_ingest(), c.dicodec_ingest(threads=1, role=c.VARIANT), *c.pydicom_ingest(encoding),
         c.gdcm_ingest(), c.dicomsdl_ingest(), c.sitk_ingest(), c.memcpy()),
        same_pixels, lambda corpus, inputs: corpus.truth("ct"), needs=(("ct", encoding),),
    )


def _ingest_to_disk_workload(encoding: str) -> Workload:
    """The CT series' folder to files on disk, as the ``dicodec ingest`` command does it."""

    def setup(corpus: Corpus) -> c.Inputs:
        paths = [str(p) for p in corpus.paths("ct", encoding)]
        return c.Inputs(paths=paths, root=os.path.dirname(paths[0]))

    def work(corpus: Corpus, inputs: c.Inputs) -> Work:
        return Work(bytes=corpus.truth("ct").nbytes, files=len(inputs.paths), items=len(inputs.paths))

    title = f"CT series folder ({encoding}) to a volume in a .npy file, end to end"
    return Workload(
        f"ingest/ct-{encoding}-to-disk", "ingest", title, "MB/s", "file", setup, work,
        (c.dicodec_ingest_to_disk(), c.dicodec_ingest_to_disk(threads=1, role=c.VARIANT), *c.pydicom_ingest_to_disk(encoding)),
        # The corpus writes the slices with z falling; a series volume has them along the normal.
        same_pixels, lambda corpus, inputs: corpus.truth("ct")[::-1], needs=(("ct", encoding),), resident=False,
    )


_NAMES = {"native": "Explicit VR Little Endian", "rle": "RLE Lossless", "jpegll": "JPEG Lossless SV1"}


def all_workloads() -> List[Workload]:
    """Every workload, in report order."""
    found = _header_workloads()
    for encoding in ("native", "rle", "jpegll"):
        found.append(_file_workload("ct", encoding, f"CT series, {_NAMES[encoding]}, file by file"))
    by_index = f"{FRAMES_PER_CALL} frames by index"
    for encoding in ("native", "rle", "jpegll"):
        found.append(_frame_workload("ct-mf", encoding, f"CT multi-frame, {_NAMES[encoding]}: {by_index}"))
    found.append(_frame_workload("be-mf", "native", f"CT multi-frame, Explicit VR Big Endian: {by_index}"))
    for dataset, what in (("ct-mf", "CT multi-frame"), ("us-mf", "RGB ultrasound multi-frame")):
        for encoding in ("native", "rle", "jpegll"):
            found.append(_file_workload(dataset, encoding, f"{what}, {_NAMES[encoding]}, all frames"))
    found.append(_file_workload("be-mf", "native", "CT multi-frame, Explicit VR Big Endian, all frames"))
    found += [_rle_codec_workload("ct-mf"), _rle_codec_workload("ct"), _rle_codec_workload("us-mf"), _big_endian_workload()]
    found.append(_jpeg_codec_workload("ct-mf"))
    found += [_jpeg_codec_workload("ct", predictor) for predictor in range(1, 8)] + [_jpeg_codec_workload("us-mf")]
    found += [_ingest_workload("native"), _ingest_workload("jpegll")]
    found += [_ingest_to_disk_workload("native"), _ingest_to_disk_workload("jpegll")]
    return found


def select(patterns: Sequence[str] = ()) -> List[Workload]:
    """The workloads whose names match any of the shell-style ``patterns`` (all when none)."""
    chosen = [w for w in all_workloads() if not patterns or any(fnmatch.fnmatch(w.name, p) for p in patterns)]
    if patterns and not chosen:
        raise ValueError(f"no workload matches {' '.join(patterns)}; see --list")
    return chosen


def by_name(name: str) -> Workload:
    """The workload called ``name``."""
    for workload in all_workloads():
        if workload.name == name:
            return workload
    raise KeyError(name)

