"""What a comparison run leaves behind: the table on stdout, the JSON record and the chart.

The table is Markdown, so that the README can quote it as printed. Throughput is decoded
output in MB/s (10^6 bytes) for pixel work, files/s for header work and calls/s for tag access;
"dicodec x" is how many times faster dicodec is than that row: the median of the ratios of
the two contenders' samples taken in the same round, side by side (see timing.paired_ratio).
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any, Dict, List, Optional

import contenders as c
from runner import CRASHED, WRONG, Result, Row

#: The issues' targets, checked (not asserted) on every run: (workload, peer, minimum speed-up,
#: and the dicodec row measured when it is not the workload's own) and the per-call ceiling of
#: tag access. The tree scan runs dicodec and the pydicom pool on every core, so their ratio is
#: the per-core one. RGB RLE is held to the target both ways: as pixels, which imagecodecs does
#: not interleave, and as the planes it returns.
SPEEDUP_TARGETS = (
    ("header-scan", "pydicom", 100.0, "dicodec"),
    ("header-scan", "dicomsdl", 5.0, "dicodec"),
    ("scan-tree", c.POOL_LABEL, 50.0, "dicodec"),
    *((name, "imagecodecs.dicomrle_decode", 3.0, "dicodec") for name in ("codec/rle", "codec/rle-ct", "codec/rle-rgb")),
    ("codec/rle-rgb", "imagecodecs.dicomrle_decode", 3.0, "dicodec (planes)"),
    *((f"codec/jpegll-ct-p{predictor}", "imagecodecs.jpeg8_decode", 2.0, "dicodec") for predictor in range(1, 8)),
    ("codec/jpegll-rgb", "imagecodecs.jpeg8_decode", 2.0, "dicodec"),
    ("codec/be", "numpy byteswap", 1.5, "dicodec"),
)
TAG_ACCESS_TARGET_S = 20e-6


# -- environment --------------------------------------------------------------------------------


def machine() -> Dict[str, Any]:
    """The CPU, cores, memory, OS and Python this run had."""
    info: Dict[str, Any] = {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "cores_usable": usable_cores(),
        "platform": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
    }
    try:
        info["memory_gb"] = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9, 1)
    except (ValueError, OSError, AttributeError):
        pass
    return info


def usable_cores() -> int:
    """The cores this process may run on (its affinity where the OS has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def load_average() -> Optional[List[float]]:
    """The 1, 5 and 15-minute load averages (None where the OS has none): how busy the machine
    was with other work, which no interleaving fully cancels."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (OSError, AttributeError):
        return None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def versions() -> Dict[str, Dict[str, Optional[str]]]:
    """Every library a contender may use: its version, or why it is absent."""
    found: Dict[str, Dict[str, Optional[str]]] = {}
    for dist, module in {**c.LIBRARIES, "matplotlib": "matplotlib", "pytest-benchmark": "pytest_benchmark"}.items():
        try:
            imported = __import__(module)
            version = getattr(imported, "__version__", None) or metadata.version(dist)
            found[dist] = {"version": str(version), "absent": None}
        except Exception as exc:
            found[dist] = {"version": None, "absent": f"{type(exc).__name__}: {exc}"}
    found["dicodec"]["commit"] = _git_commit()
    return found


def _git_commit() -> Optional[str]:
    """``git describe`` of the checkout, or ``DICODEC_COMMIT`` where the checkout's history is
    not the build's (a copy of the tree run on another machine)."""
    if os.environ.get("DICODEC_COMMIT"):
        return os.environ["DICODEC_COMMIT"]
    try:
        done = subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True, text=True,
                              cwd=Path(__file__).resolve().parent, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None


# -- numbers ------------------------------------------------------------------------------------


def throughput(result: Result, row: Row) -> Optional[float]:
    """The row's median throughput in the workload's unit."""
    if row.timing is None:
        return None
    amount = {"MB/s": result.work.bytes / 1e6, "files/s": result.work.files, "calls/s": result.work.items}
    return amount[result.workload.unit] / row.timing.median


def per_item(result: Result, row: Row) -> Optional[float]:
    """Median seconds per item (file, frame or call) of the row."""
    return None if row.timing is None else row.timing.median / max(1, result.work.items)


def _seconds(value: Optional[float]) -> str:
    if value is None:
        return ""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if value >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value / 1e-9:.3g} ns"


def _number(value: Optional[float], digits: int = 3) -> str:
    if value is None:
        return ""
    return f"{value:,.0f}" if value >= 10 ** digits else f"{value:.{digits}g}"


def targets(results: List[Result]) -> List[Dict[str, Any]]:
    """The targets with what this run measured (None where it could not)."""
    by_name = {r.workload.name: r for r in results}
    found = []
    for workload, peer, minimum, ours in SPEEDUP_TARGETS:
        result = by_name.get(workload)
        row = result.row(peer) if result else None
        base = result.row(ours) if result else None
        measured = result.speedup(row, base) if result and row and base else None
        found.append({"target": f"{workload}: {ours} ≥ {minimum:g}× {peer}", "unit": "×", "measured": measured,
                      "met": None if measured is None else measured >= minimum})
    result = by_name.get("tag-access")
    row = result.dicodec if result else None
    measured = per_item(result, row) if result and row else None
    found.append({"target": f"tag-access: dcmread + one tag ≤ {TAG_ACCESS_TARGET_S * 1e6:g} µs", "unit": "s",
                  "measured": measured, "met": None if measured is None else measured <= TAG_ACCESS_TARGET_S})
    return found


# -- the tables ---------------------------------------------------------------------------------


def summary(results: List[Result]) -> str:
    """One line per workload: dicodec against its fastest correct peer, its fastest pydicom
    and the memcpy ceiling, and who gave a wrong answer or crashed."""
    lines = [
        "| workload | unit | dicodec | fastest peer | dicodec × that peer | dicodec × pydicom | share of memcpy"
        " | wrong or crashed |",
        "|---|---|--:|---|--:|--:|--:|---|",
    ]
    for result in results:
        base = result.dicodec
        mine = next((row for row in result.rows if row.role == c.DICODEC), None)
        timed = [row for row in result.rows if row.timing and row.role == c.PEER]
        fastest = max(timed, key=lambda row: _speed(result, row), default=None)
        pydicom = max((row for row in timed if row.label.startswith("pydicom")),
                      key=lambda row: _speed(result, row), default=None)
        memcpy = result.row("numpy memcpy")
        share = _speed(result, base) / _speed(result, memcpy) if base and memcpy and memcpy.timing else None
        lines.append(" | ".join([
            f"| {result.workload.name}", result.workload.unit,
            _number(throughput(result, base)) if base else (mine.status if mine else ""),
            fastest.label if fastest else "",
            _ratio(result.speedup(fastest) if fastest else None),
            _ratio(result.speedup(pydicom) if pydicom else None),
            _number(share, 2),
            ", ".join(row.label for row in result.rows if row.status in (WRONG, CRASHED)),
        ]) + " |")
    return "\n".join(lines)


def _speed(result: Result, row: Row) -> float:
    """The throughput of a row that was timed."""
    return throughput(result, row) or 0.0


def _ratio(value: Optional[float]) -> str:
    return "" if value is None else f"{_number(value, 2)}×"


def table(results: List[Result]) -> str:
    """The Markdown report: the summary, one table per workload, the targets and the reasons."""
    lines: List[str] = ["### Summary", "", summary(results), ""]
    notes: Dict[str, int] = {}
    for result in results:
        w = result.workload
        checked = f"checked against {result.reference}" if result.reference else "unchecked"
        lines += [f"### {w.name}: {w.title}", f"{w.unit}; times are per {w.item}; {checked}", "",
                  "| contender | status | median | min | max | " + w.unit + " | peak RSS MB | dicodec × |",
                  "|---|---|--:|--:|--:|--:|--:|--:|"]
        for row in result.rows:
            status = row.status
            if row.reason:
                number = notes.setdefault(row.reason, len(notes) + 1)
                status = f"{status} [{number}]"
            t = row.timing
            item = max(1, result.work.items)
            peak = row.memory.peak_mb if row.memory and row.memory.peak_mb is not None else None
            lines.append(" | ".join([
                f"| {row.label}", status,
                _seconds(per_item(result, row)),
                _seconds(t.min / item) if t else "", _seconds(t.max / item) if t else "",
                _number(throughput(result, row)), _number(peak, 4),
                _ratio(result.speedup(row)),
            ]) + " |")
        lines.append("")
    lines += ["### Targets", ""]
    for target in targets(results):
        measured = target["measured"]
        shown = "not measured" if measured is None else (
            _seconds(measured) if target["unit"] == "s" else f"{measured:.3g}×")
        verdict = {True: "met", False: "NOT met", None: "n/a"}[target["met"]]
        lines.append(f"- {target['target']}: {shown} ({verdict})")
    if notes:
        lines += ["", "### Notes", ""] + [f"{n}. {reason}" for reason, n in notes.items()]
    return "\n".join(lines)


# -- JSON and chart -----------------------------------------------------------------------------


def record(results: List[Result], **context: Any) -> Dict[str, Any]:
    """Everything about the run as plain data (no absolute paths: the record is committed)."""
    workloads = []
    for result in results:
        rows = []
        for row in result.rows:
            entry: Dict[str, Any] = {"contender": row.label, "role": row.role, "status": row.status}
            if row.reason:
                entry["reason"] = row.reason
            if row.timing:
                entry.update(median_s=row.timing.median, min_s=row.timing.min, max_s=row.timing.max,
                             rounds=len(row.timing.samples), calls_per_sample=row.timing.inner,
                             per_item_s=per_item(result, row), throughput=throughput(result, row),
                             dicodec_speedup=result.speedup(row))
            if row.memory and row.memory.peak_mb is not None:
                entry.update(peak_rss_mb=row.memory.peak_mb, rss_rise_mb=row.memory.delta_mb)
            rows.append(entry)
        workloads.append({"name": result.workload.name, "capability": result.workload.capability,
                          "title": result.workload.title, "unit": result.workload.unit, "item": result.workload.item,
                          "work_per_call": dataclasses.asdict(result.work), "reference": result.reference,
                          "rows": rows})
    return {**context, "targets": targets(results), "workloads": workloads}


def write_json(data: Dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")


_COLOURS = {c.DICODEC: "#d62728", c.VARIANT: "#ff9896", c.PEER: "#7f7f7f", c.REFERENCE: "#9ecae1"}
#: Rows drawn without a bar: a wrong answer or a crash is part of the result.
_MARKED = (WRONG, CRASHED)


def chart(results: List[Result], path: Path, title: str) -> Optional[str]:
    """A bar chart of throughput per workload (log scale); the reason when none can be drawn."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.patches import Patch
        from matplotlib.ticker import NullFormatter
    except ImportError as exc:
        return f"no chart: matplotlib not installed ({exc})"
    drawn = [r for r in results if any(row.timing for row in r.rows)]
    if not drawn:
        return "no chart: nothing was timed"
    columns = 3
    fig, axes = plt.subplots(-(-len(drawn) // columns), columns, figsize=(6 * columns, 2.6 * -(-len(drawn) // columns)),
                             squeeze=False)
    for ax, result in zip(axes.flat, drawn):
        shown = [row for row in result.rows if row.timing or row.status in _MARKED]
        for y, row in enumerate(shown):
            value = throughput(result, row)
            if value is None:
                ax.text(0.01, y, row.status, va="center", fontsize=7, color=_COLOURS[c.DICODEC],
                        transform=ax.get_yaxis_transform())
                continue
            ax.barh(y, value, color=_COLOURS[row.role])
            ax.text(value, y, f" {_number(value)}", va="center", fontsize=6)
        ax.set_yticks(range(len(shown)), [row.label for row in shown], fontsize=7)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_title(result.workload.name, fontsize=9)
        ax.set_xlabel(result.workload.unit, fontsize=7)
        ax.tick_params(axis="x", labelsize=7)
    for ax in list(axes.flat)[len(drawn):]:
        ax.axis("off")
    fig.legend(handles=[Patch(color=colour, label=role) for role, colour in _COLOURS.items()],
               loc="upper right", ncol=4, fontsize=8, frameon=False)
    fig.suptitle(title, fontsize=10, x=0.01, ha="left")
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None
