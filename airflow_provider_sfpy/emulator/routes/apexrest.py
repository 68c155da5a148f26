"""``/services/apexrest/...``: the org's Apex REST services (outside ``/services/data``, unversioned).

On Salesforce this namespace serves customer-written ``@RestResource`` classes. The emulator ships
two built-in ones, so DAGs can demo the call against data they can check:

- ``AccountSummary`` (``urlMapping='/AccountSummary/*'``), ``GET``: the number of live Accounts and
  their total ``AnnualRevenue``, for ``?industry=Banking`` or ``/AccountSummary/Banking`` (all
  Accounts without one): ``{"industry", "accounts", "annualRevenue"}``.
- ``Echo`` (``urlMapping='/Echo/*'``), ``POST``/``PUT``/``PATCH``: the JSON body back with the
  calling user: ``{"method", "userId", "body"}``.

What the platform answers around them is reproduced: 404 ``NOT_FOUND`` "Could not find a match for
URL /Path" for an unmapped URL, 405 for a method the class does not define, and 500 ``APEX_ERROR``
with the Apex exception and stack trace when the class throws (``Echo`` given malformed JSON).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from airflow_provider_sfpy.emulator.apex.query import soql_literal
from airflow_provider_sfpy.emulator.errors import ApiError
from airflow_provider_sfpy.emulator.responses import json_response
from airflow_provider_sfpy.emulator.routes.common import ApiContext, Endpoint, Handler, api_endpoint
from airflow_provider_sfpy.emulator.soql import compile_soql
from airflow_provider_sfpy.emulator.state import get_state

APEXREST = "/services/apexrest"
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]

ResourceHandler = Callable[[Request, ApiContext, str], Awaitable[Response]]


def apexrest_endpoint(handler: Handler) -> Endpoint:
    """``api_endpoint`` (auth, API usage, error rendering) for URLs that carry no API version: the
    org's latest version stands in for the one ``api_endpoint`` checks."""
    versioned = api_endpoint(handler)

    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        latest = get_state(request).config.api_versions[-1]
        request.scope["path_params"] = {**request.path_params, "version": latest}
        return await versioned(request)

    return endpoint


@dataclass(frozen=True)
class RestResource:
    """One ``@RestResource`` class: its URL mapping and its ``@HttpGet``/``@HttpPost``... methods."""

    url_mapping: str
    handlers: Mapping[str, ResourceHandler]

    def matches(self, path: str) -> bool:
        """Salesforce's matching: case-sensitive; ``/Name/*`` also matches ``/Name`` itself."""
        if self.url_mapping.endswith("/*"):
            base = self.url_mapping[:-2]
            return path == base or path.startswith(base + "/")
        return path == self.url_mapping


# ------------------------------------------------------------------------------------- the built-in classes


async def _account_summary(request: Request, ctx: ApiContext, path: str) -> Response:
    industry = request.query_params.get("industry") or path.removeprefix("/AccountSummary").strip("/") or None
    where = f" WHERE Industry = {soql_literal(industry)}" if industry else ""
    count_query = compile_soql(f"SELECT COUNT() FROM Account{where}")
    revenue_query = compile_soql(f"SELECT AnnualRevenue FROM Account{where}")
    store = ctx.state.store
    accounts = int(store.scalar(count_query.sql, count_query.params) or 0)
    revenue = store.scalar(f'SELECT total("AnnualRevenue") FROM ({revenue_query.sql})', revenue_query.params)
    total = int(revenue) if float(revenue).is_integer() else revenue
    return json_response({"industry": industry, "accounts": accounts, "annualRevenue": total})


async def _echo(request: Request, ctx: ApiContext, path: str) -> Response:
    raw = (await request.body()).decode("utf-8", errors="replace")
    body: Any = None
    if raw.strip():
        try:
            body = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise _apex_error(
                f"System.JSONException: Unexpected character: {exc.msg} at [line:{exc.lineno}, column:{exc.colno}]",
                "Class.Echo.echo: line 9, column 1",
            ) from None
    return json_response({"method": request.method, "userId": ctx.user_id, "body": body})


RESOURCES = (
    RestResource("/AccountSummary/*", {"GET": _account_summary}),
    RestResource("/Echo/*", {"POST": _echo, "PUT": _echo, "PATCH": _echo}),
)


def _apex_error(message: str, stack_trace: str) -> ApiError:
    """An exception the Apex class did not handle: 500 with the message and its stack trace."""
    return ApiError(500, "APEX_ERROR", f"{message}\n\n{stack_trace}")


# ------------------------------------------------------------------------------------- dispatch


@apexrest_endpoint
async def dispatch(request: Request, ctx: ApiContext) -> Response:
    path = "/" + request.path_params.get("path", "")
    resource = next((r for r in RESOURCES if r.matches(path)), None)
    if resource is None:
        raise ApiError(404, "NOT_FOUND", f"Could not find a match for URL {path}")
    handler = resource.handlers.get(request.method)
    if handler is None:
        allowed = ",".join(resource.handlers)
        raise ApiError(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{request.method}' not allowed. Allowed are {allowed}")
    return await handler(request, ctx, path)


def get_routes() -> list[BaseRoute]:
    return [
        Route(APEXREST, dispatch, methods=METHODS),
        Route(APEXREST + "/{path:path}", dispatch, methods=METHODS),
    ]
