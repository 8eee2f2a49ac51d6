"""The DICOM JSON model (PS3.18 F.2) of a data set."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional

import numpy as np

if TYPE_CHECKING:
    from .dataset import DataElement, Dataset

__all__ = ["dataset_to_json_dict"]

_BINARY_VRS = frozenset(("OB", "OD", "OF", "OL", "OV", "OW", "UN"))


def _as_list(value: Any) -> List[Any]:
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value if isinstance(value, list) else [value]


def element_to_json_dict(
    element: "DataElement",
    bulk_data_threshold: int,
    bulk_data_element_handler: Optional[Callable[["DataElement"], str]],
) -> Dict[str, Any]:
    """One element's ``{"vr": ..., "Value" | "InlineBinary" | "BulkDataURI": ...}``."""
    vr = element.VR
    out: Dict[str, Any] = {"vr": vr}
    value = element.value
    if vr in _BINARY_VRS:
        if value is None:
            return out
        raw = np.ascontiguousarray(value).tobytes()
        if bulk_data_element_handler is not None and len(raw) > bulk_data_threshold:
            out["BulkDataURI"] = bulk_data_element_handler(element)
        else:
            out["InlineBinary"] = base64.b64encode(raw).decode("ascii")
        return out
    if vr == "SQ":
        out["Value"] = [dataset_to_json_dict(item, bulk_data_threshold, bulk_data_element_handler) for item in value]
        return out
    if value is None or (isinstance(value, str) and value == ""):
        return out
    values = _as_list(value)
    if vr == "PN":
        names = []
        for name in values:
            groups = str(name).split("=")
            entry = {"Alphabetic": groups[0]}
            if len(groups) > 1:
                entry["Ideographic"] = groups[1]
            if len(groups) > 2:
                entry["Phonetic"] = groups[2]
            names.append(entry)
        out["Value"] = names
    elif vr == "AT":
        out["Value"] = [f"{tag:08X}" for tag in values]
    else:
        out["Value"] = values
    return out


def dataset_to_json_dict(
    dataset: "Dataset",
    bulk_data_threshold: int = 1024,
    bulk_data_element_handler: Optional[Callable[["DataElement"], str]] = None,
) -> Dict[str, Any]:
    """``{"ggggeeee": element JSON}`` for every element of ``dataset``, in tag order."""
    return {
        f"{element.tag:08X}": element_to_json_dict(element, bulk_data_threshold, bulk_data_element_handler)
        for element in dataset
    }
