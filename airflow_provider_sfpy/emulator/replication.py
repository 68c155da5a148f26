"""The time window of sObject Get Updated / Get Deleted (``/sobjects/{Object}/updated/?start=&end=``),
checked the way Salesforce checks it.

- ``start`` and ``end`` are ISO 8601 date-times with a zone (``2024-05-01T12:30:00+00:00``, ``...Z``,
  optionally with fractions of a second), URL-encoded (a ``+`` left bare arrives as a space).
- The seconds are ignored: 12:30:15 is 12:30:00.
- ``start`` must be at least a minute before ``end`` (Salesforce's message says it the other way
  round, and the emulator repeats it as clients may match on it); ``end`` may lie in the future.
- ``start`` may be at most 30 days ago.
- At most 600,000 Ids are returned; more is ``EXCEEDED_ID_LIMIT``.
- ``latestDateCovered`` is ``end``, or the current minute when ``end`` is later.

References:
- https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_getupdated.htm
- https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_getdeleted.htm
- https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_getupdated.htm (rules)
- https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_getdeleted_getdeletedresult.htm
The messages for a start older than 30 days and for a window under a minute are the ones Salesforce
answers as reported by client code (restforce issue #667 and others); the answers to a missing or
unreadable parameter are not documented, and are the emulator's own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from airflow_provider_sfpy.emulator.errors import ApiError

MAX_IDS = 600_000
MAX_AGE = timedelta(days=30)
#: ISO 8601 with a zone, as Salesforce's "Valid Date and DateTime Formats" lists them.
_DATETIME = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})T(?P<hour>\d{2}):(?P<minute>\d{2})(?::\d{2}(?:\.\d{1,9})?)?"
    r"(?P<zone>Z|(?P<sign>[+-])(?P<zh>\d{2}):?(?P<zm>\d{2}))"
)
INVALID_DATE = "INVALID_REPLICATION_DATE"


@dataclass(frozen=True)
class Window:
    """A checked window: ``[start, end)``, both on a whole minute, UTC."""

    start: datetime
    end: datetime
    latest_covered: datetime


def _minute(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc).replace(second=0, microsecond=0)


def _parse(name: str, raw: str | None) -> datetime:
    if raw is None or not raw.strip():
        raise ApiError(
            400,
            "MISSING_ARGUMENT",
            f"{name} is required: give start and end as ISO 8601 date-times, e.g. 2024-05-01T00:00:00+00:00",
        )
    match = _DATETIME.fullmatch(raw.strip())
    if match is None:
        hint = " (URL-encode the '+' of the offset as %2B)" if " " in raw else ""
        raise ApiError(
            400,
            INVALID_DATE,
            f"{name}: {raw!r} is not an ISO 8601 date-time with a time zone, e.g. 2024-05-01T00:00:00+00:00{hint}",
        )
    offset = timedelta()
    if match["zone"] != "Z":
        offset = timedelta(hours=int(match["zh"]), minutes=int(match["zm"])) * (-1 if match["sign"] == "-" else 1)
    try:
        day = datetime.strptime(match["date"], "%Y-%m-%d")
        return day.replace(hour=int(match["hour"]), minute=int(match["minute"]), tzinfo=timezone(offset))
    except ValueError:  # 2024-02-30, 25:00, an offset of a day or more
        raise ApiError(400, INVALID_DATE, f"{name}: {raw!r} is not a valid date-time") from None


def window(start: str | None, end: str | None, now: datetime | None = None) -> Window:
    """The window of ``start``/``end`` query parameters, or the error Salesforce answers."""
    begin, finish = _minute(_parse("start", start)), _minute(_parse("end", end))
    current = now or datetime.now(timezone.utc)
    if finish - begin < timedelta(minutes=1):
        raise ApiError(400, INVALID_DATE, "startDate must be at least one minute greater than endDate")
    if begin < current - MAX_AGE:
        raise ApiError(400, INVALID_DATE, "startDate cannot be more than 30 days ago")
    return Window(begin, finish, min(finish, _minute(current)))


def too_many_ids() -> ApiError:
    return ApiError(
        400,
        "EXCEEDED_ID_LIMIT",
        f"more than {MAX_IDS:,} records changed in the window; choose start and end dates closer together",
    )
