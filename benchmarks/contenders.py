"""The contenders: how each library does each kind of work, in its fastest documented idiom.

A :class:`Contender` turns the :class:`Inputs` of a workload into a zero-argument callable (the
timed work) and knows how to turn what that callable returns into plain values that can be
compared across libraries (``extract``, not timed). Libraries are imported only when a contender
of theirs is made, so a missing peer costs nothing but its own rows.

Every pydicom contender names its decoding plugin: with python-gdcm installed, pydicom would
otherwise try GDCM first, and GDCM 3.2.6 aborts the process on some JPEG Lossless files.
"""

from __future__ import annotations

import collections.abc
import datetime
import functools
import glob
import importlib
import multiprocessing.util
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

import numpy as np

#: Roles: the dicodec figure each ratio is taken against, other dicodec settings, peers, and
#: the physical references (numpy doing only the memory traffic the decoded output needs).
DICODEC, VARIANT, PEER, REFERENCE = "dicodec", "dicodec variant", "peer", "reference"

#: Distribution name -> import name, for every library a contender may need.
LIBRARIES: Dict[str, str] = {
    "dicodec": "dicodec",
    "numpy": "numpy",
    "pydicom": "pydicom",
    "pylibjpeg": "pylibjpeg",
    "pylibjpeg-libjpeg": "libjpeg",
    "pylibjpeg-rle": "rle",
    "python-gdcm": "gdcm",
    "dicomsdl": "dicomsdl",
    "imagecodecs": "imagecodecs",
    "SimpleITK": "SimpleITK",
    "pyarrow": "pyarrow",
}

PIXEL_DATA = 0x7FE00010


class Unavailable(Exception):
    """This contender cannot do this workload here; the message says why."""


@dataclass
class Inputs:
    """What a workload hands its contenders (only the fields it needs are set)."""

    #: Files, as strings (every library takes those).
    paths: List[str] = field(default_factory=list)
    #: A folder to walk instead of ``paths``, for bulk scans of a tree.
    root: str = ""
    #: Frame indices to decode, for per-frame work.
    frames: Tuple[int, ...] = ()
    #: Encoded frames (one fragment each), for codec-only work; or whole files' bytes.
    encoded: List[bytes] = field(default_factory=list)
    #: (rows, columns, samples per pixel, bits allocated) of the encoded frames.
    geometry: Tuple[int, int, int, int] = (0, 0, 0, 0)
    #: Keyword -> tag of the elements to read, for tag access and bulk scans (in order).
    keywords: Dict[str, int] = field(default_factory=dict)
    #: Shape and dtype of a caller-owned output volume, for ingest.
    volume: Optional[Tuple[Tuple[int, ...], str]] = None
    #: The decoded samples in memory, for the physical references (memcpy, byteswap); a
    #: function so that only they pay for loading it.
    source: Optional[Callable[[], np.ndarray]] = None


#: The timed work: a call with no arguments.
Call = Callable[[], Any]
#: What a contender does with a workload's inputs: make its call.
Maker = Callable[[Inputs], Call]


def _identity(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class Contender:
    """One library (with one setting) on one workload."""

    label: str
    requires: Tuple[str, ...]
    make: Maker
    extract: Callable[[Any], Any] = _identity
    role: str = PEER


def missing_library(contender: Contender) -> Optional[str]:
    """Why ``contender`` cannot run here (the first required library that fails to import)."""
    for dist in contender.requires:
        try:
            importlib.import_module(LIBRARIES[dist])
        except Exception as exc:  # an installed but broken peer is as absent as a missing one
            return f"{dist} not installed ({type(exc).__name__}: {exc})"
    return None


def dicodec_api(dotted: str) -> Any:
    """``dicodec.<dotted>``, or :class:`Unavailable` when this build does not have it yet."""
    obj: Any = importlib.import_module("dicodec")
    parts = dotted.split(".")
    for i, part in enumerate(parts):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            try:
                obj = importlib.import_module("dicodec." + ".".join(parts[: i + 1]))
            except ImportError:
                raise Unavailable(f"dicodec.{dotted} not available in this build") from None
    return obj


def canonical(value: Any) -> Any:
    """A value in a form every library's answer can be compared in.

    Strings lose DICOM padding; backslash-separated and sequence values become tuples;
    numbers, and strings that read as numbers (IS, DS, DA, TM), become floats; typed dates and
    times are first written as DICOM writes them.
    """
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        value = value.strftime("%Y%m%d%H%M%S.%f")
    elif isinstance(value, datetime.date):
        value = value.strftime("%Y%m%d")
    elif isinstance(value, datetime.time):
        value = value.strftime("%H%M%S.%f")
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value).decode("latin-1")
    if isinstance(value, str):
        value = value.strip("\0 ")
        if "\\" in value:
            return tuple(canonical(v) for v in value.split("\\"))
        try:
            return float(value)
        except ValueError:
            return value
    if isinstance(value, (collections.abc.Sequence, np.ndarray)):  # lists, pydicom's MultiValue
        items = tuple(canonical(v) for v in value)
        return items[0] if len(items) == 1 else items
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    return canonical(str(value))


#: Bytes per page of memory: a lazy view is read one byte a page to bring it into memory.
PAGE = 4096


def resident(output: Any) -> Any:
    """``output`` (an array or a list of arrays), after reading one byte of each of its pages.

    A decoder may hand back a view of a memory-mapped file whose pages nobody has read yet;
    reading a byte a page makes it pay, inside the timed call, for the data being in memory,
    as every other contender does by writing it. For arrays already in memory it costs a few
    cache misses. Bytes objects are in memory by construction."""
    for item in output if isinstance(output, list) else [output]:
        if isinstance(item, np.ndarray) and item.size:
            int(np.ascontiguousarray(item).reshape(-1).view(np.uint8)[::PAGE].max())
    return output


def walk(root: str) -> List[str]:
    """The files under ``root``, depth first with entries sorted by name: ``dicodec.scan``'s order."""
    files: List[str] = []
    for entry in sorted(os.scandir(root), key=lambda e: e.name):
        if entry.is_dir():
            files.extend(walk(entry.path))
        elif entry.is_file():
            files.append(entry.path)
    return files


def _files(inputs: Inputs) -> List[str]:
    """The files of a bulk scan: the tree walked (inside the timed call), or the paths given."""
    return walk(inputs.root) if inputs.root else inputs.paths


def _header_tags(tags: Iterable[int]) -> List[int]:
    """The data set's tags as a header scan should see them: no file meta, no pixel data."""
    return [int(t) for t in tags if 0x0002FFFF < int(t) < PIXEL_DATA]


# -- dicodec -----------------------------------------------------------------------------------


def dicodec_header() -> Contender:
    """``dicodec.dcmread(path, stop_before_pixels=True)`` of every file."""

    def make(inputs: Inputs) -> Call:
        dcmread = dicodec_api("dcmread")
        return lambda: [dcmread(p, stop_before_pixels=True) for p in inputs.paths]

    return Contender("dicodec", ("dicodec",), make, lambda out: [_header_tags(ds.keys()) for ds in out], DICODEC)


def dicodec_tag(specific_tags: bool = False) -> Contender:
    """``dcmread(path).<keyword>``; with ``specific_tags`` the read stops after that element."""

    def make(inputs: Inputs) -> Call:
        dcmread = dicodec_api("dcmread")
        path, keyword = inputs.paths[0], next(iter(inputs.keywords))
        if specific_tags:
            return lambda: getattr(dcmread(path, specific_tags=[keyword]), keyword)
        return lambda: getattr(dcmread(path), keyword)

    label = "dicodec (specific_tags)" if specific_tags else "dicodec"
    return Contender(label, ("dicodec",), make, canonical, VARIANT if specific_tags else DICODEC)


def dicodec_pixels(threads: Optional[int] = None, role: str = DICODEC) -> Contender:
    """Whole files (each file's frames) through ``dicodec.pixel_array``."""

    def make(inputs: Inputs) -> Call:
        pixel_array = dicodec_api("pixel_array")
        return lambda: [pixel_array(p, threads=threads) for p in inputs.paths]

    return Contender(_threads_label(threads), ("dicodec",), make, role=role)


def dicodec_bytes(threads: Optional[int] = None, role: str = DICODEC) -> Contender:
    """``dicodec.pixel_array(data)`` of files already in memory as ``bytes`` (``Inputs.encoded``)."""

    def make(inputs: Inputs) -> Call:
        pixel_array = dicodec_api("pixel_array")
        return lambda: [pixel_array(data, threads=threads) for data in inputs.encoded]

    return Contender(_threads_label(threads), ("dicodec",), make, role=role)


def dicodec_frames() -> Contender:
    """``dicodec.pixel_array(path, index=i)`` for each frame index."""

    def make(inputs: Inputs) -> Call:
        pixel_array = dicodec_api("pixel_array")
        path = inputs.paths[0]
        return lambda: [pixel_array(path, index=i) for i in inputs.frames]

    return Contender("dicodec", ("dicodec",), make, role=DICODEC)


def dicodec_ingest(threads: Optional[int] = None, role: str = DICODEC) -> Contender:
    """``dicodec.decode_files(paths, out=volume)``, on all cores or ``threads``."""

    def make(inputs: Inputs) -> Call:
        decode_files = dicodec_api("decode_files")
        out = _volume(inputs)

        def run() -> np.ndarray:
            decode_files(inputs.paths, out=out, threads=threads)
            return out  # the caller's buffer is what must hold the pixels

        return run

    return Contender(_threads_label(threads), ("dicodec",), make, role=role)


def _output_folders() -> Callable[[], str]:
    """A maker of empty folders, one per call of an ingest to disk: each call removes the last
    call's folder first (a resumable ingest would skip a series already there), and the last
    one goes when the process ends. The memory probes run in multiprocessing children, which
    leave without running ``atexit`` handlers but do run multiprocessing's finalizers."""
    made: List[str] = []
    multiprocessing.util.Finalize(None, lambda: [shutil.rmtree(path, ignore_errors=True) for path in made], exitpriority=0)

    def fresh() -> str:
        while made:
            shutil.rmtree(made.pop(), ignore_errors=True)
        made.append(tempfile.mkdtemp(prefix="dicodec-bench-"))
        return made[-1]

    return fresh


def saved_volume(folder: str) -> np.ndarray:
    """The one ``.npy`` volume written under ``folder`` (what an ingest to disk is checked on)."""
    found = glob.glob(os.path.join(folder, "**", "*.npy"), recursive=True)
    if len(found) != 1:
        raise ValueError(f"{len(found)} .npy files written, one expected")
    return np.load(found[0])


def dicodec_ingest_to_disk(threads: Optional[int] = None, role: str = DICODEC) -> Contender:
    """``dicodec.ingest([folder], out=...)``: the Parquet index, the series' volume as ``.npy``
    and its JSON, end to end."""

    def make(inputs: Inputs) -> Call:
        ingest = dicodec_api("ingest.ingest")
        fresh = _output_folders()

        def run() -> str:
            out = fresh()
            ingest([inputs.root], out=out, threads=threads, progress=False)
            return out

        return run

    return Contender(_threads_label(threads), ("dicodec", "pyarrow"), make, saved_volume, role)


def frame_outputs(inputs: Inputs, planar: bool = False) -> List[np.ndarray]:
    """One caller-owned output per encoded frame, made and touched before timing and reused by
    every call: codec workloads time decoding into memory that exists, as memcpy's reference
    copies into an existing array, rather than the page faults of fresh memory. ``planar``:
    colour as planes, channels first."""
    rows, columns, samples, bits = inputs.geometry
    if samples == 1:
        shape: tuple = (len(inputs.encoded), rows, columns)
    elif planar:
        shape = (len(inputs.encoded), samples, rows, columns)
    else:
        shape = (len(inputs.encoded), rows, columns, samples)
    outputs = np.empty(shape, dtype=f"<u{bits // 8}")
    outputs.fill(0)
    return list(outputs)


def dicodec_codec(kind: str, planar: bool = False) -> Contender:
    """``dicodec.codecs.decode_rle`` / ``decode_jpeg_lossless`` on bare encoded frames, into
    caller-owned outputs (``out=``); with ``planar``, RLE colour as planes (``planar=True``),
    the layout imagecodecs returns."""

    def make(inputs: Inputs) -> Call:
        outputs = frame_outputs(inputs, planar)
        if kind == "rle":
            decode_rle = dicodec_api("codecs.decode_rle")
            rows, columns, samples, bits = inputs.geometry
            return lambda: [decode_rle(f, rows, columns, samples, bits, planar=planar, out=o)
                            for f, o in zip(inputs.encoded, outputs)]
        decode = dicodec_api("codecs.decode_jpeg_lossless")
        return lambda: [decode(f, out=o) for f, o in zip(inputs.encoded, outputs)]

    if planar:
        return Contender("dicodec (planes)", ("dicodec",), make, role=VARIANT)
    return Contender("dicodec", ("dicodec",), make, role=DICODEC)


def dicodec_scan(threads: Optional[int] = None, role: str = DICODEC) -> Contender:
    """``dicodec.scan(paths or folder, tags=keywords)``: a pyarrow Table."""

    def make(inputs: Inputs) -> Call:
        scan = dicodec_api("scan")
        return lambda: scan(inputs.root or inputs.paths, tags=list(inputs.keywords), threads=threads)

    def extract(table: Any) -> Dict[str, list]:
        return {name: [canonical(v) for v in table.column(name).to_pylist()] for name in table.column_names}

    return Contender(_threads_label(threads), ("dicodec", "pyarrow"), make, extract, role)


def _threads_label(threads: Optional[int]) -> str:
    return "dicodec" if threads is None else f"dicodec (threads={threads})"


# -- pydicom -----------------------------------------------------------------------------------

#: The pydicom decoding plugins to compare for each encoding, with the peers each one needs.
PYDICOM_PLUGINS: Dict[str, List[Tuple[str, Tuple[str, ...]]]] = {
    "native": [("", ())],
    "rle": [("pydicom", ()), ("pylibjpeg", ("pylibjpeg", "pylibjpeg-rle"))],
    "jpegll": [("pylibjpeg", ("pylibjpeg", "pylibjpeg-libjpeg")), ("gdcm", ("python-gdcm",))],
}
_PLUGIN_NAMES = {
    "": "pydicom", "pydicom": "pydicom (numpy RLE)", "pylibjpeg": "pydicom + pylibjpeg", "gdcm": "pydicom + gdcm",
}


def pydicom_header() -> Contender:
    """``pydicom.dcmread(path, stop_before_pixels=True)`` of every file."""

    def make(inputs: Inputs) -> Call:
        from pydicom import dcmread

        return lambda: [dcmread(p, stop_before_pixels=True) for p in inputs.paths]

    return Contender("pydicom", ("pydicom",), make, lambda out: [_header_tags(ds.keys()) for ds in out])


def pydicom_tag() -> Contender:
    """``pydicom.dcmread(path, stop_before_pixels=True).<keyword>``."""

    def make(inputs: Inputs) -> Call:
        from pydicom import dcmread

        path, keyword = inputs.paths[0], next(iter(inputs.keywords))
        return lambda: getattr(dcmread(path, stop_before_pixels=True), keyword)

    return Contender("pydicom", ("pydicom",), make, canonical)


def pydicom_scan() -> Contender:
    """``pydicom.dcmread(path, stop_before_pixels=True, specific_tags=keywords)`` into columns."""

    def make(inputs: Inputs) -> Call:
        import pydicom  # noqa: F401  (the import is not part of the timed call)

        keywords = list(inputs.keywords)
        return lambda: _pydicom_columns(_files(inputs), keywords)

    return Contender("pydicom", ("pydicom",), make, _canonical_columns)


def _pydicom_columns(paths: List[str], keywords: List[str]) -> Dict[str, list]:
    """``keywords`` of every file in ``paths`` as pydicom reads them (a pool worker's task too)."""
    from pydicom import dcmread

    columns: Dict[str, list] = {k: [] for k in keywords}
    for p in paths:
        ds = dcmread(p, stop_before_pixels=True, specific_tags=keywords)
        for k in keywords:
            columns[k].append(ds.get(k))
    return columns


#: Files per task of the pydicom process pool: large enough that dispatch is a small cost.
POOL_CHUNK = 200
#: The pool's workers: one a core, as the bulk-scan target compares per core.
POOL_WORKERS = os.cpu_count() or 1
POOL_LABEL = f"pydicom ({POOL_WORKERS} processes)"


def pydicom_scan_pool() -> Contender:
    """``_pydicom_columns`` over a ``ProcessPoolExecutor`` with a worker per core, the usual way
    to spread pydicom over a machine; the pool is started inside the call, as a script would."""

    def make(inputs: Inputs) -> Call:
        from concurrent.futures import ProcessPoolExecutor

        keywords = list(inputs.keywords)

        def run() -> Dict[str, list]:
            paths = _files(inputs)
            chunks = [paths[i : i + POOL_CHUNK] for i in range(0, len(paths), POOL_CHUNK)]
            with ProcessPoolExecutor(POOL_WORKERS) as pool:
                parts = list(pool.map(_pydicom_columns, chunks, [keywords] * len(chunks)))
            return {k: [v for part in parts for v in part[k]] for k in keywords}

        return run

    return Contender(POOL_LABEL, ("pydicom",), make, _canonical_columns)


def _pydicom_plugins(encoding: str, build: Callable[[Callable[..., Any], Inputs], Call]) -> List[Contender]:
    """One contender per pydicom decoding plugin for ``encoding``; ``build(decode, inputs)``
    makes the call from ``decode(path, index=None)``, ``pixel_array`` with the plugin named."""

    def contender(plugin: str, peers: Tuple[str, ...]) -> Contender:
        def make(inputs: Inputs) -> Call:
            from pydicom.pixels import pixel_array

            return build(functools.partial(pixel_array, decoding_plugin=plugin), inputs)

        return Contender(_PLUGIN_NAMES[plugin], ("pydicom", *peers), make)

    return [contender(plugin, peers) for plugin, peers in PYDICOM_PLUGINS[encoding]]


def pydicom_pixels(encoding: str) -> List[Contender]:
    """Whole files, one call of ``pixel_array`` each."""
    return _pydicom_plugins(encoding, lambda decode, inputs: lambda: [decode(p) for p in inputs.paths])


def pydicom_frames(encoding: str) -> List[Contender]:
    """Single frames by index, ``pixel_array(path, index=i)``."""
    def build(decode: Callable[..., Any], inputs: Inputs) -> Call:
        return lambda: [decode(inputs.paths[0], index=i) for i in inputs.frames]

    return _pydicom_plugins(encoding, build)


def pydicom_ingest(encoding: str) -> List[Contender]:
    """A loop of ``pixel_array`` filling a caller-owned volume."""
    return _pydicom_plugins(encoding, _fill_volume)


def pydicom_ingest_to_disk(encoding: str) -> List[Contender]:
    """What a script does with pydicom: read every file of the folder, group by series, sort each
    along its slice normal, stack the ``pixel_array`` of each file and ``numpy.save`` it."""

    def contender(plugin: str, peers: Tuple[str, ...]) -> Contender:
        def make(inputs: Inputs) -> Call:
            import pydicom

            fresh = _output_folders()

            def run() -> str:
                out = fresh()
                series: Dict[str, list] = collections.defaultdict(list)
                for path in walk(inputs.root):
                    ds = pydicom.dcmread(path)
                    series[str(ds.SeriesInstanceUID)].append(ds)
                for uid, datasets in series.items():
                    orientation = np.array(datasets[0].ImageOrientationPatient, dtype=float)
                    normal = np.cross(orientation[:3], orientation[3:])
                    datasets.sort(key=lambda ds: float(normal @ np.array(ds.ImagePositionPatient, dtype=float)))
                    if plugin:
                        for ds in datasets:
                            ds.pixel_array_options(decoding_plugin=plugin)
                    np.save(os.path.join(out, f"{uid}.npy"), np.stack([ds.pixel_array for ds in datasets]))
                return out

            return run

        return Contender(_PLUGIN_NAMES[plugin], ("pydicom", *peers), make, saved_volume)

    return [contender(plugin, peers) for plugin, peers in PYDICOM_PLUGINS[encoding]]


def _volume(inputs: Inputs) -> np.ndarray:
    """The caller-owned output of an ingest workload, zeroed: a contender that writes nothing
    into it is then caught by the check."""
    if inputs.volume is None:
        raise ValueError("this workload has no output volume")
    shape, dtype = inputs.volume
    return np.zeros(shape, dtype)


def _fill_volume(decode: Callable[[str], np.ndarray], inputs: Inputs) -> Call:
    """A call that decodes each file into its slot of one volume, as a Python loop does."""
    out = _volume(inputs)

    def run() -> np.ndarray:
        for i, path in enumerate(inputs.paths):
            out[i] = decode(path)
        return out

    return run


def _canonical_columns(columns: Dict[str, list]) -> Dict[str, list]:
    return {k: [canonical(v) for v in values] for k, values in columns.items()}


# -- python-gdcm -------------------------------------------------------------------------------


def _gdcm_tag(tag: int) -> Any:
    import gdcm

    return gdcm.Tag(tag >> 16, tag & 0xFFFF)


def _gdcm_pixels(path: str) -> np.ndarray:
    """A file's frames through ``gdcm.ImageReader`` (the whole Pixel Data at once)."""
    import gdcm

    reader = gdcm.ImageReader()
    reader.SetFileName(path)
    if not reader.Read():
        raise RuntimeError(f"gdcm.ImageReader could not read {path}")
    image = reader.GetImage()
    pixel_format = image.GetPixelFormat()
    dtype = _GDCM_DTYPES[pixel_format.GetScalarTypeAsString()]
    dims = [image.GetDimension(i) for i in range(image.GetNumberOfDimensions())][::-1]
    samples = pixel_format.GetSamplesPerPixel()
    # SWIG hands the buffer over as a str; this is how pydicom's own GDCM plugin gets the bytes.
    data = np.frombuffer(image.GetBuffer().encode("utf-8", "surrogateescape"), dtype)
    return data.reshape(dims + ([samples] if samples > 1 else []))


_GDCM_DTYPES = {"UINT8": "u1", "INT8": "i1", "UINT16": "<u2", "INT16": "<i2", "UINT32": "<u4", "INT32": "<i4"}


def gdcm_header() -> Contender:
    """``gdcm.Reader.ReadUpToTag(PixelData)`` of every file."""

    def make(inputs: Inputs) -> Call:
        import gdcm

        stop = gdcm.Tag(PIXEL_DATA >> 16, PIXEL_DATA & 0xFFFF)

        def read(path: str) -> Any:
            reader = gdcm.Reader()
            reader.SetFileName(path)
            if not reader.ReadUpToTag(stop):
                raise RuntimeError(f"gdcm.Reader could not read {path}")
            return reader

        return lambda: [read(p) for p in inputs.paths]

    def tags(reader: Any) -> List[int]:
        # Walk with FindNextDataElement: iterating GetDES() through SWIG's iterator can kill
        # the interpreter ("PyThreadState_Get: ... the GIL is released") in python-gdcm 3.2.6.
        import gdcm

        dataset = reader.GetFile().GetDataSet()
        found: List[int] = []
        after = 0x00030000
        while True:
            tag = dataset.FindNextDataElement(gdcm.Tag(after >> 16, after & 0xFFFF)).GetTag()
            value = tag.GetGroup() << 16 | tag.GetElement()
            if value == 0xFFFFFFFF:  # GDCM's end marker
                return _header_tags(found)
            found.append(value)
            after = value + 1

    def extract(readers: List[Any]) -> List[List[int]]:
        return [tags(r) for r in readers]

    return Contender("python-gdcm", ("python-gdcm",), make, extract)


def gdcm_tag() -> Contender:
    """``gdcm.Reader.ReadUpToTag(tag)``, then ``gdcm.StringFilter.ToString(tag)``."""

    def make(inputs: Inputs) -> Call:
        import gdcm

        path, tag = inputs.paths[0], _gdcm_tag(next(iter(inputs.keywords.values())))

        def run() -> str:
            reader = gdcm.Reader()
            reader.SetFileName(path)
            reader.ReadUpToTag(tag)
            strings = gdcm.StringFilter()
            strings.SetFile(reader.GetFile())
            return strings.ToString(tag)

        return run

    return Contender("python-gdcm", ("python-gdcm",), make, canonical)


def gdcm_scan() -> Contender:
    """``gdcm.Scanner``, GDCM's own bulk tag scan."""

    def make(inputs: Inputs) -> Call:
        import gdcm

        tags = [(k, _gdcm_tag(t)) for k, t in inputs.keywords.items()]

        def run() -> Dict[str, list]:
            paths = _files(inputs)
            scanner = gdcm.Scanner()
            for _, tag in tags:
                scanner.AddTag(tag)
            if not scanner.Scan(paths):
                raise RuntimeError("gdcm.Scanner failed")
            return {k: [scanner.GetValue(p, tag) for p in paths] for k, tag in tags}

        return run

    return Contender("python-gdcm (Scanner)", ("python-gdcm",), make, _canonical_columns)


def gdcm_pixels() -> Contender:
    """``gdcm.ImageReader`` of every file."""

    def make(inputs: Inputs) -> Call:
        return lambda: [_gdcm_pixels(p) for p in inputs.paths]

    return Contender("python-gdcm", ("python-gdcm",), make)


def gdcm_ingest() -> Contender:
    """A loop of ``gdcm.ImageReader`` filling a caller-owned volume."""
    return Contender("python-gdcm", ("python-gdcm",), functools.partial(_fill_volume, _gdcm_pixels))


# -- dicomsdl ----------------------------------------------------------------------------------


def dicomsdl_header() -> Contender:
    """``dicomsdl.open(path, load_until=<just before Pixel Data>)`` of every file."""

    def make(inputs: Inputs) -> Call:
        import dicomsdl

        # load_until is inclusive: stop just before Pixel Data, as stop_before_pixels does.
        return lambda: [dicomsdl.open(p, load_until=PIXEL_DATA - 1) for p in inputs.paths]

    return Contender("dicomsdl", ("dicomsdl",), make, lambda out: [_header_tags(e.tag() for e in ds) for ds in out])


def dicomsdl_tag(load_until: bool = False) -> Contender:
    """``dicomsdl.open(path).<keyword>``; with ``load_until`` the read stops at that tag."""

    def make(inputs: Inputs) -> Call:
        import dicomsdl

        path, (keyword, tag) = inputs.paths[0], next(iter(inputs.keywords.items()))
        if load_until:
            return lambda: getattr(dicomsdl.open(path, load_until=tag), keyword)
        return lambda: getattr(dicomsdl.open(path), keyword)

    return Contender("dicomsdl (load_until)" if load_until else "dicomsdl", ("dicomsdl",), make, canonical)


def dicomsdl_scan() -> Contender:
    """``dicomsdl.open(path, load_until=<last tag>)`` of every file, into columns."""

    def make(inputs: Inputs) -> Call:
        import dicomsdl

        last = max(inputs.keywords.values())  # load_until (inclusive) stops after the last one read

        def run() -> Dict[str, list]:
            columns: Dict[str, list] = {k: [] for k in inputs.keywords}
            for p in _files(inputs):
                ds = dicomsdl.open(p, load_until=last)
                for k in inputs.keywords:
                    columns[k].append(getattr(ds, k))
            return columns

        return run

    return Contender("dicomsdl", ("dicomsdl",), make, _canonical_columns)


def _dicomsdl_file(path: str) -> np.ndarray:
    """All frames of a file: ``pixelData`` for one frame, ``copyFrameData`` into one array for many."""
    import dicomsdl

    ds = dicomsdl.open(path)
    info = ds.getPixelDataInfo()
    frames = info["NumberOfFrames"]
    if frames == 1:
        return ds.pixelData(storedvalue=True)
    shape = [frames, info["Rows"], info["Cols"]] + ([info["SamplesPerPixel"]] if info["SamplesPerPixel"] > 1 else [])
    out = np.empty(shape, info["dtype"])
    for i in range(frames):
        ds.copyFrameData(i, out[i])
    return out


def dicomsdl_pixels() -> Contender:
    """Every file's frames through dicomsdl."""

    def make(inputs: Inputs) -> Call:
        return lambda: [_dicomsdl_file(p) for p in inputs.paths]

    return Contender("dicomsdl", ("dicomsdl",), make)


def dicomsdl_frames() -> Contender:
    """``dicomsdl.open(path).pixelData(i, storedvalue=True)`` for each frame index."""

    def make(inputs: Inputs) -> Call:
        import dicomsdl

        path = inputs.paths[0]
        return lambda: [dicomsdl.open(path).pixelData(i, storedvalue=True) for i in inputs.frames]

    return Contender("dicomsdl", ("dicomsdl",), make)


def dicomsdl_ingest() -> Contender:
    """A loop of ``dicomsdl.open(path).copyFrameData(0, volume[i])``."""

    def make(inputs: Inputs) -> Call:
        import dicomsdl

        out = _volume(inputs)

        def run() -> np.ndarray:
            for i, p in enumerate(inputs.paths):
                dicomsdl.open(p).copyFrameData(0, out[i])
            return out

        return run

    return Contender("dicomsdl", ("dicomsdl",), make)


# -- SimpleITK ---------------------------------------------------------------------------------


def _sitk_key(tag: int) -> str:
    return f"{tag >> 16:04x}|{tag & 0xFFFF:04x}"


def sitk_tag() -> Contender:
    """``SimpleITK.ImageFileReader.ReadImageInformation`` and ``GetMetaData``."""

    def make(inputs: Inputs) -> Call:
        import SimpleITK as sitk

        path, key = inputs.paths[0], _sitk_key(next(iter(inputs.keywords.values())))

        def run() -> str:
            reader = sitk.ImageFileReader()
            reader.SetFileName(path)
            reader.ReadImageInformation()
            return reader.GetMetaData(key)

        return run

    return Contender("SimpleITK", ("SimpleITK",), make, canonical)


def sitk_scan() -> Contender:
    """``SimpleITK.ImageFileReader.ReadImageInformation`` of every file, into columns."""

    def make(inputs: Inputs) -> Call:
        import SimpleITK as sitk

        keys = [(k, _sitk_key(t)) for k, t in inputs.keywords.items()]

        def run() -> Dict[str, list]:
            columns: Dict[str, list] = {k: [] for k in inputs.keywords}
            reader = sitk.ImageFileReader()
            for p in _files(inputs):
                reader.SetFileName(p)
                reader.ReadImageInformation()
                for k, key in keys:
                    columns[k].append(reader.GetMetaData(key) if reader.HasMetaDataKey(key) else None)
            return columns

        return run

    return Contender("SimpleITK", ("SimpleITK",), make, _canonical_columns)


def sitk_pixels() -> Contender:
    """``SimpleITK.GetArrayFromImage(SimpleITK.ReadImage(path))`` of every file."""

    def make(inputs: Inputs) -> Call:
        import SimpleITK as sitk

        return lambda: [sitk.GetArrayFromImage(sitk.ReadImage(p)) for p in inputs.paths]

    return Contender("SimpleITK", ("SimpleITK",), make)


def sitk_ingest() -> Contender:
    """``SimpleITK.ImageSeriesReader`` over the series."""

    def make(inputs: Inputs) -> Call:
        import SimpleITK as sitk

        def run() -> np.ndarray:
            reader = sitk.ImageSeriesReader()
            reader.SetFileNames(inputs.paths)
            return sitk.GetArrayFromImage(reader.Execute())

        return run

    return Contender("SimpleITK (ImageSeriesReader)", ("SimpleITK",), make)


def no_frame_api(label: str, dist: str) -> Contender:
    """A row saying that ``label`` has no way to decode one frame of a file."""

    def make(inputs: Inputs) -> Call:
        raise Unavailable(f"{label} has no frame-level decode in Python; see the whole-file workloads")

    return Contender(label, (dist,), make)


# -- imagecodecs (codec only) ------------------------------------------------------------------


def imagecodecs_codec(function: str) -> Contender:
    """``imagecodecs.<function>`` on bare encoded frames (no DICOM parsing), into caller-owned
    outputs (``out=``) as dicodec's codecs are."""

    def make(inputs: Inputs) -> Call:
        import imagecodecs

        decode = getattr(imagecodecs, function)
        outputs = frame_outputs(inputs)
        if function == "dicomrle_decode":
            rows, columns, samples, bits = inputs.geometry
            dtype = "u1" if bits == 8 else f"<i{bits // 8}"
            buffers = [o.reshape(-1).view(np.uint8) for o in outputs]
            if samples == 1:
                return lambda: [decode(f, dtype, out=b) for f, b in zip(inputs.encoded, buffers)]
            # Colour comes back as planes, which the check compares as the pixels they hold.
            planes = (samples, rows, columns)
            return lambda: [decode(f, dtype, out=b).reshape(planes) for f, b in zip(inputs.encoded, buffers)]
        return lambda: [decode(f, out=o) for f, o in zip(inputs.encoded, outputs)]

    return Contender(f"imagecodecs.{function}", ("imagecodecs",), make)


# -- pylibjpeg-libjpeg (codec only) ------------------------------------------------------------


def libjpeg_codec() -> Contender:
    """``libjpeg.decode`` (pylibjpeg-libjpeg, what pydicom's pylibjpeg plugin calls) on bare
    JPEG codestreams. It has no ``out=``: its arrays are its own, allocated in the timed call."""

    def make(inputs: Inputs) -> Call:
        from libjpeg import decode

        return lambda: [decode(f) for f in inputs.encoded]

    return Contender("pylibjpeg-libjpeg", ("pylibjpeg-libjpeg",), make)


# -- numpy references --------------------------------------------------------------------------


def _source(inputs: Inputs) -> np.ndarray:
    if inputs.source is None:
        raise ValueError("this workload has no in-memory source for a physical reference")
    return inputs.source()


def memcpy() -> Contender:
    """``np.copyto`` of an array the size of the decoded output: the memory-bandwidth ceiling."""

    def make(inputs: Inputs) -> Call:
        src = _source(inputs)
        dst = np.zeros_like(src)

        def run() -> np.ndarray:
            np.copyto(dst, src)
            return dst

        return run

    return Contender("numpy memcpy", ("numpy",), make, role=REFERENCE)


def byteswap() -> Contender:
    """``arr.byteswap()`` of the big-endian samples: the floor for any big-endian decode."""

    def make(inputs: Inputs) -> Call:
        swapped = _source(inputs).byteswap()  # the big-endian bytes, read as native integers
        return swapped.byteswap

    return Contender("numpy byteswap", ("numpy",), make, role=REFERENCE)
