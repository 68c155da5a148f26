"""WHERE conditions -> SQL, with Salesforce's semantics rather than SQL's.

Two differences matter: SOQL logic is two-valued (a comparison with an empty field is simply false, so
``!=``, ``NOT IN`` and ``NOT`` match empty fields; see ``sql.negate``), and text comparisons are
case-insensitive (``COLLATE NOCASE``; SQLite's LIKE already ignores ASCII case).
"""

from __future__ import annotations

from datetime import date

from .ast import And, Comparison, Condition, DateLiteral, FieldPath, InList, Not, NullValue, Or, StringValue, Value
from .dates import start_of_day
from .errors import QueryErrors
from .resolver import ResolvedField, Resolver
from .sql import Sql, negate
from .values import bind, is_case_insensitive, like_mismatch, type_mismatch

INVALID_FIELD = "INVALID_FIELD"


class ConditionCompiler:
    """Compiles one query's WHERE tree; relative date literals are resolved against ``today``."""

    def __init__(self, resolver: Resolver, errors: QueryErrors, today: date) -> None:
        self._resolver = resolver
        self._errors = errors
        self._today = today

    def compile(self, condition: Condition) -> Sql:
        if isinstance(condition, And):
            return Sql.join(" AND ", map(self.compile, condition.operands)).wrap("(", ")")
        if isinstance(condition, Or):
            return Sql.join(" OR ", map(self.compile, condition.operands)).wrap("(", ")")
        if isinstance(condition, Not):
            return negate(self.compile(condition.operand))
        if isinstance(condition, InList):
            return self._in_list(condition)
        return self._comparison(condition)

    def _comparison(self, node: Comparison) -> Sql:
        target = self._filterable(node.field)
        check = like_mismatch if node.operator == "LIKE" else type_mismatch
        self._raise_if(check(target.field, node.value), node.field)
        if node.operator == "!=":
            return negate(self._match(target, "=", node.value))
        return self._match(target, node.operator, node.value)

    def _in_list(self, node: InList) -> Sql:
        target = self._filterable(node.field)
        for value in node.values:
            self._raise_if(type_mismatch(target.field, value), node.field)
        parts = [self._match(target, "=", v) for v in node.values if isinstance(v, (NullValue, DateLiteral))]
        plain = [v for v in node.values if not isinstance(v, (NullValue, DateLiteral))]
        if plain:
            placeholders = ", ".join("?" for _ in plain)
            params = tuple(bind(v) for v in plain)
            parts.append(Sql(f"{self._operand(target, plain[0])} IN ({placeholders})", params))
        matched = Sql.join(" OR ", parts).wrap("(", ")")
        return negate(matched) if node.negated else matched

    def _match(self, target: ResolvedField, operator: str, value: Value) -> Sql:
        """``field <operator> value`` for ``= < <= > >= LIKE``; never true for an empty field (bar ``= null``)."""
        column = target.column
        if isinstance(value, NullValue):
            # Only equality is meaningful against null; an ordering comparison with it matches nothing.
            return Sql(f"{column} IS NULL") if operator == "=" else Sql("0")
        if isinstance(value, DateLiteral):
            return self._in_period(target, operator, value)
        if operator == "LIKE":
            return Sql(f"{column} LIKE ? ESCAPE '\\'", (bind(value, like=True),))
        return Sql(f"{self._operand(target, value)} {operator} ?", (bind(value),))

    def _in_period(self, target: ResolvedField, operator: str, literal: DateLiteral) -> Sql:
        """A relative literal is a range [start, end): ``=`` means inside it, ``>`` after it, and so on."""
        try:
            start, end = literal.span.resolve(self._today)
        except (ValueError, OverflowError):  # e.g. LAST_N_YEARS:99999 reaches before year 1
            raise self._errors.at(literal.pos, "MALFORMED_QUERY", f"{literal.text} is out of range") from None
        if target.field.type == "datetime":
            low, high = start_of_day(start), start_of_day(end)
        else:
            low, high = start.isoformat(), end.isoformat()
        column = target.column
        if operator == "=":
            return Sql(f"({column} >= ? AND {column} < ?)", (low, high))
        bound = {"<": ("<", low), "<=": ("<", high), ">": (">=", high), ">=": (">=", low)}
        sql_operator, param = bound[operator]
        return Sql(f"{column} {sql_operator} ?", (param,))

    @staticmethod
    def _operand(target: ResolvedField, value: Value) -> str:
        if isinstance(value, StringValue) and is_case_insensitive(target.field):
            return f"{target.column} COLLATE NOCASE"
        return target.column

    def _filterable(self, path: FieldPath) -> ResolvedField:
        target = self._resolver.resolve(path)
        if target.field.type == "base64":
            reason = f"field '{target.field.name}' can not be filtered in query call"
            raise self._errors.at(path.pos, INVALID_FIELD, reason)
        return target

    def _raise_if(self, reason: str | None, path: FieldPath) -> None:
        if reason is not None:
            raise self._errors.at(path.pos, INVALID_FIELD, reason)
