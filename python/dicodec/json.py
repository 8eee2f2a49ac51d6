"""The DICOM JSON model (PS3.18 F.2) of a data set, as pydicom 3's ``to_json_dict`` writes it.

The rules, pydicom's:

* Binary VRs (OB, OD, OF, OL, OV, OW, UN and the unresolved ``"OB or OW"``, ``"US or OW"``,
  ``"US or SS or OW"``): no key when the value is empty; ``"BulkDataURI"`` from the handler
  when one is given and the value is longer than ``(bulk_data_threshold // 4) * 3`` bytes (the
  threshold is on the base64 text, which is 4/3 as long); otherwise ``"InlineBinary"``, the
  value's bytes as written (odd lengths kept, no padding added) in base64.
* SQ: ``"Value"`` is the list of the items' JSON, ``[]`` for an empty sequence.
* Everything else: no ``"Value"`` when the element is empty (zero length, or only padding);
  otherwise the list of its values: IS, SL, SS, SV, UL, US, UV as ints; DS, FL, FD as floats
  (NaN and infinities included); AT as ``"GGGGEEEE"``; PN as ``{"Alphabetic": ...,
  "Ideographic": ..., "Phonetic": ...}`` with trailing empty component groups left out; other
  text as strings, empty strings kept for empty values inside a multi-valued string.
* Every element is written: group lengths, private creators and private elements included.

Where pydicom 3.0.2 raises instead of writing (an empty value inside a multi-valued IS, DS or
PN, which its number conversion and its person-name splitting cannot take), dicodec writes
``null``, as PS3.18 F.2.5 says for empty values of a multi-valued attribute, and a single name
of only ``=`` delimiters is empty (no ``"Value"``). An IS or DS value that is no number (which
pydicom raises ValueError on) raises :class:`~dicodec.DicomError`, itself a ValueError.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional

import numpy as np

if TYPE_CHECKING:
    from .dataset import DataElement, Dataset

__all__ = ["dataset_to_json_dict", "element_to_json_dict"]

_BINARY_VRS = frozenset(("OB", "OD", "OF", "OL", "OV", "OW", "UN", "OB or OW", "US or OW", "US or SS or OW"))
_INT_VRS = frozenset(("IS", "SL", "SS", "SV", "UL", "US", "UV", "US or SS"))
_FLOAT_VRS = frozenset(("DS", "FD", "FL"))

BulkDataHandler = Callable[["DataElement"], str]


def _values(value: Any) -> List[Any]:
    """The element's values as a list; ``[]`` when the element is empty (pydicom's VM 0)."""
    if value is None:
        return []
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, list):
        return value
    if isinstance(value, (str, bytes)) and not value:
        return []
    return [value]


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value == "")


def _person_name(name: Any) -> Optional[Dict[str, str]]:
    groups = str(name).split("=")
    while groups and not groups[-1]:
        groups.pop()  # pydicom drops trailing empty component groups
    if not groups:
        return None
    entry = {"Alphabetic": groups[0]}
    if len(groups) > 1:
        entry["Ideographic"] = groups[1]
    if len(groups) > 2:
        entry["Phonetic"] = groups[2]
    return entry


def _number(value: Any, vr: str, element: "DataElement") -> Any:
    """An int for the integer VRs, a float for DS, FL and FD, as pydicom converts them; a value
    that is no number (an invalid IS or DS string) raises DicomError (pydicom: ValueError)."""
    try:
        if vr not in _INT_VRS:
            return float(value)
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                return int(float(value))  # pydicom reads "1.5" as IS 1.5 and writes int() of it
        return int(value)
    except (TypeError, ValueError, OverflowError) as exc:
        from .errors import DicomError

        raise DicomError(
            f"{vr} value {value!r} is not a number and has no DICOM JSON form",
            element._native.path if element._native is not None else None,
            int(element.tag),
            element.offset,
        ) from exc


def _binary(value: Any) -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    # NumPy views keep the file's byte order, so these are the bytes as written.
    return np.ascontiguousarray(value).tobytes()


def element_to_json_dict(
    element: "DataElement",
    bulk_data_threshold: int = 1024,
    bulk_data_element_handler: Optional[BulkDataHandler] = None,
) -> Dict[str, Any]:
    """One element's ``{"vr": ..., "Value" | "InlineBinary" | "BulkDataURI": ...}``."""
    vr = element.VR
    out: Dict[str, Any] = {"vr": vr}
    value = element.value
    if vr in _BINARY_VRS:
        raw = b"" if value is None else _binary(value)
        if not raw:
            return out
        if bulk_data_element_handler is not None and len(raw) > (bulk_data_threshold // 4) * 3:
            out["BulkDataURI"] = bulk_data_element_handler(element)
        else:
            out["InlineBinary"] = base64.b64encode(raw).decode("ascii")
        return out
    if vr == "SQ":
        out["Value"] = [dataset_to_json_dict(item, bulk_data_threshold, bulk_data_element_handler) for item in value]
        return out
    values = _values(value)
    if not values:
        return out
    if vr == "PN":
        names = [_person_name(name) for name in values]
        if len(names) == 1 and names[0] is None:
            return out  # a single name with no components (only "=" delimiters) is empty
        out["Value"] = names
    elif vr == "AT":
        out["Value"] = [f"{int(tag):08X}" for tag in values]
    elif vr in _INT_VRS or vr in _FLOAT_VRS:
        out["Value"] = [None if _is_empty(v) else _number(v, vr, element) for v in values]
    else:
        out["Value"] = [str(v) for v in values]
    return out


def dataset_to_json_dict(
    dataset: "Dataset",
    bulk_data_threshold: int = 1024,
    bulk_data_element_handler: Optional[BulkDataHandler] = None,
) -> Dict[str, Any]:
    """``{"GGGGEEEE": element JSON}`` for every element of ``dataset``, in tag order."""
    return {
        f"{int(element.tag):08X}": element_to_json_dict(element, bulk_data_threshold, bulk_data_element_handler)
        for element in dataset
    }
