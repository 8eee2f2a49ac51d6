"""The ``dicodec`` command: ``info``, ``dump``, ``scan`` and ``ingest``.

``info`` and ``dump`` describe files; ``scan`` writes the header table of a tree of files to
Parquet; ``ingest`` writes that table and one volume per series. With no FILE or SRC, the
commands run over the sample files bundled in the package.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence

import numpy as np

from . import _native
from .dataset import DataElement, Dataset, FileDataset, dcmread
from .errors import DicomError
from .samples import sample_files

_VALUE_WIDTH = 60
_PIXEL_TAGS = (0x7FE00008, 0x7FE00009, 0x7FE00010)


def _shown(element: DataElement) -> str:
    value = element.value
    if element.VR == "SQ":
        return f"<{len(value)} item{'s' if len(value) != 1 else ''}>"
    if isinstance(value, np.ndarray):
        return f"<{value.nbytes} bytes>"
    text = "\\".join(map(str, value)) if isinstance(value, list) else str(value if value is not None else "")
    return text if len(text) <= _VALUE_WIDTH else text[: _VALUE_WIDTH - 3] + "..."


def _length(element: DataElement) -> str:
    return "undefined" if element.length == 0xFFFFFFFF else str(element.length)


def dump_lines(dataset: Dataset, depth: int = 0) -> Iterable[str]:
    """The dcmdump-style tree of a data set: tag, VR, length, keyword, value."""
    indent = "  " * depth
    for element in dataset:
        keyword = element.keyword or ("PrivateCreator" if element.tag.is_private_creator else "")
        yield f"{indent}{element.tag} {element.VR} #{_length(element):>9} {keyword:<32} {_shown(element)}"
        if element.VR == "SQ":
            for number, item in enumerate(element.value, 1):
                yield f"{indent}  item {number}"
                yield from dump_lines(item, depth + 2)


def _pixel_bytes(ds: FileDataset) -> Optional[int]:
    for tag in _PIXEL_TAGS:
        if tag in ds:
            element = ds[tag]
            if element.length == 0xFFFFFFFF:
                fragments = ds._native.fragments(element._index)
                return sum(length for _offset, length in fragments[1:])
            return element.length
    return None


def info(ds: FileDataset, path: str) -> Dict[str, Any]:
    """A summary of a file: syntax, modality, dimensions, frames, photometric, sizes."""
    uid = ds.transfer_syntax
    frames = ds.get("NumberOfFrames")
    return {
        "path": path,
        "file_size": Path(path).stat().st_size,
        "transfer_syntax": uid,
        "transfer_syntax_name": _native.transfer_syntax_name(uid),
        "sop_class_uid": ds.get("SOPClassUID"),
        "modality": ds.get("Modality"),
        "rows": ds.get("Rows"),
        "columns": ds.get("Columns"),
        "frames": frames if isinstance(frames, int) else (1 if "PixelData" in ds else None),
        "samples_per_pixel": ds.get("SamplesPerPixel"),
        "bits_allocated": ds.get("BitsAllocated"),
        "bits_stored": ds.get("BitsStored"),
        "pixel_representation": ds.get("PixelRepresentation"),
        "photometric_interpretation": ds.get("PhotometricInterpretation"),
        "pixel_data_bytes": _pixel_bytes(ds),
        "elements": len(ds),
        "warnings": [w.message for w in ds.warnings],
    }


def _format_info(summary: Dict[str, Any]) -> str:
    lines = [summary["path"]]
    name = summary["transfer_syntax_name"]
    lines.append(f"  transfer syntax  {summary['transfer_syntax']}" + (f" ({name})" if name else ""))
    for label, key in (("modality", "modality"), ("sop class", "sop_class_uid"), ("photometric", "photometric_interpretation")):
        if summary[key] is not None:
            lines.append(f"  {label:<16} {summary[key]}")
    if summary["rows"] is not None:
        lines.append(
            f"  image            {summary['rows']} x {summary['columns']}, {summary['frames']} frame(s), "
            f"{summary['samples_per_pixel'] or 1} sample(s), {summary['bits_allocated']}/{summary['bits_stored']} bits, "
            f"{'signed' if summary['pixel_representation'] == 1 else 'unsigned'}"
        )
    pixels = summary["pixel_data_bytes"]
    lines.append(
        f"  sizes            file {summary['file_size']} bytes, {summary['elements']} elements"
        + (f", pixel data {pixels} bytes" if pixels is not None else ", no pixel data")
    )
    for warning in summary["warnings"]:
        lines.append(f"  warning          {warning}")
    return "\n".join(lines)


def _run(command: str, paths: List[str], as_json: bool, force: bool) -> int:
    failures = 0
    results: List[Any] = []
    for path in paths:
        try:
            with dcmread(path, force=force) as ds:
                if command == "info":
                    summary = info(ds, path)
                    results.append(summary) if as_json else print(_format_info(summary))
                elif as_json:
                    results.append({"path": path, "dataset": ds.to_json_dict()})
                else:
                    print(path)
                    for line in dump_lines(ds):
                        print(line)
        except BrokenPipeError:
            raise
        except (DicomError, OSError) as exc:
            failures += 1
            print(f"dicodec {command}: error: {exc}", file=sys.stderr)
            if as_json:
                results.append({"path": path, "error": str(exc)})
    if as_json:
        json.dump(results, sys.stdout, indent=1, default=str)
        print()
    return 1 if failures else 0


def _add_bulk_options(sub: argparse.ArgumentParser, out: str) -> None:
    sub.add_argument("sources", nargs="*", metavar="SRC", help="files and folders, walked recursively (default: the bundled samples)")
    sub.add_argument("-o", "--out", default=out, help=f"where to write (default: {out})")
    sub.add_argument("--tag", action="append", dest="tags", metavar="TAG", help="an extra column: keyword or ggggeeee (repeatable)")
    sub.add_argument("--threads", type=int, help="reading threads (default: all cores)")
    sub.add_argument(
        "--progress", action=argparse.BooleanOptionalAction, default=None, help="progress bar on stderr (default: when it is a terminal)"
    )


def _bulk(args: argparse.Namespace) -> int:
    from . import ingest

    try:
        if args.command == "scan":
            summary = ingest.scan_to_parquet(args.sources, args.out, tags=args.tags, threads=args.threads, progress=args.progress)
        else:
            summary = ingest.ingest(
                args.sources,
                args.out,
                tags=args.tags,
                rescale=args.rescale,
                allow_uneven=args.allow_uneven,
                threads=args.threads,
                progress=args.progress,
            )
    except KeyboardInterrupt:
        print(f"\ndicodec {args.command}: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    except (DicomError, OSError) as exc:
        print(f"dicodec {args.command}: error: {exc}", file=sys.stderr)
        return 1
    print(summary.text())
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the ``dicodec`` command."""
    parser = argparse.ArgumentParser(prog="dicodec", description="Fast DICOM reading from the command line.")
    commands = parser.add_subparsers(dest="command", required=True)
    scan = commands.add_parser("scan", help="write the header table of many files (one row per file) to Parquet")
    _add_bulk_options(scan, "index.parquet")
    ingest = commands.add_parser("ingest", help="write OUT/index.parquet and one volume per series to OUT/series/")
    _add_bulk_options(ingest, "dicodec-out")
    ingest.add_argument("--rescale", action="store_true", help="apply Rescale Slope/Intercept (float volumes)")
    ingest.add_argument("--allow-uneven", action="store_true", help="stack series with uneven slice spacing, with a warning")
    for name, help_text in (
        ("info", "summarise files: transfer syntax, modality, dimensions, frames, sizes"),
        ("dump", "print every element as an indented tree (tag, VR, length, keyword, value)"),
    ):
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("files", nargs="*", metavar="FILE", help="DICOM files (default: the bundled samples)")
        sub.add_argument("--json", action="store_true", help="print JSON instead of text")
        sub.add_argument("--force", action="store_true", help="read data sets without preamble or file meta")
    args = parser.parse_args(argv)
    if args.command in ("scan", "ingest"):
        return _bulk(args)
    paths = args.files or [str(p) for p in sample_files()]
    try:
        return _run(args.command, paths, args.json, args.force)
    except BrokenPipeError:  # `dicodec dump f | head` is normal use
        # Point stdout at nothing so that the interpreter's final flush does not fail too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
