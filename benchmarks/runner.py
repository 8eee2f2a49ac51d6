"""Running one workload: every contender is checked against the right answer, then the correct
ones are timed together.

A contender's row ends in one status: ``ok`` (checked and timed), ``WRONG`` (its answer
differs; not timed, since a fast wrong answer is not a result), ``CRASHED`` (its probe process
died), ``ERROR`` (it raised), ``absent`` (a library it needs does not import) or ``n/a`` (it
cannot do this work: no such API, or not in this dicodec build).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

import contenders as c
from corpus import Corpus
from memory import CRASHED as PROBE_CRASHED
from memory import Probe
from timing import Plan, Timing, interleaved, paired_ratio
from workloads import Work, Workload

OK, WRONG, CRASHED, ERROR, ABSENT, NOT_AVAILABLE = "ok", "WRONG", "CRASHED", "ERROR", "absent", "n/a"
#: Header workloads have no ground truth: the answer is dicodec's, else pydicom's.
REFERENCE_ORDER = ("dicodec", "pydicom")


@dataclass
class Row:
    """One contender's outcome on one workload."""

    label: str
    role: str
    status: str = OK
    reason: str = ""
    timing: Optional[Timing] = None
    memory: Optional[Probe] = None


@dataclass
class Result:
    """One workload's rows, with how much work one call is and where the right answer came from."""

    workload: Workload
    work: Work = field(default_factory=Work)
    rows: List[Row] = field(default_factory=list)
    reference: str = ""

    def row(self, label: str) -> Optional[Row]:
        return next((r for r in self.rows if r.label == label), None)

    @property
    def dicodec(self) -> Optional[Row]:
        """The dicodec row every ratio is taken against, when it was timed."""
        row = next((r for r in self.rows if r.role == c.DICODEC), None)
        return row if row is not None and row.timing is not None else None

    def speedup(self, row: Row, base: Optional[Row] = None) -> Optional[float]:
        """How many times faster dicodec (or the row ``base``) is than ``row``: the median of
        the per-round ratios (see :func:`timing.paired_ratio`)."""
        base = self.dicodec if base is None else base
        if base is None or base.timing is None or row.timing is None or row is base:
            return None
        return paired_ratio(row.timing, base.timing)


def missing_corpus(workload: Workload, corpus: Corpus) -> Optional[str]:
    """Why the corpus cannot feed ``workload`` (an encoder was absent when it was built)."""
    for dataset, encoding in workload.needs:
        if not corpus.has(dataset, encoding):
            return f"no {encoding} {dataset} in the corpus: {corpus.encoders.get(encoding, 'not built')}"
    return None


def prepare(workload: Workload, contender: c.Contender, inputs: c.Inputs) -> Tuple[Optional[Callable[[], Any]], Row]:
    """The contender's timed call, or a row saying why there is none."""
    row = Row(contender.label, contender.role)
    missing = c.missing_library(contender)
    if missing:
        row.status, row.reason = ABSENT, missing
        return None, row
    try:
        return workload.call(contender, inputs), row
    except c.Unavailable as exc:
        row.status, row.reason = NOT_AVAILABLE, str(exc)
    except Exception as exc:
        row.status, row.reason = ERROR, f"{type(exc).__name__}: {exc}"
    return None, row


def answer(contender: c.Contender, call: Callable[[], Any], row: Row) -> Any:
    """The contender's extracted answer; on an exception the row says ERROR and None comes back."""
    try:
        return contender.extract(call())
    except Exception as exc:
        row.status, row.reason = ERROR, f"{type(exc).__name__}: {exc}"
        return None


def reference_answer(
    workload: Workload, corpus: Corpus, inputs: c.Inputs, answers: Dict[str, Any], compute: bool
) -> Tuple[Any, str]:
    """The right answer and who gave it: the corpus's pixels, else dicodec's or pydicom's answer,
    taken from ``answers`` (or, with ``compute``, worked out when missing there); (None, "")
    when nobody can say."""
    if workload.expected is not None:
        return workload.expected(corpus, inputs), "corpus"
    for label in REFERENCE_ORDER:
        if label not in answers and compute:
            contender = workload.contender(label)
            call, row = prepare(workload, contender, inputs)
            value = answer(contender, call, row) if call is not None else None
            if row.status == OK:
                answers[label] = value
        if label in answers:
            return answers[label], label
    return None, ""


def run(workload: Workload, corpus: Corpus, plan: Plan, probes: Dict[str, Probe]) -> Result:
    """Check every contender of ``workload``, then time the correct ones together."""
    result = Result(workload)
    lacking = missing_corpus(workload, corpus)
    if lacking:
        result.rows = [Row(k.label, k.role, NOT_AVAILABLE, lacking) for k in workload.contenders]
        return result
    inputs = workload.setup(corpus)
    result.work = workload.work(corpus, inputs)
    calls: Dict[str, Callable[[], Any]] = {}
    answers: Dict[str, Any] = {}
    for contender in workload.contenders:
        probe = probes.get(contender.label)
        if probe is not None and probe.status == PROBE_CRASHED:
            result.rows.append(Row(contender.label, contender.role, CRASHED, probe.reason, memory=probe))
            continue
        call, row = prepare(workload, contender, inputs)
        row.memory = probe
        result.rows.append(row)
        if call is not None:
            value = answer(contender, call, row)
            if row.status == OK:
                calls[contender.label], answers[contender.label] = call, value
    expected, result.reference = reference_answer(workload, corpus, inputs, answers, compute=False)
    for row in result.rows:
        if row.label not in answers:
            continue
        if not result.reference:
            row.status, row.reason = NOT_AVAILABLE, "unchecked: neither dicodec nor pydicom gave a reference answer"
        else:
            problem = workload.check(expected, answers[row.label])
            if problem:
                row.status, row.reason = WRONG, f"differs from {result.reference}: {problem}"
        if row.status != OK:
            del calls[row.label]
    del expected
    answers.clear()  # the answers can be large; let them go before timing
    rows = {row.label: row for row in result.rows}
    for label, measured in interleaved(calls, plan).items():
        row = rows[label]
        if measured.error:
            row.status, row.reason = ERROR, f"while timed: {measured.error}"
        else:
            row.timing = measured
    return result
