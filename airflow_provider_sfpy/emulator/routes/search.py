"""SOSL search (``GET /search?q=FIND {...}``) and parameterized search (``GET``/``POST /parameterizedSearch``).

Both answer ``{"searchRecords": [record, ...]}``, each record ``{"attributes": {"type", "url"}, "Id",
...}`` as a query returns it. Up to API 36.0 ``/search`` answered the bare list instead; parameterized
search exists from 36.0. Errors are ``[{"message", "errorCode"}]`` with status 400: MALFORMED_SEARCH
(positioned in the statement), INVALID_SEARCH, or SOQL's INVALID_FIELD / INVALID_TYPE for a RETURNING
item. The search itself is ``emulator.sosl``.

References (REST API Developer Guide):
- Search: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_search.htm
- Search for a string (response shapes by version): https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_search.htm
- Parameterized Search: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_search_parameterized.htm
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from airflow_provider_sfpy.emulator.errors import ApiError, not_found
from airflow_provider_sfpy.emulator.responses import json_response
from airflow_provider_sfpy.emulator.routes.common import VERSION_PREFIX, ApiContext, api_endpoint, routes
from airflow_provider_sfpy.emulator.routes.json_input import read_json_object
from airflow_provider_sfpy.emulator.soql import SoqlError
from airflow_provider_sfpy.emulator.sosl import MALFORMED_SEARCH, SearchRequest, parse_sosl, run_search
from airflow_provider_sfpy.emulator.sosl.errors import NO_SEARCH_TERM
from airflow_provider_sfpy.emulator.sosl.parameterized import from_json, from_query_params

#: From this version the search resources wrap their records in ``{"searchRecords": [...]}``.
SEARCH_RECORDS_VERSION = 37.0
#: Parameterized search exists from this version.
PARAMETERIZED_VERSION = 36.0


def _search_response(ctx: ApiContext, build: Callable[[], SearchRequest], *, wrapped: bool) -> Response:
    """Build the search (parsing it) and run it; a ``SoqlError`` from either is Salesforce's 400."""
    try:
        found = run_search(ctx.state.store, build(), api_version=ctx.version, user_id=ctx.user_id)
    except SoqlError as exc:
        raise ApiError(400, exc.error_code, exc.message) from None
    return json_response({"searchRecords": found} if wrapped else found)


@api_endpoint
async def search(request: Request, ctx: ApiContext) -> Response:
    sosl = request.query_params.get("q")
    if not sosl or not sosl.strip():
        raise ApiError(400, MALFORMED_SEARCH, NO_SEARCH_TERM)
    wrapped = float(ctx.version) >= SEARCH_RECORDS_VERSION
    return _search_response(ctx, lambda: parse_sosl(sosl), wrapped=wrapped)


@api_endpoint
async def parameterized_search(request: Request, ctx: ApiContext) -> Response:
    if float(ctx.version) < PARAMETERIZED_VERSION:
        raise not_found()
    if request.method == "POST":
        body = await read_json_object(request, "ParameterizedSearchRequest")
        return _search_response(ctx, lambda: from_json(body), wrapped=True)
    params = request.query_params.multi_items()
    return _search_response(ctx, lambda: from_query_params(params), wrapped=True)


def get_routes() -> list[BaseRoute]:
    return [
        *routes(VERSION_PREFIX + "/search", search, ["GET"]),
        *routes(VERSION_PREFIX + "/parameterizedSearch", parameterized_search, ["GET", "POST"]),
    ]
