"""``GET /services/data/vXX.X/limits``: the org's limits with live API-usage counts."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from airflow_provider_sfpy.emulator.responses import json_response
from airflow_provider_sfpy.emulator.routes.common import VERSION_PREFIX, ApiContext, api_endpoint, routes
from airflow_provider_sfpy.emulator.schema import SCHEMA

#: Salesforce counts 2 KB of data storage per record, whatever its size.
RECORD_SIZE_KB = 2


@api_endpoint
async def limits(request: Request, ctx: ApiContext) -> Response:
    store = ctx.state.store
    records = sum(store.count(name) for name in SCHEMA)
    return json_response(ctx.state.usage.snapshot(data_storage_used_mb=records * RECORD_SIZE_KB // 1024))


def get_routes() -> list[BaseRoute]:
    return routes(VERSION_PREFIX + "/limits", limits, ["GET"])
