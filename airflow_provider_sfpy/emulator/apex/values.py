"""Apex values at run time, and their conversions to text, to storage and between numeric types.

Python stands in for most Apex primitives (``int`` for Integer and Long, ``Decimal``, ``float`` for
Double, ``str`` for String and Id, ``date``/``datetime``, ``None`` for null); sObjects, lists and
exceptions get small classes of their own. Apex semantics that differ from Python's live here:
case-insensitive String equality, null ordering, ``String.valueOf`` formatting, Id validation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from airflow_provider_sfpy.emulator import ids
from airflow_provider_sfpy.emulator.schema import FieldDef, SObjectDef
from airflow_provider_sfpy.emulator.values import format_datetime, parse_datetime

from .errors import ExceptionValue, throw
from .types import DECIMAL, DOUBLE, ID, INTEGER, LONG, ApexType

INTEGER_BITS = 32
LONG_BITS = 64
_NOT_QUERIED = "SObject row was retrieved via SOQL without querying the requested field: {obj}.{field}"


@dataclass(eq=False)
class SObjectValue:
    """An sObject record in memory: built with ``new`` or read by a query.

    ``queried`` is ``None`` for a record built in code (every field reads as null until set); for a
    queried record it holds the (lower-case) fields and relationships the query selected, and reading
    anything else throws, as Salesforce does. ``dirty`` remembers what the code set: what DML sends.
    """

    sobject: SObjectDef
    values: dict[str, Any] = field(default_factory=dict)
    parents: dict[str, SObjectValue | None] = field(default_factory=dict)
    queried: frozenset[str] | None = None
    dirty: dict[str, None] = field(default_factory=dict)

    @property
    def record_id(self) -> str | None:
        value: str | None = self.values.get("Id")
        return value

    def read(self, f: FieldDef) -> Any:
        self._check_queried(f.name)
        return self.values.get(f.name)

    def write(self, f: FieldDef, value: Any) -> None:
        if f.name == "Id" and value is not None and value[:3] != self.sobject.key_prefix:
            raise throw("StringException", f"Invalid id value for this SObject type: {value}")
        self.values[f.name] = value
        self.dirty[f.name] = None

    def read_parent(self, relationship: str) -> SObjectValue | None:
        self._check_queried(relationship)
        return self.parents.get(relationship)

    def write_parent(self, relationship: str, parent: SObjectValue | None) -> None:
        self.parents[relationship] = parent
        self.dirty[relationship] = None

    def changes(self) -> dict[str, Any]:
        """The fields the code set (relationships excluded), as DML sends them."""
        return {name: to_wire(self.values[name]) for name in self.dirty if name in self.values}

    def _check_queried(self, name: str) -> None:
        if self.queried is not None and name.lower() not in self.queried and name not in self.dirty:
            raise throw("SObjectException", _NOT_QUERIED.format(obj=self.sobject.name, field=name))


@dataclass(eq=False)
class ApexList:
    element: ApexType
    items: list[Any] = field(default_factory=list)


# ---------------------------------------------------------------------------------------- heap

#: Bytes the heap estimate counts for a number, date, Boolean, reference or list slot.
SLOT_BYTES = 8
#: Strings at least this long are counted once however many variables hold them (one object in Apex too).
_SHARED_STRING = 64
_SCALARS = (int, float, Decimal, date)


def stored_size(value: Any) -> int:
    """A cheap upper bound of what storing ``value`` adds to the heap (the trigger for a measurement)."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, ApexList):
        return SLOT_BYTES * (len(value.items) + 1)
    if isinstance(value, SObjectValue):
        return SLOT_BYTES * (len(value.values) + 2)
    return SLOT_BYTES


def heap_size(roots: Any) -> int:
    """The Apex heap the values reachable from ``roots`` take: a String its length, a number, date or
    Boolean ``SLOT_BYTES``, a list or sObject a slot per element or field plus what those hold. Each
    list, sObject, exception and long String is counted once, however often it is referenced."""
    total = 0
    seen: set[int] = set()
    pending = list(roots)
    while pending:
        value = pending.pop()
        if value is None:
            continue
        if isinstance(value, str):
            if len(value) >= _SHARED_STRING:
                if id(value) in seen:
                    continue
                seen.add(id(value))
            total += len(value)
        elif isinstance(value, _SCALARS):
            total += SLOT_BYTES
        elif id(value) in seen:
            continue
        elif isinstance(value, ApexList):
            seen.add(id(value))
            total += SLOT_BYTES * (len(value.items) + 1)
            for item in value.items:
                if isinstance(item, str) and len(item) < _SHARED_STRING:
                    total += len(item)
                elif item is not None and not isinstance(item, _SCALARS):
                    pending.append(item)
        elif isinstance(value, SObjectValue):
            seen.add(id(value))
            total += SLOT_BYTES * (len(value.values) + len(value.parents) + 2)
            pending.extend(value.values.values())
            pending.extend(value.parents.values())
        elif isinstance(value, ExceptionValue):
            seen.add(id(value))
            total += 2 * SLOT_BYTES
            pending.append(value.message)
        else:
            total += SLOT_BYTES
    return total


# ---------------------------------------------------------------------------------------- text


def to_text(value: Any) -> str:
    """``String.valueOf(value)``: what string concatenation and ``System.debug`` print."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, float):
        return _double_text(value)
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, SObjectValue):
        fields = ", ".join(f"{name}={to_text(v)}" for name, v in value.values.items())
        return f"{value.sobject.name}:{{{fields}}}"
    if isinstance(value, ApexList):
        return "(" + ", ".join(to_text(item) for item in value.items) + ")"
    if isinstance(value, ExceptionValue):
        return str(value)
    return str(value)


def _double_text(value: float) -> str:
    """Java's ``Double.toString``: plain between 10^-3 and 10^7, else ``1.5E10``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0 or 1e-3 <= abs(value) < 1e7:
        text = repr(value)
        return text if "." in text else text + ".0"
    mantissa, exponent = f"{value:.15E}".split("E")
    mantissa = mantissa.rstrip("0")
    return f"{mantissa}0E{int(exponent)}" if mantissa.endswith(".") else f"{mantissa}E{int(exponent)}"


# ---------------------------------------------------------------------------------------- equality and order


def equals(a: Any, b: Any) -> bool:
    """Apex ``==``: Strings compare case-insensitively, numbers by value, sObjects field by field."""
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()
    if _is_number(a) and _is_number(b):
        return to_decimal(a) == to_decimal(b)
    if isinstance(a, SObjectValue) and isinstance(b, SObjectValue):
        return (
            a.sobject.name == b.sobject.name
            and a.values.keys() == b.values.keys()
            and all(equals(v, b.values[k]) for k, v in a.values.items())
        )
    if isinstance(a, ApexList) and isinstance(b, ApexList):
        return len(a.items) == len(b.items) and all(equals(x, y) for x, y in zip(a.items, b.items, strict=True))
    if isinstance(a, ExceptionValue) or isinstance(b, ExceptionValue):
        return a is b
    return bool(a == b)


def less_than(a: Any, b: Any) -> bool:
    """Apex ``<``: false when a number or date is null; a null String is less than any other."""
    if a is None or b is None:
        return isinstance(b, str) and a is None
    if isinstance(a, str):
        return bool(a.lower() < b.lower())
    if _is_number(a):
        return to_decimal(a) < to_decimal(b)
    return bool(a < b)


# ---------------------------------------------------------------------------------------- numbers


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def to_decimal(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


def wrap(value: int, bits: int) -> int:
    """Two's-complement overflow, as Apex Integer (32-bit) and Long (64-bit) arithmetic does."""
    half = 1 << (bits - 1)
    return (value + half) % (1 << bits) - half


def coerce(value: Any, target: ApexType) -> Any:
    """A value stored into a variable, field or list element of type ``target`` (implicit conversion)."""
    if value is None:
        return None
    if target == DECIMAL and _is_number(value):
        return to_decimal(value)
    if target == DOUBLE and _is_number(value):
        return float(value)
    if target in (INTEGER, LONG) and _is_number(value):
        return int(value)
    if target == ID and isinstance(value, str):
        return valid_id(value)
    return value


def valid_id(text: str) -> str:
    """The canonical 18-character Id, or ``System.StringException: Invalid id: ...``."""
    normalized = ids.normalize(text)
    if normalized is None:
        raise throw("StringException", f"Invalid id: {text}")
    return normalized


# ---------------------------------------------------------------------------------------- storage


def from_record(f: FieldDef, value: Any) -> Any:
    """A value of a REST query record as Apex holds it (numbers with the field's scale)."""
    if value is None:
        return None
    kind = f.type
    if kind == "boolean":
        return bool(value)
    if kind == "int":
        return int(value)
    if kind in ("double", "currency", "percent"):
        number = to_decimal(value)
        if not f.precision:
            return number
        try:  # Salesforce hands Apex the field's scale: Amount 5000 reads as 5000.00
            return number.quantize(Decimal(1).scaleb(-f.scale))
        except InvalidOperation:
            return number
    if kind == "date":
        return date.fromisoformat(value)
    if kind == "datetime":
        return parse_datetime(value)
    return value


def to_wire(value: Any) -> Any:
    """An Apex value as the store's write path takes it (the JSON a REST client would send)."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    return value
