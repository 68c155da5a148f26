"""Filter values: does a literal fit the field's type, and what parameter does it bind as?

Salesforce rejects a mistyped filter value (a quoted date, an unquoted string) instead of coercing it,
and users rely on that message to fix their queries, so the same checks happen here.
"""

from __future__ import annotations

from ..schema import NUMBER_TYPES, FieldDef
from .ast import (
    BooleanValue,
    DateLiteral,
    DateTimeValue,
    DateValue,
    NullValue,
    NumberValue,
    StringValue,
    Value,
)
from .literals import decode_string

# Salesforce's name for each field type in "must be of type X" messages.
_TYPE_NAMES = {
    "boolean": "boolean",
    "int": "integer",
    "double": "double",
    "currency": "double",
    "percent": "double",
    "date": "date",
    "datetime": "dateTime",
}
_ACCEPTS: dict[str, tuple[type, ...]] = {
    "boolean": (BooleanValue,),
    "date": (DateValue, DateLiteral),
    "datetime": (DateTimeValue, DateLiteral),
    **dict.fromkeys(NUMBER_TYPES, (NumberValue,)),
}


def type_mismatch(field: FieldDef, value: Value) -> str | None:
    """Salesforce's complaint when ``value`` cannot be compared with ``field``, else ``None``."""
    if isinstance(value, NullValue):
        return None
    accepted = _ACCEPTS.get(field.type, (StringValue,))
    if isinstance(value, accepted):
        return None
    return _expected_type(field)


def like_mismatch(field: FieldDef, value: Value) -> str | None:
    """LIKE needs a text field and a quoted pattern."""
    if not is_text(field):
        return _expected_type(field)
    return None if isinstance(value, StringValue) else _expected_type(field)


def _expected_type(field: FieldDef) -> str:
    prefix = f"value of filter criterion for field '{field.name}' must be of type"
    type_name = _TYPE_NAMES.get(field.type)
    if type_name is None:
        return f"{prefix} string and should be enclosed in quotes"
    return f"{prefix} {type_name} and should not be enclosed in quotes"


def is_text(field: FieldDef) -> bool:
    """Stored as text and compared as text (everything but numbers, booleans and dates)."""
    return field.type not in _TYPE_NAMES


def is_case_insensitive(field: FieldDef) -> bool:
    """Text comparisons are case-insensitive in Salesforce; Ids are not text in that sense."""
    return is_text(field) and field.type not in ("id", "reference", "base64")


def bind(value: Value, *, like: bool = False) -> object:
    """The SQLite parameter for a (type-checked, non-relative) literal, in the stored representation."""
    if isinstance(value, StringValue):
        return decode_string(value.raw, like=like)
    if isinstance(value, BooleanValue):
        return int(value.value)
    if isinstance(value, NumberValue):
        return value.value
    if isinstance(value, (DateValue, DateTimeValue)):
        return value.text
    if isinstance(value, NullValue):
        return None
    raise TypeError(f"{value!r} has no single parameter value")
