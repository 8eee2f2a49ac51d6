"""A pydicom 3 pixel data decoder plugin backed by dicodec.

Importing this module registers the plugin as ``"dicodec"`` for the transfer syntaxes dicodec
decodes, after pydicom's own plugins; ask for it by name::

    import dicodec.pydicom_plugin
    arr = pydicom.dcmread(path).pixel_array  # pydicom's default choice
    arr = pydicom.pixels.pixel_array(path, decoding_plugin="dicodec")

pydicom keeps doing what it does around a decoded frame (shape, unused bits, colour space).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import _native

if TYPE_CHECKING:
    from pydicom.pixels.decoders.base import DecodeRunner

__all__ = ["DECODER_DEPENDENCIES", "is_available", "register"]

RLE_LOSSLESS = "1.2.840.10008.1.2.5"
JPEG_LOSSLESS = "1.2.840.10008.1.2.4.57"
JPEG_LOSSLESS_SV1 = "1.2.840.10008.1.2.4.70"

#: The transfer syntaxes the plugin decodes, and what it needs.
DECODER_DEPENDENCIES = {uid: ("numpy", "dicodec") for uid in (RLE_LOSSLESS, JPEG_LOSSLESS, JPEG_LOSSLESS_SV1)}

PLUGIN_LABEL = "dicodec"


def is_available(uid: str) -> bool:
    """Whether the plugin can decode pixel data in transfer syntax ``uid``."""
    return uid in DECODER_DEPENDENCIES


def _decode_frame(src: bytes, runner: "DecodeRunner") -> bytearray:
    """Decode one frame for pydicom: interleaved samples, native byte order, in the container
    size pydicom expects for the data set's Bits Allocated."""
    rows, columns = runner.rows, runner.columns
    samples, bits_allocated = runner.samples_per_pixel, runner.bits_allocated
    if runner.transfer_syntax == RLE_LOSSLESS:
        out = np.empty(rows * columns * samples * (bits_allocated // 8), dtype=np.uint8)
        _native.decode_rle_into(src, rows, columns, samples, bits_allocated, out)
        runner.set_option("planar_configuration", 0)
        return bytearray(out.data)
    from .codecs import decode_jpeg_lossless

    decoded = decode_jpeg_lossless(src)
    container = np.dtype(f"<u{max(bits_allocated, 8) // 8}")
    return bytearray(decoded.astype(container, copy=False).data)


def register() -> None:
    """Register the plugin with pydicom's decoders (done on import; calling again is harmless)."""
    from pydicom.pixels.decoders import JPEGLosslessDecoder, JPEGLosslessSV1Decoder, RLELosslessDecoder

    for decoder in (RLELosslessDecoder, JPEGLosslessDecoder, JPEGLosslessSV1Decoder):
        if PLUGIN_LABEL not in decoder.available_plugins:
            decoder.add_plugin(PLUGIN_LABEL, (__name__, "_decode_frame"))


register()
