"""Aggregate queries: GROUP BY (plain, ROLLUP, CUBE), aggregate functions, HAVING, and AggregateResult rows.

One statement, two layers. The inner layer computes, for each grouping set, one row per group: the
grouped values (``k0``, ``k1``, ...; NULL where ROLLUP/CUBE rolled that key up), every aggregate any
clause uses (``a0``, ...) and the GROUPING flags (``f0``, ...). Plain GROUP BY and an ungrouped
aggregate are a single grouping set; ``ROLLUP(a, b)`` is (a, b), (a), (); ``CUBE(a, b)`` every subset.
The outer layer selects what SELECT asked for and applies HAVING, ORDER BY, LIMIT and OFFSET to those
columns, so the three clauses see exactly the values a row of the result holds.

Rows render as Salesforce's ``AggregateResult``: ``{"attributes": {"type": "AggregateResult"}, ...}``
keyed by alias, by field name for a grouped field, or ``expr0``, ``expr1``... counting the unaliased
functions in SELECT order. Text groups are case-insensitive, like every SOQL text comparison.

References:
- GROUP BY: https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_groupby.htm
- Considerations for GROUP BY: https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_group_by_considerations.htm
- Use Aliases with GROUP BY: https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_groupby_alias.htm
- GROUP BY ROLLUP / CUBE, GROUPING(): https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_groupby_rollup.htm,
  https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_groupby_cube.htm,
  https://developer.salesforce.com/docs/platform/salesforce-soql-sosl/guide/sforce-api-calls-soql-select-groupby-grouping.html
- HAVING: https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_having.htm
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import combinations
from typing import Any

from ..schema import FieldDef
from .ast import FieldPath, FunctionCall, Operand, Query, SelectField, SelectItem
from .conditions import ConditionCompiler
from .describe_facts import groupable
from .errors import QueryErrors
from .expressions import AGGREGATE_FUNCTIONS, Expression, ExpressionCompiler, order_term
from .records import value_converter
from .sql import Sql, quote
from .values import is_case_insensitive

MALFORMED = "MALFORMED_QUERY"
#: ROLLUP and CUBE take at most this many fields.
MAX_SUBTOTAL_FIELDS = 3
_GROUPED_ALIAS = "g"
_NOT_GROUPED = "Field must be grouped or aggregated: {text}"
_NOT_GROUPED_ORDER = "Ordered field must be grouped or aggregated: {text}"


def is_aggregate_query(query: Query) -> bool:
    """GROUP BY, or an aggregate function in the SELECT list, makes a query return AggregateResults."""
    if query.group_by is not None:
        return True
    return any(
        isinstance(item, SelectField)
        and isinstance(item.expression, FunctionCall)
        and item.expression.name in AGGREGATE_FUNCTIONS
        for item in query.select or ()
    )


@dataclass(frozen=True)
class AggregateRenderer:
    """One grouped row -> ``AggregateResult`` JSON, keys in SELECT order."""

    keys: tuple[str, ...]
    converters: tuple[Callable[[Any], Any], ...]

    def __call__(self, row: Sequence[Any], api_version: str) -> dict[str, Any]:
        record: dict[str, Any] = {"attributes": {"type": "AggregateResult"}}
        for key, convert, value in zip(self.keys, self.converters, row, strict=False):
            record[key] = convert(value)
        return record


class AggregateCompiler:
    """Plans one aggregate query level: what the grouped rows hold and how each clause reads them."""

    def __init__(self, query: Query, expressions: ExpressionCompiler, errors: QueryErrors, today: date) -> None:
        self._query = query
        self._expressions = expressions
        self._errors = errors
        self._today = today
        group_by = query.group_by
        self._kind = group_by.kind if group_by is not None else "PLAIN"
        self._groups = [self._group(item) for item in (group_by.items if group_by is not None else ())]
        self._check_subtotal_size()
        self._aggregates: dict[str, Expression] = {}
        self._outputs: list[str] = []

    # ---------------------------------------------------------------------------------- planning

    def _group(self, operand: Operand) -> Expression:
        expression = self._expressions.compile(operand, aggregates=False, clause="GROUP BY")
        source = expression.source
        if isinstance(operand, FieldPath) and source is not None:
            sobject = source.joins[-1].sobject if source.joins else self._expressions.resolver.root
            if not groupable(sobject, source.field):
                reason = f"field '{source.field.name}' can not be grouped in a query call"
                raise self._errors.at(operand.pos, MALFORMED, reason)
        return expression

    def _check_subtotal_size(self) -> None:
        group_by = self._query.group_by
        if group_by is not None and self._kind != "PLAIN" and len(group_by.items) > MAX_SUBTOTAL_FIELDS:
            reason = f"GROUP BY {self._kind} takes at most {MAX_SUBTOTAL_FIELDS} fields"
            raise self._errors.at(group_by.items[MAX_SUBTOTAL_FIELDS].pos, MALFORMED, reason)

    def value(self, operand: Operand, not_grouped: str = _NOT_GROUPED) -> Expression:
        """What ``operand`` means in a grouped row: a group key, an aggregate, or a GROUPING flag."""
        if isinstance(operand, FunctionCall) and operand.name in AGGREGATE_FUNCTIONS:
            expression = self._expressions.aggregate(operand)
            stored = self._aggregates.setdefault(expression.text.lower(), expression)
            index = list(self._aggregates).index(expression.text.lower())
            return _column_of(stored, f"a{index}")
        if isinstance(operand, FunctionCall) and operand.name == "GROUPING":
            return self._grouping(operand)
        expression = self._expressions.compile(operand, aggregates=False, clause="this clause")
        for index, group in enumerate(self._groups):
            if group.text.lower() == expression.text.lower():
                return _column_of(expression, f"k{index}")
        raise self._errors.at(operand.pos, MALFORMED, not_grouped.format(text=operand.text))

    def _grouping(self, call: FunctionCall) -> Expression:
        if self._kind == "PLAIN":
            reason = "GROUPING() can only be used with GROUP BY ROLLUP or GROUP BY CUBE"
            raise self._errors.at(call.pos, MALFORMED, reason)
        argument = call.argument
        if isinstance(argument, FieldPath):
            text = self._expressions.field(argument).text.lower()
            for index, group in enumerate(self._groups):
                if group.text.lower() == text:
                    return _column_of(Expression("", FieldDef(call.text, "int"), call.text, None), f"f{index}")
        pos = argument.pos if argument is not None else call.pos
        raise self._errors.at(pos, MALFORMED, f"GROUPING() takes one of the grouped fields: {call.text}")

    def select(self, items: Sequence[SelectItem]) -> AggregateRenderer:
        """The SELECT list's columns and keys, with Salesforce's rules for aliases and grouped fields."""
        keys: list[str] = []
        converters: list[Callable[[Any], Any]] = []
        unnamed = 0
        for item in items:
            if not isinstance(item, SelectField):
                pos = item.pos
                reason = "only fields, date functions and aggregate functions can be selected in an aggregate query"
                raise self._errors.at(pos, MALFORMED, reason)
            self._refuse_grouped_aggregate(item.expression)
            expression = self.value(item.expression)
            if item.alias is not None:
                key = item.alias.text
            elif expression.key is not None:
                key = expression.key
            else:
                key, unnamed = f"expr{unnamed}", unnamed + 1
            if key.lower() in (k.lower() for k in keys):
                pos = item.alias.pos if item.alias is not None else item.expression.pos
                raise self._errors.at(pos, MALFORMED, f"duplicate alias: {key}")
            keys.append(key)
            converters.append(value_converter(expression.field.type))
            self._outputs.append(expression.sql)
        return AggregateRenderer(tuple(keys), tuple(converters))

    def _refuse_grouped_aggregate(self, operand: Operand) -> None:
        """``SELECT COUNT(Industry) ... GROUP BY Industry`` is refused (ROLLUP and CUBE allow it)."""
        if self._kind != "PLAIN" or not isinstance(operand, FunctionCall) or operand.name not in AGGREGATE_FUNCTIONS:
            return
        argument = operand.argument
        if isinstance(argument, FieldPath):
            text = self._expressions.field(argument).text.lower()
            if any(group.text.lower() == text for group in self._groups):
                reason = f"Grouped field should not be aggregated: {argument.text}"
                raise self._errors.at(operand.pos, MALFORMED, reason)

    def having(self) -> Sql | None:
        if self._query.having is None:
            return None
        return ConditionCompiler(self.value, self._errors, self._today).compile(self._query.having)

    def order(self) -> list[str]:
        terms = []
        for item in self._query.order_by:
            expression = self.value(item.operand, _NOT_GROUPED_ORDER)
            terms.append(order_term(expression, item.descending, item.nulls_first))
        return terms

    # ---------------------------------------------------------------------------------- assembling

    def statement(self, source: str, where: Sql, having: Sql | None, order: list[str], paging: Sql) -> Sql:
        """The whole statement, once every clause has been planned (so the joins in ``source`` are final)."""
        inner = Sql.join(" UNION ALL ", [self._grouping_set(kept, source, where) for kept in self._grouping_sets()])
        outputs = ", ".join(self._outputs) if self._outputs else "1"
        parts = [inner.wrap(f"SELECT {outputs} FROM (", f") {_GROUPED_ALIAS}")]
        if having is not None:
            parts.append(having.wrap(" WHERE "))
        if order:
            parts.append(Sql(" ORDER BY " + ", ".join(order)))
        parts.append(paging)
        return Sql.join("", parts)

    def _grouping_sets(self) -> list[tuple[int, ...]]:
        every = tuple(range(len(self._groups)))
        if self._kind == "ROLLUP":
            return [every[:size] for size in range(len(every), -1, -1)]
        if self._kind == "CUBE":
            return [kept for size in range(len(every), -1, -1) for kept in combinations(every, size)]
        return [every]

    def _grouping_set(self, kept: tuple[int, ...], source: str, where: Sql) -> Sql:
        groups, aggregates = enumerate(self._groups), enumerate(self._aggregates.values())
        columns = [f"{group.sql if index in kept else 'NULL'} AS {quote(f'k{index}')}" for index, group in groups]
        columns += [f"{aggregate.sql} AS {quote(f'a{index}')}" for index, aggregate in aggregates]
        columns += [f"{0 if index in kept else 1} AS {quote(f'f{index}')}" for index in range(len(self._groups))]
        keys = [self._groups[index] for index in kept]
        group_by = ", ".join(f"{g.sql} COLLATE NOCASE" if is_case_insensitive(g.field) else g.sql for g in keys)
        statement = Sql(f"SELECT {', '.join(columns) or '1'} {source}")
        return Sql.join("", [statement, where, Sql(f" GROUP BY {group_by}" if keys else "")])


def _column_of(expression: Expression, column: str) -> Expression:
    """``expression`` as read from the grouped rows' ``column``."""
    return Expression(
        f"{_GROUPED_ALIAS}.{quote(column)}", expression.field, expression.text, expression.key, expression.aggregate
    )
