"""Frames of many DICOM files as a map-style dataset for machine learning.

:class:`FrameDataset` needs no ML framework: items are NumPy arrays and the dataset pickles, so
it can be handed to a PyTorch ``DataLoader`` with worker processes as it is. Whole batches are
decoded by :meth:`FrameDataset.read_batch` into one array on Rust threads.
"""

from __future__ import annotations

import os
from collections import Counter
from typing import TYPE_CHECKING, Any, Callable, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from .pixels import decode_files
from .scan import scan

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["FrameDataset"]

Index = Union[str, "os.PathLike[str]", Iterable[Union[str, "os.PathLike[str]"]], "pa.Table", Any]
Indices = Union[Sequence[int], np.ndarray]

_GEOMETRY = ("Rows", "Columns", "SamplesPerPixel", "BitsAllocated", "PixelRepresentation")


def _index_table(index: Index) -> "pa.Table":
    """A scan table from a table, a pandas DataFrame, a Parquet index, a directory or files."""
    import pyarrow as pa

    if isinstance(index, pa.Table):
        return index
    if hasattr(index, "columns") and hasattr(index, "to_dict"):  # a pandas DataFrame
        return pa.Table.from_pandas(index, preserve_index=False)
    if isinstance(index, (str, os.PathLike)) and os.fspath(index).endswith(".parquet") and os.path.isfile(index):
        import pyarrow.parquet as pq

        return pq.read_table(os.fspath(index))
    return scan(index)


class FrameDataset:
    """Every frame (``frames="all"``) or the first frame (``frames="first"``) of many files.

    ``index_or_paths`` is a table from :func:`dicodec.scan`, the same as a pandas DataFrame or a
    Parquet file (``index.parquet`` written by ``dicodec ingest``), a directory, or a list of
    files. Files that failed to read or hold no image are left out and listed in
    :attr:`skipped` as ``(path, reason)``. ``dataset[i]`` is frame ``i`` as a new, writeable
    array of shape ``(rows, columns[, samples])``, passed through ``transform`` when given.

    ``threads`` caps the decoding threads. By default decoding uses every core in the process
    that made the dataset and one thread in any other process (``DataLoader`` workers, where
    the workers are the parallelism).
    """

    def __init__(
        self,
        index_or_paths: Index,
        *,
        frames: str = "all",
        transform: Optional[Callable[[np.ndarray], Any]] = None,
        threads: Optional[int] = None,
    ) -> None:
        if frames not in ("all", "first"):
            raise ValueError(f"frames must be 'all' or 'first', not {frames!r}")
        table = _index_table(index_or_paths)
        rows = table.select(["path", "error", "NumberOfFrames", *_GEOMETRY]).to_pylist()
        self.skipped: List[Tuple[str, str]] = [
            (row["path"], row["error"] or "no pixel data") for row in rows if row["error"] is not None or row["Rows"] is None
        ]
        images = [row for row in rows if row["error"] is None and row["Rows"] is not None]
        self.paths: List[str] = [row["path"] for row in images]
        sizes = [tuple(row[name] or (1 if name == "SamplesPerPixel" else 0) for name in _GEOMETRY) for row in images]
        self._sizes: List[Tuple[int, ...]] = sorted(set(sizes))
        size_of_file = np.array([self._sizes.index(size) for size in sizes], dtype=np.int64)
        counts = np.array([row["NumberOfFrames"] or 1 for row in images], dtype=np.int64)
        if frames == "first":
            counts = np.minimum(counts, 1)
        self._file = np.repeat(np.arange(len(images), dtype=np.int64), counts)
        starts = np.cumsum(counts) - counts
        self._frame = np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(starts, counts)
        self._size = size_of_file[self._file]
        self.transform = transform
        self.threads = threads
        self._home_pid = os.getpid()

    def __len__(self) -> int:
        return len(self._file)

    def _threads(self) -> Optional[int]:
        if self.threads is not None:
            return self.threads
        return None if os.getpid() == self._home_pid else 1

    def _positions(self, indices: Indices) -> np.ndarray:
        positions = np.asarray(indices, dtype=np.int64).reshape(-1)
        count = len(self)
        if positions.size and (positions.min() < -count or positions.max() >= count):
            raise IndexError(f"index out of range for {count} frames")
        return positions % count if count else positions

    def location(self, index: int) -> Tuple[str, int]:
        """The file and the frame number within it of item ``index``."""
        (position,) = self._positions([index])
        return self.paths[self._file[position]], int(self._frame[position])

    def __getitem__(self, index: int) -> Any:
        path, frame = self.location(index)
        array = decode_files([path], frames=[frame], threads=self._threads())[0]
        return array if self.transform is None else self.transform(array)

    def read_batch(self, indices: Indices, out: Optional[np.ndarray] = None) -> np.ndarray:
        """Items ``indices`` decoded into one ``(N, rows, columns[, samples])`` array.

        All files are opened and decoded on Rust threads with the GIL released, into ``out``
        when given (a writeable C-contiguous array of the right dtype and shape). The frames
        must share one size; ``transform`` is not applied.
        """
        positions = self._positions(indices)
        used = Counter(self._sizes[s] for s in self._size[positions])
        if len(used) > 1:
            found = ", ".join(f"{r}x{c}x{s} {b}-bit{' signed' if p else ''}: {n}" for (r, c, s, b, p), n in used.items())
            raise ValueError(f"the frames of a batch must share one size, these have several ({found})")
        paths = [self.paths[f] for f in self._file[positions]]
        return decode_files(paths, frames=self._frame[positions].tolist(), out=out, threads=self._threads())

    def __getitems__(self, indices: Indices) -> List[Any]:
        """Items ``indices`` as a list, decoded together when they share a size.

        PyTorch's ``DataLoader`` calls this for a whole batch when it exists.
        """
        positions = self._positions(indices)
        if len(set(self._size[positions].tolist())) > 1:
            return [self[int(i)] for i in positions]
        batch = self.read_batch(positions)
        return [frame if self.transform is None else self.transform(frame) for frame in batch]

    def __repr__(self) -> str:
        return f"<FrameDataset {len(self)} frames from {len(self.paths)} files, {len(self.skipped)} skipped>"
