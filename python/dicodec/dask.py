"""Scanning and frame reading as Dask collections: the same code on a laptop or a cluster.

:func:`scan` is :func:`dicodec.scan` split into partitions of files, as a
``dask.dataframe.DataFrame`` (write it with ``.to_parquet(folder)``, one file per partition);
:func:`read_frames` is a lazy ``dask.array.Array`` of the frames of many files, one chunk per
file or per frame. Paths are listed where the graph is built and read where the tasks run, so
on a cluster every worker must see the files under the same paths. Needs ``dask[dataframe]``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

try:
    import dask
    import dask.array as da
    import dask.dataframe as dd
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("dicodec.dask needs Dask: pip install 'dask[dataframe]'") from exc

from . import _native
from .scan import list_files
from .pixels import decode_files
from .scan import scan as _scan

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

__all__ = ["scan", "read_frames"]

PathLike = Union[str, "os.PathLike[str]"]


def _to_pandas(table: "pa.Table") -> "pd.DataFrame":
    """Arrow-backed pandas columns, so lists, dates and nulls keep their Arrow types."""
    import pandas as pd

    return table.to_pandas(types_mapper=pd.ArrowDtype)


def _scan_partition(files: List[str], tags: Optional[List[Any]], on_error: str, force: bool) -> "pd.DataFrame":
    return _to_pandas(_scan(files, tags, on_error=on_error, force=force))


def scan(
    paths: Union[PathLike, Iterable[PathLike]],
    tags: Optional[Sequence[Any]] = None,
    files_per_partition: int = 1000,
    *,
    recursive: bool = True,
    on_error: str = "record",
    force: bool = False,
) -> "dd.DataFrame":
    """:func:`dicodec.scan` as a Dask DataFrame of ``files_per_partition`` files a partition.

    Directories are listed now, in the order :func:`dicodec.scan` uses; the headers are read
    when the DataFrame is computed. Columns are pandas ``ArrowDtype`` columns with the types of
    the Arrow table. ``on_error="raise"`` raises when the partition holding the bad file runs.
    """
    if files_per_partition < 1:
        raise ValueError("files_per_partition must be at least 1")
    sources = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    files = list_files(sources, recursive=recursive)
    parts = [files[i : i + files_per_partition] for i in range(0, len(files), files_per_partition)] or [[]]
    tag_list = list(tags) if tags is not None else None
    meta = _to_pandas(_scan([], tag_list))
    return dd.from_map(
        _scan_partition, parts, tags=tag_list, on_error=on_error, force=force, meta=meta, label="dicodec-scan", enforce_metadata=False
    )


def _index_rows(index: Any) -> List[Tuple[str, int]]:
    """(path, frames) of the image files of a scan table, DataFrame (pandas or Dask) or paths."""
    import pyarrow as pa

    if isinstance(index, dd.DataFrame):
        index = index[["path", "error", "Rows", "NumberOfFrames"]].compute()
    if hasattr(index, "columns") and hasattr(index, "to_dict"):  # pandas
        index = pa.Table.from_pandas(index[["path", "error", "Rows", "NumberOfFrames"]], preserve_index=False)
    if not isinstance(index, pa.Table):
        index = _scan([index] if isinstance(index, (str, os.PathLike)) else list(index), on_error="raise")
    rows = index.select(["path", "error", "Rows", "NumberOfFrames"]).to_pylist()
    return [(row["path"], row["NumberOfFrames"] or 1) for row in rows if row["error"] is None and row["Rows"] is not None]


def _read_file(path: str, as_rgb: bool) -> np.ndarray:
    return decode_files([path], as_rgb=as_rgb)


def _read_frame(path: str, frame: int, as_rgb: bool) -> np.ndarray:
    return decode_files([path], frames=[frame], as_rgb=as_rgb)


def read_frames(index: Any, *, chunks: str = "file", as_rgb: bool = True) -> "da.Array":
    """The frames of the image files of ``index`` as one lazy ``(frames, rows, columns[, samples])`` array.

    ``index`` is a table from :func:`dicodec.scan`, a pandas or Dask DataFrame of one (a Dask
    one is computed now, its path and frame columns only, to lay out the chunks), or a list of
    files (scanned now); rows that failed or hold no image are left out and the order is kept. ``chunks="file"`` makes one chunk of each file's frames, ``chunks="frame"`` one
    chunk per frame. All files must share rows, columns, samples and dtype: the first file's
    are taken now, and a file that differs fails when its chunk is computed.
    """
    if chunks not in ("file", "frame"):
        raise ValueError(f"chunks must be 'file' or 'frame', not {chunks!r}")
    rows = _index_rows(index)
    if not rows:
        raise ValueError("the index holds no image files")
    info = _native.FileBatch([rows[0][0]]).info()
    frame_shape: Tuple[int, ...] = (info["rows"], info["columns"]) + ((info["samples_per_pixel"],) if info["samples_per_pixel"] > 1 else ())
    dtype = np.dtype(info["dtype"])
    pieces = []
    for path, frames in rows:
        if chunks == "file":
            task = dask.delayed(_read_file, pure=True)(path, as_rgb)
            pieces.append(da.from_delayed(task, (frames, *frame_shape), dtype=dtype))
        else:
            for frame in range(frames):
                task = dask.delayed(_read_frame, pure=True)(path, frame, as_rgb)
                pieces.append(da.from_delayed(task, (1, *frame_shape), dtype=dtype))
    return da.concatenate(pieces, axis=0)
