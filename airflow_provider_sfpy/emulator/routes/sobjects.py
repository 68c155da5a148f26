"""The sObject resources: describeGlobal, basic info, describe, record CRUD by Id, upsert/read/delete
by external id (or any idLookup field, such as ``Contact.Email``), blob bodies, multipart file
inserts, and (from ``sobject_changes``) Get Updated / Get Deleted.

Status codes follow the REST API guide: create 201 (with ``Location``), update and delete 204, upsert
201 when it created and 200 when it updated (204 before API 46.0, which had no ``created`` flag),
300 with a JSON list of the matching records' URLs when an external id value matches several records
(a non-unique idLookup field, matched case-insensitively), 404 ``NOT_FOUND`` /
``ENTITY_IS_DELETED`` for missing records. Object and field names resolve case-insensitively.

Platform events (``Order_Placed__e``) are published by a create (``events/platform_events.py``) and
have a basic info and a describe; they are no records, so nothing else here serves them. Changes made
here are attributed to the REST API in change events (``changeOrigin``).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from airflow_provider_sfpy.emulator import describe as describe_json
from airflow_provider_sfpy.emulator import ids
from airflow_provider_sfpy.emulator.bodies import read_write_body
from airflow_provider_sfpy.emulator.errors import ApiError, not_found
from airflow_provider_sfpy.emulator.events.platform_events import platform_event_describe, publish_platform_event
from airflow_provider_sfpy.emulator.objects.platform_events import lookup_platform_event
from airflow_provider_sfpy.emulator.responses import json_response, no_content
from airflow_provider_sfpy.emulator.routes import sobject_changes
from airflow_provider_sfpy.emulator.routes.common import VERSION_PREFIX, ApiContext, api_endpoint, routes
from airflow_provider_sfpy.emulator.schema import FieldDef, SObjectDef, lookup_sobject
from airflow_provider_sfpy.emulator.store import MultipleMatches
from airflow_provider_sfpy.emulator.values import record_to_json

SOBJECTS = VERSION_PREFIX + "/sobjects"
#: API version from which upsert answers carry ``created`` (and an update answers 200, not 204).
UPSERT_CREATED_FLAG_VERSION = 46.0
_NO_SUCH_COLUMN = (
    "No such column '{name}' on entity '{obj}'. If you are attempting to use a custom field, be sure to "
    "append the '__c' after the custom field name. Please reference your WSDL or the describe call for "
    "the appropriate names."
)


def _sobject(request: Request) -> SObjectDef:
    obj = lookup_sobject(request.path_params["sobject"])
    if obj is None:
        raise not_found()
    return obj


def _requested_fields(request: Request, obj: SObjectDef) -> list[FieldDef] | None:
    names = request.query_params.get("fields")
    if not names:
        return None
    fields = []
    for name in (n.strip() for n in names.split(",")):
        f = obj.field(name)
        if f is None:
            raise ApiError(400, "INVALID_FIELD", _NO_SUCH_COLUMN.format(name=name, obj=obj.name))
        fields.append(f)
    return fields


def _record_url(ctx: ApiContext, obj: SObjectDef, record_id: str) -> str:
    return ctx.data_url(f"/sobjects/{obj.name}/{record_id}")


def _record_response(request: Request, ctx: ApiContext, obj: SObjectDef, record_id: str) -> Response:
    fields = _requested_fields(request, obj)
    row = ctx.state.store.get(obj, record_id, fields)
    return json_response(record_to_json(obj, row, ctx.version, fields if fields is not None else obj.fields))


def _multiple_choices(ctx: ApiContext, obj: SObjectDef, record_ids: list[str]) -> Response:
    return json_response([_record_url(ctx, obj, r) for r in record_ids], status=300)


def _save_result(record_id: str, created: bool | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {"id": record_id, "success": True, "errors": []}
    if created is not None:
        result["created"] = created
    return result


def _has_created_flag(ctx: ApiContext) -> bool:
    return float(ctx.version) >= UPSERT_CREATED_FLAG_VERSION


# ------------------------------------------------------------------------------------- describe


@api_endpoint
async def describe_global(request: Request, ctx: ApiContext) -> Response:
    return json_response(describe_json.describe_global(ctx.version))


@api_endpoint
async def describe(request: Request, ctx: ApiContext) -> Response:
    event = lookup_platform_event(request.path_params["sobject"])
    if event is not None:
        return json_response(platform_event_describe(event, ctx.version, full=True))
    return json_response(describe_json.describe(_sobject(request).name, ctx.version))


async def _platform_event_root(request: Request, ctx: ApiContext, event: SObjectDef) -> Response:
    """GET: basic information; POST: publish one event."""
    if request.method != "POST":
        return json_response(platform_event_describe(event, ctx.version, full=False))
    body = await read_write_body(request, event)
    return json_response(publish_platform_event(ctx.state.store, event, body.values, ctx.user_id), 201)


@api_endpoint
async def sobject_root(request: Request, ctx: ApiContext) -> Response:
    """GET: basic information; POST: create a record (JSON, or multipart with a file)."""
    event = lookup_platform_event(request.path_params["sobject"])
    if event is not None:
        return await _platform_event_root(request, ctx, event)
    obj = _sobject(request)
    if request.method != "POST":
        return json_response(describe_json.basic_info(obj, ctx.version))
    body = await read_write_body(request, obj)
    record_id = ctx.state.store.create(obj, body.values, ctx.user_id, raw_body=body.raw, blobs=body.blobs)
    return json_response(_save_result(record_id), status=201, headers={"Location": _record_url(ctx, obj, record_id)})


# ------------------------------------------------------------------------------------- by Id


@api_endpoint
async def record(request: Request, ctx: ApiContext) -> Response:
    obj = _sobject(request)
    record_id = request.path_params["record_id"]
    store = ctx.state.store
    if request.method in ("GET", "HEAD"):
        return _record_response(request, ctx, obj, record_id)
    if request.method == "PATCH":
        canonical = store.resolve_id(obj, record_id)
        body = await read_write_body(request, obj)
        store.update(obj, canonical, body.values, ctx.user_id, raw_body=body.raw)
        return no_content()
    if request.method == "DELETE":
        canonical = store.resolve_id(obj, record_id)
        if not describe_json.deletable(obj):
            raise ApiError(400, "INVALID_TYPE_FOR_OPERATION", "entity type cannot be deleted")
        store.delete(obj, canonical, ctx.user_id)
        return no_content()
    # POST .../sobjects/Account/Id: create, treating Id as an external id whose value is null.
    if record_id.lower() != "id":
        raise ApiError(405, "METHOD_NOT_ALLOWED", "HTTP Method 'POST' not allowed. Allowed are HEAD,GET,PATCH,DELETE")
    body = await read_write_body(request, obj)
    new_id = store.create(obj, body.values, ctx.user_id, raw_body=body.raw)
    created = True if _has_created_flag(ctx) else None
    return json_response(_save_result(new_id, created), status=201, headers={"Location": _record_url(ctx, obj, new_id)})


# ------------------------------------------------------------------------------------- by external id / blob


@api_endpoint
async def field_value(request: Request, ctx: ApiContext) -> Response:
    """``/sobjects/{Obj}/{ExtField}/{value}`` (upsert, read, delete) or ``/sobjects/{Obj}/{Id}/{BlobField}``."""
    obj = _sobject(request)
    first, second = request.path_params["first"], request.path_params["second"]
    ext_field = obj.field(first)
    if ext_field is not None and ext_field.lookup_key:
        return await _by_external_id(request, ctx, obj, ext_field, second)
    blob_field = obj.field(second)
    normalized = ids.normalize(first)
    if blob_field is not None and blob_field.type == "base64" and normalized and normalized[:3] == obj.key_prefix:
        if request.method not in ("GET", "HEAD"):
            raise ApiError(
                405, "METHOD_NOT_ALLOWED", f"HTTP Method '{request.method}' not allowed. Allowed are HEAD,GET"
            )
        blob = ctx.state.store.get_blob(obj, normalized, blob_field)
        if blob is None:
            raise not_found()
        return Response(blob.data, media_type=blob.content_type or "application/octet-stream")
    raise not_found(f"Provided external ID field does not exist or is not accessible: {first}")


async def _by_external_id(
    request: Request, ctx: ApiContext, obj: SObjectDef, ext_field: FieldDef, value: str
) -> Response:
    store = ctx.state.store
    if request.method == "PATCH":
        body = await read_write_body(request, obj)
        update_only = request.query_params.get("updateOnly", "").lower() == "true"
        try:
            record_id, created = store.upsert(
                obj, ext_field, value, body.values, ctx.user_id, update_only=update_only, raw_body=body.raw
            )
        except MultipleMatches as exc:
            return _multiple_choices(ctx, obj, exc.record_ids)
        if not _has_created_flag(ctx):
            if created:
                return json_response(_save_result(record_id), status=201)
            return no_content()
        headers = {"Location": _record_url(ctx, obj, record_id)} if created else None
        return json_response(_save_result(record_id, created), status=201 if created else 200, headers=headers)
    matches = store.find_by_external_id(obj, ext_field, value)
    if not matches:
        raise not_found()
    if len(matches) > 1:
        return _multiple_choices(ctx, obj, matches)
    if request.method == "DELETE":
        if not describe_json.deletable(obj):
            raise ApiError(400, "INVALID_TYPE_FOR_OPERATION", "entity type cannot be deleted")
        store.delete(obj, matches[0], ctx.user_id)
        return no_content()
    return _record_response(request, ctx, obj, matches[0])


def get_routes() -> list[BaseRoute]:
    return [
        *routes(SOBJECTS, describe_global, ["GET"]),
        *routes(SOBJECTS + "/{sobject}", sobject_root, ["GET", "POST"]),
        *routes(SOBJECTS + "/{sobject}/describe", describe, ["GET"]),
        *sobject_changes.get_routes(),
        *routes(SOBJECTS + "/{sobject}/{record_id}", record, ["GET", "PATCH", "DELETE", "POST"]),
        # ``path``: an external id value may contain an (encoded) slash.
        Route(SOBJECTS + "/{sobject}/{first}/{second:path}", field_value, methods=["GET", "PATCH", "DELETE"]),
    ]
