"""The system methods the subset knows: signatures for the checker, implementations for the interpreter.

Keeping a method's parameter types next to its body means a call either compiles and runs, or fails
to compile with Salesforce's ``Method does not exist or incorrect signature`` - it can never reach
the interpreter unresolved. Instance methods depend on the receiver's type (``List<Account>.get``
returns an ``Account``), so they are built per type.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from .context import ExecutionContext
from .errors import SCRIPT_THROWN, ExceptionValue, throw
from .types import (
    BOOLEAN,
    DATE,
    DATETIME,
    DECIMAL,
    ID,
    INTEGER,
    OBJECT,
    STRING,
    VOID,
    ApexType,
    assignable,
)
from .values import SLOT_BYTES, ApexList, coerce, equals, stored_size, to_text

Impl = Callable[[ExecutionContext, Any, list[Any]], Any]


@dataclass(frozen=True)
class Method:
    name: str
    params: tuple[ApexType, ...]
    returns: ApexType
    impl: Impl


Methods = dict[str, list[Method]]


def _table(*methods: Method) -> Methods:
    table: Methods = {}
    for m in methods:
        table.setdefault(m.name.lower(), []).append(m)
    return table


def resolve(table: Methods, name: str, arg_types: Sequence[ApexType]) -> Method | None:
    """The overload of ``name`` whose parameters accept ``arg_types``."""
    for method in table.get(name.lower(), []):
        if len(method.params) == len(arg_types) and all(
            assignable(p, a) for p, a in zip(method.params, arg_types, strict=True)
        ):
            return method
    return None


def signature_error(name: str, arg_types: Sequence[ApexType], owner: str) -> str:
    return (
        f"Method does not exist or incorrect signature: void {name}({', '.join(map(str, arg_types))}) "
        f"from the type {owner}"
    )


# ---------------------------------------------------------------------------------------- System


def _debug(ctx: ExecutionContext, _: Any, args: list[Any]) -> None:
    ctx.debug(to_text(args[0]))


def _assert(ctx: ExecutionContext, _: Any, args: list[Any]) -> None:
    if args[0] is not True:
        suffix = f": {to_text(args[1])}" if len(args) > 1 else ""
        raise throw("AssertException", f"Assertion Failed{suffix}")


def _assert_equals(ctx: ExecutionContext, _: Any, args: list[Any]) -> None:
    expected, actual = args[0], args[1]
    if not equals(expected, actual):
        prefix = f"{to_text(args[2])}: " if len(args) > 2 else ""
        detail = f"Expected: {to_text(expected)}, Actual: {to_text(actual)}"
        raise throw("AssertException", f"Assertion Failed: {prefix}{detail}")


def _assert_not_equals(ctx: ExecutionContext, _: Any, args: list[Any]) -> None:
    if equals(args[0], args[1]):
        prefix = f"{to_text(args[2])}: " if len(args) > 2 else ""
        raise throw("AssertException", f"Assertion Failed: {prefix}Same value: {to_text(args[1])}")


def _now(ctx: ExecutionContext, _: Any, args: list[Any]) -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def _today(ctx: ExecutionContext, _: Any, args: list[Any]) -> date:
    return datetime.now(timezone.utc).date()


def _new_date(ctx: ExecutionContext, _: Any, args: list[Any]) -> date:
    """``Date.newInstance``: lenient like Apex (month 13 rolls into the next year)."""
    if None in args:
        raise throw("NullPointerException", "Argument cannot be null")
    year, month, day = args
    months = year * 12 + (month - 1)
    try:
        return date(months // 12, months % 12 + 1, 1) + timedelta(days=day - 1)
    except (ValueError, OverflowError):
        raise throw("TypeException", f"Invalid date: {year}-{month}-{day}") from None


def _date_value_of(ctx: ExecutionContext, _: Any, args: list[Any]) -> date | None:
    text = args[0]
    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip()[:10])
    except ValueError:
        raise throw("TypeException", f"Invalid date: {text}") from None


def _integer_value_of(ctx: ExecutionContext, _: Any, args: list[Any]) -> int | None:
    value = args[0]
    if value is None or isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            raise throw("TypeException", f"Invalid integer: {value}") from None
    if isinstance(value, (Decimal, float)):
        return int(value)
    raise throw("TypeException", f"Invalid conversion from runtime type {type(value).__name__} to Integer")


def _decimal_value_of(ctx: ExecutionContext, _: Any, args: list[Any]) -> Decimal | None:
    value = args[0]
    if value is None:
        return None
    try:
        return Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
    except (InvalidOperation, TypeError):
        raise throw("TypeException", f"Invalid decimal: {value}") from None


STATIC_CLASSES: dict[str, tuple[str, Methods]] = {
    "system": (
        "System",
        _table(
            Method("debug", (OBJECT,), VOID, _debug),
            Method("assert", (BOOLEAN,), VOID, _assert),
            Method("assert", (BOOLEAN, OBJECT), VOID, _assert),
            Method("assertEquals", (OBJECT, OBJECT), VOID, _assert_equals),
            Method("assertEquals", (OBJECT, OBJECT, OBJECT), VOID, _assert_equals),
            Method("assertNotEquals", (OBJECT, OBJECT), VOID, _assert_not_equals),
            Method("assertNotEquals", (OBJECT, OBJECT, OBJECT), VOID, _assert_not_equals),
            Method("now", (), DATETIME, _now),
            Method("today", (), DATE, _today),
        ),
    ),
    "date": (
        "Date",
        _table(
            Method("today", (), DATE, _today),
            Method("newInstance", (INTEGER, INTEGER, INTEGER), DATE, _new_date),
            Method("valueOf", (STRING,), DATE, _date_value_of),
        ),
    ),
    "datetime": ("Datetime", _table(Method("now", (), DATETIME, _now))),
    "string": (
        "String",
        _table(
            Method("valueOf", (OBJECT,), STRING, lambda ctx, _, a: to_text(a[0])),
            Method("isBlank", (STRING,), BOOLEAN, lambda ctx, _, a: a[0] is None or not a[0].strip()),
            Method("isNotBlank", (STRING,), BOOLEAN, lambda ctx, _, a: a[0] is not None and bool(a[0].strip())),
        ),
    ),
    "integer": ("Integer", _table(Method("valueOf", (OBJECT,), INTEGER, _integer_value_of))),
    "decimal": ("Decimal", _table(Method("valueOf", (OBJECT,), DECIMAL, _decimal_value_of))),
    "userinfo": (
        "UserInfo",
        _table(
            Method("getUserId", (), ID, lambda ctx, _, a: ctx.user_id),
            Method("getUserName", (), STRING, lambda ctx, _, a: ctx.username),
            Method("getOrganizationId", (), ID, lambda ctx, _, a: ctx.org_id),
        ),
    ),
}


# ---------------------------------------------------------------------------------------- instance methods


def _list_get(ctx: ExecutionContext, target: ApexList, args: list[Any]) -> Any:
    index = args[0]
    if index is None:
        raise throw("NullPointerException", "Argument cannot be null")
    if not 0 <= index < len(target.items):
        raise throw("ListException", f"List index out of bounds: {index}")
    return target.items[index]


def _list_add(element: ApexType) -> Impl:
    def add(ctx: ExecutionContext, target: ApexList, args: list[Any]) -> None:
        value = coerce(args[0], element)
        ctx.limits.note_allocation(SLOT_BYTES + stored_size(value))
        target.items.append(value)

    return add


def _list_methods(t: ApexType) -> Methods:
    element = t.element or OBJECT
    return _table(
        Method("size", (), INTEGER, lambda ctx, lst, a: len(lst.items)),
        Method("isEmpty", (), BOOLEAN, lambda ctx, lst, a: not lst.items),
        Method("add", (element,), VOID, _list_add(element)),
        Method("get", (INTEGER,), element, _list_get),
        Method("contains", (element,), BOOLEAN, lambda ctx, lst, a: any(equals(x, a[0]) for x in lst.items)),
        Method("clear", (), VOID, lambda ctx, lst, a: lst.items.clear()),
    )


def _integer_arg(args: list[Any]) -> int:
    if args[0] is None:
        raise throw("NullPointerException", "Argument cannot be null")
    number: int = args[0]
    return number


def _string_arg(args: list[Any]) -> str:
    if args[0] is None:
        raise throw("NullPointerException", "Argument cannot be null")
    text: str = args[0]
    return text


_STRING_METHODS = _table(
    Method("length", (), INTEGER, lambda ctx, s, a: len(s)),
    Method("toUpperCase", (), STRING, lambda ctx, s, a: s.upper()),
    Method("toLowerCase", (), STRING, lambda ctx, s, a: s.lower()),
    Method("trim", (), STRING, lambda ctx, s, a: s.strip(" \t\n\r\f\v")),
    Method("contains", (STRING,), BOOLEAN, lambda ctx, s, a: _string_arg(a) in s),
    Method("startsWith", (STRING,), BOOLEAN, lambda ctx, s, a: s.startswith(_string_arg(a))),
    Method("endsWith", (STRING,), BOOLEAN, lambda ctx, s, a: s.endswith(_string_arg(a))),
)
_DATE_METHODS = _table(
    Method("addDays", (INTEGER,), DATE, lambda ctx, d, a: d + timedelta(days=_integer_arg(a))),
    Method("year", (), INTEGER, lambda ctx, d, a: d.year),
    Method("month", (), INTEGER, lambda ctx, d, a: d.month),
    Method("day", (), INTEGER, lambda ctx, d, a: d.day),
)


def _exception_line(e: ExceptionValue) -> int:
    return e.pos.line if e.pos else -1


_EXCEPTION_METHODS = _table(
    Method("getMessage", (), STRING, lambda ctx, e, a: e.message if e.message is not None else SCRIPT_THROWN),
    Method("getTypeName", (), STRING, lambda ctx, e, a: e.qualified_name),
    Method("getLineNumber", (), INTEGER, lambda ctx, e, a: _exception_line(e)),
    Method("getStackTraceString", (), STRING, lambda ctx, e, a: e.stack_trace()),
)


def instance_methods(t: ApexType) -> Methods:
    """The methods callable on a value of type ``t`` (none for sObjects: they have fields)."""
    if t.kind == "list":
        return _list_methods(t)
    if t == STRING:
        return _STRING_METHODS
    if t == DATE:
        return _DATE_METHODS
    if t.kind == "exception":
        return _EXCEPTION_METHODS
    return {}
