"""Parquet columns from Salesforce JSON values: one Arrow type per column, values converted only without loss.

A Parquet file has one schema, fixed before its first row group, so each column's type is settled
from describe and the first page (``plan_column``); a later value that does not fit makes its column
string, which the writer carries out by rewriting what it has written (``parquet_writer``).

**Column types.** A field describe types as a number, boolean, date or datetime gets that type
(``arrow_type``). A field describe calls ``string`` — which is also what describe lookups answer
for a field they cannot resolve: an aggregate alias, a relationship path, a formula described
differently — is typed from its values on the first page: all text (or all null) stays string, all
booleans become bool, numbers become double (int64 when an integer is too large for a double).
Salesforce writes a real text field as JSON text, so numbers in a "string" column mean describe did
not know the field (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_query.htm).

**Lossless conversions** (value -> column), tried only when a page does not fit as it is:

- string: text as is; ``true``/``false``; a number as its JSON text (``1.5``, ``12``); an object
  or list (compound address, location) as JSON text.
- int64: an integral float (``12.0``); text of a canonical integer (``"12"``, ``"-3"``; not
  ``"012"``, ``"12.0"``, ``"1e3"``).
- double: an integer a double holds exactly (|n| <= 2**53); text of a finite number whose double
  reads back as the same decimal (``"1.5"``, ``"0.1"``; not ``"12345678901234567890.12"``).
- bool: the text ``"true"`` or ``"false"``.
- date: ``YYYY-MM-DD`` text. timestamp (ms, UTC): ISO 8601 text with an offset and at most
  millisecond precision (Salesforce's ``2024-01-31T12:00:00.000+0000``).

A boolean never becomes a number, nor a number a boolean. A column whose values contradict its type
beyond these conversions becomes string, with one warning naming the field, its type and the
value's JSON type. On the first page that is settled before anything is written (``plan_column``);
on a later page ``Column.array`` raises ``ValueContradictsColumn`` and the writer makes the column
string for the whole file, rewriting the rows already written (``stored_as_text`` renders them).
Values themselves never appear in messages (they are customer data).

**Text of a value.** A string column holds each JSON value's text: text as is, ``true``/``false``,
a number as Python's JSON writes it (``1.5``, ``12``, ``35000000.0``), an object as JSON. Rows
rewritten after a later page widened their column get the text of the value they were stored as,
which is the same text except where converting it did not keep the JSON spelling: an int64
from ``12.0`` reads back ``12``, a double from ``3`` reads ``3.0``, a datetime is written in
Salesforce's own form in UTC (``2024-01-31T12:00:00.000+0000``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

log = logging.getLogger(__name__)

#: Integers beyond this lose digits as doubles.
_EXACT_DOUBLE_INT = 2**53
_INT64 = (-(2**63), 2**63 - 1)
_CANONICAL_INT = re.compile(r"-?(?:0|[1-9][0-9]*)\Z")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
#: Arrow's strftime of a millisecond timestamp writes ``%S`` as ``00.123``: Salesforce's own form.
_SALESFORCE_DATETIME = "%Y-%m-%dT%H:%M:%S%z"
#: Describe types written as text whatever their values (compound fields hold JSON objects).
_TEXT_TYPES_WITH_OBJECTS = frozenset({"address", "location", "anyType", "complexvalue", "json"})


class ValueContradictsColumn(Exception):
    """A value the column's type cannot hold without loss: the column has to become string.

    ``kind`` is the value's JSON type (never the value: it is customer data).
    """

    def __init__(self, column: str, kind: str) -> None:
        super().__init__(f"column {column!r} cannot hold a JSON {kind} without loss")
        self.column = column
        self.kind = kind


def arrow_type(pa: Any, salesforce_type: str) -> Any:
    """Salesforce describe type -> Arrow type (text for anything that is not a number, boolean or date)."""
    if salesforce_type == "boolean":
        return pa.bool_()
    if salesforce_type == "int":
        return pa.int64()
    if salesforce_type in ("double", "currency", "percent"):
        return pa.float64()
    if salesforce_type == "date":
        return pa.date32()
    if salesforce_type == "datetime":
        return pa.timestamp("ms", tz="UTC")
    return pa.string()


def json_kind(value: Any) -> str:
    """A value's JSON type, for messages: ``string``, ``integer``, ``number``, ``boolean``, ``object``, ``array``."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, (dict, list)):
        return "object" if isinstance(value, dict) else "array"
    return "string" if isinstance(value, str) else type(value).__name__


class _NotLossless(Exception):
    def __init__(self, value: Any) -> None:
        super().__init__(json_kind(value))
        self.kind = json_kind(value)


@dataclass
class Column:
    """One Parquet column: its name (the SELECT item), Arrow type, and where the type came from."""

    name: str
    arrow: Any
    origin: str  # for messages: "describe type 'int'", "its values on the first page"
    warned: bool = False

    def array(self, pa: Any, values: Sequence[Any]) -> Any:
        """``values`` as an Arrow array of this column's type, converted where lossless (see the module);
        ``ValueContradictsColumn`` when one cannot be."""
        try:
            return _as_is(pa, self.arrow, values)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
            pass
        try:
            converted = [None if v is None else _convert(pa, self.arrow, v) for v in values]
        except _NotLossless as exc:
            raise ValueContradictsColumn(self.name, exc.kind) from None
        if pa.types.is_string(self.arrow) and not self.warned:
            odd = next((v for v in values if v is not None and not _plain_text(v)), None)
            if odd is not None:
                self.warned = True
                log.warning(
                    "Parquet column %r is string (from %s), but holds JSON %s values: written as their JSON text",
                    self.name,
                    self.origin,
                    json_kind(odd),
                )
        return pa.array(converted, self.arrow)

    def become_text(self, pa: Any, page: int, kind: str) -> None:
        """Make this column string after ``page`` held a JSON ``kind`` its type cannot hold (one warning)."""
        log.warning(
            "Parquet column %r is %s (from %s), but page %d holds a JSON %s value that %s cannot hold without "
            "loss: the column is written as string (JSON text) in the whole file, rows already written included",
            self.name,
            _type_name(pa, self.arrow),
            self.origin,
            page,
            kind,
            _type_name(pa, self.arrow),
        )
        self.origin = f"{self.origin}, contradicted by page {page}"
        self.arrow = pa.string()
        self.warned = True


def stored_as_text(pa: Any, array: Any) -> Any:
    """A column's stored values as the string column's text for them (see "Text of a value" above).

    Numbers, booleans and dates take Arrow's cast, which writes them as JSON does; a double is
    written by Python (Arrow writes ``1.0`` as ``1`` and ``1e-07`` as ``1e-7``), a datetime in
    Salesforce's form rather than Arrow's ``2024-01-31 12:00:00.000Z``.
    """
    if pa.types.is_string(array.type):
        return array
    if pa.types.is_float64(array.type):
        return pa.array([None if v is None else float.__repr__(v) for v in array.to_pylist()], pa.string())
    if pa.types.is_timestamp(array.type):
        import pyarrow.compute as pc  # with pyarrow, imported only when a datetime column turns text

        return pc.strftime(array, format=_SALESFORCE_DATETIME)
    return array.cast(pa.string())


def plan_column(pa: Any, name: str, salesforce_type: str | None, values: Sequence[Any]) -> Column:
    """The column for ``name`` from describe's type (``None``/``string``: unknown) and its first-page values."""
    if salesforce_type is None or salesforce_type == "string":
        arrow = _inferred_type(pa, values)
        column = Column(name, arrow, "its values on the first page (describe gives no other type)")
        if not pa.types.is_string(arrow):
            log.info("Parquet column %r: describe gives no type; typed %s from the first page", name, arrow)
        return column
    column = Column(name, arrow_type(pa, salesforce_type), f"describe type {salesforce_type!r}")
    if salesforce_type in _TEXT_TYPES_WITH_OBJECTS:
        column.warned = True  # objects and mixed values are what these fields hold
        return column
    try:
        column.array(pa, values)
    except ValueContradictsColumn:
        kinds = sorted({json_kind(v) for v in values if v is not None})
        log.warning(
            "Parquet column %r: describe says %r, but the first page holds JSON %s values that do not convert "
            "without loss; the column is written as string (JSON text)",
            name,
            salesforce_type,
            "/".join(kinds),
        )
        column = Column(name, pa.string(), f"describe type {salesforce_type!r} contradicted by the first page")
        column.warned = True
    return column


def _inferred_type(pa: Any, values: Sequence[Any]) -> Any:
    classes = {v.__class__ for v in values if v is not None}
    if classes == {bool}:
        return pa.bool_()
    if classes and classes <= {int, float}:
        large = any(v.__class__ is int and abs(v) > _EXACT_DOUBLE_INT for v in values)
        if not large:
            return pa.float64()
        if classes == {int}:
            return pa.int64()
    return pa.string()


def _type_name(pa: Any, arrow: Any) -> str:
    return "double" if arrow == pa.float64() else str(arrow)


def _plain_text(value: Any) -> bool:
    return isinstance(value, (str, dict, list))


def _as_is(pa: Any, arrow: Any, values: Sequence[Any]) -> Any:
    """Arrow's own conversion where it is strict; numbers are checked first, since Arrow would
    truncate 2.5 into an int64 column and take ``true`` as 1.0 in a double one."""
    if pa.types.is_date32(arrow) or pa.types.is_timestamp(arrow):
        return pa.array(values, pa.string()).cast(arrow)  # ISO 8601 text, parsed in C
    if not (pa.types.is_int64(arrow) or pa.types.is_float64(arrow)):
        return pa.array(values, arrow)  # strings and booleans: Arrow refuses any other kind of value
    inferred = pa.array(values)
    if inferred.type == arrow:
        return inferred
    if pa.types.is_null(inferred.type) or (pa.types.is_int64(inferred.type) and pa.types.is_float64(arrow)):
        return pa.array(values, arrow)  # Arrow refuses an integer a double cannot hold exactly
    raise TypeError(f"{inferred.type} values in a {arrow} column")


def _convert(pa: Any, arrow: Any, value: Any) -> Any:
    """``value`` as the Python object Arrow takes for ``arrow``, with nothing lost, or ``_NotLossless``."""
    if pa.types.is_string(arrow):
        return _text(value)
    if isinstance(value, bool):
        if pa.types.is_boolean(arrow):
            return value
        raise _NotLossless(value)
    if pa.types.is_int64(arrow):
        return _integer(value)
    if pa.types.is_float64(arrow):
        return _double(value)
    if pa.types.is_boolean(arrow) and value in ("true", "false"):
        return value == "true"
    if pa.types.is_date32(arrow) and isinstance(value, str) and _DATE.match(value):
        return _checked(value, dt.date.fromisoformat)
    if pa.types.is_timestamp(arrow) and isinstance(value, str):
        moment = _checked(value, dt.datetime.fromisoformat)
        if moment.tzinfo is not None and moment.microsecond % 1000 == 0:
            return moment
    raise _NotLossless(value)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, ensure_ascii=False)


def _integer(value: Any) -> int:
    if isinstance(value, int):
        number = value
    elif (isinstance(value, float) and value.is_integer()) or (isinstance(value, str) and _CANONICAL_INT.match(value)):
        number = int(value)
    else:
        raise _NotLossless(value)
    if not _INT64[0] <= number <= _INT64[1]:
        raise _NotLossless(value)
    return number


def _double(value: Any) -> float:
    if isinstance(value, int):
        if abs(value) <= _EXACT_DOUBLE_INT:
            return float(value)
        raise _NotLossless(value)
    if isinstance(value, float):
        return value
    if isinstance(value, str):
        try:
            number = float(value)
            if number == number and abs(number) != float("inf") and Decimal(repr(number)) == Decimal(value):
                return number
        except (ValueError, InvalidOperation):
            pass
    raise _NotLossless(value)


def _checked(value: str, parse: Any) -> Any:
    try:
        return parse(value)
    except ValueError:
        raise _NotLossless(value) from None
