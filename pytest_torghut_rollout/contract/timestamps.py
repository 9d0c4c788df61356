"""RFC 3339 date-times, exactly as the grammar of its section 5.6 says (no pytest here).

Nothing may precede or follow the date-time, not even a newline (``re.fullmatch``, never
``$``). The grammar allows the year ``0000`` and a leap second (``:60``) where the time,
taken to UTC, is 23:59; both are valid here. An impossible calendar date (February 30th)
and a missing offset are not.
"""

from __future__ import annotations

import re
from typing import Any

_DATE_TIME = re.compile(
    r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})"
    r"[Tt](?P<hour>[0-9]{2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})(?:\.[0-9]+)?"
    r"(?:[Zz]|(?P<sign>[+-])(?P<off_hour>[0-9]{2}):(?P<off_minute>[0-9]{2}))",
    re.ASCII,
)


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        return 29 if leap else 28
    return 30 if month in (4, 6, 9, 11) else 31


def is_rfc3339(value: Any) -> bool:
    """True when ``value`` is a string holding one RFC 3339 date-time with an offset, and nothing else."""
    if not isinstance(value, str):
        return False
    match = _DATE_TIME.fullmatch(value)
    if match is None:
        return False
    year, month, day = int(match["year"]), int(match["month"]), int(match["day"])
    hour, minute, second = int(match["hour"]), int(match["minute"]), int(match["second"])
    if not (1 <= month <= 12 and 1 <= day <= _days_in_month(year, month)):
        return False
    if hour > 23 or minute > 59 or second > 60:
        return False
    off_hour, off_minute = int(match["off_hour"] or 0), int(match["off_minute"] or 0)
    if off_hour > 23 or off_minute > 59:
        return False
    if second == 60:
        # A leap second is inserted at 23:59:60 UTC: the local time minus the offset.
        sign = -1 if match["sign"] == "-" else 1
        utc_minutes = (hour * 60 + minute - sign * (off_hour * 60 + off_minute)) % (24 * 60)
        return utc_minutes == 23 * 60 + 59
    return True
