"""Peak resident memory of one contender doing one call of one workload, in a process of its own.

Each probe is a fresh child process: it prepares the workload's inputs and the contender,
notes its high-water RSS, makes the call once and notes it again, then extracts the answer as
the harness will. Running apart also keeps a peer that kills its process (GDCM asserts,
dicomsdl segfaults) from taking the harness down: a probe that dies marks the contender
CRASHED and it is never run in-process.

Children come from a fork server that has imported only numpy and the harness, so every peak
includes that same baseline (about 30 MB) and no peer's libraries but the contender's own;
where fork servers do not exist (Windows) each child is spawned instead.
"""

from __future__ import annotations

import multiprocessing
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

OK, NOT_AVAILABLE, ERROR, CRASHED = "ok", "n/a", "ERROR", "CRASHED"
_HARNESS = ["numpy", "contenders", "corpus", "workloads", "memory"]


@dataclass(frozen=True)
class Probe:
    """What one probe found: peak RSS in MiB, and its rise during the call."""

    status: str
    peak_mb: Optional[float] = None
    delta_mb: Optional[float] = None
    reason: str = ""


def _context() -> Any:
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(_HARNESS)
        return context
    return multiprocessing.get_context("spawn")


_CONTEXT = _context()


def probe(corpus_root: Path, workload: str, label: str, timeout_s: float) -> Probe:
    """Run ``label`` on ``workload`` once in a child process and measure it."""
    receiver, sender = _CONTEXT.Pipe(duplex=False)
    child = _CONTEXT.Process(target=_child, args=(sender, str(corpus_root), workload, label), daemon=True)
    child.start()
    sender.close()
    found = None
    try:
        answered = receiver.poll(timeout_s)  # also true when the child died: recv then fails
        if answered:
            try:
                found = Probe(**receiver.recv())
            except EOFError:
                pass
    finally:
        child.join(5 if answered else 0)
        if child.is_alive():
            child.kill()
            child.join()
        receiver.close()
    if found is not None:
        return found
    if not answered:
        return Probe(CRASHED, reason=f"no answer within {timeout_s:.0f} s")
    if child.exitcode is not None and child.exitcode < 0:
        return Probe(CRASHED, reason=f"killed by {signal.Signals(-child.exitcode).name}")
    return Probe(CRASHED, reason=f"exit status {child.exitcode} without an answer")


def _max_rss_mb() -> Optional[float]:
    """The process's high-water resident set in MiB (None where the OS does not say)."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes on macOS, KiB elsewhere


def _measure(corpus_root: str, workload_name: str, label: str) -> Probe:
    from contenders import Unavailable
    from corpus import Corpus
    from workloads import by_name

    workload = by_name(workload_name)
    contender = workload.contender(label)
    try:
        call = workload.call(contender, workload.setup(Corpus(Path(corpus_root))))
    except Unavailable as exc:
        return Probe(NOT_AVAILABLE, reason=str(exc))
    before = _max_rss_mb()
    try:
        output = call()
        after = _max_rss_mb()
        contender.extract(output)  # the harness will do this in-process too: it must not crash
    except Exception as exc:
        return Probe(ERROR, reason=f"{type(exc).__name__}: {exc}")
    if after is None or before is None:
        return Probe(OK)
    return Probe(OK, round(after, 1), round(after - before, 1))


def _child(sender: Any, corpus_root: str, workload_name: str, label: str) -> None:
    try:
        found = _measure(corpus_root, workload_name, label)
    except Exception as exc:
        found = Probe(ERROR, reason=f"{type(exc).__name__}: {exc}")
    sender.send(found.__dict__)
