"""Runs a parsed SAQL query over in-memory rows.

Each statement turns its input stream into a new named stream, as SAQL defines: ``load`` reads a
dataset, ``filter`` keeps rows, ``group`` partitions them (by dimensions, or ``all``), ``foreach``
projects rows — or, on a grouped stream, one row per group with aggregates — and ``order``, ``limit``
and ``offset`` arrange the result. The query's result is the stream of its last statement.

Columns are typed as CRM Analytics types them: dimensions are ``string``, measures ``numeric``.
Conditions and projections are checked against those types before any row is read, so a query that
compares a measure with a string fails the same way on an empty dataset as on a full one. Nulls
never satisfy a comparison (test them with ``is null``), sort last, and are skipped by aggregates.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import ast
from .errors import SaqlError

STRING = "string"
NUMERIC = "numeric"

Row = Mapping[str, Any]
RowPredicate = Callable[[Row], bool]
_COMPARATORS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_ARITHMETIC: dict[str, Callable[[float, float], float]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "%": operator.mod,
}


@dataclass(frozen=True)
class Table:
    """A dataset as the engine reads it: column types in order, and the rows."""

    columns: Mapping[str, str]
    rows: Sequence[Row]


DatasetLoader = Callable[[str], Table]


@dataclass(frozen=True)
class QueryResult:
    records: list[dict[str, Any]]
    #: The result's lineage metadata (``{"type": "foreach", "projections": [...], ...}``).
    lineage: dict[str, Any]


@dataclass
class _Group:
    key: tuple[Any, ...]
    rows: list[Row] = field(default_factory=list)


@dataclass
class _Stream:
    name: str
    columns: dict[str, str]
    rows: list[Row]
    groups: list[_Group] | None = None
    group_keys: tuple[str, ...] = ()
    lineage: dict[str, Any] | None = None

    def derived(self, name: str, **changes: Any) -> _Stream:
        """This stream under a new name, with some parts replaced."""
        return dataclasses.replace(self, name=name, **changes)


def run(query: ast.Query, load: DatasetLoader) -> QueryResult:
    """Execute ``query``; ``load`` turns a ``load "..."`` reference into a ``Table`` (or raises)."""
    return _Engine(load).run(query)


def json_value(value: Any) -> Any:
    """A value as the query API renders it: whole numbers without a fraction (``30``, not ``30.0``)."""
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return None
        if value.is_integer():
            return int(value)
    return value


class _Engine:
    def __init__(self, load: DatasetLoader) -> None:
        self._load = load
        self._streams: dict[str, _Stream] = {}

    def run(self, query: ast.Query) -> QueryResult:
        result: _Stream | None = None
        last: ast.Statement | None = None
        for statement in query.statements:
            result = self._execute(statement)
            self._streams[statement.target] = result
            last = statement
        assert result is not None and last is not None  # the grammar requires a statement
        if result.groups is not None:
            raise SaqlError.at(last.position, f"The grouped stream '{result.name}' must be projected with foreach")
        records = [{name: json_value(row.get(name)) for name in result.columns} for row in result.rows]
        return QueryResult(records, result.lineage or _identity_lineage(result))

    def _execute(self, statement: ast.Statement) -> _Stream:
        if isinstance(statement, ast.Load):
            table = self._load(statement.dataset)
            return _Stream(statement.target, dict(table.columns), list(table.rows))
        source = self._source(statement)
        if isinstance(statement, ast.Filter):
            return self._filter(statement, source)
        if isinstance(statement, ast.Group):
            return self._group(statement, source)
        if isinstance(statement, ast.Foreach):
            return _Projector(source, statement).stream()
        if isinstance(statement, ast.Order):
            return self._order(statement, source)
        if isinstance(statement, (ast.Limit, ast.Offset)):
            return _slice(statement, source)
        raise AssertionError(f"unhandled statement {statement!r}")

    def _source(self, statement: ast.Statement) -> _Stream:
        stream = self._streams.get(statement.source or "")
        if stream is None:
            raise SaqlError.at(statement.position, f"Undefined stream '{statement.source}'")
        return stream

    def _filter(self, statement: ast.Filter, source: _Stream) -> _Stream:
        if source.groups is not None:
            raise SaqlError.at(statement.position, "filter a stream before grouping it, or after its foreach")
        keep = _predicate(source, statement.condition)
        return source.derived(statement.target, rows=[row for row in source.rows if keep(row)])

    def _group(self, statement: ast.Group, source: _Stream) -> _Stream:
        if source.groups is not None:
            raise SaqlError.at(statement.position, f"The stream '{source.name}' is already grouped")
        names: list[str] = []
        for key in statement.keys or ():
            if _column_type(source, key) != STRING:
                raise SaqlError.at(key.position, f"Only dimensions can be grouped: '{key.name}' is a measure")
            names.append(key.name)
        groups: dict[tuple[Any, ...], _Group] = {}
        for row in source.rows:
            values = tuple(row.get(name) for name in names)
            groups.setdefault(values, _Group(values)).rows.append(row)
        if not names:  # group by all: one group, even over no rows
            groups.setdefault((), _Group(()))
        ordered = sorted(groups.values(), key=lambda g: tuple((v is None, v or "") for v in g.key))
        return source.derived(statement.target, rows=[], groups=ordered, group_keys=tuple(names))

    def _order(self, statement: ast.Order, source: _Stream) -> _Stream:
        if source.groups is not None:
            raise SaqlError.at(statement.position, "order a grouped stream after its foreach")
        rows = list(source.rows)
        for key in reversed(statement.keys):
            _column_type(source, key.field)
            name = key.field.name
            present = sorted(
                (r for r in rows if r.get(name) is not None), key=lambda r: r[name], reverse=key.descending
            )
            rows = present + [r for r in rows if r.get(name) is None]
        return source.derived(statement.target, rows=rows)


def _slice(statement: ast.Limit | ast.Offset, source: _Stream) -> _Stream:
    start, stop = (0, statement.count) if isinstance(statement, ast.Limit) else (statement.count, None)
    if source.groups is not None:
        return source.derived(statement.target, groups=source.groups[start:stop])
    return source.derived(statement.target, rows=source.rows[start:stop])


def _column_type(stream: _Stream, ref: ast.Field) -> str:
    if ref.stream is not None and ref.stream != stream.name:
        raise SaqlError.at(ref.position, f"Undefined stream '{ref.stream}' (this statement reads '{stream.name}')")
    kind = stream.columns.get(ref.name)
    if kind is None:
        raise SaqlError.at(ref.position, f"Undefined identifier '{ref.name}': no such field in stream '{stream.name}'")
    return kind


def _identity_lineage(stream: _Stream) -> dict[str, Any]:
    """Lineage of a result nobody projected: every dataset field, passed through."""
    projections = [
        {"field": {"id": f"{stream.name}.{name}", "type": kind}, "inputs": [{"id": f"{stream.name}.{name}"}]}
        for name, kind in stream.columns.items()
    ]
    return {"type": "load", "projections": projections}


# ------------------------------------------------------------------------------------- filter conditions


def _predicate(stream: _Stream, condition: ast.Condition) -> RowPredicate:
    """Compile a condition into a row test, type-checking it against the stream's columns."""
    if isinstance(condition, ast.And):
        parts = [_predicate(stream, p) for p in condition.parts]
        return lambda row: all(p(row) for p in parts)
    if isinstance(condition, ast.Or):
        parts = [_predicate(stream, p) for p in condition.parts]
        return lambda row: any(p(row) for p in parts)
    if isinstance(condition, ast.Not):
        part = _predicate(stream, condition.part)
        return lambda row: not part(row)
    kind = _column_type(stream, condition.field)
    name = condition.field.name
    if isinstance(condition, ast.IsNull):
        negated = condition.negated
        return lambda row: (row.get(name) is None) != negated
    if isinstance(condition, ast.Compare):
        _check_literal(condition.field, kind, condition.value)
        compare, value = _COMPARATORS[condition.operator], condition.value
        return lambda row: row.get(name) is not None and compare(row[name], value)
    if isinstance(condition, ast.InList):
        for value in condition.values:
            _check_literal(condition.field, kind, value)
        values, negated = set(condition.values), condition.negated
        return lambda row: row.get(name) is not None and (row[name] in values) != negated
    if isinstance(condition, ast.InRange):
        if kind != NUMERIC:
            raise SaqlError.at(condition.field.position, f"A range needs a measure: '{name}' is a dimension")
        low, high = condition.low, condition.high
        return lambda row: (
            row.get(name) is not None and (low is None or row[name] >= low) and (high is None or row[name] <= high)
        )
    if isinstance(condition, ast.Matches):
        if kind != STRING:
            raise SaqlError.at(condition.field.position, f"matches needs a dimension: '{name}' is a measure")
        pattern = condition.pattern.lower()
        return lambda row: row.get(name) is not None and pattern in str(row[name]).lower()
    raise AssertionError(f"unhandled condition {condition!r}")


def _check_literal(ref: ast.Field, kind: str, value: ast.Value) -> None:
    literal_kind = STRING if isinstance(value, str) else NUMERIC
    if literal_kind != kind:
        described = "a string" if literal_kind == STRING else "a number"
        field_kind = "dimension" if kind == STRING else "measure"
        raise SaqlError.at(ref.position, f"Can't compare the {field_kind} '{ref.name}' with {described}")


# ------------------------------------------------------------------------------------- foreach


@dataclass
class _Compiled:
    """A projection expression ready to evaluate on a row (ungrouped) or a group."""

    evaluate: Callable[[Any], Any]
    type: str
    inputs: list[str]


class _Projector:
    """``foreach``: one output row per input row, or per group when the input is grouped."""

    def __init__(self, source: _Stream, statement: ast.Foreach) -> None:
        self.source = source
        self.statement = statement
        self.grouped = source.groups is not None

    def stream(self) -> _Stream:
        compiled: dict[str, _Compiled] = {}
        for projection in self.statement.projections:
            if projection.alias in compiled:
                raise SaqlError.at(self.statement.position, f"Duplicate projection name '{projection.alias}'")
            compiled[projection.alias] = self._compile(projection.expression)
        items = self.source.groups if self.source.groups is not None else self.source.rows
        rows: list[Row] = [{alias: c.evaluate(item) for alias, c in compiled.items()} for item in items]
        columns = {alias: c.type for alias, c in compiled.items()}
        return _Stream(self.statement.target, columns, rows, lineage=self._lineage(compiled))

    def _lineage(self, compiled: Mapping[str, _Compiled]) -> dict[str, Any]:
        projections = []
        for alias, c in compiled.items():
            projection: dict[str, Any] = {"field": {"id": f"{self.statement.target}.{alias}", "type": c.type}}
            if c.inputs:
                projection["inputs"] = [{"id": f"{self.source.name}.{name}"} for name in dict.fromkeys(c.inputs)]
            projections.append(projection)
        lineage: dict[str, Any] = {"type": "foreach", "projections": projections}
        if self.grouped:
            groups = [{"id": f"{self.source.name}.{name}"} for name in self.source.group_keys]
            lineage["input"] = {"type": "group", "groups": groups}
        return lineage

    def _compile(self, expression: ast.Expression) -> _Compiled:
        if isinstance(expression, ast.Constant):
            value = expression.value
            return _Compiled(lambda _: value, STRING if isinstance(value, str) else NUMERIC, [])
        if isinstance(expression, ast.FieldRef):
            return self._field(expression.field)
        if isinstance(expression, ast.Aggregate):
            return self._aggregate(expression)
        if isinstance(expression, ast.Negate):
            operand = self._numeric(self._compile(expression.operand), "-")
            return _Compiled(
                lambda item: None if (v := operand.evaluate(item)) is None else -v, NUMERIC, operand.inputs
            )
        if isinstance(expression, ast.Arithmetic):
            left = self._numeric(self._compile(expression.left), expression.operator)
            right = self._numeric(self._compile(expression.right), expression.operator)
            apply = _ARITHMETIC[expression.operator]

            def evaluate(item: Any) -> Any:
                a, b = left.evaluate(item), right.evaluate(item)
                if a is None or b is None or (b == 0 and expression.operator in "/%"):
                    return None
                return apply(a, b)

            return _Compiled(evaluate, NUMERIC, left.inputs + right.inputs)
        raise AssertionError(f"unhandled expression {expression!r}")

    def _numeric(self, compiled: _Compiled, operator_text: str) -> _Compiled:
        if compiled.type != NUMERIC:
            raise SaqlError.at(self.statement.position, f"'{operator_text}' needs numbers, not a dimension")
        return compiled

    def _field(self, ref: ast.Field) -> _Compiled:
        kind = _column_type(self.source, ref)
        name = ref.name
        if not self.grouped:
            return _Compiled(lambda row: row.get(name), kind, [name])
        if name not in self.source.group_keys:
            raise SaqlError.at(
                ref.position, f"'{name}' is neither a grouping of '{self.source.name}' nor inside an aggregate"
            )
        index = self.source.group_keys.index(name)
        return _Compiled(lambda group: group.key[index], kind, [name])

    def _aggregate(self, aggregate: ast.Aggregate) -> _Compiled:
        if not self.grouped:
            raise SaqlError.at(
                aggregate.position, f"{aggregate.function}() needs a grouped stream: group '{self.source.name}' first"
            )
        if aggregate.field is None:
            return _Compiled(lambda group: len(group.rows), NUMERIC, [])
        kind = _column_type(self.source, aggregate.field)
        name, function = aggregate.field.name, aggregate.function
        if function != "unique" and kind != NUMERIC:
            raise SaqlError.at(aggregate.position, f"{function}() needs a measure: '{name}' is a dimension")
        reduce = _REDUCERS[function]

        def evaluate(group: _Group) -> Any:
            values = [row[name] for row in group.rows if row.get(name) is not None]
            return reduce(values) if values or function == "unique" else None

        return _Compiled(evaluate, NUMERIC, [name])


_REDUCERS: dict[str, Callable[[list[Any]], Any]] = {
    "sum": sum,
    "avg": lambda values: sum(values) / len(values),
    "min": min,
    "max": max,
    "unique": lambda values: len(set(values)),
}
