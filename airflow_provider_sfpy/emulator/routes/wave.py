"""CRM Analytics (Wave) REST resources: the dataset list, one dataset by Id or API name, and SAQL
queries (``POST /wave/query``).

The dataset representation carries the properties clients use to build a query
(``id``, ``currentVersionId``, ``currentVersionUrl``, ...); the query response is the documented
``{"action": "query", "responseId", "results": {"metadata": [{"lineage", "queryLanguage"}],
"records"}, "query", "responseTime"}``. A SAQL error is ``400`` with error code ``119`` (what CRM
Analytics answers), an unknown dataset ``404 NOT_FOUND``.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from airflow_provider_sfpy.emulator import saql
from airflow_provider_sfpy.emulator.errors import ApiError, not_found
from airflow_provider_sfpy.emulator.responses import json_response
from airflow_provider_sfpy.emulator.routes.common import VERSION_PREFIX, ApiContext, api_endpoint, routes
from airflow_provider_sfpy.emulator.routes.json_input import read_json_object
from airflow_provider_sfpy.emulator.schema import SCHEMA

WAVE = VERSION_PREFIX + "/wave"
#: The Wave REST API (datasets, query) is available from API 36.0.
WAVE_VERSION = 36.0
_USER_FIELDS = [f for f in (SCHEMA["User"].field(n) for n in ("Name", "CreatedDate")) if f is not None]


def _require_version(ctx: ApiContext) -> None:
    if float(ctx.version) < WAVE_VERSION:
        raise not_found()


def _wave_date(stored: str) -> str:
    """Storage datetimes (``...000+0000``) in the Wave API's form (``...000Z``)."""
    return stored.replace("+0000", "Z")


def _dataset_json(ctx: ApiContext, dataset: saql.Dataset) -> dict[str, Any]:
    """The Dataset representation. Datasets belong to the admin's private app folder, which the
    API reports with the user's Id and name, as it does for a user's own datasets."""
    store = ctx.state.store
    admin_id = ctx.state.admin_user_id
    admin = store.get(SCHEMA["User"], admin_id, _USER_FIELDS)
    wave_user = {"id": admin_id, "name": admin["Name"], "profilePhotoUrl": "/profilephoto/005/T"}
    created = _wave_date(admin["CreatedDate"])
    modified = _wave_date(dataset.last_modified(store) or admin["CreatedDate"])
    url = ctx.data_url(f"/wave/datasets/{dataset.id}")
    return {
        "createdBy": wave_user,
        "createdDate": created,
        "currentVersionId": dataset.version_id,
        "currentVersionTotalRowCount": store.count(dataset.sobject),
        "currentVersionUrl": f"{url}/versions/{dataset.version_id}",
        "dataRefreshDate": modified,
        "datasetType": "default",
        "folder": {"id": admin_id, "label": admin["Name"]},
        "id": dataset.id,
        "label": dataset.label,
        "lastModifiedBy": wave_user,
        "lastModifiedDate": modified,
        "name": dataset.name,
        "permissions": {"create": True, "manage": True, "modify": True, "view": True},
        "type": "dataset",
        "url": url,
        "userXmd": {},
        "versionsUrl": f"{url}/versions",
        "visibility": "All",
    }


@api_endpoint
async def datasets(request: Request, ctx: ApiContext) -> Response:
    """GET ``/wave/datasets`` (``q`` filters by name or label, case-insensitively)."""
    _require_version(ctx)
    search = (request.query_params.get("q") or "").strip().lower()
    found = [d for d in saql.DATASETS if search in d.name.lower() or search in d.label.lower()]
    return json_response(
        {
            "datasets": [_dataset_json(ctx, d) for d in found],
            "nextPageUrl": None,
            "totalSize": len(found),
            "url": ctx.data_url("/wave/datasets"),
        }
    )


@api_endpoint
async def dataset(request: Request, ctx: ApiContext) -> Response:
    """GET ``/wave/datasets/{idOrApiName}``."""
    _require_version(ctx)
    found = saql.find_dataset(request.path_params["dataset"])
    if found is None:
        raise not_found()
    return json_response(_dataset_json(ctx, found))


@api_endpoint
async def query(request: Request, ctx: ApiContext) -> Response:
    """POST ``/wave/query`` with ``{"query": "<SAQL>"[, "queryLanguage": "SAQL"]}``."""
    _require_version(ctx)
    body = await read_json_object(request, "SaqlQueryInput")
    text = body.get("query")
    if not isinstance(text, str) or not text.strip():
        raise ApiError(400, "INVALID_API_INPUT", "query is required: the SAQL to run")
    language = body.get("queryLanguage") or "SAQL"
    if not isinstance(language, str) or language.upper() != "SAQL":
        raise ApiError(400, "INVALID_API_INPUT", f"Unsupported queryLanguage: {language}. The emulator runs SAQL.")
    started = time.perf_counter()
    try:
        result = saql.execute(text, ctx.state.store)
    except saql.DatasetNotFound as exc:
        raise ApiError(404, "NOT_FOUND", exc.message) from None
    except saql.SaqlError as exc:
        raise ApiError(400, saql.SAQL_ERROR_CODE, exc.message) from None
    return json_response(
        {
            "action": "query",
            "responseId": secrets.token_urlsafe(16),
            "results": {
                "metadata": [{"lineage": result.lineage, "queryLanguage": "SAQL"}],
                "records": result.records,
            },
            "query": text,
            "responseTime": int((time.perf_counter() - started) * 1000),
        }
    )


def get_routes() -> list[BaseRoute]:
    return [
        *routes(WAVE + "/datasets", datasets, ["GET"]),
        *routes(WAVE + "/datasets/{dataset}", dataset, ["GET"]),
        *routes(WAVE + "/query", query, ["POST"]),
    ]
