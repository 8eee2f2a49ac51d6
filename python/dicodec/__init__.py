"""dicodec: the fastest correct way to get DICOM metadata and pixels into Python.

A Rust core memory-maps each file and indexes its elements without copying values; values are
decoded only when asked for.

>>> import dicodec
>>> ds = dicodec.dcmread("image.dcm", stop_before_pixels=True)
>>> ds.PatientName, ds["Rows"].value, ds[0x00280011].value
"""

from ._native import __version__
from .dataset import DataElement, Dataset, FileDataset, dcmread
from . import codecs
from .pixels import decode_files, iter_pixels, pixel_array
from .scan import list_files, scan
from .series import SeriesError, SeriesWarning, Volume, read_series
from .ml import FrameDataset
from .errors import (
    DicomError,
    InvalidDicomError,
    LimitExceededError,
    TruncatedDataError,
    UnsupportedError,
)
from .tag import Tag, dictionary_description, dictionary_VR, keyword_for_tag, tag_for_keyword
from .valuerep import PersonName, parse_date, parse_datetime, parse_time

__all__ = [
    "__version__",
    "codecs",
    "dcmread",
    "pixel_array",
    "iter_pixels",
    "decode_files",
    "scan",
    "list_files",
    "read_series",
    "Volume",
    "SeriesError",
    "SeriesWarning",
    "FrameDataset",
    "Dataset",
    "FileDataset",
    "DataElement",
    "Tag",
    "PersonName",
    "DicomError",
    "InvalidDicomError",
    "TruncatedDataError",
    "UnsupportedError",
    "LimitExceededError",
    "tag_for_keyword",
    "keyword_for_tag",
    "dictionary_VR",
    "dictionary_description",
    "parse_date",
    "parse_time",
    "parse_datetime",
]
