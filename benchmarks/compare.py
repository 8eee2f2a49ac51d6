"""dicodec against its peers on a realistic corpus, side by side, on this machine.

    python benchmarks/compare.py                 # the full comparison (a few minutes on 2 cores)
    python benchmarks/compare.py --quick         # a small corpus and short budgets (< 1 minute)
    python benchmarks/compare.py --workloads 'header-*' tag-access
    python benchmarks/compare.py --list

Steps: build (or reuse) the seeded corpus; measure every contender's peak RSS doing one call
in its own process (which also keeps a crashing peer out of the harness); then, workload by
workload, check every contender's answer and time the correct ones in interleaved rounds.
Writes the Markdown table to stdout, and ``<out>/<date>.json`` and ``<out>/<date>.png``
(``<date>-quick.*`` in quick mode). Peers are optional (``pip install .[bench]``); a peer that
does not import is reported as absent. Nothing here asserts on timings.
"""

from __future__ import annotations

import argparse
import datetime
import faulthandler
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List, Tuple

import contenders as c
import corpus as corpora
import memory
import report
import runner
import timing
import workloads as w

RESULTS = Path(__file__).resolve().parent / "results"


def _probes(
    chosen: List[w.Workload], corpus: corpora.Corpus, timeout_s: float, every_pair: bool
) -> Dict[Tuple[str, str], memory.Probe]:
    """Peak RSS of every runnable (workload, contender), several probes at a time; with
    ``every_pair`` False (the quick mode) only each contender's first workload is probed."""
    jobs, seen = [], set()
    for workload in chosen:
        if runner.missing_corpus(workload, corpus) is not None:
            continue
        for k in workload.contenders:
            if c.missing_library(k) is None and (every_pair or k.label not in seen):
                jobs.append((workload.name, k.label))
                seen.add(k.label)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        found = pool.map(lambda job: memory.probe(corpus.root, job[0], job[1], timeout_s), jobs)
        return dict(zip(jobs, found))


def _arguments(argv: List[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--quick", action="store_true", help="small corpus, short budgets: proves the harness works")
    add("--workloads", nargs="+", default=[], metavar="PATTERN", help="names or shell patterns (default: all)")
    add("--out", type=Path, default=RESULTS, help="where the JSON and PNG go (default: benchmarks/results)")
    add("--corpus", type=Path, default=None, help="corpus cache directory (default: benchmarks/.corpus)")
    add("--list", action="store_true", help="list the workloads and their contenders, then stop")
    return parser.parse_args(argv)


def _measure(chosen: List[w.Workload], corpus: corpora.Corpus, quick: bool) -> List[runner.Result]:
    """Probe memory (every pair, or each contender once when ``quick``), then check and time."""
    print("probing peak RSS of each contender in its own process ...", file=sys.stderr)
    probes = _probes(chosen, corpus, timeout_s=60 if quick else 300, every_pair=not quick)
    results = []
    for workload in chosen:
        print(f"running {workload.name} ...", file=sys.stderr)
        mine = {label: p for (name, label), p in probes.items() if name == workload.name}
        results.append(runner.run(workload, corpus, timing.QUICK if quick else timing.FULL, mine))
    for row in (row for result in results for row in result.rows):  # the record is committed: no local paths
        row.reason = row.reason.replace(str(corpus.root), "<corpus>")
    return results


def main(argv: List[str]) -> int:
    args = _arguments(argv)
    faulthandler.enable()  # if a peer still kills the process in-process, say where
    if args.list:
        for workload in w.all_workloads():
            print(f"{workload.name:22} {workload.title}\n{'':22} {', '.join(k.label for k in workload.contenders)}")
        return 0

    started = time.perf_counter()
    chosen = w.select(args.workloads)
    corpus = corpora.build(corpora.QUICK if args.quick else corpora.FULL, args.corpus,
                           log=lambda m: print(m, file=sys.stderr))
    versions = report.versions()
    for dist, info in versions.items():
        if info["absent"]:
            print(f"absent: {dist} ({info['absent']})", file=sys.stderr)
    load_before = report.load_average()
    results = _measure(chosen, corpus, args.quick)
    print(report.table(results))

    mode = "quick" if args.quick else "full"
    today = datetime.date.today().isoformat()
    stem = today if mode == "full" else f"{today}-{mode}"
    # Only the options that change what is measured: paths would not mean anything elsewhere.
    command = "python benchmarks/compare.py" + (" --quick" if args.quick else "") + (
        " --workloads " + " ".join(args.workloads) if args.workloads else "")
    data = report.record(
        results, date=today, mode=mode, command=command, machine=report.machine(), versions=versions,
        corpus={"spec": corpus.manifest["spec"], "encoders": corpus.encoders,
                "compression_ratios": {k: v["ratios"] for k, v in corpus.manifest["datasets"].items()}},
        plan=(timing.QUICK if args.quick else timing.FULL).__dict__,
        load_average={"before": load_before, "after": report.load_average()},
        duration_s=round(time.perf_counter() - started, 1),
    )
    report.write_json(data, args.out / f"{stem}.json")
    title = f"dicodec vs peers ({mode}, {today}, {data['machine']['cpu']})"
    problem = report.chart(results, args.out / f"{stem}.png", title)
    print(f"\nwrote {args.out / stem}.json" + (f"; {problem}" if problem else f" and {stem}.png"), file=sys.stderr)
    print(f"took {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
