"""WHERE and HAVING conditions -> SQL, with Salesforce's semantics rather than SQL's.

Two differences matter: SOQL logic is two-valued (a comparison with an empty field is simply false, so
``!=``, ``NOT IN`` and ``NOT`` match empty fields; see ``sql.negate``), and text comparisons are
case-insensitive (``COLLATE NOCASE``; SQLite's LIKE already ignores ASCII case).

The compiler is told how to turn an operand into an ``Expression`` (WHERE: fields and date functions
of the query's records; HAVING: grouped values and aggregates of the grouped rows) and how to compile
a semi-join's subquery, so the same comparison logic serves both clauses.

Reference: Comparison Operators,
https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_comparisonoperators.htm
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from .ast import (
    And,
    Comparison,
    Condition,
    DateLiteral,
    InList,
    Not,
    NullValue,
    Operand,
    Or,
    StringValue,
    SubqueryIn,
    Value,
)
from .dates import start_of_day
from .errors import QueryErrors
from .expressions import Expression
from .sql import Sql, negate
from .values import bind, is_case_insensitive, like_mismatch, type_mismatch

INVALID_FIELD = "INVALID_FIELD"

#: Operand -> expression, for the clause being compiled.
OperandCompiler = Callable[[Operand], Expression]
#: A semi-join or anti-join -> ``<left> IN (SELECT ...)`` (negation is applied by the caller).
SubqueryCompiler = Callable[[SubqueryIn, Expression], Sql]


class ConditionCompiler:
    """Compiles one condition tree; relative date literals are resolved against ``today``."""

    def __init__(
        self,
        operands: OperandCompiler,
        errors: QueryErrors,
        today: date,
        subqueries: SubqueryCompiler | None = None,
    ) -> None:
        self._operands = operands
        self._errors = errors
        self._today = today
        self._subqueries = subqueries

    def compile(self, condition: Condition) -> Sql:
        if isinstance(condition, And):
            return Sql.join(" AND ", map(self.compile, condition.operands)).wrap("(", ")")
        if isinstance(condition, Or):
            return Sql.join(" OR ", map(self.compile, condition.operands)).wrap("(", ")")
        if isinstance(condition, Not):
            return negate(self.compile(condition.operand))
        if isinstance(condition, InList):
            return self._in_list(condition)
        if isinstance(condition, SubqueryIn):
            return self._subquery_in(condition)
        return self._comparison(condition)

    def _comparison(self, node: Comparison) -> Sql:
        target = self._filterable(node.operand)
        check = like_mismatch if node.operator == "LIKE" else type_mismatch
        self._raise_if(check(target.field, node.value), node.operand)
        if node.operator == "!=":
            return negate(self._match(target, "=", node.value))
        return self._match(target, node.operator, node.value)

    def _in_list(self, node: InList) -> Sql:
        target = self._filterable(node.operand)
        for value in node.values:
            self._raise_if(type_mismatch(target.field, value), node.operand)
        parts = [self._match(target, "=", v) for v in node.values if isinstance(v, (NullValue, DateLiteral))]
        plain = [v for v in node.values if not isinstance(v, (NullValue, DateLiteral))]
        if plain:
            placeholders = ", ".join("?" for _ in plain)
            params = tuple(bind(v) for v in plain)
            parts.append(Sql(f"{self._operand(target, plain[0])} IN ({placeholders})", params))
        matched = Sql.join(" OR ", parts).wrap("(", ")")
        return negate(matched) if node.negated else matched

    def _subquery_in(self, node: SubqueryIn) -> Sql:
        if self._subqueries is None:
            reason = "semi join and anti join sub-selects are only allowed in the WHERE clause"
            raise self._errors.at(node.operand.pos, "MALFORMED_QUERY", reason)
        matched = self._subqueries(node, self._filterable(node.operand))
        return negate(matched) if node.negated else matched

    def _match(self, target: Expression, operator: str, value: Value) -> Sql:
        """``x <operator> value`` for ``= < <= > >= LIKE``; never true for an empty value (bar ``= null``)."""
        column = target.sql
        if isinstance(value, NullValue):
            # Only equality is meaningful against null; an ordering comparison with it matches nothing.
            return Sql(f"{column} IS NULL") if operator == "=" else Sql("0")
        if isinstance(value, DateLiteral):
            return self._in_period(target, operator, value)
        if operator == "LIKE":
            return Sql(f"{column} LIKE ? ESCAPE '\\'", (bind(value, like=True),))
        return Sql(f"{self._operand(target, value)} {operator} ?", (bind(value),))

    def _in_period(self, target: Expression, operator: str, literal: DateLiteral) -> Sql:
        """A relative literal is a range [start, end): ``=`` means inside it, ``>`` after it, and so on."""
        try:
            start, end = literal.span.resolve(self._today)
        except (ValueError, OverflowError):  # e.g. LAST_N_YEARS:99999 reaches before year 1
            raise self._errors.at(literal.pos, "MALFORMED_QUERY", f"{literal.text} is out of range") from None
        if target.field.type == "datetime":
            low, high = start_of_day(start), start_of_day(end)
        else:
            low, high = start.isoformat(), end.isoformat()
        column = target.sql
        if operator == "=":
            return Sql(f"({column} >= ? AND {column} < ?)", (low, high))
        bound = {"<": ("<", low), "<=": ("<", high), ">": (">=", high), ">=": (">=", low)}
        sql_operator, param = bound[operator]
        return Sql(f"{column} {sql_operator} ?", (param,))

    @staticmethod
    def _operand(target: Expression, value: Value) -> str:
        if isinstance(value, StringValue) and is_case_insensitive(target.field):
            return f"{target.sql} COLLATE NOCASE"
        return target.sql

    def _filterable(self, operand: Operand) -> Expression:
        target = self._operands(operand)
        if target.field.type == "base64":
            reason = f"field '{target.field.name}' can not be filtered in query call"
            raise self._errors.at(operand.pos, INVALID_FIELD, reason)
        return target

    def _raise_if(self, reason: str | None, operand: Operand) -> None:
        if reason is not None:
            raise self._errors.at(operand.pos, INVALID_FIELD, reason)
