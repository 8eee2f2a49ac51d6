"""Small public DICOM files bundled with dicodec (see README.md here for sources and licences)."""

from __future__ import annotations

from pathlib import Path
from typing import List

__all__ = ["sample_files", "SAMPLES_DIR"]

#: The folder holding the bundled samples.
SAMPLES_DIR = Path(__file__).resolve().parent


def sample_files() -> List[Path]:
    """The bundled sample files, sorted by name."""
    return sorted(SAMPLES_DIR.glob("*.dcm"))
