"""pytest-benchmark suites over the same workloads and contenders as ``compare.py``.

Each ``bench_*.py`` names its workloads in ``WORKLOADS``; every (workload, contender) pair
becomes one test, grouped by workload. Under the project's default ``--benchmark-disable``
each runs once and is checked, so the suites are plain tests (``ci/bench.sh``); to time them:

    pytest benchmarks/ --benchmark-enable --benchmark-group-by=group

A peer that is not installed is skipped with its name in the reason, and so is a dicodec
function this build does not have yet ("dicodec.<name> not available in this build"). A wrong
answer fails the test when it is dicodec's; a peer's wrong answer skips it as WRONG, untimed.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

import contenders as c
import corpus as corpora
import runner
import workloads as w


def pytest_collect_file(file_path, parent):
    """Collect ``bench_*.py`` too (the project's ``python_files`` is pytest's default); a file
    named on the command line is collected by pytest itself."""
    if file_path.suffix == ".py" and file_path.name.startswith("bench_") and not parent.session.isinitpath(file_path):
        return pytest.Module.from_parent(parent, path=file_path)
    return None


def pytest_generate_tests(metafunc):
    """Parametrise ``case`` over every contender of the module's ``WORKLOADS``."""
    if "case" in metafunc.fixturenames:
        pairs = [(wl.name, k.label) for wl in w.select(metafunc.module.WORKLOADS) for k in wl.contenders]
        metafunc.parametrize("case", pairs, ids=[f"{name}:{label}" for name, label in pairs], indirect=True)


@pytest.fixture(scope="session")
def corpus() -> corpora.Corpus:
    """The small corpus of the quick mode, built once and cached."""
    return corpora.build(corpora.QUICK, log=lambda message: None)


@pytest.fixture
def case(request, corpus: corpora.Corpus, benchmark) -> Case:
    """The (workload, contender) pair of this test, ready to run."""
    name, label = request.param
    return Case(w.by_name(name), label, corpus, benchmark)


class Case:
    """One contender on one workload: skip if it cannot run, check its answer, then benchmark it."""

    def __init__(self, workload: w.Workload, label: str, corpus: corpora.Corpus, benchmark: Any) -> None:
        self.workload, self.contender = workload, workload.contender(label)
        self.corpus, self.benchmark = corpus, benchmark

    def run(self) -> None:
        workload, contender = self.workload, self.contender
        # Like pytest.importorskip, but any import failure (a broken wheel too) means absent.
        missing = c.missing_library(contender)
        if missing:
            pytest.skip(missing)
        lacking = runner.missing_corpus(workload, self.corpus)
        if lacking:
            pytest.skip(lacking)
        inputs = workload.setup(self.corpus)
        try:
            call = workload.call(contender, inputs)
        except c.Unavailable as exc:
            pytest.skip(str(exc))
        answer = contender.extract(call())
        answers = {contender.label: answer}
        expected, reference = runner.reference_answer(workload, self.corpus, inputs, answers, compute=True)
        if not reference:
            pytest.skip("unchecked: neither dicodec nor pydicom gave a reference answer")
        problem = workload.check(expected, answer)
        if problem and contender.role in (c.DICODEC, c.VARIANT):
            pytest.fail(f"{contender.label} differs from {reference}: {problem}")
        if problem:
            pytest.skip(f"WRONG: {contender.label} differs from {reference}: {problem}")
        work = dataclasses.asdict(workload.work(self.corpus, inputs))
        self.benchmark.group = workload.name
        self.benchmark.extra_info.update(unit=workload.unit, item=workload.item, **work)
        self.benchmark(call)
