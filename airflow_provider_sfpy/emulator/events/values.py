"""Stored field values (SQLite) as Avro values of an event: numbers, booleans, and epoch milliseconds.

Change events carry dates and datetimes as ``long`` milliseconds since the epoch ("Date fields are in
Epoch time", https://developer.salesforce.com/docs/atlas.en-us.api_streaming.meta/api_streaming/cdc_event_diff_pubsub_cometd.htm);
a date is its midnight UTC. The store keeps ``boolean`` as 0/1, dates as ``YYYY-MM-DD`` and
datetimes as ``YYYY-MM-DDTHH:MM:SS.000+0000`` (see ``schema.py``).
"""

from __future__ import annotations

import functools
import time
from datetime import date, datetime, timezone
from typing import Any

_EPOCH = date(1970, 1, 1)
_DAY_MS = 86_400_000


def epoch_millis_now() -> int:
    return time.time_ns() // 1_000_000


@functools.lru_cache(maxsize=4096)  # a batch's records share their timestamps
def date_millis(text: str) -> int:
    """``2024-05-01`` -> milliseconds since the epoch at that day's midnight UTC."""
    return (date.fromisoformat(text[:10]) - _EPOCH).days * _DAY_MS


@functools.lru_cache(maxsize=4096)
def datetime_millis(text: str) -> int:
    """``2024-05-01T12:30:00.000+0000`` -> milliseconds since the epoch."""
    moment = datetime.fromisoformat(text)
    return int(moment.astimezone(timezone.utc).timestamp() * 1000)


def avro_value(field_type: str, stored: Any) -> Any:
    """A stored value of a field of ``field_type`` (describe type) as the event's Avro value."""
    if stored is None:
        return None
    if field_type == "boolean":
        return bool(stored)
    if field_type == "int":
        return int(stored)
    if field_type in ("double", "currency", "percent"):
        return float(stored)
    if field_type == "date":
        return date_millis(str(stored))
    if field_type == "datetime":
        return datetime_millis(str(stored))
    return str(stored)
