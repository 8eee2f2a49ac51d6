"""Exceptions raised by dicodec.

Every error raised for bad input is a :class:`DicomError` (itself a :class:`ValueError`) that
says which file, which element and which byte offset it concerns.
"""

from __future__ import annotations

from typing import Optional

__all__ = [
    "DicomError",
    "InvalidDicomError",
    "TruncatedDataError",
    "UnsupportedError",
    "LimitExceededError",
]


def _tag_str(tag: int) -> str:
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


class DicomError(ValueError):
    """The data is not DICOM dicodec can read. ``path``, ``tag`` and ``offset`` say where."""

    def __init__(
        self,
        message: str,
        path: Optional[str] = None,
        tag: Optional[int] = None,
        offset: Optional[int] = None,
    ) -> None:
        self.message = message
        self.path = path
        self.tag = tag
        self.offset = offset
        super().__init__(f"{path}: {message}" if path else message)

    def __reduce__(self):  # keep the attributes across pickling (multiprocessing, Dask)
        return (type(self), (self.message, self.path, self.tag, self.offset))


class InvalidDicomError(DicomError):
    """The bytes break the DICOM standard in a way that cannot be repaired."""


class TruncatedDataError(DicomError):
    """The data ends before a length written in it says it should."""


class UnsupportedError(DicomError, NotImplementedError):
    """Valid DICOM that dicodec does not handle."""


class LimitExceededError(DicomError):
    """A protective limit was reached (nesting depth, decoded size)."""
