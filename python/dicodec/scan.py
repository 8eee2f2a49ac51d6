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


def _column(pa, kind: str, rows: int, nulls: int, validity: Optional[np.ndarray], arrays: Sequence[np.ndarray]) -> "pa.Array":
    """One column's Arrow array over the buffers the native scan made (nothing is copied)."""
    bitmap = None if validity is None else pa.py_buffer(validity)
    if kind == "text":
        offsets, data = arrays
        string = pa.string() if offsets.dtype == np.int32 else pa.large_string()
        return pa.Array.from_buffers(string, rows, [bitmap, pa.py_buffer(offsets), pa.py_buffer(data)], nulls)
    plain = {"int": pa.int64, "float": pa.float64, "date": pa.date32}.get(kind)
    if plain is not None:
        return pa.Array.from_buffers(plain(), rows, [bitmap, pa.py_buffer(arrays[0])], nulls)
    if kind == "float_list":
        offsets, values = arrays
        child = pa.Array.from_buffers(pa.float64(), len(values), [None, pa.py_buffer(values)])
        return pa.Array.from_buffers(pa.list_(pa.float64()), rows, [bitmap, pa.py_buffer(offsets)], nulls, children=[child])
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
    arrays = [_column(pa, kind, rows, nulls, validity, buffers) for _name, kind, rows, nulls, validity, *buffers in columns]
    # The error kind goes in front of its message, and no column of its own.
    kinds = arrays.pop(names.index("error_kind"))
    names.remove("error_kind")
    if kinds.null_count < len(kinds):
        at = names.index("error")
        arrays[at] = pc.binary_join_element_wise(kinds, arrays[at], ": ")
    table = pa.Table.from_arrays(arrays, names=names)
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
