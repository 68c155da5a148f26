"""sObject Get Updated and Get Deleted: ``GET /sobjects/{Object}/updated/?start=&end=`` answers the Ids
of the records created or changed in the window, ``.../deleted/?start=&end=`` the records deleted in
it with when, as data replication tools poll them. The window rules live in ``replication``.

A record counts by its ``SystemModstamp`` (which the store sets on every write, a soft delete
included), so a change is reported once per window it falls in; deleted records are not "updated".
``earliestDateAvailable`` is when the org was created: the emulator never purges its recycle bin
(records removed by a Bulk ``hardDelete`` are gone without a trace, as once purged in Salesforce).
Objects describe marks not ``replicateable`` (Organization, Profile, ContentDocumentLink) refuse both.

References:
- https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_getupdated.htm
- https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_getdeleted.htm
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from airflow_provider_sfpy.emulator import replication
from airflow_provider_sfpy.emulator.errors import ApiError, not_found
from airflow_provider_sfpy.emulator.responses import json_response
from airflow_provider_sfpy.emulator.routes.common import VERSION_PREFIX, ApiContext, api_endpoint, routes
from airflow_provider_sfpy.emulator.schema import SCHEMA, SObjectDef, lookup_sobject
from airflow_provider_sfpy.emulator.store import Store, quote
from airflow_provider_sfpy.emulator.values import format_datetime

#: REST API version that introduced both resources.
FIRST_VERSION = 29.0


def _replicated(request: Request, ctx: ApiContext) -> tuple[SObjectDef, replication.Window]:
    if float(ctx.version) < FIRST_VERSION:
        raise not_found()
    obj = lookup_sobject(request.path_params["sobject"])
    if obj is None:
        raise not_found()
    if not obj.replicateable:
        raise ApiError(400, "INVALID_TYPE_FOR_OPERATION", f"entity type {obj.name} does not support replication")
    params = request.query_params
    return obj, replication.window(params.get("start"), params.get("end"))


def _changed(store: Store, obj: SObjectDef, window: replication.Window, *, deleted: bool) -> list[tuple[Any, ...]]:
    """``(Id, SystemModstamp)`` of the live (or deleted) records last written inside ``window``."""
    sql = (
        f"SELECT Id, SystemModstamp FROM {quote(obj.name)} WHERE IsDeleted = ? "
        "AND SystemModstamp >= ? AND SystemModstamp < ? ORDER BY SystemModstamp, rowid"
    )
    params = (int(deleted), format_datetime(window.start), format_datetime(window.end))
    page = store.open_query(sql, params, replication.MAX_IDS + 1)
    if page.cursor_id is not None:
        store.close_query(page.cursor_id)
    if page.total_size > replication.MAX_IDS:
        raise replication.too_many_ids()
    return page.rows


@api_endpoint
async def updated(request: Request, ctx: ApiContext) -> Response:
    obj, window = _replicated(request, ctx)
    rows = _changed(ctx.state.store, obj, window, deleted=False)
    return json_response({"ids": [row[0] for row in rows], "latestDateCovered": format_datetime(window.latest_covered)})


@api_endpoint
async def deleted(request: Request, ctx: ApiContext) -> Response:
    obj, window = _replicated(request, ctx)
    store = ctx.state.store
    rows = _changed(store, obj, window, deleted=True)
    organization = SCHEMA["Organization"]
    created_date = organization.field("CreatedDate")
    assert created_date is not None
    org_created = store.get(organization, store.org_id, [created_date])["CreatedDate"]
    return json_response(
        {
            "deletedRecords": [{"id": record_id, "deletedDate": stamp} for record_id, stamp in rows],
            "earliestDateAvailable": org_created[:16] + ":00.000+0000",  # on the minute
            "latestDateCovered": format_datetime(window.latest_covered),
        }
    )


def get_routes() -> list[BaseRoute]:
    """The two resources; they must come before ``/sobjects/{Object}/{Id}``, which would take
    ``updated`` for a record Id."""
    base = VERSION_PREFIX + "/sobjects/{sobject}"
    return [*routes(base + "/updated", updated, ["GET"]), *routes(base + "/deleted", deleted, ["GET"])]
