"""Inline SOQL: ``[SELECT ... WHERE Name = :name]`` through the emulator's SOQL compiler and store.

Bind variables are substituted as SOQL literals (a list becomes ``(a, b)``), so the one SOQL
implementation serves REST queries and Apex alike. At compile time the binds are replaced by a
placeholder of their static type, which lets a malformed query fail to compile, as in Salesforce.
Rows come back as ``SObjectValue``s that remember which fields the query selected.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from airflow_provider_sfpy.emulator.schema import SObjectDef, lookup_sobject
from airflow_provider_sfpy.emulator.soql import CompiledQuery, SoqlError, compile_soql

from . import syntax as ast
from .context import ExecutionContext
from .errors import CompileError, throw
from .types import BOOLEAN, DATE, DATETIME, DECIMAL, DOUBLE, ID, INTEGER, LONG, NULL, STRING, ApexType
from .values import ApexList, SObjectValue, from_record, to_decimal

_ERROR_LOCATION = "ERROR at Row:"
_NO_ROWS = "List has no rows for assignment to SObject"
_MANY_ROWS = "List has more than 1 row for assignment to SObject"
# Apex refuses FIELDS(ALL) and FIELDS(CUSTOM) whatever the LIMIT; FIELDS(STANDARD) is fine.
_UNBOUNDED_FIELDS = "The SOQL FIELDS function is not supported with an unbounded set of fields in this API"


def soql_literal(value: Any) -> str:
    """A bound value as SOQL text. An empty list matches nothing, as an empty bind list does in Apex."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, Decimal, float)):
        return format(to_decimal(value), "f")
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, SObjectValue):
        return soql_literal(value.record_id)
    if isinstance(value, ApexList):
        return "(" + ", ".join(soql_literal(v) for v in value.items) + ")" if value.items else "('')"
    text = str(value).replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n").replace("\r", "\\r")
    return f"'{text}'"


def placeholder(t: ApexType) -> str:
    """A literal of type ``t``, standing in for a bind while the query is compiled."""
    if t.kind == "list":
        return f"({placeholder(t.element)})" if t.element else "('')"
    if t in (INTEGER, LONG):
        return "0"
    if t in (DECIMAL, DOUBLE):
        return "0.0"
    if t == BOOLEAN:
        return "true"
    if t == DATE:
        return "2000-01-01"
    if t == DATETIME:
        return "2000-01-01T00:00:00Z"
    if t in (STRING, ID) or t.kind == "sobject":
        return "''"
    if t == NULL:
        return "null"
    return "''"


def substitute(node: ast.Soql, literals: list[str]) -> str:
    """The query text with each bind replaced by its literal."""
    parts, last = [], 0
    for bind, literal in zip(node.binds, literals, strict=True):
        parts += [node.text[last : bind.start], literal]
        last = bind.end
    parts.append(node.text[last:])
    return "".join(parts)


def compile_inline(node: ast.Soql, bind_types: list[ApexType]) -> CompiledQuery:
    """Compile-time check of an inline query; a SOQL error becomes a compile problem at the query."""
    try:
        compiled = compile_soql(substitute(node, [placeholder(t) for t in bind_types]))
    except SoqlError as exc:
        raise CompileError(_reason(exc.message), _error_pos(node, exc.message)) from None
    refusal = _unsupported_in_apex(compiled)
    if refusal is not None:
        raise CompileError(refusal, node.pos)
    return compiled


def _unsupported_in_apex(compiled: CompiledQuery) -> str | None:
    """What the emulator's Apex cannot hold yet (AggregateResult, child lists), or Apex itself refuses."""
    if compiled.unbounded_fields:
        return _UNBOUNDED_FIELDS
    if compiled.aggregate:
        return "The emulator's Apex has no AggregateResult yet: run aggregate queries through /query"
    if compiled.child_relationships:
        return "The emulator's Apex cannot read child relationship lists yet: query the children separately"
    return None


def _reason(message: str) -> str:
    lines = message.split("\n")
    for index, line in enumerate(lines):
        if line.startswith(_ERROR_LOCATION):
            return "\n".join(lines[index + 1 :])
    return message


def _error_pos(node: ast.Soql, message: str) -> ast.Pos:
    """Where in the Apex source the SOQL error points (row 1 of the query starts after ``[``)."""
    for line in message.split("\n"):
        if line.startswith(_ERROR_LOCATION):
            row, _, column = line[len(_ERROR_LOCATION) :].partition(":Column:")
            if row.isdigit() and column.isdigit():
                if int(row) == 1:
                    return ast.Pos(node.pos.line, node.pos.column + int(column))
                return ast.Pos(node.pos.line + int(row) - 1, int(column))
    return node.pos


def run(node: ast.Soql, literals: list[str], ctx: ExecutionContext) -> list[SObjectValue] | int:
    """Run an inline query with its binds' values; ``COUNT()`` queries give the count."""
    ctx.limits.count_query()
    try:
        compiled = compile_soql(substitute(node, literals), current_user_id=ctx.user_id)
    except SoqlError as exc:
        raise throw("QueryException", _reason(exc.message)) from None
    store = ctx.store
    if compiled.count_only:
        return int(store.scalar(compiled.sql, compiled.params) or 0)
    remaining = ctx.limits.remaining_query_rows()
    # One row past the limit is enough to know it is exceeded (and keeps the store from opening a cursor).
    sql = f"SELECT * FROM ({compiled.sql}) LIMIT {remaining + 1}"
    page = store.open_query(sql, compiled.params, remaining + 1)
    ctx.limits.count_query_rows(page.total_size)
    return [_record(compiled.sobject, compiled.to_record(row, ctx.api_version)) for row in page.rows]


def single_row(rows: list[SObjectValue]) -> SObjectValue:
    """A query assigned to one sObject: exactly one row, or Salesforce's QueryException."""
    if not rows:
        raise throw("QueryException", _NO_ROWS)
    if len(rows) > 1:
        raise throw("QueryException", _MANY_ROWS)
    return rows[0]


def _record(obj: SObjectDef, record: dict[str, Any]) -> SObjectValue:
    """A REST query record as an sObject value; Apex always has the Id, selected or not."""
    value = SObjectValue(obj)
    queried = {"id"}
    value.values["Id"] = record["attributes"]["url"].rsplit("/", 1)[1]
    for key, item in record.items():
        if key == "attributes":
            continue
        queried.add(key.lower())
        f = obj.field(key)
        if f is not None:
            value.values[f.name] = from_record(f, item)
            continue
        reference = obj.relationship(key)
        name = reference.relationship_name if reference is not None and reference.relationship_name else key
        parent_obj = lookup_sobject(item["attributes"]["type"]) if item is not None else None
        value.parents[name] = _record(parent_obj, item) if parent_obj is not None else None
    value.queried = frozenset(queried)
    return value
