"""Composite resources: ``POST /composite``, ``POST /composite/batch`` and ``POST /composite/tree/{object}``.

The routes read and check the JSON body and hand it to ``emulator.composite`` (``chain``, ``batch``,
``tree``), which run subrequests through the application's own routes. Each resource exists from the
API version Salesforce introduced it in (batch 34.0, composite 38.0, tree 42.0) and answers 404 below.

References (REST API Developer Guide):
- Composite: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_composite.htm
- Composite Batch: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_batch.htm
- sObject Tree: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobject_tree.htm
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from airflow_provider_sfpy.emulator.composite.batch import parse_batch, run_batch
from airflow_provider_sfpy.emulator.composite.chain import parse_composite, run_composite
from airflow_provider_sfpy.emulator.composite.tree import TreeFailure, create_tree, parse_tree
from airflow_provider_sfpy.emulator.errors import not_found
from airflow_provider_sfpy.emulator.responses import json_response
from airflow_provider_sfpy.emulator.routes.common import VERSION_PREFIX, ApiContext, api_endpoint, routes
from airflow_provider_sfpy.emulator.routes.composite import require_version
from airflow_provider_sfpy.emulator.routes.json_input import read_json_object
from airflow_provider_sfpy.emulator.schema import lookup_sobject

COMPOSITE = VERSION_PREFIX + "/composite"
BATCH_VERSION = 34.0
COMPOSITE_VERSION = 38.0
TREE_VERSION = 42.0


@api_endpoint
async def composite(request: Request, ctx: ApiContext) -> Response:
    require_version(ctx, COMPOSITE_VERSION)
    parsed = parse_composite(await read_json_object(request, "CompositeRequest"))
    return json_response({"compositeResponse": await run_composite(request, parsed)})


@api_endpoint
async def batch(request: Request, ctx: ApiContext) -> Response:
    require_version(ctx, BATCH_VERSION)
    parsed = parse_batch(await read_json_object(request, "BatchRequest"))
    return json_response(await run_batch(request, parsed))


@api_endpoint
async def tree(request: Request, ctx: ApiContext) -> Response:
    require_version(ctx, TREE_VERSION)
    root = lookup_sobject(request.path_params["sobject"])
    if root is None:
        raise not_found()
    body = await read_json_object(request, "SObjectTreeRequest")
    try:
        return json_response(create_tree(ctx.state.store, parse_tree(root, body), ctx.user_id), status=201)
    except TreeFailure as failure:
        return json_response(failure.body, status=400)


def get_routes() -> list[BaseRoute]:
    return [
        *routes(COMPOSITE, composite, ["POST"]),
        *routes(COMPOSITE + "/batch", batch, ["POST"]),
        *routes(COMPOSITE + "/tree/{sobject}", tree, ["POST"]),
    ]
