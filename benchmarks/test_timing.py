"""The harness's own arithmetic: ratios between contenders pair their samples by round."""

from __future__ import annotations

import time

import pytest

from timing import Plan, Timing, interleaved, paired_ratio


def test_a_burst_in_one_round_does_not_move_the_ratio():
    # Round 2 ran under load: both samples of it are three times slower.
    fast = Timing(samples=[1.0, 1.0, 3.0, 1.0, 1.0, 1.0], rounds=[0, 1, 2, 3, 4, 5])
    slow = Timing(samples=[5.0, 2.0, 6.0, 2.0], rounds=[0, 1, 2, 3])
    assert paired_ratio(slow, fast) == 2.0  # round 0 (5.0 against 1.0) is not paired
    # Rounds 1 to 3 ran under load, for both. Most of the slow contender's rounds are loaded,
    # few of the fast one's: the ratio of medians doubles, the paired ratio does not move.
    loaded = Timing(samples=[6.0, 6.0, 6.0, 2.0], rounds=[1, 2, 3, 4])
    calm = Timing(samples=[3.0, 3.0, 3.0, 1.0, 1.0, 1.0, 1.0], rounds=[1, 2, 3, 4, 5, 6, 7])
    assert paired_ratio(loaded, calm) == 2.0
    assert loaded.median / calm.median == 6.0


def test_too_few_shared_rounds_fall_back_to_medians():
    fast = Timing(samples=[1.0, 2.0, 2.0], rounds=[3, 4, 5])
    slow = Timing(samples=[6.0, 6.0, 6.0], rounds=[0, 1, 5])
    assert paired_ratio(slow, fast) == pytest.approx(3.0)


def test_interleaved_records_the_round_of_every_sample():
    calls = {"a": lambda: sum(range(100)), "b": lambda: sum(range(1000))}
    timings = interleaved(calls, Plan(budget_s=0.02, min_rounds=3, max_rounds=10, sample_s=0.0005))
    for timing in timings.values():
        assert len(timing.rounds) == len(timing.samples) >= 3
        assert timing.rounds == sorted(set(timing.rounds))
    assert paired_ratio(timings["b"], timings["a"]) > 0


def test_calls_are_repeated_by_how_long_a_warm_one_takes():
    slow_first = {"calls": 0}

    def call() -> None:
        slow_first["calls"] += 1
        if slow_first["calls"] == 1:
            time.sleep(0.01)  # a cold first call, a hundred times a warm one

    timings = interleaved({"a": call}, Plan(budget_s=0.02, min_rounds=1, max_rounds=3, sample_s=0.005))
    # Repeated by the cold call, a sample would hold a single call; by a warm one, many.
    assert timings["a"].inner > 10
