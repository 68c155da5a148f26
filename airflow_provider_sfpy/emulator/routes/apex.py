"""``GET /services/data/vXX.X/tooling/executeAnonymous/?anonymousBody=...``: run anonymous Apex.

The Tooling API answers 200 whatever the code did: compile problems and uncaught exceptions are
reported in the body (``compiled``/``success`` with line, column and message), and the debug log is
not part of the response. The interpreter runs in a worker thread so a long-running block (up to the
CPU limit) does not stall the event loop; the store's lock keeps its transaction to itself.
"""

from __future__ import annotations

import functools

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from airflow_provider_sfpy.emulator.apex import execute_anonymous
from airflow_provider_sfpy.emulator.responses import json_response
from airflow_provider_sfpy.emulator.routes.common import VERSION_PREFIX, ApiContext, api_endpoint, routes

EXECUTE_ANONYMOUS = VERSION_PREFIX + "/tooling/executeAnonymous"


@api_endpoint
async def execute(request: Request, ctx: ApiContext) -> Response:
    source = request.query_params.get("anonymousBody", "")
    run = functools.partial(execute_anonymous, source, ctx.state.store, user_id=ctx.user_id, api_version=ctx.version)
    result = await run_in_threadpool(run)
    return json_response(result.to_json())


def get_routes() -> list[BaseRoute]:
    return routes(EXECUTE_ANONYMOUS, execute, ["GET"])
