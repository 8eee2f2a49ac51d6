#!/usr/bin/env python3
"""Time dicodec's JPEG Lossless decoder against its peers on the same codestreams.

1. Extracts one frame's codestream from a few reference files (../shared/data) and, with
   libjpeg-turbo (imagecodecs), encodes a 512x512 16-bit CT-like frame with each predictor
   1-7 and an 8-bit RGB frame; writes them all to a folder as .jpg.
2. Times, single-threaded, median of N runs, output MB/s: imagecodecs ``jpeg8_decode``
   (libjpeg-turbo) and ``ljpeg_decode`` (liblj92), pylibjpeg-libjpeg ``decode``, and GDCM
   (python-gdcm, through pydicom's plugin, on the whole file where the frame came from a file).
3. Runs ``cargo test --release ... decode_throughput -- --ignored`` on the same folder and
   prints the ratios.

Usage: python native/core/tools/bench_jpeg_lossless_peers.py [--runs 51] [--out DIR]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[3]  # repository root
NATIVE = ROOT / "native"
DATA = ROOT.parent / "shared" / "data"
FILES = {
    "ct_wg04_sv1": "jpeg_lossless_sv1/WG04_CT1_JPLL.dcm",
    "ct_image_sv6": "jpeg_lossless/CTImage_jpeg_lossless_57.dcm",
    "mr_wg04_12bit_sv1": "jpeg_lossless_sv1/WG04_MR2_JPLL.dcm",
    "rgb_testpattern_sv1": "jpeg_lossless_sv1/TestPattern_JPEG-Lossless_RGB.dcm",
}


def first_frame(path: Path) -> bytes:
    import pydicom
    from pydicom.encaps import generate_frames

    ds = pydicom.dcmread(path)
    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    return next(generate_frames(ds.PixelData, number_of_frames=frames))


def ct_like(rng: np.random.Generator) -> np.ndarray:
    """A smooth 512x512 16-bit frame with CT-like noise (about 2.5:1 with SV1)."""
    y, x = np.mgrid[0:512, 0:512].astype(np.float64)
    body = 1000 + 900 * np.exp(-((x - 256) ** 2 + (y - 256) ** 2) / (2 * 150.0**2))
    texture = 60 * np.sin(x / 9.0) * np.cos(y / 13.0)
    noise = rng.normal(0, 14, size=(512, 512))
    return np.clip(body + texture + noise, 0, 65535).astype(np.uint16)


def seconds(fn, runs: int) -> tuple[float, float]:
    """Best and median thread CPU time of `fn` (time descheduled on a busy machine is left out)."""
    fn()  # warm up
    times = []
    for _ in range(runs):
        start = time.thread_time_ns()
        fn()
        times.append((time.thread_time_ns() - start) * 1e-9)
    return min(times), statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=51)
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "jpeg_lossless_bench")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")

    import imagecodecs

    args.out.mkdir(parents=True, exist_ok=True)
    for old in args.out.glob("*.jpg"):
        old.unlink()
    streams: dict[str, bytes] = {}
    sources: dict[str, Path] = {}
    for name, rel in FILES.items():
        if (DATA / rel).is_file():
            streams[name] = first_frame(DATA / rel)
            sources[name] = DATA / rel
    rng = np.random.default_rng(7)
    ct = ct_like(rng)
    for predictor in range(1, 8):
        streams[f"synthetic_ct_sv{predictor}"] = bytes(imagecodecs.jpeg8_encode(ct, lossless=True, predictor=predictor, bitspersample=16))
    rgb = np.stack([np.clip(ct // 8 + k * 20, 0, 255) for k in range(3)], axis=-1).astype(np.uint8)
    for predictor in (1, 4, 7):
        streams[f"synthetic_rgb8_sv{predictor}"] = bytes(imagecodecs.jpeg8_encode(rgb, lossless=True, predictor=predictor, bitspersample=8))
    for name, data in streams.items():
        (args.out / f"{name}.jpg").write_bytes(data)

    def mbps(nbytes: int, fn, runs: int) -> tuple[float, float]:
        best, median = seconds(fn, runs)
        return nbytes / best / 1e6, nbytes / median / 1e6

    peers: dict[str, dict[str, tuple[float, float]]] = {}
    for name, data in streams.items():
        out = imagecodecs.jpeg8_decode(data)
        nbytes = out.nbytes
        row = {"libjpeg-turbo jpeg8_decode": mbps(nbytes, lambda: imagecodecs.jpeg8_decode(data, out=out), args.runs)}
        try:
            if np.array_equal(imagecodecs.ljpeg_decode(data).reshape(out.shape), out):
                row["liblj92 ljpeg_decode"] = mbps(nbytes, lambda: imagecodecs.ljpeg_decode(data), args.runs)
        except Exception:  # noqa: BLE001 - a peer that cannot decode this stream is left out
            pass
        try:
            from libjpeg import decode as libjpeg_decode

            if np.array_equal(libjpeg_decode(data).reshape(out.shape), out):
                row["pylibjpeg-libjpeg"] = mbps(nbytes, lambda: libjpeg_decode(data), max(5, args.runs // 5))
        except Exception:  # noqa: BLE001
            pass
        if name in sources:
            try:
                import pydicom
                from pydicom.pixels import pixel_array

                path = sources[name]
                if int(getattr(pydicom.dcmread(path, stop_before_pixels=True), "NumberOfFrames", 1) or 1) == 1:
                    # GDCM works on whole files through pydicom: this includes reading the file.
                    row["gdcm via pydicom (file)"] = mbps(nbytes, lambda: pixel_array(path, decoding_plugin="gdcm"), max(5, args.runs // 5))
            except Exception:  # noqa: BLE001
                pass
        peers[name] = row

    env = dict(os.environ, JPEG_LOSSLESS_BENCH_DIR=str(args.out), JPEG_LOSSLESS_BENCH_RUNS=str(args.runs))
    command = ["cargo", "test", "--release", "-q", "-p", "dicodec-core", "--test", "jpeg_lossless", "decode_throughput", "--", "--ignored", "--nocapture"]
    result = subprocess.run(command, cwd=NATIVE, env=env, capture_output=True, text=True, check=False)
    ours: dict[str, tuple[float, float]] = {}
    for line in (result.stdout + result.stderr).splitlines():
        match = re.match(r"\s*([\d.]+)\s+([\d.]+) MB/s .* (\S+)$", line)
        if match and match.group(3).endswith(".jpg"):
            ours[Path(match.group(3)).stem] = (float(match.group(1)), float(match.group(2)))
    if not ours:
        sys.exit(f"no timings from cargo:\n{result.stdout}\n{result.stderr}")

    print(f"MB/s of output from thread CPU time, best/median of {args.runs} runs; ratio = dicodec / peer (best, median)")
    for name, row in peers.items():
        mine = ours.get(name, (float("nan"), float("nan")))
        print(f"{name}: dicodec {mine[0]:.0f}/{mine[1]:.0f}")
        for peer, (best, median) in row.items():
            print(f"    {peer:28} {best:7.1f}/{median:7.1f}   x{mine[0] / best:5.2f} / x{mine[1] / median:5.2f}")


if __name__ == "__main__":
    main()
