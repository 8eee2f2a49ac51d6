"""Codec-level functions: decode one frame's codestream without a data set.

For other libraries' fast paths (pylibjpeg-rle's and imagecodecs' jobs, in Rust, with the
GIL released). Outputs are unsigned integers in native (little-endian) order, samples
interleaved (RLE also one plane per sample, on request); reinterpret with ``.view()`` for
signed data.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Union

import numpy as np

from . import _native

__all__ = ["decode_rle", "decode_jpeg_lossless", "jpeg_parameters"]

BytesLike = Union[bytes, bytearray, memoryview]

#: The output type of each Bits Allocated, made once: building a dtype took a quarter of the
#: time a small frame's call spends in Python.
_UNSIGNED = {bits: np.dtype(f"<u{bits // 8}") for bits in (8, 16, 32, 64)}


def _output(out: Optional[np.ndarray], shape: tuple, dtype: np.dtype) -> np.ndarray:
    if out is None:
        return np.empty(shape, dtype=dtype)
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out must be a numpy.ndarray, not {type(out).__name__}")
    # `is` first: NumPy's built-in dtypes are shared objects, and comparing them costs more.
    if (out.dtype is not dtype and out.dtype != dtype) or out.shape != shape:
        raise ValueError(f"out is {out.dtype} {out.shape} but the frame needs {dtype} {shape}")
    return out


def decode_rle(
    data: BytesLike,
    rows: int,
    columns: int,
    samples_per_pixel: int,
    bits_allocated: int,
    *,
    planar: bool = False,
    out: Optional[np.ndarray] = None,
) -> np.ndarray:
    """Decode one RLE Lossless frame (PS3.5 Annex G: the 64-byte header and its segments).

    Returns ``(rows, columns)`` or ``(rows, columns, samples)`` of ``uint8``/``uint16``/
    ``uint32``/``uint64`` by ``bits_allocated``; with ``planar``, colour comes as
    ``(samples, rows, columns)``: channels first, as the segments hold it (no interleave: the
    cheapest layout to decode, and the one pylibjpeg-rle and imagecodecs return).
    """
    dtype = _UNSIGNED.get(bits_allocated)
    if dtype is None:
        from .errors import UnsupportedError

        raise UnsupportedError(f"RLE with Bits Allocated {bits_allocated} is not supported (8, 16, 32 or 64)")
    if samples_per_pixel == 1:
        shape: tuple = (rows, columns)
    elif planar:
        shape = (samples_per_pixel, rows, columns)
    else:
        shape = (rows, columns, samples_per_pixel)
    array = _output(out, shape, dtype)
    _native.decode_rle_into(bytes(data), rows, columns, samples_per_pixel, bits_allocated, array, planar)
    return array


def jpeg_parameters(data: BytesLike) -> Dict[str, Any]:
    """What a JPEG Lossless codestream's headers say, without decoding: ``rows``, ``columns``,
    ``components``, ``precision``, ``predictor``, ``point_transform``, ``restart_interval``."""
    return _native.jpeg_parameters(bytes(data))


def decode_jpeg_lossless(data: BytesLike, *, out: Optional[np.ndarray] = None) -> np.ndarray:
    """Decode a JPEG Lossless codestream (ITU-T T.81 process 14, predictors 1-7, precision 2-16).

    Returns ``(rows, columns)`` or ``(rows, columns, components)``: ``uint8`` for precision up to
    8, else ``uint16``.
    """
    data = bytes(data)
    header = _native.jpeg_parameters(data)
    components = header["components"]
    shape = (header["rows"], header["columns"]) + ((components,) if components > 1 else ())
    array = _output(out, shape, _UNSIGNED[8 if header["precision"] <= 8 else 16])
    _native.decode_jpeg_lossless_into(data, array)
    return array
