"""``/query`` and ``/queryAll``: SOQL through ``compile_soql``, paged like Salesforce.

The first request runs the query; when the result is larger than the batch size the store keeps a
cursor and the response carries ``nextRecordsUrl`` (``/services/data/v62.0/query/01g...-2000``: the
locator and the number of rows already delivered). Because the position is in the URL, re-fetching a
page after a network error returns the same page, which is what retrying clients rely on. Aggregate
queries (GROUP BY, aggregate functions) are never paged: more than 2,000 groups is Salesforce's
"Aggregate query does not support queryMore()" error.

A query that selects two or more custom long text area fields gets pages of at most 200 records,
whatever batch size it asks for: Salesforce caps them so to keep responses small ("Change the Batch Size
in Queries", SOQL and SOSL Reference,
https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/api/sforce_api_calls_soql_changing_batch_size.htm).
Custom fields of type Long Text Area count (``textarea`` longer than 255 characters, custom: ``__c``),
parent fields selected through a relationship included; a Text Area (255) and standard long text
(``Account.Description``) do not.

Pages are the hot path of benchmarks: one SQL statement per page, ``to_record`` per row and the
stdlib JSON encoder with compact separators — nothing else per row.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from airflow_provider_sfpy.emulator.errors import ApiError
from airflow_provider_sfpy.emulator.responses import json_response
from airflow_provider_sfpy.emulator.routes.common import VERSION_PREFIX, ApiContext, api_endpoint, routes
from airflow_provider_sfpy.emulator.schema import FieldDef
from airflow_provider_sfpy.emulator.soql import (
    MAX_AGGREGATE_ROWS,
    CompiledQuery,
    SoqlError,
    compile_soql,
    too_many_aggregate_rows,
)
from airflow_provider_sfpy.emulator.store import QueryPage

DEFAULT_BATCH_SIZE = 2000
MIN_BATCH_SIZE = 200
MAX_BATCH_SIZE = 2000
#: The page size limit of a query that selects two or more custom long text area fields.
LONG_TEXT_BATCH_SIZE = 200
#: A Text Area holds up to 255 characters; longer ``textarea`` fields are Long Text Areas.
MAX_TEXT_AREA_LENGTH = 255


@dataclass(frozen=True)
class _CursorContext:
    """What a cursor must remember to render its later pages."""

    compiled: CompiledQuery
    resource: str  # "query" or "queryAll"


def batch_size(request: Request) -> int | None:
    """``Sforce-Query-Options: batchSize=N`` clamped to 200..2000, or ``None`` when absent/invalid."""
    for option in request.headers.get("sforce-query-options", "").split(","):
        name, _, value = option.strip().partition("=")
        if name.strip().lower() == "batchsize":
            try:
                return min(MAX_BATCH_SIZE, max(MIN_BATCH_SIZE, int(value.strip())))
            except ValueError:
                return None
    return None


def is_custom_long_text_area(field: FieldDef) -> bool:
    """A custom Long Text Area field (the kind that limits query pages to 200 records)."""
    return field.type == "textarea" and field.length > MAX_TEXT_AREA_LENGTH and field.name.endswith("__c")


def page_size_limit(compiled: CompiledQuery) -> int:
    """The most records one page of ``compiled`` may hold: 200 when it selects two or more custom long
    text area fields, else 2,000."""
    long_text_fields = sum(1 for f in compiled.selected_fields if is_custom_long_text_area(f))
    return LONG_TEXT_BATCH_SIZE if long_text_fields >= 2 else MAX_BATCH_SIZE


def _page_size_limit_of(context: object) -> int:
    """``page_size_limit`` of the query a cursor context (REST or Tooling) remembers."""
    compiled = getattr(context, "compiled", None)
    return page_size_limit(compiled) if isinstance(compiled, CompiledQuery) else MAX_BATCH_SIZE


def _page_response(ctx: ApiContext, page: QueryPage) -> Response:
    context: _CursorContext = page.context
    to_record, version = context.compiled.to_record, ctx.version
    body: dict[str, object] = {"totalSize": page.total_size, "done": page.done}
    if not page.done:
        body["nextRecordsUrl"] = ctx.data_url(f"/{context.resource}/{page.cursor_id}-{page.next_offset}")
    body["records"] = [to_record(row, version) for row in page.rows]
    return json_response(body)


def compile_requested_query(request: Request, ctx: ApiContext, *, include_deleted: bool = False) -> CompiledQuery:
    """The ``q`` parameter, compiled for this user and API version (REST and Tooling queries alike)."""
    soql = request.query_params.get("q")
    if not soql or not soql.strip():
        raise ApiError(400, "MALFORMED_QUERY", "A query string has to be specified")
    try:
        return compile_soql(soql, include_deleted=include_deleted, current_user_id=ctx.user_id, api_version=ctx.version)
    except SoqlError as exc:
        raise ApiError(400, exc.error_code, exc.message) from None


def open_first_page(request: Request, ctx: ApiContext, compiled: CompiledQuery, context: object) -> QueryPage:
    """The first page of a records or aggregate query; its cursor keeps ``context`` for later pages.

    Aggregate results come in one batch whatever the batch size; more rows than fit is an error, as
    Salesforce does not page them (queryMore is not supported for aggregate queries)."""
    store = ctx.state.store
    if compiled.aggregate:
        size = MAX_AGGREGATE_ROWS
    else:
        size = min(batch_size(request) or DEFAULT_BATCH_SIZE, page_size_limit(compiled))
    page = store.open_query(compiled.sql, compiled.params, size, context)
    if compiled.aggregate and page.cursor_id is not None:
        store.close_query(page.cursor_id)
        error = too_many_aggregate_rows()
        raise ApiError(400, error.error_code, error.message)
    return page


def page_at_locator(request: Request, ctx: ApiContext) -> QueryPage:
    """The page a ``<cursor>-<offset>`` locator in the path points at.

    Without a batch size in this request the page is as large as the first one was; a batch size asked
    for now applies within the query's page size limit, which depends on the query the cursor was opened for."""
    cursor_id, _, offset_text = request.path_params["locator"].rpartition("-")
    if not cursor_id or not offset_text.isdigit():
        raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
    store, offset, requested = ctx.state.store, int(offset_text), batch_size(request)
    if requested is not None and requested > LONG_TEXT_BATCH_SIZE:
        requested = min(requested, _page_size_limit_of(store.cursor_context(cursor_id)))
    return store.query_page(cursor_id, offset, requested)


async def _run(request: Request, ctx: ApiContext, resource: str) -> Response:
    compiled = compile_requested_query(request, ctx, include_deleted=resource == "queryAll")
    if compiled.count_only:
        count = ctx.state.store.scalar(compiled.sql, compiled.params) or 0
        return json_response({"totalSize": int(count), "done": True, "records": []})
    return _page_response(ctx, open_first_page(request, ctx, compiled, _CursorContext(compiled, resource)))


async def _next_page(request: Request, ctx: ApiContext) -> Response:
    return _page_response(ctx, page_at_locator(request, ctx))


@api_endpoint
async def query(request: Request, ctx: ApiContext) -> Response:
    return await _run(request, ctx, "query")


@api_endpoint
async def query_all(request: Request, ctx: ApiContext) -> Response:
    return await _run(request, ctx, "queryAll")


@api_endpoint
async def next_page(request: Request, ctx: ApiContext) -> Response:
    return await _next_page(request, ctx)


def get_routes() -> list[BaseRoute]:
    return [
        *routes(VERSION_PREFIX + "/query", query, ["GET"]),
        *routes(VERSION_PREFIX + "/queryAll", query_all, ["GET"]),
        *routes(VERSION_PREFIX + "/query/{locator}", next_page, ["GET"]),
        *routes(VERSION_PREFIX + "/queryAll/{locator}", next_page, ["GET"]),
    ]
