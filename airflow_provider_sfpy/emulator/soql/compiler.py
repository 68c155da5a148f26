"""``compile_soql``: parse, resolve against ``schema.SCHEMA``, and assemble one SQLite statement.

A query is one of three kinds, each one statement:

- ``records``: the selected columns in SELECT order (a child subquery is one JSON column), then the
  hidden Id columns (the root's, then each joined parent's, in join order). ``CompiledQuery.to_record``
  depends on that layout; nothing else should.
- ``count``: ``SELECT COUNT() ...``; the statement yields one row holding the count.
- ``aggregate``: GROUP BY or aggregate functions; rows are ``AggregateResult`` (see ``aggregates``).

Each query level (the root, a child subquery, a semi-join's subquery) is a ``_Level`` with its own
alias prefix, so correlated child subqueries can name their parent's row unambiguously.

References:
- SOQL SELECT Syntax: https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select.htm
- OFFSET: https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_offset.htm
- ORDER BY: https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_orderby.htm
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

from ..errors import ApiError
from ..objects.platform_events import lookup_platform_event
from ..schema import SObjectDef, lookup_sobject
from .aggregates import AggregateCompiler, AggregateRenderer, is_aggregate_query
from .ast import (
    And,
    ChildQuery,
    Condition,
    FieldPath,
    FieldsFunction,
    IntegerClause,
    Name,
    Not,
    Operand,
    Or,
    Position,
    Query,
    SelectField,
    SelectItem,
    SubqueryIn,
)
from .children import (
    MAX_CHILD_RELATIONSHIPS,
    check_child_query,
    child_depth_limit,
    depth_error,
    json_column,
    relationship_of,
)
from .compiled import CompiledQuery
from .conditions import ConditionCompiler
from .errors import QueryErrors
from .expressions import Expression, ExpressionCompiler, order_term
from .fields_function import check_limit, fields_in_group, unbounded
from .parser import MALFORMED, parse
from .records import ChildColumn, RecordShape, build_shape
from .resolver import ROOT_PREFIX, ResolvedField, Resolver
from .semijoins import check_inner_field, check_inner_query, check_left, check_placement
from .sql import Sql, column, quote

MAX_OFFSET = 2000

_UNKNOWN_OBJECT = (
    "sObject type '{name}' is not supported. If you are attempting to use a custom object, be sure to "
    "append the '__c' after the custom object name. Please reference your WSDL or the describe call for "
    "the appropriate names."
)


def compile_soql(
    soql: str,
    *,
    include_deleted: bool = False,
    now: datetime | None = None,
    current_user_id: str | None = None,
    api_version: str | None = None,
) -> CompiledQuery:
    """Compile ``soql`` for the emulator's SQLite store, or raise ``SoqlError`` as Salesforce would.

    ``include_deleted`` is queryAll (soft-deleted root rows too); ``now`` anchors relative date literals
    (default: the current UTC time); ``current_user_id`` is whom ``USING SCOPE mine`` means;
    ``api_version`` decides how deep child subqueries may nest (default: the newest rules).
    """
    query = parse(soql)
    settings = _Settings(QueryErrors(soql), _utc_today(now), current_user_id, child_depth_limit(api_version))
    root = _Level(query, settings.sobject(query), settings, ROOT_PREFIX)
    uses_offset = query.offset is not None
    if query.select is None:
        statement = root.count_statement(include_deleted)
        return CompiledQuery(root.sobject, statement.text, statement.params, "count", [], uses_offset=uses_offset)
    if is_aggregate_query(query):
        statement, renderer = root.aggregate_statement(include_deleted)
        return CompiledQuery(
            root.sobject, statement.text, statement.params, "aggregate", list(renderer.keys),
            uses_offset=uses_offset, renderer=renderer,
        )  # fmt: skip
    plan = root.records(include_deleted)
    statement = Sql.join("", [plan.select(), plan.body])
    return CompiledQuery(
        sobject=root.sobject,
        sql=statement.text,
        params=statement.params,
        kind="records",
        field_paths=[selected.path for selected in plan.fields],
        selected_fields=tuple(selected.field for selected in plan.fields),
        child_relationships=tuple(plan.children),
        uses_offset=uses_offset,
        unbounded_fields=settings.unbounded_fields,
        renderer=plan.shape.render,
    )


def _utc_today(now: datetime | None) -> date:
    moment = now or datetime.now(timezone.utc)
    return moment.astimezone(timezone.utc).date() if moment.tzinfo else moment.date()


@dataclass
class _Settings:
    """What every level of one query shares: its error context, clock, user and nesting budget."""

    errors: QueryErrors
    today: date
    current_user_id: str | None
    child_depth: int
    child_count: int = 0
    unbounded_fields: bool = False
    _prefixes: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def prefix(self) -> str:
        return f"q{next(self._prefixes)}_"

    def sobject(self, query: Query) -> SObjectDef:
        name = query.sobject
        sobject = lookup_sobject(name.text) if len(name.parts) == 1 else None
        if sobject is None:
            if len(name.parts) == 1 and lookup_platform_event(name.text) is not None:
                # Platform events are published and subscribed to, never stored for queries.
                raise ApiError(400, "INVALID_TYPE_FOR_OPERATION", f"entity type {name.text} does not support query")
            raise self.errors.at(name.pos, "INVALID_TYPE", _UNKNOWN_OBJECT.format(name=name.text))
        return sobject


@dataclass
class _RecordPlan:
    """A record query level, ready to be a statement (root) or a JSON column (child)."""

    columns: list[tuple[Sql, bool]]  # (SQL, is a child JSON column)
    fields: list[ResolvedField]
    children: list[str]
    body: Sql  # FROM ... WHERE ... ORDER BY ... LIMIT/OFFSET
    order: list[str]
    shape: RecordShape

    def select(self) -> Sql:
        return Sql.join(", ", [sql for sql, _ in self.columns]).wrap("SELECT ", " ")


class _Level:
    """One SELECT of the query (the root, a child subquery, a semi-join) and the joins it needs."""

    def __init__(self, query: Query, sobject: SObjectDef, settings: _Settings, prefix: str, depth: int = 0) -> None:
        self.query = query
        self.sobject = sobject
        self.settings = settings
        self.depth = depth
        self.errors = settings.errors
        self.resolver = Resolver(sobject, self.errors, prefix)
        self.expressions = ExpressionCompiler(self.resolver, self.errors)

    # ---------------------------------------------------------------------------------- the three kinds

    def count_statement(self, include_deleted: bool) -> Sql:
        self._refuse_having()
        if self.query.group_by is not None:
            statement, _ = self._aggregate(include_deleted, ())
            return statement.wrap("SELECT COUNT(*) FROM (", ")")
        filters = self.filters(include_deleted)
        paging = self._paging()
        body = Sql.join("", [Sql(f"SELECT 1 {self.source()}"), _where(filters), paging])
        return body.wrap("SELECT COUNT(*) FROM (", ")")

    def aggregate_statement(self, include_deleted: bool) -> tuple[Sql, AggregateRenderer]:
        query = self.query
        if query.group_by is None:
            for clause, paging in (("LIMIT", query.limit), ("OFFSET", query.offset)):
                if paging is not None:
                    reason = f"Non-grouped query that uses overall aggregate functions cannot also use {clause}"
                    raise self.errors.at(paging.pos, MALFORMED, reason)
        return self._aggregate(include_deleted, query.select or ())

    def _aggregate(self, include_deleted: bool, items: Sequence[SelectItem]) -> tuple[Sql, AggregateRenderer]:
        planner = AggregateCompiler(self.query, self.expressions, self.errors, self.settings.today)
        renderer = planner.select(items)
        having, order = planner.having(), planner.order()
        where = _where(self.filters(include_deleted))
        return planner.statement(self.source(), where, having, order, self._paging()), renderer

    def records(self, include_deleted: bool, correlation: Sql | None = None) -> _RecordPlan:
        self._refuse_having()
        check_limit(self.query)
        self.settings.unbounded_fields |= unbounded(self.query)
        columns: list[tuple[Sql, bool]] = []
        selected: list[ResolvedField | ChildColumn] = []
        fields: list[ResolvedField] = []
        children: list[str] = []
        seen: set[str] = set()
        for item in self.query.select or ():
            if isinstance(item, ChildQuery):
                sql, child = self._child(item, include_deleted)
                self._refuse_duplicate(child.relationship, item.pos, seen)
                columns.append((sql, True))
                selected.append(child)
                children.append(child.relationship)
                continue
            for resolved in self._fields_of(item):
                self._refuse_duplicate(resolved.path, _pos_of(item), seen)
                columns.append((Sql(_select_column(resolved)), False))
                selected.append(resolved)
                fields.append(resolved)
        filters = ([correlation] if correlation is not None else []) + self.filters(include_deleted)
        order = [self._order_term(item.operand, item.descending, item.nulls_first) for item in self.query.order_by]
        paging = self._paging()
        source = self.source()  # every path is resolved by now, so the join list is complete
        aliases = [self.resolver.root_alias, *(join.alias for join in self.resolver.joins)]
        id_columns = {alias: len(columns) + index for index, alias in enumerate(aliases)}
        columns.extend((Sql(column(alias, "Id")), False) for alias in aliases)
        order_sql = Sql(" ORDER BY " + ", ".join(order) if order else "")
        body = Sql.join("", [Sql(source), _where(filters), order_sql, paging])
        shape = build_shape(self.sobject.name, self.resolver.root_alias, selected, id_columns)
        return _RecordPlan(columns, fields, children, body, order, shape)

    def _refuse_having(self) -> None:
        """HAVING filters groups: a query without GROUP BY or aggregate functions has none."""
        having = self.query.having
        if having is not None and self.query.group_by is None:
            reason = "HAVING can only be used with GROUP BY or aggregate functions in the SELECT list"
            raise self.errors.at(_first_operand(having).pos, MALFORMED, reason)

    # ---------------------------------------------------------------------------------- SELECT items

    def _fields_of(self, item: SelectField | FieldsFunction) -> list[ResolvedField]:
        if isinstance(item, FieldsFunction):
            group = fields_in_group(self.sobject, item.group)
            return [self.resolver.resolve(FieldPath((f.name,), item.pos)) for f in group]
        if item.alias is not None:
            raise self.errors.at(item.alias.pos, MALFORMED, "only aggregate expressions use field aliasing")
        expression = item.expression
        if isinstance(expression, FieldPath):
            return [self.resolver.resolve(expression)]
        compiled = self.expressions.compile(expression, aggregates=False, clause="this query")
        reason = f"{compiled.text} can only be selected in an aggregate query: add GROUP BY {compiled.text}"
        raise self.errors.at(expression.pos, MALFORMED, reason)

    def _refuse_duplicate(self, path: str, pos: Position, seen: set[str]) -> None:
        if path.lower() in seen:
            raise self.errors.at(pos, MALFORMED, f"duplicate field selected: {path}")
        seen.add(path.lower())

    def _child(self, item: ChildQuery, include_deleted: bool) -> tuple[Sql, ChildColumn]:
        settings = self.settings
        if self.depth >= settings.child_depth:
            raise self.errors.at(item.pos, MALFORMED, depth_error(settings.child_depth))
        settings.child_count += 1
        if settings.child_count > MAX_CHILD_RELATIONSHIPS:
            reason = f"No more than {MAX_CHILD_RELATIONSHIPS} parent-to-child relationships can be specified in a query"
            raise self.errors.at(item.pos, MALFORMED, reason)
        relationship = relationship_of(self.sobject, item.query.sobject, self.errors)
        check_child_query(item.query, self.errors)
        level = _Level(item.query, relationship.child, settings, settings.prefix(), self.depth + 1)
        parent_id = column(self.resolver.root_alias, "Id")
        link = Sql(f"{column(level.resolver.root_alias, relationship.field.name)} = {parent_id}")
        plan = level.records(include_deleted, link)
        return json_column(plan.columns, plan.order, plan.body), ChildColumn(relationship.name, plan.shape)

    # ---------------------------------------------------------------------------------- clauses

    def filters(self, include_deleted: bool) -> list[Sql]:
        alias = self.resolver.root_alias
        filters = [] if include_deleted else [Sql(f"{column(alias, 'IsDeleted')} = 0")]
        if self.query.scope is not None:
            filters.extend(self._scope(self.query.scope))
        where = self.query.where
        if where is not None:
            check_placement(where, self.errors)
            compiler = ConditionCompiler(self._where_operand, self.errors, self.settings.today, self._semi_join)
            filters.append(compiler.compile(where))
        return filters

    def _where_operand(self, operand: Operand) -> Expression:
        return self.expressions.compile(operand, aggregates=False, clause="the WHERE clause")

    def _semi_join(self, node: SubqueryIn, left: Expression) -> Sql:
        check_left(left.source, node, self.errors)
        inner_object = self.settings.sobject(node.query)
        selected = check_inner_query(node, self.sobject, inner_object, self.errors)
        inner = _Level(node.query, inner_object, self.settings, self.settings.prefix(), self.depth)
        resolved = inner.resolver.resolve(selected)
        check_inner_field(resolved, selected, self.errors)
        filters = [*inner.filters(include_deleted=False), Sql(f"{resolved.column} IS NOT NULL")]
        body = Sql.join(" AND ", filters)
        return body.wrap(f"{left.sql} IN (SELECT {resolved.column} {inner.source()} WHERE ", ")")

    def _scope(self, scope: Name) -> list[Sql]:
        """``USING SCOPE everything`` filters nothing; ``mine`` keeps the current user's records."""
        name = scope.text.lower()
        if name == "everything":
            return []
        if name == "mine" and self.sobject.field("OwnerId") is not None:
            return [Sql(f"{column(self.resolver.root_alias, 'OwnerId')} = ?", (self.settings.current_user_id,))]
        raise self.errors.at(scope.pos, MALFORMED, f"Invalid scope: {scope.text}")

    def _order_term(self, operand: Operand, descending: bool, nulls_first: bool) -> str:
        target = self.expressions.compile(operand, aggregates=False, clause="ORDER BY of a non-aggregate query")
        if target.field.type == "base64":
            reason = f"field '{target.field.name}' can not be sorted in a query call"
            raise self.errors.at(operand.pos, "INVALID_FIELD", reason)
        return order_term(target, descending, nulls_first)

    def _paging(self) -> Sql:
        limit, offset = self.query.limit, self.query.offset
        if offset is not None and offset.value > MAX_OFFSET:
            reason = f"Maximum SOQL offset allowed is {MAX_OFFSET}"
            raise self.errors.at(offset.pos, "NUMBER_OUTSIDE_VALID_RANGE", reason)
        return _paging_sql(limit, offset)

    def source(self) -> str:
        """``FROM <object> <alias>`` and the parent joins; call it after every path has been resolved."""
        joins = [join.sql for join in self.resolver.joins]
        return " ".join([f"FROM {quote(self.sobject.name)} {self.resolver.root_alias}", *joins])


def _select_column(resolved: ResolvedField) -> str:
    """A selected field's column; a blob only as "is there one?" (the record links to it)."""
    return f"({resolved.column} IS NOT NULL)" if resolved.field.type == "base64" else resolved.column


def _pos_of(item: SelectField | FieldsFunction) -> Position:
    return item.pos if isinstance(item, FieldsFunction) else item.expression.pos


def _first_operand(condition: Condition) -> Operand:
    """The leftmost operand of a condition: where an error about the whole condition points."""
    while isinstance(condition, (And, Or, Not)):
        condition = condition.operands[0] if isinstance(condition, (And, Or)) else condition.operand
    return condition.operand


def _where(filters: Sequence[Sql]) -> Sql:
    return Sql.join(" AND ", filters).wrap(" WHERE ") if filters else Sql("")


def _paging_sql(limit: IntegerClause | None, offset: IntegerClause | None) -> Sql:
    if limit is None and offset is None:
        return Sql("")
    # SQLite only accepts OFFSET after a LIMIT; -1 means "no limit".
    limit_value = -1 if limit is None else limit.value
    if offset is None:
        return Sql(" LIMIT ?", (limit_value,))
    return Sql(" LIMIT ? OFFSET ?", (limit_value, offset.value))
