"""``GET /services/data/vXX.X/tooling/executeAnonymous/?anonymousBody=...``: run anonymous Apex.

The Tooling API answers 200 whatever the code did: compile problems and uncaught exceptions are
reported in the body (``compiled``/``success`` with line, column and message), and the debug log is
not part of the response. The interpreter runs in a worker thread so a long-running block (up to the
CPU limit) does not stall the event loop, and it takes the store's lock only per DML statement and
query, so it does not stall other clients either. The governor limits (CPU time, heap) come from the
emulator's config (``apex_cpu_seconds``, ``apex_heap_bytes``).
"""

from __future__ import annotations

import functools

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from airflow_provider_sfpy.emulator.apex import execute_anonymous
from airflow_provider_sfpy.emulator.apex.context import Limits
from airflow_provider_sfpy.emulator.responses import json_response
from airflow_provider_sfpy.emulator.routes.common import VERSION_PREFIX, ApiContext, api_endpoint, routes

EXECUTE_ANONYMOUS = VERSION_PREFIX + "/tooling/executeAnonymous"


@api_endpoint
async def execute(request: Request, ctx: ApiContext) -> Response:
    source = request.query_params.get("anonymousBody", "")
    config = ctx.state.config
    limits = Limits(cpu_seconds=config.apex_cpu_seconds, heap_bytes=config.apex_heap_bytes)
    run = functools.partial(
        execute_anonymous, source, ctx.state.store, user_id=ctx.user_id, api_version=ctx.version, limits=limits
    )
    result = await run_in_threadpool(run)
    return json_response(result.to_json())


def get_routes() -> list[BaseRoute]:
    return routes(EXECUTE_ANONYMOUS, execute, ["GET"])
