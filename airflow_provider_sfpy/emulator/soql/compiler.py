"""``compile_soql``: parse, resolve against ``schema.SCHEMA``, and assemble one SQLite statement.

Row layout of a record query: the selected columns in SELECT order, then the hidden Id columns (the
root's, then each joined parent's, in join order). ``CompiledQuery.to_record`` depends on that layout;
nothing else should.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

from ..schema import SObjectDef, lookup_sobject
from .ast import FieldPath, IntegerClause, Name, OrderItem, Query
from .conditions import ConditionCompiler
from .errors import QueryErrors
from .parser import MALFORMED, parse
from .records import RecordShape, build_shape
from .resolver import ROOT_ALIAS, ResolvedField, Resolver
from .sql import Sql, column, quote
from .values import is_case_insensitive

MAX_OFFSET = 2000

_UNKNOWN_OBJECT = (
    "sObject type '{name}' is not supported. If you are attempting to use a custom object, be sure to "
    "append the '__c' after the custom object name. Please reference your WSDL or the describe call for "
    "the appropriate names."
)


@dataclass(frozen=True)
class CompiledQuery:
    """A query ready to run: ``conn.execute(sql, params)``, then ``to_record`` on each row."""

    sobject: SObjectDef
    sql: str
    params: tuple[object, ...]
    count_only: bool
    field_paths: list[str]
    shape: RecordShape | None = field(default=None, repr=False, compare=False)

    def to_record(self, row: Sequence[Any], api_version: str) -> dict[str, Any]:
        """One row as Salesforce's JSON record (``attributes`` first, parents nested or ``None``)."""
        if self.shape is None:
            raise ValueError("SELECT COUNT() returns a count, not records: read row[0]")
        record = self.shape.render(row, api_version)
        if record is None:
            raise ValueError("row has no Id: it was not produced by this query's SQL")
        return record


def compile_soql(
    soql: str,
    *,
    include_deleted: bool = False,
    now: datetime | None = None,
    current_user_id: str | None = None,
) -> CompiledQuery:
    """Compile ``soql`` for the emulator's SQLite store, or raise ``SoqlError`` as Salesforce would.

    ``include_deleted`` is queryAll (soft-deleted root rows too); ``now`` anchors relative date literals
    (default: the current UTC time); ``current_user_id`` is whom ``USING SCOPE mine`` means.
    """
    return _QueryCompiler(soql, parse(soql), current_user_id).compile(include_deleted, _utc_today(now))


def _utc_today(now: datetime | None) -> date:
    moment = now or datetime.now(timezone.utc)
    return moment.astimezone(timezone.utc).date() if moment.tzinfo else moment.date()


class _QueryCompiler:
    """The state of compiling one query: its errors' context and the joins its paths have needed."""

    def __init__(self, soql: str, query: Query, current_user_id: str | None) -> None:
        self._query = query
        self._errors = QueryErrors(soql)
        self._current_user_id = current_user_id
        sobject = lookup_sobject(query.sobject.text)
        if sobject is None:
            reason = _UNKNOWN_OBJECT.format(name=query.sobject.text)
            raise self._errors.at(query.sobject.pos, "INVALID_TYPE", reason)
        self._sobject = sobject
        self._resolver = Resolver(sobject, self._errors)

    def compile(self, include_deleted: bool, today: date) -> CompiledQuery:
        query = self._query
        selected = self._select_list(query.fields or ())
        filters = self._filters(include_deleted, today)
        order = [self._order_term(item) for item in query.order_by]
        # Every path is resolved by now, so the join list is complete.
        source = " ".join([f"FROM {quote(self._sobject.name)} {ROOT_ALIAS}", *(j.sql for j in self._resolver.joins)])
        where = Sql.join(" AND ", filters).wrap(" WHERE ") if filters else Sql("")
        paging = self._paging(query.limit, query.offset)
        if query.fields is None:
            body = Sql.join("", [Sql(f"SELECT 1 {source}"), where, paging])
            return CompiledQuery(self._sobject, f"SELECT COUNT(*) FROM ({body.text})", body.params, True, [])
        columns, id_columns = self._columns(selected)
        order_sql = " ORDER BY " + ", ".join(order) if order else ""
        statement = Sql.join("", [Sql(f"SELECT {', '.join(columns)} {source}"), where, Sql(order_sql), paging])
        return CompiledQuery(
            sobject=self._sobject,
            sql=statement.text,
            params=statement.params,
            count_only=False,
            field_paths=[resolved.path for resolved in selected],
            shape=build_shape(self._sobject.name, selected, id_columns),
        )

    def _select_list(self, fields: Sequence[FieldPath]) -> list[ResolvedField]:
        selected: list[ResolvedField] = []
        seen: set[str] = set()
        for path in fields:
            resolved = self._resolver.resolve(path)
            if resolved.path.lower() in seen:
                raise self._errors.at(path.pos, MALFORMED, f"duplicate field selected: {resolved.path}")
            seen.add(resolved.path.lower())
            selected.append(resolved)
        return selected

    def _columns(self, selected: Sequence[ResolvedField]) -> tuple[list[str], dict[str, int]]:
        """Selected columns (blobs only as "is there one?") plus the hidden Ids and where they are."""
        columns = [
            f"({resolved.column} IS NOT NULL)" if resolved.field.type == "base64" else resolved.column
            for resolved in selected
        ]
        aliases = [ROOT_ALIAS, *(join.alias for join in self._resolver.joins)]
        id_columns = {alias: len(columns) + index for index, alias in enumerate(aliases)}
        columns.extend(column(alias, "Id") for alias in aliases)
        return columns, id_columns

    def _filters(self, include_deleted: bool, today: date) -> list[Sql]:
        filters = [] if include_deleted else [Sql(f"{column(ROOT_ALIAS, 'IsDeleted')} = 0")]
        if self._query.scope is not None:
            filters.extend(self._scope(self._query.scope))
        if self._query.where is not None:
            filters.append(ConditionCompiler(self._resolver, self._errors, today).compile(self._query.where))
        return filters

    def _scope(self, scope: Name) -> list[Sql]:
        """``USING SCOPE everything`` filters nothing; ``mine`` keeps the current user's records."""
        name = scope.text.lower()
        if name == "everything":
            return []
        if name == "mine" and self._sobject.field("OwnerId") is not None:
            return [Sql(f"{column(ROOT_ALIAS, 'OwnerId')} = ?", (self._current_user_id,))]
        raise self._errors.at(scope.pos, MALFORMED, f"Invalid scope: {scope.text}")

    def _order_term(self, item: OrderItem) -> str:
        """Salesforce sorts text case-insensitively and places nulls explicitly (default: ASC NULLS FIRST)."""
        target = self._resolver.resolve(item.field)
        if target.field.type == "base64":
            reason = f"field '{target.field.name}' can not be sorted in a query call"
            raise self._errors.at(item.field.pos, "INVALID_FIELD", reason)
        collate = " COLLATE NOCASE" if is_case_insensitive(target.field) else ""
        nulls = "DESC" if item.nulls_first else "ASC"
        direction = "DESC" if item.descending else "ASC"
        return f"{target.column} IS NULL {nulls}, {target.column}{collate} {direction}"

    def _paging(self, limit: IntegerClause | None, offset: IntegerClause | None) -> Sql:
        if offset is not None and offset.value > MAX_OFFSET:
            reason = f"Maximum SOQL offset allowed is {MAX_OFFSET}"
            raise self._errors.at(offset.pos, "NUMBER_OUTSIDE_VALID_RANGE", reason)
        if limit is None and offset is None:
            return Sql("")
        # SQLite only accepts OFFSET after a LIMIT; -1 means "no limit".
        limit_value = -1 if limit is None else limit.value
        if offset is None:
            return Sql(" LIMIT ?", (limit_value,))
        return Sql(" LIMIT ? OFFSET ?", (limit_value, offset.value))
