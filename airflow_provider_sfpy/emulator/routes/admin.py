"""The emulator's own admin API under ``/__emulator__/``: fault rules, the request log, sessions.

Never faulted and never logged (the fault middleware lets these paths through untouched), so a test
can always reconfigure the emulator, whatever rules are active.
"""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from airflow_provider_sfpy.emulator.faults import ADMIN_PREFIX, RuleError
from airflow_provider_sfpy.emulator.responses import json_response
from airflow_provider_sfpy.emulator.state import get_state


async def faults(request: Request) -> Response:
    """GET: the rules with their counters; POST ``{"rules": [...]}``: append rules; DELETE: clear."""
    registry = get_state(request).faults
    if request.method == "DELETE":
        registry.clear()
        return Response(status_code=204)
    if request.method == "POST":
        try:
            payload = json.loads(await request.body() or b"{}")
            rules = payload.get("rules") if isinstance(payload, dict) else None
            if not isinstance(rules, list):
                raise RuleError('the body must be {"rules": [rule, ...]}')
            return json_response({"rules": registry.add(rules)}, status=201)
        except (RuleError, json.JSONDecodeError) as exc:
            return json_response({"error": str(exc)}, status=400)
    return json_response({"rules": registry.list()})


async def requests_log(request: Request) -> Response:
    """GET: every logged request, oldest first; DELETE: clear the log."""
    log = get_state(request).request_log
    if request.method == "DELETE":
        log.clear()
        return Response(status_code=204)
    return json_response(log.list())


async def expire_sessions(request: Request) -> Response:
    """Invalidate every issued access token (clients must log in again)."""
    return json_response({"expired": get_state(request).expire_sessions()})


def get_routes() -> list[BaseRoute]:
    return [
        Route(ADMIN_PREFIX + "faults", faults, methods=["GET", "POST", "DELETE"]),
        Route(ADMIN_PREFIX + "requests", requests_log, methods=["GET", "DELETE"]),
        Route(ADMIN_PREFIX + "expire-sessions", expire_sessions, methods=["POST"]),
    ]
