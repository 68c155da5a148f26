"""sObject Collections (``/composite/sobjects``): create, update, upsert, delete and retrieve many
records in one round trip.

Writes go through the same ``Store`` validation as single-record writes, so a record fails a
collection with exactly the error a single create/update would give — only rendered as a
SaveResult entry (``{"statusCode", "message", "fields"}``) instead of an HTTP error. The call itself
answers 200 with one result per record, in request order; only a malformed request (bad JSON, more
than 200 records) is an HTTP 400.

Every call runs in one store transaction with a nested savepoint per record: a failing record leaves
nothing behind, and with ``allOrNone`` any failure rolls the whole call back, the other records then
reporting ``ALL_OR_NONE_OPERATION_ROLLED_BACK``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from airflow_provider_sfpy.emulator import describe as describe_json
from airflow_provider_sfpy.emulator import ids
from airflow_provider_sfpy.emulator.errors import ApiError, json_parser_error, not_found
from airflow_provider_sfpy.emulator.events.platform_events import publish_platform_event
from airflow_provider_sfpy.emulator.objects.platform_events import lookup_platform_event
from airflow_provider_sfpy.emulator.responses import json_response
from airflow_provider_sfpy.emulator.routes.common import VERSION_PREFIX, ApiContext, api_endpoint, routes
from airflow_provider_sfpy.emulator.routes.json_input import json_flag, read_json_object
from airflow_provider_sfpy.emulator.routes.sobjects import _NO_SUCH_COLUMN
from airflow_provider_sfpy.emulator.schema import FieldDef, SObjectDef, lookup_sobject, sobject_for_key_prefix
from airflow_provider_sfpy.emulator.store import MultipleMatches, Store
from airflow_provider_sfpy.emulator.values import jackson_token, record_to_json

COLLECTIONS = VERSION_PREFIX + "/composite/sobjects"
#: sObject Collections exist from API 42.0; their upsert from 46.0.
COLLECTIONS_VERSION = 42.0
UPSERT_VERSION = 46.0
MAX_RECORDS = 200
#: Retrieve takes up to 2000 ids (by POST; a GET URL runs out of room at about 800).
MAX_RETRIEVE_IDS = 2000
EXCEEDED_ID_LIMIT = ApiError(
    400, "EXCEEDED_ID_LIMIT", f"record limit reached. cannot submit more than {MAX_RECORDS} records into this call"
)
ROLLED_BACK_ERROR = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and the request was using AllOrNone header",
    "fields": [],
}


class _RollBack(Exception):
    """Raised inside the call's transaction to undo every record of an ``allOrNone`` call."""


@dataclass
class _Task:
    """One record's write. ``known_id`` is the Id the caller gave (update/delete), reported even on
    failure; ``run`` performs the write and returns ``(id, created)``."""

    known_id: str | None
    run: Callable[[], tuple[str, bool | None]]


@dataclass
class _Outcome:
    record_id: str | None
    created: bool | None = None
    error: ApiError | None = None

    def to_json(self, rolled_back: bool) -> dict[str, Any]:
        """The SaveResult / UpsertResult / DeleteResult entry of this record."""
        result: dict[str, Any] = {}
        if self.record_id is not None:
            result["id"] = self.record_id
        if self.error is not None:
            error = {
                "statusCode": self.error.error_code,
                "message": self.error.message,
                "fields": self.error.fields or [],
            }
            result.update(success=False, errors=[error])
        elif rolled_back:
            result.update(success=False, errors=[dict(ROLLED_BACK_ERROR)])
        else:
            result.update(success=True, errors=[])
            if self.created is not None:
                result["created"] = self.created
        return result


def _run_tasks(store: Store, tasks: Sequence[_Task], all_or_none: bool) -> list[dict[str, Any]]:
    """Run every task in one transaction, each in its own savepoint; roll all back if ``all_or_none``
    and any failed. Failed records keep their caller-given Id; rolled-back creates lose theirs."""
    outcomes: list[_Outcome] = []
    failed = False
    try:
        with store.transaction():
            for task in tasks:
                try:
                    with store.transaction():
                        record_id, created = task.run()
                    outcomes.append(_Outcome(record_id, created))
                except ApiError as exc:
                    failed = True
                    outcomes.append(_Outcome(task.known_id, error=exc))
            if all_or_none and failed:
                raise _RollBack
    except _RollBack:
        outcomes = [o if o.error else _Outcome(t.known_id) for o, t in zip(outcomes, tasks, strict=True)]
    rolled_back = all_or_none and failed
    return [outcome.to_json(rolled_back) for outcome in outcomes]


# ------------------------------------------------------------------------------------- request parsing


def require_version(ctx: ApiContext, minimum: float) -> None:
    if float(ctx.version) < minimum:
        raise not_found()


async def _read_records(request: Request) -> tuple[list[dict[str, Any]], bool]:
    """``{"allOrNone": bool, "records": [...]}`` -> (records, allOrNone), at most 200 records."""
    body = await read_json_object(request, "SObjectCollectionRequest")
    records = body.get("records")
    if not isinstance(records, list):
        token = jackson_token(records) if records is not None else "null"
        raise json_parser_error(f"Cannot deserialize instance of `java.util.List` from {token} (records)")
    if len(records) > MAX_RECORDS:
        raise EXCEEDED_ID_LIMIT
    for record in records:
        if not isinstance(record, dict):
            raise json_parser_error(f"Cannot deserialize instance of SObject from {jackson_token(record)} (records)")
    return records, json_flag(body.get("allOrNone"), "allOrNone")


def _type_name(record: Mapping[str, Any]) -> str:
    """A collection record's ``attributes.type``."""
    attributes = record.get("attributes")
    type_name = attributes.get("type") if isinstance(attributes, dict) else None
    if not isinstance(type_name, str) or not type_name:
        raise ApiError(400, "INVALID_TYPE", "Must send a concrete entity type.", [])
    return type_name


def _record_type(record: Mapping[str, Any]) -> SObjectDef:
    """The sObject of a collection record, from its ``attributes.type``."""
    type_name = _type_name(record)
    obj = lookup_sobject(type_name)
    if obj is None:
        raise ApiError(400, "INVALID_TYPE", f"sObject type '{type_name}' is not supported.", [])
    return obj


def _pop_key(values: dict[str, Any], name: str) -> Any:
    """Remove and return a field by case-insensitive name (``id`` and ``Id`` are the same field)."""
    for key in list(values):
        if key.lower() == name.lower():
            return values.pop(key)
    return None


def _existing_id(store: Store, obj: SObjectDef | None, raw_id: object) -> tuple[SObjectDef, str]:
    """The object and canonical Id of a live record, or the SaveResult error for ``raw_id``.

    ``obj`` is the expected object (update), or ``None`` to take it from the Id's prefix (delete).
    """
    normalized = ids.normalize(raw_id) if isinstance(raw_id, str) else None
    if normalized is None:
        raise ApiError(400, "MALFORMED_ID", f"malformed id {raw_id}", [])
    target = obj or sobject_for_key_prefix(normalized)
    if target is None or normalized[:3] != target.key_prefix:
        raise ApiError(400, "MALFORMED_ID", f"malformed id {raw_id}", [])
    try:
        return target, store.resolve_id(target, normalized)
    except ApiError as exc:
        if exc.error_code == "ENTITY_IS_DELETED":
            raise ApiError(400, "ENTITY_IS_DELETED", "entity is deleted", []) from None
        raise ApiError(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", []) from None


# ------------------------------------------------------------------------------------- tasks


def _create_task(ctx: ApiContext, record: dict[str, Any]) -> _Task:
    def run() -> tuple[str, bool | None]:
        values = {k: v for k, v in record.items() if k != "attributes"}
        event = lookup_platform_event(_type_name(record))
        if event is not None:  # creating a platform event publishes it
            return publish_platform_event(ctx.state.store, event, values, ctx.user_id)["id"], None
        obj = _record_type(record)
        if _pop_key(values, "Id") is not None:
            raise ApiError(400, "INVALID_FIELD_FOR_INSERT_UPDATE", "cannot specify Id in an insert call", ["Id"])
        return ctx.state.store.create(obj, values, ctx.user_id), None

    return _Task(None, run)


def _update_task(ctx: ApiContext, record: dict[str, Any]) -> _Task:
    values = {k: v for k, v in record.items() if k != "attributes"}
    raw_id = _pop_key(values, "Id")
    normalized = ids.normalize(raw_id) if isinstance(raw_id, str) else None

    def run() -> tuple[str, bool | None]:
        obj = _record_type(record)
        if raw_id is None:
            raise ApiError(400, "MISSING_ARGUMENT", "Id not specified in an update call", [])
        obj, canonical = _existing_id(ctx.state.store, obj, raw_id)
        return ctx.state.store.update(obj, canonical, values, ctx.user_id), None

    return _Task(normalized, run)


def _upsert_task(ctx: ApiContext, obj: SObjectDef, ext_field: FieldDef, record: dict[str, Any]) -> _Task:
    def run() -> tuple[str, bool | None]:
        record_obj = _record_type(record)
        if record_obj is not obj:
            raise ApiError(
                400, "INVALID_TYPE", f"sObject type '{record_obj.name}' is not {obj.name}, the type of this upsert", []
            )
        values = {k: v for k, v in record.items() if k != "attributes"}
        value = next((v for k, v in values.items() if k.lower() == ext_field.name.lower()), None)
        if value is None or value == "":
            raise ApiError(400, "MISSING_ARGUMENT", f"{ext_field.name} not specified", [])
        try:
            return ctx.state.store.upsert(obj, ext_field, str(value), values, ctx.user_id)
        except MultipleMatches as exc:
            raise _ambiguous(ext_field, exc.record_ids) from None

    return _Task(None, run)


def _ambiguous(ext_field: FieldDef, record_ids: list[str]) -> ApiError:
    """The per-record error of an upsert whose key matches several records (the single-record resource
    answers 300 instead). Salesforce names the field by its label: ``Email: more than one record found
    for external id field: [003..., 003...]``."""
    label = ext_field.label or ext_field.name
    message = f"{label}: more than one record found for external id field: [{', '.join(record_ids)}]"
    return ApiError(400, "DUPLICATE_EXTERNAL_ID", message, [ext_field.name])


def _delete_task(ctx: ApiContext, raw_id: str) -> _Task:
    normalized = ids.normalize(raw_id)

    def run() -> tuple[str, bool | None]:
        obj, canonical = _existing_id(ctx.state.store, None, raw_id)
        if not describe_json.deletable(obj):
            raise ApiError(400, "INVALID_TYPE_FOR_OPERATION", "entity type cannot be deleted", [])
        return ctx.state.store.delete(obj, canonical, ctx.user_id), None

    return _Task(normalized, run)


# ------------------------------------------------------------------------------------- endpoints


@api_endpoint
async def collection(request: Request, ctx: ApiContext) -> Response:
    """POST: create; PATCH: update by Id; DELETE ``?ids=...``: delete (ids may mix object types)."""
    require_version(ctx, COLLECTIONS_VERSION)
    if request.method == "DELETE":
        raw_ids = [i.strip() for i in request.query_params.get("ids", "").split(",") if i.strip()]
        if not raw_ids:
            raise ApiError(400, "MISSING_ARGUMENT", "ids must be specified")
        if len(raw_ids) > MAX_RECORDS:
            raise EXCEEDED_ID_LIMIT
        all_or_none = json_flag(request.query_params.get("allOrNone"), "allOrNone")
        tasks = [_delete_task(ctx, raw_id) for raw_id in raw_ids]
        return json_response(_run_tasks(ctx.state.store, tasks, all_or_none))
    records, all_or_none = await _read_records(request)
    make_task = _create_task if request.method == "POST" else _update_task
    tasks = [make_task(ctx, record) for record in records]
    return json_response(_run_tasks(ctx.state.store, tasks, all_or_none))


@api_endpoint
async def upsert(request: Request, ctx: ApiContext) -> Response:
    """PATCH ``/composite/sobjects/{Object}/{ExternalIdField}``: results carry ``created``."""
    require_version(ctx, UPSERT_VERSION)
    obj = lookup_sobject(request.path_params["sobject"])
    if obj is None:
        raise not_found()
    field_name = request.path_params["field"]
    ext_field = obj.field(field_name)
    if ext_field is None or not ext_field.lookup_key:
        raise not_found(f"Provided external ID field does not exist or is not accessible: {field_name}")
    records, all_or_none = await _read_records(request)
    tasks = [_upsert_task(ctx, obj, ext_field, record) for record in records]
    return json_response(_run_tasks(ctx.state.store, tasks, all_or_none))


def _retrieve_fields(obj: SObjectDef, names: Sequence[str]) -> list[FieldDef]:
    fields = []
    for name in names:
        f = obj.field(name.strip())
        if f is None:
            raise ApiError(400, "INVALID_FIELD", _NO_SUCH_COLUMN.format(name=name.strip(), obj=obj.name))
        fields.append(f)
    return fields


def _string_list(value: object, name: str) -> list[str]:
    """A GET parameter (comma-separated) or a POST body member (JSON array of strings)."""
    if isinstance(value, str):
        items = [v.strip() for v in value.split(",") if v.strip()]
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        items = [v.strip() for v in value if v.strip()]
    else:
        items = []
    if not items:
        raise ApiError(400, "MISSING_ARGUMENT", f"{name} must be specified")
    return items


@api_endpoint
async def retrieve(request: Request, ctx: ApiContext) -> Response:
    """``GET ?ids=...&fields=...`` or ``POST {"ids": [...], "fields": [...]}``: the records of one
    object, in the order asked, ``null`` for an Id that is malformed, of another object, or gone."""
    require_version(ctx, COLLECTIONS_VERSION)
    obj = lookup_sobject(request.path_params["sobject"])
    if obj is None:
        raise not_found()
    if request.method == "POST":
        body = await read_json_object(request, "SObjectCollectionRetrieveRequest")
        raw_ids, raw_fields = body.get("ids"), body.get("fields")
    else:
        raw_ids, raw_fields = request.query_params.get("ids"), request.query_params.get("fields")
    record_ids = _string_list(raw_ids, "ids")
    fields = _retrieve_fields(obj, _string_list(raw_fields, "fields"))
    if len(record_ids) > MAX_RETRIEVE_IDS:
        raise ApiError(
            400, "EXCEEDED_ID_LIMIT", f"record limit reached. cannot submit more than {MAX_RETRIEVE_IDS} records"
        )
    return json_response([_retrieved(ctx, obj, record_id, fields) for record_id in record_ids])


def _retrieved(ctx: ApiContext, obj: SObjectDef, record_id: str, fields: list[FieldDef]) -> dict[str, Any] | None:
    normalized = ids.normalize(record_id)
    if normalized is None or normalized[:3] != obj.key_prefix:
        return None
    try:
        row = ctx.state.store.get(obj, normalized, fields)
    except ApiError:
        return None
    record = record_to_json(obj, row, ctx.version, fields)
    record.setdefault("Id", row["Id"])
    return record


def get_routes() -> list[BaseRoute]:
    return [
        *routes(COLLECTIONS, collection, ["POST", "PATCH", "DELETE"]),
        *routes(COLLECTIONS + "/{sobject}", retrieve, ["GET", "POST"]),
        *routes(COLLECTIONS + "/{sobject}/{field}", upsert, ["PATCH"]),
    ]
