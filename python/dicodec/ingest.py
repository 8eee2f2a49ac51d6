"""Bulk ingest: a tree of DICOM files to a Parquet index and one NumPy volume per series.

:func:`ingest` writes ``OUT/index.parquet`` (the :func:`dicodec.scan` table of every file),
``OUT/series/<SeriesInstanceUID>.npy`` (the volume, slices sorted along the normal) beside
``<SeriesInstanceUID>.json`` (shape, dtype, spacing, affine, instances in slice order,
warnings), and ``OUT/summary.json``. Every file is written under a temporary name and renamed
when complete, the JSON of a series last, so an interrupted run leaves nothing that looks done;
a re-run skips the series whose JSON lists the same source files. :func:`scan_to_parquet` is
the header-only half. Both report progress on stderr when it is a terminal.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence, TextIO, Union

import numpy as np

from .scan import list_files, scan
from .series import SeriesError, group_series, read_group

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["ingest", "scan_to_parquet", "Progress", "Summary"]

PathLike = Union[str, "os.PathLike[str]"]

#: Files per dicodec.scan call: large enough to keep the threads busy, small for a lively bar.
SCAN_CHUNK = 512
_MB = 1e6


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class Progress:
    """A one-line progress bar on ``stream`` (stderr): count, files/s, MB/s and ETA.

    It draws only when ``enabled`` (default: when the stream is a terminal), at most ten times
    a second, and ends its line on :meth:`close`.
    """

    def __init__(self, label: str, total: int, *, stream: Optional[TextIO] = None, enabled: Optional[bool] = None) -> None:
        self.label = label
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.done = 0
        self.bytes = 0
        self.start = time.perf_counter()
        self._drawn = 0.0

    def update(self, count: int, nbytes: int = 0) -> None:
        """Count ``count`` more files of ``nbytes`` bytes."""
        self.done += count
        self.bytes += nbytes
        now = time.perf_counter()
        if self.enabled and now - self._drawn >= 0.1:
            self._drawn = now
            self._draw(now)

    def line(self, now: Optional[float] = None) -> str:
        """The text of the bar."""
        elapsed = max((now or time.perf_counter()) - self.start, 1e-9)
        rate = self.done / elapsed
        fraction = self.done / self.total if self.total else 1.0
        bar = "#" * int(fraction * 20)
        eta = _duration((self.total - self.done) / rate) if rate and self.done < self.total else "--:--"
        return (
            f"{self.label:<6} {self.done}/{self.total} files {fraction:4.0%} [{bar:<20}] "
            f"{rate:,.0f} files/s {self.bytes / _MB / elapsed:,.1f} MB/s ETA {eta}"
        )

    def _draw(self, now: float) -> None:
        self.stream.write("\r" + self.line(now) + "\x1b[K")
        self.stream.flush()

    def close(self) -> None:
        """Draw the final state and end the line."""
        if self.enabled:
            self._draw(time.perf_counter())
            self.stream.write("\n")
            self.stream.flush()


class Summary:
    """What a run did: files and bytes read, errors by kind, series written, throughput."""

    def __init__(self, command: str) -> None:
        self.command = command
        self.files = 0
        self.bytes = 0
        self.errors: Counter = Counter()
        self.non_images = 0
        self.series_written = 0
        self.series_skipped = 0
        self.series_failed: Dict[str, str] = {}
        self.series_warnings = 0
        self.outputs: List[str] = []
        self.seconds = 0.0

    def as_dict(self) -> Dict[str, Any]:
        """The summary as JSON-ready values."""
        return {
            "command": self.command,
            "files": self.files,
            "bytes": self.bytes,
            "seconds": round(self.seconds, 3),
            "file_errors": dict(self.errors),
            "non_image_files": self.non_images,
            "series_written": self.series_written,
            "series_skipped": self.series_skipped,
            "series_failed": dict(self.series_failed),
            "series_with_warnings": self.series_warnings,
            "outputs": self.outputs,
        }

    def text(self) -> str:
        """The closing report, a few lines."""
        seconds = max(self.seconds, 1e-9)
        lines = [
            f"dicodec {self.command}: {self.files} files ({self.bytes / _MB:,.1f} MB) in {self.seconds:.2f} s: "
            f"{self.files / seconds:,.0f} files/s, {self.bytes / _MB / seconds:,.1f} MB/s"
        ]
        errors = ", ".join(f"{count} {kind}" for kind, count in self.errors.most_common())
        lines.append(f"  file errors: {errors or 'none'}; {_count(self.non_images, 'file')} without pixel data")
        if self.command == "ingest":
            failed = Counter(message.split(":", 1)[0] for message in self.series_failed.values())
            found = self.series_written + self.series_skipped + len(self.series_failed)
            lines.append(
                f"  series: {found} found, {self.series_written} written, {self.series_skipped} already done, "
                f"{len(self.series_failed)} failed" + (f" ({', '.join(f'{n} {k}' for k, n in failed.most_common())})" if failed else "")
                + (f", {self.series_warnings} with warnings" if self.series_warnings else "")
            )
            lines.extend(f"  failed {uid}: {message}" for uid, message in sorted(self.series_failed.items()))
        lines.extend(f"  wrote {output}" for output in self.outputs)
        return "\n".join(lines)


def _atomic_write(path: Path, write: Callable[[IO[bytes]], object]) -> None:
    """Write ``path`` through a temporary file in the same folder, renamed only when complete."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        with open(partial, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _json_bytes(value: Any) -> bytes:
    return (json.dumps(value, indent=1) + "\n").encode()


def _save_array(f: IO[bytes], array: np.ndarray) -> None:
    np.save(f, array, allow_pickle=False)


def _scan_with_progress(files: Sequence[str], tags: Optional[Sequence[Any]], threads: Optional[int], progress: Progress) -> "pa.Table":
    import pyarrow as pa
    import pyarrow.compute as pc

    tables = []
    for start in range(0, len(files), SCAN_CHUNK):
        table = scan(files[start : start + SCAN_CHUNK], tags, threads=threads)
        progress.update(table.num_rows, int(pc.sum(table["file_size"]).as_py() or 0))
        tables.append(table)
    progress.close()
    return pa.concat_tables(tables) if tables else scan([], tags)


def _count_files(table: "pa.Table", summary: Summary) -> None:
    errors = table["error"].to_pylist()
    summary.files = table.num_rows
    summary.bytes = sum(size or 0 for size in table["file_size"].to_pylist())
    summary.errors = Counter(error.split(":", 1)[0] for error in errors if error is not None)
    summary.non_images = sum(error is None and rows is None for error, rows in zip(errors, table["Rows"].to_pylist()))


def _write_parquet(table: "pa.Table", path: Path) -> None:
    import pyarrow.parquet as pq

    _atomic_write(path, lambda f: pq.write_table(table, f))


def _default_sources(sources: Optional[Sequence[PathLike]]) -> List[PathLike]:
    if sources:
        return list(sources)
    from .samples import sample_files

    return list(sample_files())


def scan_to_parquet(
    sources: Optional[Sequence[PathLike]] = None,
    out: PathLike = "index.parquet",
    *,
    tags: Optional[Sequence[Any]] = None,
    recursive: bool = True,
    threads: Optional[int] = None,
    progress: Optional[bool] = None,
) -> Summary:
    """Scan ``sources`` (default: the bundled samples) into the Parquet file ``out``."""
    started = time.perf_counter()
    summary = Summary("scan")
    files = list_files(_default_sources(sources), recursive=recursive)
    table = _scan_with_progress(files, tags, threads, Progress("scan", len(files), enabled=progress))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    _write_parquet(table, out)
    _count_files(table, summary)
    summary.outputs.append(str(out))
    summary.seconds = time.perf_counter() - started
    return summary


def _series_stem(uid: str) -> str:
    """The file name stem for a series: the UID itself, or a hash of it when unsafe as a name."""
    if re.fullmatch(r"[0-9A-Za-z][0-9A-Za-z._-]{0,127}", uid):
        return uid
    return "uid-" + hashlib.sha256(uid.encode()).hexdigest()[:32]


def _already_done(meta_path: Path, array_path: Path, sources: List[str], rescale: bool) -> bool:
    if not (meta_path.is_file() and array_path.is_file()):
        return False
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, ValueError):
        return False
    return meta.get("source_files") == sources and meta.get("rescaled") == rescale


def _write_series(rows: "pa.Table", uid: str, folder: Path, rescale: bool, allow_uneven: bool, threads: Optional[int], summary: Summary) -> None:
    sources = sorted(str(path) for path in rows["path"].to_pylist())
    stem = _series_stem(uid)
    meta_path, array_path = folder / f"{stem}.json", folder / f"{stem}.npy"
    if _already_done(meta_path, array_path, sources, rescale):
        summary.series_skipped += 1
        return
    try:
        volume = read_group(rows, rescale=rescale, allow_uneven=allow_uneven, threads=threads)
    except (ValueError, OSError) as exc:  # SeriesError, DicomError, or files gone since the scan
        reason = exc.message if isinstance(exc, SeriesError) else str(exc)
        summary.series_failed[uid] = f"{type(exc).__name__}: {reason}"
        return
    meta = volume.metadata()
    meta["array"] = array_path.name
    meta["source_files"] = sources
    _atomic_write(array_path, lambda f: _save_array(f, volume.array))
    _atomic_write(meta_path, lambda f: f.write(_json_bytes(meta)))
    summary.series_written += 1
    summary.series_warnings += bool(volume.warnings)


def ingest(
    sources: Optional[Sequence[PathLike]] = None,
    out: PathLike = "dicodec-out",
    *,
    tags: Optional[Sequence[Any]] = None,
    rescale: bool = False,
    allow_uneven: bool = False,
    recursive: bool = True,
    threads: Optional[int] = None,
    progress: Optional[bool] = None,
) -> Summary:
    """Scan ``sources`` (default: the bundled samples) and write the index and volumes to ``out``.

    ``tags`` adds index columns (keywords or tags); ``rescale`` and ``allow_uneven`` are those
    of :func:`dicodec.read_series`. A series that cannot be stacked is reported in the summary
    (and ``summary.json``) and the run goes on. Returns the :class:`Summary`.
    """
    started = time.perf_counter()
    summary = Summary("ingest")
    out = Path(out)
    folder = out / "series"
    folder.mkdir(parents=True, exist_ok=True)
    files = list_files(_default_sources(sources), recursive=recursive)
    table = _scan_with_progress(files, tags, threads, Progress("scan", len(files), enabled=progress))
    _write_parquet(table, out / "index.parquet")
    _count_files(table, summary)
    groups = group_series(table)
    bar = Progress("series", sum(rows.num_rows for rows in groups.values()), enabled=progress)
    for uid, rows in groups.items():
        if uid is None:
            summary.series_failed["(none)"] = f"SeriesError: {rows.num_rows} image files have no SeriesInstanceUID"
        else:
            _write_series(rows, uid, folder, rescale, allow_uneven, threads, summary)
        bar.update(rows.num_rows, sum(size or 0 for size in rows["file_size"].to_pylist()))
    bar.close()
    volumes = summary.series_written + summary.series_skipped
    summary.outputs += [str(out / "index.parquet"), f"{folder}{os.sep} ({volumes} volumes)", str(out / "summary.json")]
    summary.seconds = time.perf_counter() - started
    _atomic_write(out / "summary.json", lambda f: f.write(_json_bytes(summary.as_dict())))
    return summary
