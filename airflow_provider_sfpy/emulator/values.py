"""Field values between the wire (JSON) and storage (SQLite), with Salesforce's validation errors.

Incoming values are checked the way the REST API checks them while deserialising a request body:
a value of the wrong JSON type is a ``JSON_PARSER_ERROR`` that names the Jackson token
(``Cannot deserialize instance of double from VALUE_STRING value abc ...``), an oversized text is
``STRING_TOO_LONG``, a badly formed Id in a lookup is ``MALFORMED_ID``. Checks that need the
database (does the referenced record exist, is the external id unique) live in the store.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta, timezone
from typing import Any

from airflow_provider_sfpy.emulator import ids
from airflow_provider_sfpy.emulator.errors import ApiError, json_parser_error
from airflow_provider_sfpy.emulator.schema import NUMBER_TYPES, SCHEMA, FieldDef, SObjectDef

_DATETIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?"
    r"(Z|[+-]\d{2}:?\d{2})?"
)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def format_datetime(moment: datetime) -> str:
    """Storage and wire form of a datetime: ``2024-05-01T12:30:00.000+0000`` (UTC, milliseconds)."""
    utc = moment.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+0000"


def now_string() -> str:
    return format_datetime(datetime.now(timezone.utc))


def jackson_token(value: object) -> str:
    """How Jackson names a JSON value in its errors (``VALUE_STRING value abc``)."""
    if isinstance(value, bool):
        return f"VALUE_{str(value).upper()} value {str(value).lower()}"
    if isinstance(value, int):
        return f"VALUE_NUMBER_INT value {value}"
    if isinstance(value, float):
        return f"VALUE_NUMBER_FLOAT value {value}"
    if isinstance(value, dict):
        return "START_OBJECT value {"
    if isinstance(value, list):
        return "START_ARRAY value ["
    return f"VALUE_STRING value {value}"


class BodyLocator:
    """Finds where a top-level field's value ends in the raw JSON body, for ``at [line:L, column:C]``.

    Salesforce's JSON_PARSER_ERROR messages point into the request body; clients show them to users,
    so the emulator reproduces the pointer instead of leaving it out.
    """

    def __init__(self, raw: str | None) -> None:
        self._raw = raw

    def suffix(self, field_name: str) -> str:
        if not self._raw:
            return ""
        match = re.search(r'"' + re.escape(field_name) + r'"\s*:\s*', self._raw, re.IGNORECASE)
        if match is None:
            return ""
        try:
            _, end = json.JSONDecoder().raw_decode(self._raw, match.end())
        except ValueError:
            end = match.end()
        line = self._raw.count("\n", 0, end) + 1
        column = end - (self._raw.rfind("\n", 0, end) + 1)
        return f" at [line:{line}, column:{column}]"


def _type_error(field: FieldDef, value: object, locator: BodyLocator) -> ApiError:
    return json_parser_error(
        f"Cannot deserialize instance of {field.type} from {jackson_token(value)} "
        f"or request may be missing a required field{locator.suffix(field.name)}"
    )


def _number(field: FieldDef, value: object, locator: BodyLocator) -> float | int:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise _type_error(field, value, locator)
    try:
        number = float(value) if isinstance(value, str) else value
    except ValueError:
        raise _type_error(field, value, locator) from None
    if field.type == "int":
        if isinstance(number, float) and not number.is_integer():
            raise _type_error(field, value, locator)
        return int(number)
    return float(number)


def _boolean(field: FieldDef, value: object, locator: BodyLocator) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return int(value.lower() == "true")
    raise _type_error(field, value, locator)


def _date(field: FieldDef, value: object, locator: BodyLocator) -> str:
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    raise _type_error(field, value, locator)


def parse_datetime(text: str) -> datetime | None:
    """An ISO-8601 datetime as Salesforce accepts it (``Z``, ``+0000`` or ``+00:00``; date alone = midnight)."""
    match = _DATETIME.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    try:
        moment = datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "0")[:6].ljust(6, "0")),
            tzinfo=timezone.utc,
        )
    except ValueError:
        return None
    if offset and offset != "Z":
        sign = 1 if offset[0] == "+" else -1
        digits = offset[1:].replace(":", "")
        moment -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return moment


def _datetime(field: FieldDef, value: object, locator: BodyLocator) -> str:
    if isinstance(value, str):
        moment = parse_datetime(value)
        if moment is not None:
            return format_datetime(moment)
    raise _type_error(field, value, locator)


def _base64(field: FieldDef, value: object, locator: BodyLocator) -> bytes:
    if isinstance(value, str):
        try:
            return base64.b64decode("".join(value.split()), validate=True)
        except (binascii.Error, ValueError):
            pass
    raise _type_error(field, value, locator)


def _reference(obj: SObjectDef, field: FieldDef, value: object, locator: BodyLocator) -> str:
    if not isinstance(value, str):
        raise _type_error(field, value, locator)
    message = f"{field.label or field.name}: id value of incorrect type: {value}"
    normalized = ids.normalize(value)
    if normalized is None:
        raise ApiError(400, "MALFORMED_ID", message, [field.name])
    prefixes = {SCHEMA[target].key_prefix for target in field.reference_to if target in SCHEMA}
    if normalized[:3] not in prefixes:
        raise ApiError(400, "FIELD_INTEGRITY_EXCEPTION", message, [field.name])
    return normalized


def _text(field: FieldDef, value: object, locator: BodyLocator) -> str:
    if isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, (int, float, str)):
        text = str(value)
    else:
        raise _type_error(field, value, locator)
    if field.length and len(text) > field.length:
        raise ApiError(
            400,
            "STRING_TOO_LONG",
            f"{field.label or field.name}: data value too large: {text} (max length={field.length})",
            [field.name],
        )
    if field.type == "email" and not _EMAIL.fullmatch(text):
        raise ApiError(
            400, "INVALID_EMAIL_ADDRESS", f"{field.label or field.name}: invalid email address: {text}", [field.name]
        )
    return text


def to_storage(obj: SObjectDef, field: FieldDef, value: object, locator: BodyLocator) -> object:
    """One incoming JSON value as its storage value; ``None`` (and ``""`` for text) means empty."""
    if value is None or value == "":
        return 0 if field.type == "boolean" else None
    kind = field.type
    if kind in NUMBER_TYPES:
        return _number(field, value, locator)
    if kind == "boolean":
        return _boolean(field, value, locator)
    if kind == "date":
        return _date(field, value, locator)
    if kind == "datetime":
        return _datetime(field, value, locator)
    if kind == "base64":
        return _base64(field, value, locator)
    if kind == "reference":
        return _reference(obj, field, value, locator)
    if kind == "id":
        normalized = ids.normalize(value) if isinstance(value, str) else None
        if normalized is None:
            raise ApiError(400, "MALFORMED_ID", f"{field.label or field.name}: id value of incorrect type: {value}")
        return normalized
    return _text(field, value, locator)


def blob_url(obj: SObjectDef, record_id: str, field: FieldDef, version: str) -> str:
    return f"/services/data/v{version}/sobjects/{obj.name}/{record_id}/{field.name}"


def record_to_json(
    obj: SObjectDef, row: Mapping[str, Any], version: str, fields: tuple[FieldDef, ...] | list[FieldDef]
) -> dict[str, Any]:
    """A stored row as the REST API's record JSON (``attributes`` first, then the fields in order)."""
    record_id = row["Id"]
    record: dict[str, Any] = {
        "attributes": {"type": obj.name, "url": f"/services/data/v{version}/sobjects/{obj.name}/{record_id}"}
    }
    for field in fields:
        value = row[field.name]
        if field.type == "boolean":
            value = bool(value)
        elif field.type == "base64":
            value = blob_url(obj, record_id, field, version) if value is not None else None
        record[field.name] = value
    return record
