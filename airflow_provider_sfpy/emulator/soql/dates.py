"""Date and datetime values in SOQL filters.

The store keeps ``date`` as ``YYYY-MM-DD`` and ``datetime`` as UTC ``YYYY-MM-DDTHH:MM:SS.mmm+0000``
text (see ``schema.py``), so text order is time order and every date filter compiles to plain text
comparisons. Literals are therefore normalised to exactly those formats here.

A relative literal (``TODAY``, ``LAST_N_DAYS:30``, ``NEXT_QUARTER``) is a half-open range of whole
calendar periods ``[start, end)`` around "today" (UTC; weeks start on Sunday, like a US-locale org).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

_UNITS = ("DAY", "WEEK", "MONTH", "QUARTER", "YEAR")


@dataclass(frozen=True)
class PeriodSpan:
    """Periods of ``unit`` counted from the current one: the range is [start of ``first``, start of ``last``)."""

    unit: str
    first: int
    last: int

    def resolve(self, today: date) -> tuple[date, date]:
        return period_start(today, self.unit, self.first), period_start(today, self.unit, self.last)


def period_start(today: date, unit: str, offset: int) -> date:
    """First day of the period ``offset`` periods away from the one containing ``today``."""
    if unit == "DAY":
        return today + timedelta(days=offset)
    if unit == "WEEK":
        sunday = today - timedelta(days=(today.weekday() + 1) % 7)
        return sunday + timedelta(weeks=offset)
    if unit == "YEAR":
        return date(today.year + offset, 1, 1)
    months_per_period = 3 if unit == "QUARTER" else 1
    current = today.year * 12 + (today.month - 1) // months_per_period * months_per_period
    month_index = current + offset * months_per_period
    return date(month_index // 12, month_index % 12 + 1, 1)


# Literals without a number: (unit, first, last). LAST_90_DAYS includes today, as in Salesforce.
_FIXED: dict[str, tuple[str, int, int]] = {
    "TODAY": ("DAY", 0, 1),
    "YESTERDAY": ("DAY", -1, 0),
    "TOMORROW": ("DAY", 1, 2),
    "LAST_90_DAYS": ("DAY", -90, 1),
    "NEXT_90_DAYS": ("DAY", 1, 91),
}
for _unit in _UNITS[1:]:
    _FIXED[f"LAST_{_unit}"] = (_unit, -1, 0)
    _FIXED[f"THIS_{_unit}"] = (_unit, 0, 1)
    _FIXED[f"NEXT_{_unit}"] = (_unit, 1, 2)

_PLURAL = "(DAYS|WEEKS|MONTHS|QUARTERS|YEARS)"
_LAST_N = re.compile(f"LAST_N_{_PLURAL}")
_NEXT_N = re.compile(f"NEXT_N_{_PLURAL}")
_N_AGO = re.compile(f"N_{_PLURAL}_AGO")


def literal_span(name: str, n: int | None) -> PeriodSpan:
    """The periods a relative date literal covers; ``ValueError`` if SOQL has no such literal.

    ``LAST_N_DAYS:n`` runs from n days ago through the end of today; ``NEXT_N_DAYS:n`` starts tomorrow;
    the week/month/quarter/year forms cover whole periods and exclude the current one.
    """
    upper = name.upper()
    if upper in _FIXED:
        if n is not None:
            raise ValueError(name)
        return PeriodSpan(*_FIXED[upper])
    if n is None:
        raise ValueError(name)
    if match := _LAST_N.fullmatch(upper):
        unit = match.group(1)[:-1]
        return PeriodSpan(unit, -n, 1 if unit == "DAY" else 0)
    if match := _NEXT_N.fullmatch(upper):
        return PeriodSpan(match.group(1)[:-1], 1, n + 1)
    if match := _N_AGO.fullmatch(upper):
        return PeriodSpan(match.group(1)[:-1], -n, -n + 1)
    raise ValueError(name)


_DATETIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})", re.IGNORECASE
)


def normalize_date(text: str) -> str:
    """``YYYY-MM-DD`` unchanged if it is a real calendar date; ``ValueError`` otherwise (``2024-02-30``)."""
    return date.fromisoformat(text).isoformat()


def normalize_datetime(text: str) -> str:
    """Any SOQL datetime literal (``Z``, ``+0000``, ``+01:00``, with or without millis) as stored UTC text."""
    match = _DATETIME.fullmatch(text)
    if match is None:
        raise ValueError(text)
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    millis = int((fraction or "0").ljust(3, "0")[:3])
    offset = timedelta(0)
    if zone.upper() != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    local = datetime(
        int(year), int(month), int(day), int(hour), int(minute), int(second), millis * 1000, timezone(offset)
    )
    return format_datetime(local)


def format_datetime(moment: datetime) -> str:
    """The stored datetime text of an aware (or naive = UTC) datetime."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}+0000"


def start_of_day(day: date) -> str:
    """Midnight UTC of ``day`` as stored datetime text: a range bound for datetime fields."""
    return f"{day.isoformat()}T00:00:00.000+0000"
