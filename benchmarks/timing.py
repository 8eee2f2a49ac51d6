"""Interleaved timing that stays honest on a noisy machine.

Contenders take turns, round after round (A B C, B C A, C A B, ...), so that a burst of load
from elsewhere hits all of them alike instead of whichever happened to run then; the order
rotates so that no one always runs first after a collection (a full one before the workload,
of the young generations between rounds). Every contender has already been called once (the
correctness check) when timing starts, so each timed call is warm.

The first round also measures how long a call takes (the fastest of a few, since the first
call after a collection runs cold): calls much shorter than ``sample_s`` are repeated within
one sample so that a sample is long against the clock. Each contender gets an
equal share of the budget, as many rounds as fit in it between ``min_rounds`` and
``max_rounds``: a slow peer stops after ``min_rounds`` while the fast ones go on taking turns
among themselves. The summary is the median, with the min and max beside it; a ratio between
two contenders is the median of their per-round ratios (:func:`paired_ratio`), since two
samples of one round were taken side by side and share the machine's load of the moment.
"""

from __future__ import annotations

import gc
import math
import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional


@dataclass(frozen=True)
class Plan:
    """How long to spend on one workload, and the bounds on each contender's rounds."""

    budget_s: float
    min_rounds: int
    max_rounds: int
    #: A sample should last at least this long; faster calls are repeated within it.
    sample_s: float


#: Plans for the full comparison and for the quick mode (which only proves the harness works).
FULL = Plan(budget_s=6.0, min_rounds=3, max_rounds=300, sample_s=0.005)
QUICK = Plan(budget_s=0.1, min_rounds=1, max_rounds=5, sample_s=0.001)


@dataclass
class Timing:
    """Seconds per call of one contender, one value per round."""

    samples: List[float] = field(default_factory=list)
    #: The round each sample was taken in (0 for the first).
    rounds: List[int] = field(default_factory=list)
    #: Calls per sample.
    inner: int = 1
    #: What it raised, if a call failed while being timed (it is then dropped).
    error: Optional[str] = None

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def min(self) -> float:
        return min(self.samples)

    @property
    def max(self) -> float:
        return max(self.samples)


#: Calls after the first whose fastest sets how many calls make a sample, made when the first
#: took less than ``CALIBRATE_BELOW`` samples (slower calls are not worth repeating).
CALIBRATION_CALLS = 3
CALIBRATE_BELOW = 20


def _time(fn: Callable[[], Any], inner: int) -> float:
    start = time.perf_counter_ns()
    for _ in range(inner):
        fn()
    return (time.perf_counter_ns() - start) / inner / 1e9


def interleaved(calls: Dict[str, Callable[[], Any]], plan: Plan) -> Dict[str, Timing]:
    """Time every callable of ``calls`` in interleaved rounds. A callable that raises is
    dropped, with the error kept in its :class:`Timing`."""
    timings = {label: Timing() for label in calls}
    live = dict(calls)

    def sample(label: str, inner: int) -> Optional[float]:
        try:
            return _time(live[label], inner)
        except Exception as exc:
            timings[label].error = f"{type(exc).__name__}: {exc}"
            del live[label]
            return None

    gc.collect()
    share = plan.budget_s / max(1, len(calls))
    rounds: Dict[str, int] = {}
    for label in list(live):  # the first round, one call each: a sample when one call is long enough
        first = sample(label, 1)
        if first is None:
            continue
        timing = timings[label]
        # Calls are repeated by how long a warm one takes: the first after the collection
        # can be many times slower, and repeating by it made samples far shorter than
        # `sample_s`, each starting cold after the other contenders.
        warm: List[float] = []
        for _ in range(CALIBRATION_CALLS if first < CALIBRATE_BELOW * plan.sample_s else 0):
            seconds = sample(label, 1)
            if seconds is None:
                break
            warm.append(seconds)
        if label not in live:
            continue
        pace = min([first, *warm])
        timing.inner = max(1, math.floor(plan.sample_s / max(pace, 1e-9)))
        if timing.inner == 1:
            timing.samples.append(first)
            timing.rounds.append(0)
        rounds[label] = max(plan.min_rounds, min(plan.max_rounds, int(share / (pace * timing.inner))))
    for r in range(1, max(rounds.values(), default=0) + 1):
        gc.collect(1)  # the young garbage of the last round; a full collection costs ~20 ms here
        labels = [label for label in live if len(timings[label].samples) < rounds[label]]
        shift = r % max(1, len(labels))
        for label in labels[shift:] + labels[:shift]:
            seconds = sample(label, timings[label].inner)
            if seconds is not None:
                timings[label].samples.append(seconds)
                timings[label].rounds.append(r)
    return timings


def paired_ratio(slow: Timing, fast: Timing) -> float:
    """How many times longer a call of ``slow`` takes than one of ``fast``: the median, over the
    rounds after the first that both were timed in, of the ratio of their samples in that round.
    The VM this runs on has bursts of load from elsewhere that last longer than a sample;
    pairing samples by round cancels them, where a ratio of medians moves with whichever
    contender a burst happened to hit more often. With fewer than three shared rounds it is the
    ratio of the medians."""
    # Round 0 is left out: it runs in a fixed order, straight after a full collection, and
    # only contenders whose single call fills a sample have a sample in it.
    by_round = {r: seconds for r, seconds in zip(fast.rounds, fast.samples) if r > 0}
    ratios = [seconds / by_round[r] for r, seconds in zip(slow.rounds, slow.samples) if r in by_round]
    if len(ratios) < 3:
        return slow.median / fast.median
    return statistics.median(ratios)
