"""Thread scaling: every frame of the corpus' multi-frame CT with threads=1, 2, 4 … cores.

    python benchmarks/scaling.py [--quick] [--threads 1 2 4 8 16] [--out DIR]

For each multi-frame file that dicodec decodes frame by frame (RLE, JPEG Lossless, and the big
endian native one: little-endian native data is a view and has nothing to spread), it times
``dicodec.pixel_array(path, threads=N)`` for each N (200 frames; 12 with ``--quick``), the thread
counts taking turns within every round so that the machine's other load falls on all of them
alike, each timed call just after an untimed one with the same N (dicodec keeps the pool of the
last thread count asked for, as a loop of batches would), and reports the median,
the speed-up over one thread and the efficiency (speed-up / N). Then, in a process of its own
for each (file, N), the rise of the peak resident memory while the file's bytes, already in
memory, decode, as a share of the array returned: frames are decoded into that array in place,
so on the full corpus the share stays near 1 (the quick corpus' arrays are too small for the
few MiB a decode's threads take once).

Nothing is asserted: the figures are for the README and the issue's report. On a machine with
fewer cores than a requested N, that N still runs (threads then share cores) and is marked.
"""

from __future__ import annotations

import argparse
import datetime
import json
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

import corpus as corpora
import report

#: The multi-frame files whose frames dicodec decodes on threads: (data set, encoding).
FILES = (("ct-mf", "rle"), ("ct-mf", "jpegll"), ("be-mf", "native"))

#: One decode in a fresh process: the file read into memory first (so that its own pages, mapped
#: or read, are not counted against the decode), the threads started by a first whole decode,
#: the peak RSS reset to the RSS of the moment (Linux: "5" to clear_refs), then every frame.
_MEASURE = textwrap.dedent(
    """
    import json, sys
    import dicodec

    def status(field):
        with open("/proc/self/status") as lines:
            return next(int(line.split()[1]) * 1024 for line in lines if line.startswith(field + ":"))

    data, threads = open(sys.argv[1], "rb").read(), int(sys.argv[2])
    # Kept until the end, so that the measured decode cannot reuse its memory.
    warm = dicodec.pixel_array(data, threads=threads)
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")
    before = status("VmRSS")
    array = dicodec.pixel_array(data, threads=threads)
    print(json.dumps({"nbytes": array.nbytes, "rise": status("VmHWM") - before}))
    """
)


def _arguments(argv: List[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--quick", action="store_true", help="small corpus, few rounds: proves the script works")
    add("--threads", nargs="+", type=int, default=None, metavar="N",
        help="thread counts (default: 1, 2, 4 … up to the usable cores, and the usable cores)")
    add("--rounds", type=int, default=None, help="rounds of every thread count (default 15; 3 with --quick)")
    add("--out", type=Path, default=Path(__file__).parent / "results", help="where the JSON goes")
    add("--corpus", type=Path, default=None, help="corpus cache directory (default: benchmarks/.corpus)")
    return parser.parse_args(argv)


def default_threads(cores: int) -> List[int]:
    """1, 2, 4 … below ``cores``, and ``cores`` itself."""
    counts = [1]
    while counts[-1] * 2 < cores:
        counts.append(counts[-1] * 2)
    return counts + ([cores] if cores > 1 else [])


def time_decodes(path: str, threads: List[int], rounds: int) -> Dict[int, List[float]]:
    """Seconds per whole-file decode for each thread count, the counts taking turns in each
    round (in reverse order every other round), each after an untimed call with its count."""
    import dicodec

    samples: Dict[int, List[float]] = {n: [] for n in threads}
    for r in range(rounds):
        for n in threads if r % 2 == 0 else threads[::-1]:
            dicodec.pixel_array(path, threads=n)  # this count's pool, and the file's pages
            started = time.perf_counter()
            dicodec.pixel_array(path, threads=n)
            samples[n].append(time.perf_counter() - started)
    return samples


def peak_share(path: str, threads: int) -> Optional[float]:
    """The rise of the peak RSS while decoding every frame, as a share of the array (None
    where /proc does not say)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        done = subprocess.run([sys.executable, "-c", _MEASURE, path, str(threads)],
                              capture_output=True, text=True, check=True, timeout=600)
    except (subprocess.SubprocessError, OSError) as error:
        detail = getattr(error, "stderr", None) or ""
        print(f"no peak memory for threads={threads}: {error}\n{detail}", file=sys.stderr)
        return None
    measured = json.loads(done.stdout)
    return measured["rise"] / measured["nbytes"]


def measure(corpus: corpora.Corpus, threads: List[int], rounds: int) -> List[Dict[str, Any]]:
    """One row per (file, thread count)."""
    import dicodec

    cores = report.usable_cores()
    rows = []
    for dataset, encoding in FILES:
        if not corpus.has(dataset, encoding):
            print(f"skipped {dataset}/{encoding}: {corpus.encoders.get(encoding, 'not in the corpus')}", file=sys.stderr)
            continue
        path = str(corpus.path(dataset, encoding))
        print(f"timing {dataset}/{encoding} ...", file=sys.stderr)
        samples = time_decodes(path, threads, rounds)
        nbytes = dicodec.pixel_array(path).nbytes  # the corpus' truth arrays need not travel with it
        one = statistics.median(samples[1])
        for n in threads:
            median = statistics.median(samples[n])
            rows.append({
                "file": f"{dataset}/{encoding}", "threads": n, "oversubscribed": n > cores,
                "median_s": median, "min_s": min(samples[n]), "rounds": rounds, "mb_per_s": nbytes / median / 1e6,
                "speedup": one / median, "efficiency": one / median / n,
                "peak_share": peak_share(path, n),
            })
    return rows


def table(rows: List[Dict[str, Any]]) -> str:
    """The rows as a Markdown table."""
    lines = ["| file | threads | median | MB/s | × 1 thread | efficiency | peak RSS rise / array |",
             "|---|--:|--:|--:|--:|--:|--:|"]
    for row in rows:
        threads = f"{row['threads']}" + (" (more than the cores)" if row["oversubscribed"] else "")
        lines.append(f"| {row['file']} | {threads} | {row['median_s'] * 1e3:.2f} ms | {row['mb_per_s']:,.0f} | "
                     f"{row['speedup']:.2f} | {row['efficiency']:.0%} | "
                     f"{'' if row['peak_share'] is None else format(row['peak_share'], '.3f')} |")
    return "\n".join(lines)


def main(argv: List[str]) -> int:
    args = _arguments(argv)
    if args.threads and min(args.threads) < 1:
        raise SystemExit("scaling.py: thread counts are 1 or more")
    threads = sorted(set(args.threads or default_threads(report.usable_cores())) | {1})  # speed-ups are over 1
    rounds = args.rounds or (3 if args.quick else 15)
    corpus = corpora.build(corpora.QUICK if args.quick else corpora.FULL, args.corpus,
                           log=lambda m: print(m, file=sys.stderr))
    load_before = report.load_average()
    rows = measure(corpus, threads, rounds)
    print(table(rows))
    mode = "quick" if args.quick else "full"
    record = {
        "date": datetime.date.today().isoformat(), "mode": mode, "machine": report.machine(),
        "versions": report.versions(), "corpus": corpus.manifest["spec"],
        "load_average": {"before": load_before, "after": report.load_average()}, "rows": rows,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"{record['date']}-scaling{'-quick' if args.quick else ''}.json"
    path.write_text(json.dumps(record, indent=1) + "\n")
    print(f"\nwrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
