"""The reference corpus in ../shared/data and its MANIFEST."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Dict, List

import pytest

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data"
MANIFEST = DATA / "MANIFEST.csv"


def manifest_rows() -> List[Dict[str, str]]:
    """The rows of MANIFEST.csv, or none when the reference data is absent."""
    if not MANIFEST.is_file():
        return []
    with MANIFEST.open(newline="") as f:
        return list(csv.DictReader(f))


def needs_force(row: Dict[str, str]) -> bool:
    """pydicom needs force=True for files without a preamble (the MANIFEST notes say so)."""
    return "needs force=True" in row["notes"]


def param_rows(rows: List[Dict[str, str]]):
    """pytest params named by path, or one skip when the reference data is absent."""
    if not rows:
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"reference data not found at {DATA}"))]
    return [pytest.param(row, id=row["path"]) for row in rows]


# pydicom reads these of its own test files without complaint, though they are damaged;
# dicodec reports the damage: a stray leading byte makes no_meta.dcm one garbage element cut
# short at the end, and rtplan_truncated.dcm is cut inside a sequence (the MANIFEST's "error").
KNOWN_DAMAGED = frozenset({"no_meta.dcm", "rtplan_truncated.dcm"})


def pydicom_bundled_files():
    """pytest params for pydicom's own test and character set files (they ship in its wheel)."""
    import glob
    import os

    import pydicom

    root = os.path.join(os.path.dirname(pydicom.__file__), "data")
    files = sorted(glob.glob(os.path.join(root, "charset_files", "*.dcm")))
    files += sorted(glob.glob(os.path.join(root, "test_files", "**", "*.dcm"), recursive=True))
    return [pytest.param(f, id=os.path.relpath(f, root)) for f in files]


def pydicom_read(path, force: bool = False):
    """pydicom's data set, its complaints about the file silenced."""
    import warnings

    import pydicom

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(path, force=force)


def canonical_json(value: Any) -> Any:
    """JSON values made comparable: NaN equal to NaN, ints and floats kept apart (JSON writes
    1 and 1.0 differently), str subclasses (pydicom's VR enum members) as plain strings."""
    import math

    if isinstance(value, dict):
        return {k: canonical_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [canonical_json(v) for v in value]
    if isinstance(value, float):
        return ("float", "nan" if math.isnan(value) else value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return ("int", value)
    raise AssertionError(f"not a JSON value: {type(value).__name__} {value!r}")


def pydicom_read_all(path):
    """pydicom's data set with every element converted (force=True), so that whatever pydicom
    cannot read raises here rather than later in a comparison."""
    import warnings

    dataset = pydicom_read(path, True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in dataset.iterall():
            pass
    return dataset


def has_null(value: Any) -> bool:
    """Whether a JSON value holds a null anywhere inside a list."""
    if isinstance(value, dict):
        return any(has_null(v) for v in value.values())
    if isinstance(value, list):
        return any(v is None or has_null(v) for v in value)
    return False
