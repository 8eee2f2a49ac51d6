"""Value types: person names, and helpers that parse DICOM dates and times.

Dates and times stay strings in a data set (as written in the file); the helpers turn them into
:mod:`datetime` objects when asked.
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import List, Optional

__all__ = ["PersonName", "parse_date", "parse_time", "parse_datetime"]


class PersonName(str):
    """A Person Name (PN): a ``str`` with its components.

    Up to three component groups separated by ``=`` (alphabetic, ideographic, phonetic), each of
    up to five components separated by ``^`` (family, given, middle, prefix, suffix).
    """

    __slots__ = ()

    @property
    def components(self) -> List[str]:
        """The component groups: alphabetic, then ideographic and phonetic where present."""
        return self.split("=")

    def _component(self, index: int) -> str:
        parts = self.components[0].split("^")
        return parts[index] if index < len(parts) else ""

    @property
    def family_name(self) -> str:
        """The family name of the alphabetic group."""
        return self._component(0)

    @property
    def given_name(self) -> str:
        """The given name of the alphabetic group."""
        return self._component(1)

    @property
    def middle_name(self) -> str:
        """The middle name of the alphabetic group."""
        return self._component(2)

    @property
    def name_prefix(self) -> str:
        """The name prefix of the alphabetic group."""
        return self._component(3)

    @property
    def name_suffix(self) -> str:
        """The name suffix of the alphabetic group."""
        return self._component(4)

    @property
    def alphabetic(self) -> str:
        """The alphabetic component group."""
        return self.components[0]

    @property
    def ideographic(self) -> str:
        """The ideographic component group, or ``""``."""
        groups = self.components
        return groups[1] if len(groups) > 1 else ""

    @property
    def phonetic(self) -> str:
        """The phonetic component group, or ``""``."""
        groups = self.components
        return groups[2] if len(groups) > 2 else ""


_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_TIME = re.compile(r"^(\d{2})(?::?(\d{2})(?::?(\d{2})(?:\.(\d{1,6}))?)?)?$")
_DATETIME = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.(\d{1,6}))?([+-]\d{4})?$")


def parse_date(value: str) -> Optional[_dt.date]:
    """A DA value (``YYYYMMDD``; the ACR-NEMA ``YYYY.MM.DD`` too) as a date, or None if it is not one."""
    text = value.strip().replace(".", "")
    match = _DATE.match(text)
    if not match:
        return None
    try:
        return _dt.date(*map(int, match.groups()))
    except ValueError:
        return None


def parse_time(value: str) -> Optional[_dt.time]:
    """A TM value (``HH[MM[SS[.FFFFFF]]]``, colons tolerated) as a time, or None."""
    match = _TIME.match(value.strip())
    if not match:
        return None
    hour, minute, second, fraction = match.groups()
    try:
        return _dt.time(
            int(hour),
            int(minute or 0),
            min(int(second or 0), 59),  # a leap second (60) is valid in DICOM, not in Python
            int((fraction or "0").ljust(6, "0")),
        )
    except ValueError:
        return None


def parse_datetime(value: str) -> Optional[_dt.datetime]:
    """A DT value (``YYYY[MM[DD[HH[MM[SS[.F]]]]]][&ZZXX]``) as a datetime, or None."""
    match = _DATETIME.match(value.strip())
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    tz = None
    if offset:
        sign = -1 if offset[0] == "-" else 1
        tz = _dt.timezone(sign * _dt.timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5])))
    try:
        return _dt.datetime(
            int(year),
            int(month or 1),
            int(day or 1),
            int(hour or 0),
            int(minute or 0),
            min(int(second or 0), 59),
            int((fraction or "0").ljust(6, "0")),
            tzinfo=tz,
        )
    except ValueError:
        return None
