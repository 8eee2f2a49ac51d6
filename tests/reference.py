"""The reference corpus in ../shared/data and its MANIFEST."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Dict, List

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
