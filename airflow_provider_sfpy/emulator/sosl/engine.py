"""``run_search``: the records a ``SearchRequest`` finds, as the search resources return them.

Per object (RETURNING order; every searchable object when there is no RETURNING):

1. ``matching`` finds the live records whose searched fields match the expression;
2. when the item has a WHERE or an ORDER BY, SOQL's ``SELECT Id ... WHERE ... ORDER BY ...`` keeps
   and orders the matches (so a condition means exactly what it means in a query);
3. the item's OFFSET and LIMIT, then the search's overall LIMIT (at most 2,000 records in all),
   choose the records;
4. ``SELECT <field list> FROM <object> WHERE Id IN (...)`` renders them, so a record is the same JSON
   a query gives (``attributes``, parent relationships nested); without a field list, just the Id.

Every item's object, field list, WHERE and ORDER BY are compiled before anything runs, so a bad one
fails the whole search, as in Salesforce.

Reference: RETURNING FieldSpec, https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_sosl_returning.htm
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..schema import SCHEMA, FieldDef, SObjectDef
from ..soql import CompiledQuery
from ..store import Store
from .ast import MAX_RESULTS, Expression, Fragment, ObjectRequest, SearchRequest
from .errors import SearchErrors
from .fragments import AssembledSoql, assemble, compile_in_search
from .groups import searched_fields
from .matching import matching_ids

#: The largest OFFSET a RETURNING item takes.
MAX_OFFSET = 2000


@dataclass(frozen=True)
class _ObjectPlan:
    """One object's part of the search, checked and ready to run."""

    obj: SObjectDef
    request: ObjectRequest
    searched: tuple[FieldDef, ...]
    returned: str | Fragment
    #: ``SELECT Id ... WHERE ... ORDER BY ...`` when the item filters or orders its matches.
    filter: CompiledQuery | None


class _Search:
    """One search run: its request, where its errors point, and how to compile and run SOQL for it."""

    def __init__(self, store: Store, request: SearchRequest, api_version: str, user_id: str | None) -> None:
        self.store = store
        self.request = request
        self.api_version = api_version
        self.user_id = user_id
        self.errors = SearchErrors(request.source)

    def compile(self, soql: AssembledSoql) -> CompiledQuery:
        return compile_in_search(soql, self.errors, user_id=self.user_id, api_version=self.api_version)

    def rows(self, compiled: CompiledQuery) -> Iterator[dict[str, Any]]:
        page = self.store.open_query(compiled.sql, compiled.params, sys.maxsize)
        return (compiled.to_record(row, self.api_version) for row in page.rows)

    def plan(self, item: ObjectRequest) -> _ObjectPlan:
        name = Fragment(item.name, item.start)
        returned: str | Fragment = item.fields or "Id"
        checked = self.compile(assemble("SELECT ", returned, " FROM ", name))  # the object and its field list
        obj = checked.sobject
        if not obj.searchable:
            raise self.errors.at(item.start, f"entity type {obj.name} does not support search", "INVALID_TYPE")
        if item.offset is not None and item.offset > MAX_OFFSET:
            raise self.errors.at(None, f"Maximum SOSL offset allowed is {MAX_OFFSET}", "NUMBER_OUTSIDE_VALID_RANGE")
        filtering: CompiledQuery | None = None
        if item.where is not None or item.order_by is not None:
            where = (" WHERE ", item.where) if item.where is not None else ()
            order = (" ORDER BY ", item.order_by) if item.order_by is not None else ()
            filtering = self.compile(assemble("SELECT Id FROM ", obj.name, *where, *order))
        return _ObjectPlan(obj, item, searched_fields(obj, self.request.group), returned, filtering)

    def records(self, plan: _ObjectPlan, expression: Expression, room: int) -> list[dict[str, Any]]:
        """The records of one object the search returns, at most ``room`` of them."""
        matched = matching_ids(self.store, plan.obj, plan.searched, expression)
        if not matched:
            return []
        if plan.filter is not None:
            wanted = set(matched)
            matched = [record["Id"] for record in self.rows(plan.filter) if record["Id"] in wanted]
        item = plan.request
        start = item.offset or 0
        count = min(room, item.limit if item.limit is not None else MAX_RESULTS)
        chosen = matched[start : start + count]
        if not chosen:
            return []
        listed = ", ".join(f"'{record_id}'" for record_id in chosen)
        fetch = self.compile(assemble("SELECT ", plan.returned, f" FROM {plan.obj.name} WHERE Id IN ({listed})"))
        by_id = {_record_id(record): record for record in self.rows(fetch)}
        return [by_id[record_id] for record_id in chosen if record_id in by_id]


def run_search(
    store: Store, request: SearchRequest, *, api_version: str, user_id: str | None = None
) -> list[dict[str, Any]]:
    """The records ``request`` finds, object after object; raises ``SoqlError`` as Salesforce would."""
    search = _Search(store, request, api_version, user_id)
    items = request.objects or tuple(ObjectRequest(obj.name) for obj in SCHEMA.values() if obj.searchable)
    plans = [search.plan(item) for item in items]
    found: list[dict[str, Any]] = []
    for plan in plans:
        room = request.limit - len(found)
        if room <= 0:
            break
        found.extend(search.records(plan, request.expression, room))
    return found


def _record_id(record: dict[str, Any]) -> str:
    """A rendered record's Id, from its ``attributes.url`` (the field list need not include Id)."""
    url: str = record["attributes"]["url"]
    return url.rsplit("/", 1)[1]
