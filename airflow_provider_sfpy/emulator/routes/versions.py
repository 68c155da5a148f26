"""``GET /services/data/`` (the versions this org serves, no auth) and ``GET /services/data/vXX.X/``
(the resource map of one version), as clients use them to pick the newest common version."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from airflow_provider_sfpy.emulator.responses import json_response
from airflow_provider_sfpy.emulator.routes.common import VERSION_PREFIX, ApiContext, api_endpoint, routes
from airflow_provider_sfpy.emulator.state import get_state

SEASONS = ("Winter", "Spring", "Summer")
#: The resources listed for every version (relative to ``/services/data/vXX.X/``).
RESOURCES = (
    "tooling", "metadata", "eclair", "folders", "prechatForms", "chatter", "tabs", "appMenu", "quickActions",
    "queryAll", "commerce", "wave", "iot", "analytics", "search", "composite", "parameterizedSearch", "theme",
    "nouns", "event", "serviceTemplates", "recent", "connect", "licensing", "limits", "process",
    "async-queries", "query", "jobs", "match", "emailConnect", "compactLayouts", "knowledgeManagement",
    "sobjects", "actions", "support",
)  # fmt: skip


def release_label(version: str) -> str:
    """Salesforce's release name of an API version: three releases a year, v20.0 was Winter '11."""
    offset = int(float(version)) - 20
    return f"{SEASONS[offset % 3]} '{11 + offset // 3:02d}"


async def list_versions(request: Request) -> Response:
    versions = get_state(request).config.api_versions
    return json_response([{"label": release_label(v), "url": f"/services/data/v{v}", "version": v} for v in versions])


@api_endpoint
async def resources(request: Request, ctx: ApiContext) -> Response:
    body = {name: ctx.data_url(f"/{name}") for name in RESOURCES}
    org_id = ctx.state.store.org_id
    body["identity"] = f"{ctx.state.base_url(request)}/id/{org_id}/{ctx.user_id}"
    return json_response(body)


def get_routes() -> list[BaseRoute]:
    return [
        *routes("/services/data/", list_versions, ["GET"]),
        *routes(VERSION_PREFIX + "/", resources, ["GET"]),
    ]
