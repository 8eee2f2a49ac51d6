"""Series and volumes: the instances of a series, sorted along the slice normal, as one array.

Headers come from :func:`dicodec.scan` (one table row per file) and pixels from
:func:`dicodec.decode_files` (Rust threads, one array for the whole series). Slices are ordered
by their Image Position (Patient) projected on the normal of their Image Orientation (Patient),
never by file name or Instance Number. A series that cannot be stacked honestly (mixed sizes or
orientations, two slices at one position, a missing slice) raises :class:`SeriesError`;
what can be stacked but deserves attention is reported as a :class:`SeriesWarning`.
"""

from __future__ import annotations

import math
import os
import warnings
from collections import Counter
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, NoReturn, Optional, Sequence, Tuple, Union

import numpy as np

from .pixels import decode_files
from .scan import scan

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["read_series", "read_group", "group_series", "Volume", "SeriesError", "SeriesWarning"]

SeriesSource = Union[str, "os.PathLike[str]", Iterable[Union[str, "os.PathLike[str]"]], "pa.Table"]

#: Extra header columns read_series asks scan for when it scans files itself.
SCAN_TAGS = ("SpacingBetweenSlices",)
#: Largest difference between two direction cosines that still counts as the same orientation.
ORIENTATION_TOLERANCE = 1e-4
#: Slices closer than this along the normal (mm) are at the same position.
POSITION_TOLERANCE = 1e-3
#: Spacing between neighbours may differ from the median by this fraction (plus 1e-3 mm).
SPACING_TOLERANCE = 1e-2

_COLUMNS = (
    "path",
    "error",
    "SOPInstanceUID",
    "SeriesInstanceUID",
    "Rows",
    "Columns",
    "SamplesPerPixel",
    "BitsAllocated",
    "PixelRepresentation",
    "NumberOfFrames",
    "ImagePositionPatient",
    "ImageOrientationPatient",
    "PixelSpacing",
    "SliceThickness",
    "RescaleSlope",
    "RescaleIntercept",
)


class SeriesError(ValueError):
    """The files do not form one volume (mixed sizes or orientations, gaps, duplicates...)."""

    def __init__(self, message: str, series_uid: Optional[str] = None) -> None:
        self.message = message
        self.series_uid = series_uid
        super().__init__(f"series {series_uid}: {message}" if series_uid else message)

    def __reduce__(self):  # keep the attributes across pickling (multiprocessing, Dask)
        return (type(self), (self.message, self.series_uid))


class SeriesWarning(UserWarning):
    """A series was stacked, but something about it deserves attention."""


class Volume:
    """The pixels of one series as a ``(slices, rows, columns[, samples])`` array, with geometry.

    ``spacing`` is ``(slice, row, column)`` spacing in mm, in the order of the array's axes
    (``nan`` where the files do not say). ``affine`` is the 4x4 matrix that maps array indices
    ``(k, j, i, 1)`` to patient coordinates (LPS, mm), or None when the files carry no
    position, orientation or pixel spacing. ``files`` and ``sop_instance_uids`` are in slice
    order (for a multi-frame file, its path once a frame), ``frames`` holds each slice's frame
    number in its file (None for single-frame files) and ``positions`` each slice's position
    along the slice normal (None without geometry). ``warnings`` lists what was reported as
    :class:`SeriesWarning`.
    """

    __slots__ = (
        "array", "spacing", "affine", "files", "frames", "sop_instance_uids", "positions", "series_uid", "rescaled",
        "warnings",
    )

    def __init__(
        self,
        array: np.ndarray,
        spacing: Tuple[float, float, float],
        affine: Optional[np.ndarray],
        files: Sequence[str],
        sop_instance_uids: Sequence[Optional[str]],
        positions: Optional[np.ndarray],
        series_uid: Optional[str],
        rescaled: bool,
        warnings: Sequence[str] = (),
        frames: Optional[Sequence[int]] = None,
    ) -> None:
        self.array = array
        self.spacing = spacing
        self.affine = affine
        self.files = tuple(files)
        self.frames = None if frames is None else tuple(frames)
        self.sop_instance_uids = tuple(sop_instance_uids)
        self.positions = positions
        self.series_uid = series_uid
        self.rescaled = rescaled
        self.warnings = list(warnings)

    @property
    def shape(self) -> Tuple[int, ...]:
        """The shape of :attr:`array`."""
        return self.array.shape

    def metadata(self) -> Dict[str, Any]:
        """Everything but the pixels, as JSON-ready values (``null`` for unknown numbers)."""

        def number(value: float) -> Optional[float]:
            return None if math.isnan(value) else float(value)

        positions = [None] * len(self.files) if self.positions is None else [float(p) for p in self.positions]
        frames = [None] * len(self.files) if self.frames is None else list(self.frames)
        return {
            "series_uid": self.series_uid,
            "shape": list(self.array.shape),
            "dtype": self.array.dtype.str,
            "rescaled": self.rescaled,
            "spacing": [number(s) for s in self.spacing],
            "affine": None if self.affine is None else self.affine.tolist(),
            "instances": [
                {"path": path, "frame": frame, "SOPInstanceUID": uid, "position": position}
                for path, frame, uid, position in zip(self.files, frames, self.sop_instance_uids, positions)
            ],
            "warnings": list(self.warnings),
        }

    def __repr__(self) -> str:
        return f"<Volume {self.series_uid} {self.array.dtype} {self.array.shape} spacing={self.spacing}>"


def _headers(src: SeriesSource) -> "pa.Table":
    """The scan table of ``src``: given as is, or scanned (a directory tolerates non-DICOM files)."""
    import pyarrow as pa

    if isinstance(src, pa.Table):
        return src
    if isinstance(src, (str, os.PathLike)) and os.path.isdir(src):
        return scan(src, SCAN_TAGS)
    paths = [src] if isinstance(src, (str, os.PathLike)) else list(src)
    return scan(paths, SCAN_TAGS, on_error="raise")


def _image_rows(table: "pa.Table") -> "pa.Table":
    import pyarrow.compute as pc

    return table.filter(pc.and_(pc.is_null(table["error"]), pc.is_valid(table["Rows"])))


def group_series(table: "pa.Table") -> Dict[Optional[str], "pa.Table"]:
    """The image rows of a scan table (read fine, with pixel dimensions) by Series Instance UID.

    Series come in the order of their first file; files without a Series Instance UID share the
    key None.
    """
    images = _image_rows(table)
    groups: Dict[Optional[str], List[int]] = {}
    for index, uid in enumerate(images["SeriesInstanceUID"].to_pylist()):
        groups.setdefault(uid, []).append(index)
    return {uid: images.take(indices) for uid, indices in groups.items()}


def _rows(table: "pa.Table") -> List[Dict[str, Any]]:
    names = [name for name in _COLUMNS if name in table.column_names]
    optional = [name for name in SCAN_TAGS if name in table.column_names]
    return table.select(names + optional).to_pylist()


def _first(value: Any) -> Optional[float]:
    """A scalar from a scan cell (or a data set value) that may be a number, a list of numbers
    or null."""
    if isinstance(value, (list, tuple)):
        value = value[0] if value else None
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):  # a value that is not a number says nothing
        return None


def _name(row: Dict[str, Any]) -> str:
    """A slice as messages name it: its file, and its frame in a multi-frame file."""
    return f"{row['path']} frame {row['frame']}" if row.get("frame") is not None else row["path"]


#: Functional group macros (PS3.3 C.7.6.16) holding the geometry of a frame, and what they hold.
_FRAME_GROUPS = {
    "PlanePositionSequence": ("ImagePositionPatient",),
    "PlaneOrientationSequence": ("ImageOrientationPatient",),
    "PixelMeasuresSequence": ("PixelSpacing", "SliceThickness", "SpacingBetweenSlices"),
    "PixelValueTransformationSequence": ("RescaleSlope", "RescaleIntercept"),
}


def _frame_rows(row: Dict[str, Any], frames: int) -> Optional[List[Dict[str, Any]]]:
    """One row per frame of a multi-frame file, its geometry from the per-frame functional
    groups, else the shared ones, else the file's top level; None when some frame has no
    position or orientation (the file is not an enhanced multi-frame image)."""
    from .dataset import dcmread

    def values(item: Any) -> Dict[str, Any]:
        found: Dict[str, Any] = {}
        for group, keywords in _FRAME_GROUPS.items():
            macro = item.get(group) if item is not None else None
            if macro:
                for keyword in keywords:
                    value = macro[0].get(keyword)
                    if value is not None and value != "":
                        found[keyword] = value
        return found

    def numbers(value: Any) -> Optional[List[float]]:
        """A multi-valued number as the list scan gives; None when absent or not numbers."""
        if value is None:
            return None
        try:
            return [float(value)] if isinstance(value, (int, float, str)) else [float(v) for v in value]
        except (TypeError, ValueError):
            return None

    with dcmread(row["path"], stop_before_pixels=True) as ds:
        per_frame = ds.get("PerFrameFunctionalGroupsSequence") or []
        if len(per_frame) != frames:
            return None
        shared_items = ds.get("SharedFunctionalGroupsSequence")
        shared = values(shared_items[0] if shared_items else None)
        rows = []
        for number, item in enumerate(per_frame):
            found = {**shared, **values(item)}
            frame_row = dict(row, frame=number, NumberOfFrames=1)
            for keyword in ("ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing"):
                frame_row[keyword] = numbers(found.get(keyword, row.get(keyword)))
            for keyword in ("SliceThickness", "SpacingBetweenSlices", "RescaleSlope", "RescaleIntercept"):
                frame_row[keyword] = _first(found.get(keyword, row.get(keyword)))
            rows.append(frame_row)
    return rows if all(map(_Layout._has_geometry, rows)) else None


def _describe(counts: Counter) -> str:
    return ", ".join(f"{key} ({count} file{'s' if count != 1 else ''})" for key, count in counts.most_common())


class _Layout:
    """A validated series in slice order: files, geometry and rescale values, no pixels yet."""

    def __init__(self, rows: List[Dict[str, Any]], series_uid: Optional[str], allow_uneven: bool) -> None:
        self.series_uid = series_uid
        self.warnings: List[str] = []
        rows = self._unique_instances(sorted(rows, key=lambda row: row["path"]))
        self._check_sizes(rows)
        frames = [row["NumberOfFrames"] or 1 for row in rows]
        if len(rows) > 1 and max(frames) > 1:
            self.fail(f"{sum(f > 1 for f in frames)} multi-frame files in a series of {len(rows)} files")
        self.positions: Optional[np.ndarray] = None
        self.affine: Optional[np.ndarray] = None
        self.spacing = (math.nan, math.nan, math.nan)
        #: Each slice's frame in its file, for a multi-frame file (in slice order once sorted).
        self.frame_numbers: Optional[List[int]] = None
        if frames[0] > 1:
            frame_rows = _frame_rows(rows[0], frames[0])
            sorted_rows = None
            if frame_rows is None:
                self.warn("a multi-frame file without per-frame plane positions: frames are kept in stored order")
            else:
                reported = len(self.warnings)
                try:
                    sorted_rows = self._sort(frame_rows, allow_uneven)
                except SeriesError as error:
                    del self.warnings[reported:]
                    # Several stacks in one file (echoes, phases, time points, localizer
                    # planes) are not one volume: keep the file as it is stored.
                    self.warn(f"the frames of this multi-frame file are not one volume ({error.message}): kept in stored order")
            if sorted_rows is None:
                rows = frame_rows or [dict(rows[0], frame=i) for i in range(frames[0])]
                self.frame_numbers = list(range(frames[0]))
            else:
                rows = sorted_rows
                self.frame_numbers = [row["frame"] for row in rows]
        elif all(map(self._has_geometry, rows)):
            rows = self._sort(rows, allow_uneven)
        elif len(rows) > 1:
            missing = sum(not self._has_geometry(row) for row in rows)
            self.fail(f"{missing} of {len(rows)} files have no ImagePositionPatient or ImageOrientationPatient: slices cannot be ordered")
        self.rows = rows
        if self.affine is None and rows[0]["PixelSpacing"]:
            spacing = rows[0]["PixelSpacing"]
            if len(spacing) == 2:
                self.spacing = (math.nan, float(spacing[0]), float(spacing[1]))

    def fail(self, message: str) -> NoReturn:
        raise SeriesError(message, self.series_uid)

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def _unique_instances(self, rows: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
        """One file per SOP Instance UID: the same instance stored twice is not two slices."""
        kept: Dict[Any, Dict[str, Any]] = {}
        for number, row in enumerate(rows):
            key = row["SOPInstanceUID"] if row["SOPInstanceUID"] is not None else number
            if key in kept:
                self.warn(f"{_name(row)} repeats SOP instance {key} of {kept[key]['path']}: ignored")
            else:
                kept[key] = row
        return list(kept.values())

    def _check_sizes(self, rows: List[Dict[str, Any]]) -> None:
        def size(row: Dict[str, Any]) -> str:
            sign = "signed" if row["PixelRepresentation"] == 1 else "unsigned"
            samples = row.get("SamplesPerPixel") or 1
            return f"{row['Rows']}x{row['Columns']}x{samples} {row['BitsAllocated']}-bit {sign}"

        sizes = Counter(size(row) for row in rows)
        if len(sizes) > 1:
            self.fail(f"mixed image sizes: {_describe(sizes)}")

    @staticmethod
    def _has_geometry(row: Dict[str, Any]) -> bool:
        def ok(value: Any, length: int) -> bool:
            return value is not None and len(value) == length and all(math.isfinite(v) for v in value)

        return ok(row["ImagePositionPatient"], 3) and ok(row["ImageOrientationPatient"], 6)

    def _sort(self, rows: List[Dict[str, Any]], allow_uneven: bool) -> List[Dict[str, Any]]:
        orientations = np.array([row["ImageOrientationPatient"] for row in rows], dtype=np.float64)
        if np.abs(orientations - orientations[0]).max() > ORIENTATION_TOLERANCE:
            found = Counter(str([round(v, 4) for v in row["ImageOrientationPatient"]]) for row in rows)
            self.fail(f"mixed orientations: {_describe(found)}")
        row_dir, col_dir = orientations[0, :3], orientations[0, 3:]
        normal = np.cross(row_dir, col_dir)
        norm = np.linalg.norm(normal)
        if norm < 0.5:
            self.fail(f"ImageOrientationPatient {list(orientations[0])} has no valid slice normal")
        normal /= norm
        points = np.array([row["ImagePositionPatient"] for row in rows], dtype=np.float64)
        along = points @ normal
        order = np.argsort(along, kind="stable")
        rows = [rows[i] for i in order]
        points, along = points[order], along[order]
        steps = np.diff(along)
        if len(steps) and steps.min() < POSITION_TOLERANCE:
            at = int(np.argmin(steps))
            self.fail(
                f"two slices at position {along[at]:.4f} mm along the normal: {_name(rows[at])} and {_name(rows[at + 1])}"
            )
        shift = np.linalg.norm((points - points[0]) - np.outer(along - along[0], normal), axis=1).max()
        if shift > 1e-2:
            self.warn(f"slices are shifted within their plane by up to {shift:.3f} mm (gantry tilt?): the affine does not describe it")
        slice_spacing = self._slice_spacing(rows, steps, allow_uneven)
        pixel_spacing = self._pixel_spacing(rows)
        if pixel_spacing is not None:
            self.spacing = (slice_spacing, *pixel_spacing)
            affine = np.eye(4)
            affine[:3, 0] = normal * (slice_spacing if math.isfinite(slice_spacing) else 1.0)
            affine[:3, 1] = col_dir * pixel_spacing[0]
            affine[:3, 2] = row_dir * pixel_spacing[1]
            affine[:3, 3] = points[0]
            self.affine = affine
        # Set only now: a caller that recovers from a failure above finds no geometry.
        self.positions = along
        return rows

    def _slice_spacing(self, rows: List[Dict[str, Any]], steps: np.ndarray, allow_uneven: bool) -> float:
        if len(steps) == 0:
            for name in ("SpacingBetweenSlices", "SliceThickness"):
                value = _first(rows[0].get(name))
                if value:
                    return abs(value)
            return math.nan
        typical = float(np.median(steps))
        off = np.abs(steps - typical) > SPACING_TOLERANCE * typical + 1e-3
        if off.any():
            at = int(np.argmax(np.abs(steps - typical)))
            message = (
                f"uneven slice spacing: {typical:.4f} mm mostly, but {steps[at]:.4f} mm between "
                f"{_name(rows[at])} and {_name(rows[at + 1])}"
                + (f" (about {round(steps[at] / typical) - 1} missing)" if steps[at] > 1.5 * typical else "")
            )
            if not allow_uneven:
                self.fail(message + "; pass allow_uneven=True to stack it anyway")
            self.warn(message + "; the affine uses the median spacing")
        return typical

    def _pixel_spacing(self, rows: List[Dict[str, Any]]) -> Optional[Tuple[float, float]]:
        spacings = [tuple(row["PixelSpacing"] or ()) for row in rows]
        if any(len(s) != 2 for s in spacings):
            return None
        values = np.array(spacings, dtype=np.float64)
        if np.abs(values - values[0]).max() > 1e-4 * values[0].max():
            self.fail(f"mixed pixel spacing: {_describe(Counter(str(list(s)) for s in spacings))}")
        return float(values[0, 0]), float(values[0, 1])

    def read(self, rescale: bool, threads: Optional[int]) -> Volume:
        files = [row["path"] for row in self.rows]
        if self.frame_numbers is None:
            array = decode_files(files, threads=threads)
        else:
            # One multi-frame file: decoded once, then its frames put in slice order.
            array = decode_files(files[:1], threads=threads)
            if self.frame_numbers != list(range(len(self.frame_numbers))):
                array = array[self.frame_numbers]
        if rescale:
            array = self._rescaled(array)
        uids = [row["SOPInstanceUID"] for row in self.rows]
        return Volume(
            array, self.spacing, self.affine, files, uids, self.positions, self.series_uid, rescale, self.warnings,
            self.frame_numbers,
        )

    def _rescaled(self, array: np.ndarray) -> np.ndarray:
        """Rescale Slope and Intercept applied slice by slice (1 and 0 where absent)."""
        dtype = np.float64 if array.dtype.itemsize > 2 else np.float32
        slopes = np.array([_first(row["RescaleSlope"]) or 1.0 for row in self.rows])
        intercepts = np.array([_first(row["RescaleIntercept"]) or 0.0 for row in self.rows])
        shape = (-1,) + (1,) * (array.ndim - 1)
        result: np.ndarray = array.astype(dtype)
        result *= slopes.astype(dtype).reshape(shape)
        result += intercepts.astype(dtype).reshape(shape)
        return result


def _select(table: "pa.Table", series_uid: Optional[str]) -> Tuple[Optional[str], "pa.Table"]:
    groups = group_series(table)
    if series_uid is not None:
        if series_uid not in groups:
            raise SeriesError(f"no image files of this series among {table.num_rows} files", series_uid)
        return series_uid, groups[series_uid]
    if not groups:
        raise SeriesError(f"no image files among {table.num_rows} files")
    if len(groups) > 1:
        found = ", ".join(f"{uid} ({rows.num_rows} files)" for uid, rows in groups.items())
        raise SeriesError(f"{len(groups)} series found, pass series_uid= to choose one: {found}")
    return next(iter(groups.items()))


def read_series(
    files_or_dir: SeriesSource,
    series_uid: Optional[str] = None,
    *,
    rescale: bool = False,
    allow_uneven: bool = False,
    threads: Optional[int] = None,
) -> Volume:
    """Read one series as a :class:`Volume`: slices sorted along the slice normal, with geometry.

    ``files_or_dir`` is a list of files, a directory (searched recursively; files that are not
    DICOM images are ignored there) or a table from :func:`dicodec.scan`. ``series_uid``
    chooses a series when there are several. ``rescale=True`` applies Rescale Slope and
    Intercept and gives ``float32`` (``float64`` for pixels wider than 16 bits); otherwise the
    stored dtype is kept. Files that repeat a SOP Instance UID count once.

    Raises :class:`SeriesError` for mixed sizes, orientations or pixel spacings, two slices at
    one position, files without position or orientation in a series of several, and uneven
    spacing (a missing slice) unless ``allow_uneven=True``, which warns instead. Warnings are
    issued as :class:`SeriesWarning` and kept in :attr:`Volume.warnings`.
    """
    uid, rows = _select(_headers(files_or_dir), series_uid)
    layout = _Layout(_rows(rows), uid, allow_uneven)
    for message in layout.warnings:
        warnings.warn(f"series {uid}: {message}", SeriesWarning, stacklevel=2)
    return layout.read(rescale, threads)


def read_group(rows: "pa.Table", *, rescale: bool = False, allow_uneven: bool = False, threads: Optional[int] = None) -> Volume:
    """Read the rows of one series (a value of :func:`group_series`) without issuing warnings.

    For bulk work such as ingest: problems are in :attr:`Volume.warnings` or raised as
    :class:`SeriesError`, as in :func:`read_series`.
    """
    uids = set(rows["SeriesInstanceUID"].to_pylist())
    if len(uids) != 1:
        raise SeriesError(f"the rows hold {len(uids)} series, not one")
    return _Layout(_rows(rows), uids.pop(), allow_uneven).read(rescale, threads)
