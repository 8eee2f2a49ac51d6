"""Pixel data as NumPy arrays, with pydicom 3's ``pixel_array`` conventions.

Shapes are ``(rows, columns)``, ``(frames, rows, columns)`` and ``(..., samples)``; the dtype
follows Bits Allocated and Pixel Representation (``float32``/``float64`` for float pixel data);
unused high bits are cleared or sign-extended; 1-bit data is unpacked to ``uint8`` 0/1; planar
data comes back interleaved; YBR_FULL and YBR_FULL_422 are converted to RGB unless
``as_rgb=False``. Native little-endian data that needs none of this is returned as a read-only
view of the memory-mapped file, without a copy. Decoding runs in Rust threads with the GIL
released.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _native

if TYPE_CHECKING:
    from .dataset import Dataset

__all__ = ["pixel_array", "iter_pixels", "decode_files", "PixelSource", "DEFAULT_MAX_PIXEL_BYTES"]

#: The decoded size a header may claim before decoding refuses it (64 GiB); lower it per call
#: with ``max_bytes=`` when reading files from untrusted sources.
DEFAULT_MAX_PIXEL_BYTES = 64 << 30

PixelSource = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, "Dataset"]


def _frame_shape(info: Dict[str, Any]) -> Tuple[int, ...]:
    shape: Tuple[int, ...] = (info["rows"], info["columns"])
    if info["samples_per_pixel"] > 1:
        shape += (info["samples_per_pixel"],)
    return shape


def _check_out(out: np.ndarray, shape: Tuple[int, ...], dtype: np.dtype) -> None:
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out must be a numpy.ndarray, not {type(out).__name__}")
    if out.dtype != dtype or out.shape != shape:
        raise ValueError(f"out is {out.dtype} {out.shape} but the pixels need {dtype} {shape}")
    if not out.flags.c_contiguous or not out.flags.writeable:
        raise ValueError("out must be a writeable, C-contiguous array")


class _Pixels:
    """The pixel data of one data set: its description and the ways to decode it."""

    __slots__ = ("dataset", "info", "max_bytes")

    def __init__(self, dataset: "Dataset", max_bytes: Optional[int] = None) -> None:
        self.dataset = dataset
        self.max_bytes = max_bytes
        native = dataset._native
        if native is None:
            raise ValueError("the data set has been closed")
        self.info: Dict[str, Any] = native.pixel_info(dataset._start, dataset._end, max_bytes)

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.info["dtype"])

    def shape(self, frames: Optional[int]) -> Tuple[int, ...]:
        """The array shape for `frames` frames, or one frame without a frame axis (None)."""
        frame = _frame_shape(self.info)
        return frame if frames is None else (frames, *frame)

    def _view(self, frames: Sequence[int]) -> Optional[np.ndarray]:
        """The frames as a read-only view of the file, when the stored bytes are the answer."""
        info = self.info
        contiguous = list(frames) == list(range(frames[0], frames[0] + len(frames))) if frames else False
        if not contiguous:
            return None
        raw = self.dataset._native.value_array(info["element"])
        frame_bytes = int(np.prod(_frame_shape(info))) * self.dtype.itemsize
        start = frames[0] * frame_bytes
        return raw[start : start + len(frames) * frame_bytes].view(self.dtype)

    def decode(
        self,
        frames: Sequence[int],
        shape: Tuple[int, ...],
        out: Optional[np.ndarray],
        as_rgb: bool,
        threads: Optional[int],
    ) -> np.ndarray:
        if out is None and self.info["view" if as_rgb else "view_raw"]:
            view = self._view(frames)
            if view is not None:
                return view.reshape(shape)
        if out is None:
            out = np.empty(shape, dtype=self.dtype)
        else:
            _check_out(out, shape, self.dtype)
        native = self.dataset._native
        native.decode_into(
            self.dataset._start,
            self.dataset._end,
            list(frames),
            out,
            as_rgb=as_rgb,
            threads=threads,
            max_bytes=self.max_bytes,
        )
        return out

    def all_frames(self, out: Optional[np.ndarray], as_rgb: bool, threads: Optional[int]) -> np.ndarray:
        count = self.info["frames"]
        return self.decode(range(count), self.shape(count if count > 1 else None), out, as_rgb, threads)

    def frame(self, index: int, out: Optional[np.ndarray], as_rgb: bool) -> np.ndarray:
        count = self.info["frames"]
        if index < 0:
            index += count
        if not 0 <= index < count:
            raise IndexError(f"frame {index} does not exist: there are {count} frames")
        return self.decode([index], self.shape(None), out, as_rgb, None)


def _as_dataset(src: PixelSource) -> "Dataset":
    from .dataset import Dataset, FileDataset, dcmread

    if isinstance(src, Dataset):
        return src
    if isinstance(src, (bytes, bytearray, memoryview)):
        return dcmread(src)
    # A path given for its pixels: index the whole file at once, not the header first, and
    # only its top level (the data set is never shown: no per-frame items to index).
    return FileDataset(_native.open(os.fspath(src), header_first=False, skip_sequences=True))


def pixel_array(
    src: PixelSource,
    *,
    index: Optional[int] = None,
    out: Optional[np.ndarray] = None,
    threads: Optional[int] = None,
    as_rgb: bool = True,
    max_bytes: Optional[int] = None,
) -> np.ndarray:
    """The pixels of a file (path or bytes) or data set: all frames, or frame ``index``.

    ``out`` receives the result when given (a writeable C-contiguous array of the exact dtype
    and shape, e.g. one slot of a batch); ``threads`` caps the decoding threads (default: all
    cores); ``as_rgb=False`` keeps YBR values as stored. ``max_bytes`` caps the decoded size
    the header may claim (default :data:`DEFAULT_MAX_PIXEL_BYTES`): beyond it a
    :class:`~dicodec.LimitExceededError` is raised before anything is allocated.

    A path is read for its pixels alone: only its top-level data set is indexed, and sequences
    of defined length (an enhanced multi-frame file's per-frame items) are stepped over unread.
    """
    pixels = _Pixels(_as_dataset(src), max_bytes)
    if index is not None:
        return pixels.frame(index, out, as_rgb)
    return pixels.all_frames(out, as_rgb, threads)


def iter_pixels(
    src: PixelSource,
    *,
    indices: Optional[Sequence[int]] = None,
    as_rgb: bool = True,
) -> Iterator[np.ndarray]:
    """Yield frames one at a time (all, or those in ``indices``), each decoded when reached."""
    pixels = _Pixels(_as_dataset(src))
    for index in range(pixels.info["frames"]) if indices is None else indices:
        yield pixels.frame(index, None, as_rgb)


def decode_files(
    paths: Sequence[Union[str, "os.PathLike[str]"]],
    *,
    frames: Optional[Sequence[int]] = None,
    out: Optional[np.ndarray] = None,
    threads: Optional[int] = None,
    as_rgb: bool = True,
    mmap: bool = True,
    max_bytes: Optional[int] = None,
) -> np.ndarray:
    """Decode many files at once in Rust threads, the GIL released for the whole batch.

    Every frame of every file by default, stacked as ``(total frames, rows, columns[, samples])``;
    with ``frames``, frame ``frames[i]`` of file ``i``. All files must share rows, columns,
    samples and dtype. ``out`` receives the result when given; ``max_bytes`` caps each file's
    decoded size as in :func:`pixel_array`.
    """
    batch = _native.FileBatch([os.fspath(p) for p in paths], mmap=mmap, threads=threads, max_bytes=max_bytes)
    info = batch.info()
    if info is None:
        if out is not None:
            raise ValueError("no files to decode into out")
        return np.empty((0,), dtype=np.uint8)
    frame_list: Optional[List[int]] = None if frames is None else [int(f) for f in frames]
    shape = (batch.frame_count(frame_list), *_frame_shape(info))
    dtype = np.dtype(info["dtype"])
    if out is None:
        out = np.empty(shape, dtype=dtype)
    else:
        _check_out(out, shape, dtype)
    batch.decode_into(out, frame_list, as_rgb=as_rgb, threads=threads)
    return out
