"""Tooling API query and sObject describe (``/tooling/query``, ``/tooling/sobjects``).

The Tooling API answers queries and describes like the data API with a few differences clients see:
a query page also carries ``size``, ``queryLocator`` and ``entityTypeName``, and every URL in a
record or a describe points under ``/tooling/sobjects``. The emulated org has no metadata objects
(ApexClass, ApexTrigger, CustomField, EntityDefinition ...): the Tooling resources serve the org's
sObjects, through the same SOQL compiler and describe data as ``/query`` and ``/sobjects``.
(``/tooling/executeAnonymous`` is ``routes/apex.py``.)

References (Tooling API Developer Guide):
- Query: https://developer.salesforce.com/docs/atlas.en-us.api_tooling.meta/api_tooling/intro_rest_resources.htm
- sObject describe: https://developer.salesforce.com/docs/atlas.en-us.api_tooling.meta/api_tooling/intro_rest_resources.htm
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from airflow_provider_sfpy.emulator import describe as describe_json
from airflow_provider_sfpy.emulator.errors import ApiError, not_found
from airflow_provider_sfpy.emulator.responses import json_response
from airflow_provider_sfpy.emulator.routes.common import VERSION_PREFIX, ApiContext, api_endpoint, routes
from airflow_provider_sfpy.emulator.routes.query import compile_requested_query, open_first_page, page_at_locator
from airflow_provider_sfpy.emulator.schema import SObjectDef, lookup_sobject
from airflow_provider_sfpy.emulator.soql import (
    CompiledQuery,
)
from airflow_provider_sfpy.emulator.store import QueryPage

TOOLING = VERSION_PREFIX + "/tooling"
QUERY_RESOURCE = "tooling/query"


@dataclass(frozen=True)
class _ToolingCursor:
    """What a Tooling query cursor remembers (the same two facts a ``/query`` cursor keeps)."""

    compiled: CompiledQuery
    resource: str = QUERY_RESOURCE


def _tooling_urls(data: Any, version: str) -> Any:
    """``data`` with every sObject URL (``url`` values, ``urls`` maps) under ``/tooling/sobjects``."""
    data_root = f"/services/data/v{version}/sobjects"
    tooling_root = f"/services/data/v{version}/tooling/sobjects"

    def walk(value: Any, is_url: bool) -> Any:
        if isinstance(value, dict):
            return {k: walk(v, is_url or k in ("url", "urls")) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, is_url) for v in value]
        if is_url and isinstance(value, str) and value.startswith(data_root):
            return tooling_root + value[len(data_root) :]
        return value

    return walk(data, False)


def _page_response(ctx: ApiContext, page: QueryPage) -> Response:
    cursor: _ToolingCursor = page.context
    compiled = cursor.compiled
    locator = None if page.done else f"{page.cursor_id}-{page.next_offset}"
    body: dict[str, Any] = {
        "size": page.total_size,
        "totalSize": page.total_size,
        "done": page.done,
        "queryLocator": locator,
        "entityTypeName": "AggregateResult" if compiled.aggregate else compiled.sobject.name,
    }
    if locator is not None:
        body["nextRecordsUrl"] = ctx.data_url(f"/{QUERY_RESOURCE}/{locator}")
    body["records"] = [_tooling_urls(compiled.to_record(row, ctx.version), ctx.version) for row in page.rows]
    return json_response(body)


@api_endpoint
async def query(request: Request, ctx: ApiContext) -> Response:
    compiled = compile_requested_query(request, ctx)
    if compiled.count_only:
        count = int(ctx.state.store.scalar(compiled.sql, compiled.params) or 0)
        empty = {"size": count, "totalSize": count, "done": True, "queryLocator": None, "entityTypeName": None}
        return json_response({**empty, "records": []})
    return _page_response(ctx, open_first_page(request, ctx, compiled, _ToolingCursor(compiled)))


@api_endpoint
async def next_page(request: Request, ctx: ApiContext) -> Response:
    page = page_at_locator(request, ctx)
    if not isinstance(page.context, _ToolingCursor):
        raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
    return _page_response(ctx, page)


@api_endpoint
async def describe_global(request: Request, ctx: ApiContext) -> Response:
    return json_response(_tooling_urls(describe_json.describe_global(ctx.version), ctx.version))


def _sobject(request: Request) -> SObjectDef:
    obj = lookup_sobject(request.path_params["sobject"])
    if obj is None:
        raise not_found()
    return obj


@api_endpoint
async def sobject_info(request: Request, ctx: ApiContext) -> Response:
    return json_response(_tooling_urls(describe_json.basic_info(_sobject(request), ctx.version), ctx.version))


@api_endpoint
async def describe(request: Request, ctx: ApiContext) -> Response:
    return json_response(_tooling_urls(describe_json.describe(_sobject(request).name, ctx.version), ctx.version))


def get_routes() -> list[BaseRoute]:
    return [
        *routes(TOOLING + "/query", query, ["GET"]),
        *routes(TOOLING + "/query/{locator}", next_page, ["GET"]),
        *routes(TOOLING + "/sobjects", describe_global, ["GET"]),
        *routes(TOOLING + "/sobjects/{sobject}", sobject_info, ["GET"]),
        *routes(TOOLING + "/sobjects/{sobject}/describe", describe, ["GET"]),
    ]
