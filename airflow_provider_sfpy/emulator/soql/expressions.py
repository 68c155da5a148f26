"""Operands -> SQL: field paths, date functions (``CALENDAR_YEAR(CreatedDate)``) and aggregate functions.

An ``Expression`` is what every clause works with: its SQL, the type of its value (a ``FieldDef``,
synthetic for function results, so filters type-check literals and results convert as for a field of
that type), its canonical text (``COUNT(Id)``, ``Account.Name``: how GROUP BY, HAVING and ORDER BY
recognise "the same expression") and its default key in an ``AggregateResult``.

Dates are stored as ``YYYY-MM-DD`` and datetimes as UTC ``YYYY-MM-DDTHH:MM:SS.mmm+0000`` text, so a
date function reads the first ten characters (the UTC day; the org's time zone is UTC, which is also
why ``convertTimezone()`` changes nothing) and ``HOUR_IN_DAY`` the two after the ``T``. Fiscal years
start in January, so the ``FISCAL_*`` functions equal their ``CALENDAR_*`` twins.

References:
- Aggregate Functions: https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_agg_functions.htm
- Support for Field Types in Aggregate Functions:
  https://developer.salesforce.com/docs/platform/salesforce-soql-sosl/guide/sforce-api-calls-soql-select-agg-functions-field-types.html
- Date Functions: https://developer.salesforce.com/docs/platform/salesforce-soql-sosl/guide/sforce-api-calls-soql-select-date-functions.html
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..schema import NUMBER_TYPES, FieldDef
from .ast import FieldPath, FunctionCall, Operand
from .describe_facts import aggregatable
from .errors import QueryErrors
from .resolver import ResolvedField, Resolver
from .values import is_case_insensitive

MALFORMED = "MALFORMED_QUERY"
AGGREGATE_FUNCTIONS = frozenset({"COUNT", "COUNT_DISTINCT", "SUM", "AVG", "MIN", "MAX"})
_NUMERIC_ONLY = frozenset({"SUM", "AVG"})
_CONVERT_TIMEZONE = "CONVERTTIMEZONE"


def _part(pattern: str) -> Callable[[str], str]:
    return lambda day: f"CAST(strftime('{pattern}', {day}) AS INTEGER)"


@dataclass(frozen=True)
class DateFunction:
    """How one date function reads its SQL input, and what type it returns.

    The input is the ``YYYY-MM-DD`` day (a datetime's first ten characters), or with ``reads_day``
    false the stored datetime text itself.
    """

    sql: Callable[[str], str]
    result_type: str = "int"
    datetime_only: bool = False
    reads_day: bool = True


_YEAR, _MONTH, _DAY, _WEEKDAY, _YEARDAY = _part("%Y"), _part("%m"), _part("%d"), _part("%w"), _part("%j")
DATE_FUNCTIONS: dict[str, DateFunction] = {
    "CALENDAR_YEAR": DateFunction(_YEAR),
    "CALENDAR_QUARTER": DateFunction(lambda d: f"(({_MONTH(d)} + 2) / 3)"),
    "CALENDAR_MONTH": DateFunction(_MONTH),
    "DAY_IN_MONTH": DateFunction(_DAY),
    "DAY_IN_WEEK": DateFunction(lambda d: f"({_WEEKDAY(d)} + 1)"),  # 1 = Sunday
    "DAY_IN_YEAR": DateFunction(_YEARDAY),
    "WEEK_IN_MONTH": DateFunction(lambda d: f"(({_DAY(d)} + 6) / 7)"),  # days 1-7 are week 1
    "WEEK_IN_YEAR": DateFunction(lambda d: f"(({_YEARDAY(d)} + 6) / 7)"),
    "DAY_ONLY": DateFunction(lambda d: d, result_type="date", datetime_only=True),
    "HOUR_IN_DAY": DateFunction(lambda t: f"CAST(substr({t}, 12, 2) AS INTEGER)", datetime_only=True, reads_day=False),
}
for _fiscal in ("YEAR", "QUARTER", "MONTH"):
    DATE_FUNCTIONS[f"FISCAL_{_fiscal}"] = DATE_FUNCTIONS[f"CALENDAR_{_fiscal}"]

_UNKNOWN_FUNCTION = (
    "Unknown function {name}(). SOQL functions the emulator knows: COUNT, COUNT_DISTINCT, SUM, AVG, MIN, MAX, "
    "GROUPING, FIELDS, convertTimezone and the date functions ({dates}); toLabel, FORMAT and "
    "convertCurrency are not emulated."
)
_NESTED = (
    "nested functional syntax can only be used in the following manner: "
    "date_function(convertTimezone(columnName)): {name}"
)


@dataclass(frozen=True)
class Expression:
    """A compiled operand. ``key`` is the AggregateResult key it gets without an alias (None: ``exprN``)."""

    sql: str
    field: FieldDef
    text: str
    key: str | None
    aggregate: bool = False
    source: ResolvedField | None = None


class ExpressionCompiler:
    """Compiles the operands of one query level against its resolver (and so its joins)."""

    def __init__(self, resolver: Resolver, errors: QueryErrors) -> None:
        self.resolver = resolver
        self._errors = errors

    def field(self, path: FieldPath) -> Expression:
        resolved = self.resolver.resolve(path)
        return Expression(resolved.column, resolved.field, resolved.path, resolved.field.name, source=resolved)

    def compile(self, operand: Operand, *, aggregates: bool, clause: str) -> Expression:
        """``operand`` as SQL; aggregate functions only where ``aggregates`` (``clause`` names the place)."""
        if isinstance(operand, FieldPath):
            return self.field(operand)
        if operand.name in DATE_FUNCTIONS:
            return self._date_function(operand)
        if operand.name in AGGREGATE_FUNCTIONS:
            if not aggregates:
                reason = (
                    f"Aggregate functions are not allowed in {clause}: {operand.text}. They belong in the SELECT "
                    "list, HAVING and ORDER BY of an aggregate query."
                )
                raise self._errors.at(operand.pos, MALFORMED, reason)
            return self.aggregate(operand)
        if operand.name == _CONVERT_TIMEZONE:
            reason = "convertTimezone() can only be used inside a date function, as in HOUR_IN_DAY(convertTimezone(x))"
            raise self._errors.at(operand.pos, MALFORMED, reason)
        if operand.name in ("GROUPING", "FIELDS"):
            reason = f"{operand.name}() is not allowed in {clause}"
            raise self._errors.at(operand.pos, MALFORMED, reason)
        reason = _UNKNOWN_FUNCTION.format(name=operand.name, dates=", ".join(sorted(DATE_FUNCTIONS)))
        raise self._errors.at(operand.pos, MALFORMED, reason)

    def aggregate(self, call: FunctionCall) -> Expression:
        """``COUNT(x)``, ``SUM(x)``, ...: the argument must be a field whose type supports the function."""
        argument = call.argument
        if argument is None:
            reason = f"{call.name}() needs a field; COUNT() counts records only as the whole SELECT list"
            raise self._errors.at(call.pos, MALFORMED, reason)
        if isinstance(argument, FunctionCall):
            raise self._errors.at(argument.pos, MALFORMED, _NESTED.format(name=call.name))
        resolved = self.resolver.resolve(argument)
        target = resolved.field
        sobject = resolved.joins[-1].sobject if resolved.joins else self.resolver.root
        supported = aggregatable(sobject, target) and (call.name not in _NUMERIC_ONLY or target.type in NUMBER_TYPES)
        if not supported:
            reason = f"field {target.name} does not support aggregate operator {call.name}"
            raise self._errors.at(argument.pos, MALFORMED, reason)
        column = resolved.column
        text = f"{call.name}({resolved.path})"
        sql = {
            "COUNT": f"COUNT({column})",
            "COUNT_DISTINCT": f"COUNT(DISTINCT {column})",
            "SUM": f"SUM({column})",
            "AVG": f"AVG({column})",
            "MIN": f"MIN({column})",
            "MAX": f"MAX({column})",
        }[call.name]
        result_type = _aggregate_type(call.name, target)
        return Expression(sql, FieldDef(text, result_type), text, None, aggregate=True, source=resolved)

    def _date_function(self, call: FunctionCall) -> Expression:
        function = DATE_FUNCTIONS[call.name]
        argument, converted = call.argument, False
        if isinstance(argument, FunctionCall) and argument.name == _CONVERT_TIMEZONE:
            argument, converted = argument.argument, True
        if not isinstance(argument, FieldPath):
            pos = argument.pos if argument is not None else call.pos
            raise self._errors.at(pos, MALFORMED, f"{call.name}() takes one date or dateTime field")
        resolved = self.resolver.resolve(argument)
        field_type = resolved.field.type
        if field_type != "datetime" and (function.datetime_only or field_type != "date"):
            kinds = "dateTime fields" if function.datetime_only else "date and dateTime fields"
            reason = f"{call.name}() only applies to {kinds}, not to {resolved.path} ({field_type})"
            raise self._errors.at(argument.pos, MALFORMED, reason)
        column = resolved.column
        day = function.reads_day and field_type == "datetime"
        sql = function.sql(f"substr({column}, 1, 10)" if day else column)
        text = f"{call.name}(convertTimezone({resolved.path}))" if converted else f"{call.name}({resolved.path})"
        return Expression(sql, FieldDef(text, function.result_type), text, None, source=resolved)


def _aggregate_type(name: str, target: FieldDef) -> str:
    """The type of an aggregate's value: counts are integers, AVG a double, SUM/MIN/MAX follow the field."""
    if name in ("COUNT", "COUNT_DISTINCT"):
        return "int"
    if name == "AVG":
        return "double"
    if name == "SUM":
        return "int" if target.type == "int" else "double"
    return target.type


def order_term(expression: Expression, descending: bool, nulls_first: bool) -> str:
    """Salesforce sorts text case-insensitively and places nulls explicitly (default: ASC NULLS FIRST)."""
    collate = " COLLATE NOCASE" if is_case_insensitive(expression.field) else ""
    nulls = "DESC" if nulls_first else "ASC"
    direction = "DESC" if descending else "ASC"
    return f"{expression.sql} IS NULL {nulls}, {expression.sql}{collate} {direction}"
