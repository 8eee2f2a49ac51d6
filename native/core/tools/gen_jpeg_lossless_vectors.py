#!/usr/bin/env python3
"""Generate JPEG Lossless (process 14) test vectors with libjpeg-turbo, via imagecodecs.

Every codestream here is written by libjpeg-turbo's encoder (``imagecodecs.jpeg8_encode(...,
lossless=True)``), never by dicodec, and every expected output is checked against
libjpeg-turbo's decoder (``imagecodecs.jpeg8_decode``). The Rust test
``native/core/tests/jpeg_lossless.rs`` decodes each file and compares the sha256 of its output
(samples interleaved per pixel, u8 for precision <= 8, else u16 little endian) with the one
recorded in ``manifest.json``.

Coverage: predictors 1-7 x precision 2-16 x 1 and 3 components (random, smooth and
half-range checkerboard images, odd sizes down to 1x1), a few 2- and 4-component frames,
larger smooth 16-bit frames, and point transforms. libjpeg-turbo's encoder cannot write a
point transform through imagecodecs, so those vectors are streams encoded at precision P - Pt
whose frame header is relabelled to precision P and whose scan header gets Al = Pt: the
entropy-coded data is unchanged (the initial prediction 2^(P-Pt-1) is the same) and
libjpeg-turbo decodes them to the source shifted left by Pt, which is asserted.

Usage: python native/core/tools/gen_jpeg_lossless_vectors.py  (needs imagecodecs, numpy)
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import imagecodecs
import numpy as np

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "jpeg_lossless"
SIZES = [(1, 1), (1, 2), (2, 1), (3, 3), (5, 7), (7, 5), (13, 1), (1, 13), (17, 11), (31, 7), (9, 33), (16, 16)]


def image(kind: str, rows: int, cols: int, comps: int, precision: int, rng: np.random.Generator) -> np.ndarray:
    """A seeded test image of unsigned samples below 2**precision."""
    top = 1 << precision
    dtype = np.uint8 if precision <= 8 else np.uint16
    shape = (rows, cols, comps) if comps > 1 else (rows, cols)
    if kind == "random":
        data = rng.integers(0, top, size=shape, dtype=np.int64)
    elif kind == "smooth":
        y, x = np.mgrid[0:rows, 0:cols]
        base = (x * 37 + y * 11) * max(1, top // 256)
        noise = rng.integers(-3, 4, size=shape)
        data = (base[..., None] if comps > 1 else base) + noise + (top // 3)
        data = np.mod(data, top)
    elif kind == "checker":
        # Alternating 0 and 2**(P-1): differences of +-2**(P-1), category 16 at P = 16.
        y, x = np.mgrid[0:rows, 0:cols]
        base = ((x + y) % 2) * (top // 2)
        data = np.broadcast_to(base[..., None], shape) if comps > 1 else base
    else:
        raise ValueError(kind)
    return np.ascontiguousarray(data.astype(dtype))


def raw_bytes(array: np.ndarray, precision: int) -> bytes:
    """The decoder output format: u8 for precision <= 8, else u16 little endian."""
    dtype = "u1" if precision <= 8 else "<u2"
    return np.ascontiguousarray(array).astype(dtype).tobytes()


def encode(array: np.ndarray, predictor: int, precision: int, optimize: bool) -> bytes:
    stream = imagecodecs.jpeg8_encode(array, lossless=True, predictor=predictor, bitspersample=precision, optimize=optimize)
    decoded = imagecodecs.jpeg8_decode(stream)
    assert decoded.shape == array.shape and np.array_equal(decoded, array), "libjpeg-turbo round trip failed"
    return bytes(stream)


def relabel(stream: bytes, precision: int, point_transform: int) -> bytes:
    """Set the SOF3 precision and the SOS Al (point transform) of a one-scan stream."""
    data = bytearray(stream)
    sof = data.find(b"\xff\xc3")
    sos = data.find(b"\xff\xda")
    assert sof > 0 and sos > sof
    data[sof + 4] = precision
    ns = data[sos + 4]
    al = sos + 4 + 1 + 2 * ns + 2
    data[al] = point_transform
    return bytes(data)


def main() -> None:
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    rng = np.random.default_rng(20240611)
    entries = []

    def add(name: str, stream: bytes, expected: bytes, rows: int, cols: int, comps: int, precision: int, predictor: int, pt: int = 0) -> None:
        (OUT / name).write_bytes(stream)
        entries.append(
            {
                "file": name,
                "width": cols,
                "height": rows,
                "components": comps,
                "precision": precision,
                "predictor": predictor,
                "point_transform": pt,
                "sha256": hashlib.sha256(expected).hexdigest(),
            }
        )

    index = 0
    for predictor in range(1, 8):
        for precision in range(2, 17):
            for comps in (1, 3):
                kinds = ["random", "smooth"] if (predictor + precision) % 3 else ["random", "checker"]
                for k, kind in enumerate(kinds):
                    rows, cols = SIZES[(index + 5 * k) % len(SIZES)]
                    array = image(kind, rows, cols, comps, precision, rng)
                    stream = encode(array, predictor, precision, optimize=bool(index % 2))
                    name = f"p{predictor}_P{precision:02d}_c{comps}_{cols}x{rows}_{kind}.jpg"
                    add(name, stream, raw_bytes(array, precision), rows, cols, comps, precision, predictor)
                index += 1

    # Two and four components, every predictor.
    for predictor in range(1, 8):
        for comps, precision in ((2, 8), (4, 8), (2, 12), (4, 16)):
            rows, cols = SIZES[(predictor + comps) % len(SIZES)]
            array = image("random" if predictor % 2 else "smooth", rows, cols, comps, precision, rng)
            stream = encode(array, predictor, precision, optimize=False)
            name = f"p{predictor}_P{precision:02d}_c{comps}_{cols}x{rows}_multi.jpg"
            add(name, stream, raw_bytes(array, precision), rows, cols, comps, precision, predictor)

    # Larger smooth frames, where long runs of small differences dominate (as in CT).
    for predictor in range(1, 8):
        for precision, comps in ((16, 1), (12, 1), (8, 3)):
            rows, cols = 48, 61
            array = image("smooth", rows, cols, comps, precision, rng)
            stream = encode(array, predictor, precision, optimize=True)
            name = f"p{predictor}_P{precision:02d}_c{comps}_{cols}x{rows}_large.jpg"
            add(name, stream, raw_bytes(array, precision), rows, cols, comps, precision, predictor)

    # Point transforms: encode at P - Pt, relabel to P with Al = Pt (see the module docstring).
    for precision, pt, comps, predictor in ((8, 1, 1, 1), (8, 3, 3, 4), (12, 2, 1, 7), (12, 5, 3, 2), (16, 1, 1, 6), (16, 4, 1, 5), (16, 8, 3, 3), (10, 7, 1, 1)):
        reduced = precision - pt
        rows, cols = 9, 14
        array = image("random", rows, cols, comps, reduced, rng)
        stream = relabel(encode(array, predictor, reduced, optimize=False), precision, pt)
        decoded = imagecodecs.jpeg8_decode(stream)
        expected = array.astype(np.uint32) << pt
        assert np.array_equal(decoded.astype(np.uint32), expected), f"libjpeg-turbo disagrees on Pt={pt}"
        name = f"p{predictor}_P{precision:02d}_c{comps}_{cols}x{rows}_pt{pt}.jpg"
        add(name, stream, raw_bytes(decoded, precision), rows, cols, comps, precision, predictor, pt)

    manifest = {
        "generator": "native/core/tools/gen_jpeg_lossless_vectors.py",
        "encoder": f"libjpeg-turbo via imagecodecs {imagecodecs.__version__} (jpeg8 {imagecodecs.jpeg8_version()})",
        "output": "samples interleaved per pixel; u8 when precision <= 8, else u16 little endian",
        "vectors": entries,
    }
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    total = sum(p.stat().st_size for p in OUT.iterdir())
    print(f"{len(entries)} vectors, {total} bytes in {OUT}")


if __name__ == "__main__":
    main()
