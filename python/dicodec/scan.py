"""Bulk header scanning into an Apache Arrow table: one row per file.

Files are read (not mapped) and parsed up to their pixel data on Rust threads with the GIL
released; the columns come back as NumPy buffers that become Arrow arrays without a Python
object per value.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Iterable, List, Optional, Sequence, Union

import numpy as np

from . import _native, errors
from .tag import TagLike, as_tag

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["scan", "list_files"]

PathsOrDirs = Union[str, "os.PathLike[str]", Iterable[Union[str, "os.PathLike[str]"]]]


def _column(pa, kind: str, arrays: Sequence[np.ndarray]) -> "pa.Array":
    valid = arrays[-1]
    n = len(valid)
    nulls = n - int(np.count_nonzero(valid))
    bitmap = pa.py_buffer(np.packbits(valid, bitorder="little")) if nulls else None
    if kind == "text":
        offsets, data = arrays[0], arrays[1]
        if len(data) < 2**31:
            # Arrow's plain string type has 32-bit offsets: narrowing them here is far cheaper
            # than a cast of the whole column.
            return pa.Array.from_buffers(pa.string(), n, [bitmap, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(data)], nulls)
        return pa.Array.from_buffers(pa.large_string(), n, [bitmap, pa.py_buffer(offsets), pa.py_buffer(data)], nulls)
    if kind == "int":
        return pa.Array.from_buffers(pa.int64(), n, [bitmap, pa.py_buffer(arrays[0])], nulls)
    if kind == "float":
        return pa.Array.from_buffers(pa.float64(), n, [bitmap, pa.py_buffer(arrays[0])], nulls)
    if kind == "date":
        return pa.Array.from_buffers(pa.date32(), n, [bitmap, pa.py_buffer(arrays[0])], nulls)
    if kind == "float_list":
        offsets, values = arrays[0], arrays[1]
        child = pa.Array.from_buffers(pa.float64(), len(values), [None, pa.py_buffer(values)])
        return pa.Array.from_buffers(pa.list_(pa.float64()), n, [bitmap, pa.py_buffer(offsets)], nulls, children=[child])
    raise ValueError(f"unknown column kind {kind!r}")


def _roots(paths_or_dirs: PathsOrDirs) -> List[str]:
    if isinstance(paths_or_dirs, (str, os.PathLike)):
        return [os.fspath(paths_or_dirs)]
    return [os.fspath(p) for p in paths_or_dirs]


def list_files(paths_or_dirs: PathsOrDirs, *, recursive: bool = True) -> List[str]:
    """The files :func:`scan` reads for ``paths_or_dirs``, in its order: files as given,
    directories walked depth first with entries sorted by name."""
    return _native.list_files(_roots(paths_or_dirs), recursive=recursive)


def scan(
    paths_or_dirs: PathsOrDirs,
    tags: Optional[Iterable[TagLike]] = None,
    *,
    recursive: bool = True,
    threads: Optional[int] = None,
    on_error: str = "record",
    force: bool = False,
) -> "pa.Table":
    """Read the header of every file under ``paths_or_dirs`` into a :class:`pyarrow.Table`.

    One row per file: ``path``, ``file_size``, ``error`` (null, or ``"ErrorClass: message"``),
    ``transfer_syntax``, the UIDs, Modality, image geometry, position/orientation/spacing,
    rescale and window values, dates (``date32``, with the text in ``<name>_raw``) and times,
    plus a column for each of ``tags`` (keywords or tags), typed by its VR. ``on_error``:
    ``"record"`` keeps a row for every file, ``"skip"`` drops failed files, ``"raise"`` raises
    the first failure as a :class:`dicodec.DicomError`. ``force`` also reads data sets that have
    no preamble and file meta, as :func:`dicodec.dcmread` does.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if on_error not in ("record", "skip", "raise"):
        raise ValueError(f"on_error must be 'record', 'skip' or 'raise', not {on_error!r}")
    extra = [int(as_tag(t)) for t in tags or ()]
    columns = _native.scan(_roots(paths_or_dirs), extra, recursive=recursive, force=force, threads=threads)
    names = [name for name, *_ in columns]
    arrays = [_column(pa, kind, buffers) for _name, kind, *buffers in columns]
    table = pa.Table.from_arrays(arrays, names=names)
    kinds = table["error_kind"]
    table = table.set_column(
        names.index("error"), "error", pc.binary_join_element_wise(kinds, table["error"], ": ")
    ).drop_columns(["error_kind"])
    if on_error == "record":
        return table
    failed = pc.is_valid(kinds)
    if on_error == "skip":
        return table.filter(pc.invert(failed))
    first = pc.index(failed, True).as_py()
    if first >= 0:
        kind = kinds[first].as_py()
        cls = getattr(errors, kind, errors.DicomError) if kind != "OSError" else OSError
        message = table["error"][first].as_py().split(": ", 1)[1]
        path = table["path"][first].as_py()
        raise cls(message) if cls is OSError else cls(message, path)
    return table
