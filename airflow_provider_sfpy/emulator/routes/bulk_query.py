"""Bulk API 2.0 query: ``/services/data/vXX.X/jobs/query`` (API 47.0 and later).

``POST`` checks the SOQL and creates the job (``UploadComplete``: there is nothing to upload); a worker
runs it to ``JobComplete``. ``GET .../{id}/results?locator=...&maxRecords=N`` returns one page of CSV
with ``Sforce-NumberOfRecords`` and ``Sforce-Locator`` (the string ``null`` after the last page); every
page carries the header row, and a page can be fetched again with the same locator. As Salesforce
requires, results are read with the API version the job was created in (409 otherwise). ``PATCH
{"state": "Aborted"}`` aborts, ``DELETE`` removes a finished job, ``GET /jobs/query`` lists jobs.
"""

from __future__ import annotations

import json

import anyio
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from airflow_provider_sfpy.emulator.bulk import info
from airflow_provider_sfpy.emulator.bulk.api import (
    CSV_MEDIA_TYPE,
    job_or_404,
    job_response,
    list_jobs,
    read_job_body,
    require_version,
    settings,
)
from airflow_provider_sfpy.emulator.bulk.errors import invalid_enum, invalid_job, invalid_job_state
from airflow_provider_sfpy.emulator.bulk.jobs import (
    ABORTED,
    FAILED,
    IN_PROGRESS,
    JOB_COMPLETE,
    JOB_KEY_PREFIX,
    OPEN,
    QUERY,
    TERMINAL_STATES,
    UPLOAD_COMPLETE,
    Job,
)
from airflow_provider_sfpy.emulator.bulk.query import (
    QueryProcessor,
    compile_bulk_query,
    decode_locator,
    encode_locator,
    result_count,
    result_page,
)
from airflow_provider_sfpy.emulator.bulk.result_pages import ResultPageSettingsError, result_links, with_query
from airflow_provider_sfpy.emulator.errors import ApiError
from airflow_provider_sfpy.emulator.faults import ADMIN_PREFIX
from airflow_provider_sfpy.emulator.responses import json_response
from airflow_provider_sfpy.emulator.routes.common import VERSION_PREFIX, ApiContext, api_endpoint, routes
from airflow_provider_sfpy.emulator.state import get_state

QUERY_PATH = VERSION_PREFIX + "/jobs/query"
MIN_VERSION = 47.0
#: ``resultPages`` exists from API 58.0 (Summer '23); before that the resource is a 404.
RESULT_PAGES_MIN_VERSION = 58.0
OPERATIONS = frozenset({"query", "queryAll"})
JOB_STATES = frozenset({OPEN, UPLOAD_COMPLETE, IN_PROGRESS, JOB_COMPLETE, FAILED, ABORTED})
ABORTABLE = frozenset({UPLOAD_COMPLETE, IN_PROGRESS})


async def _create(request: Request, ctx: ApiContext) -> Response:
    body = await read_job_body(request)
    operation = body.get("operation")
    if operation is None:
        raise invalid_job("Operation is required")
    if operation not in OPERATIONS:
        raise invalid_enum("OperationEnum", operation, body.raw, "operation")
    soql = body.get("query")
    if not isinstance(soql, str) or not soql.strip():
        raise invalid_job("Query is required")
    body.enum("contentType", "ContentType", frozenset({"CSV"}), "CSV")
    csv_format = body.csv_format()
    compiled = compile_bulk_query(soql, operation, ctx.user_id)
    jobs = ctx.state.bulk
    job = jobs.new_job(
        ctx.state.store.new_ids(JOB_KEY_PREFIX, 1)[0],
        QUERY,
        ctx.state.config.data_dir,
        operation=operation,
        sobject=compiled.sobject.name,
        created_by_id=ctx.user_id,
        api_version=ctx.version,
        csv_format=csv_format,
        state=UPLOAD_COMPLETE,
        query=compiled,
    )
    jobs.submit(QueryProcessor(jobs, job, ctx.state.store, settings(ctx)))
    return job_response(ctx, job, info.summary)


@api_endpoint
async def jobs_root(request: Request, ctx: ApiContext) -> Response:
    require_version(ctx, MIN_VERSION)
    if request.method == "POST":
        return await _create(request, ctx)
    return list_jobs(request, ctx, QUERY)


async def _abort(request: Request, ctx: ApiContext, job: Job) -> Response:
    body = await read_job_body(request)
    state = body.enum("state", "JobStateEnum", JOB_STATES, "")
    if state != ABORTED:
        raise invalid_job_state(f"Invalid state change requested: {state or 'null'}. A query job can only be Aborted")
    if not ctx.state.bulk.transition(job, ABORTABLE, ABORTED):
        raise invalid_job_state(f"Job {job.id} is in state {job.state} and can't be aborted")
    return job_response(ctx, job, info.summary)


@api_endpoint
async def job_resource(request: Request, ctx: ApiContext) -> Response:
    require_version(ctx, MIN_VERSION)
    job = job_or_404(ctx, request.path_params["job_id"], QUERY)
    if request.method == "PATCH":
        return await _abort(request, ctx, job)
    if request.method == "DELETE":
        if job.state not in TERMINAL_STATES:
            raise invalid_job_state(f"Job {job.id} is in state {job.state} and can't be deleted")
        ctx.state.bulk.remove(job)
        return Response(status_code=204)
    return job_response(ctx, job, info.detail)


def _max_records(text: str | None) -> int | None:
    if text is None or text == "":
        return None
    if not text.isdigit() or int(text) < 1:
        raise ApiError(400, "API_ERROR", f"Invalid value for maxRecords: {text}. It must be a positive integer")
    return int(text)


def _finished_job(request: Request, ctx: ApiContext) -> Job:
    """The path's query job, once its results can be read: JobComplete, and read in its API version."""
    job = job_or_404(ctx, request.path_params["job_id"], QUERY)
    if job.state != JOB_COMPLETE:
        raise invalid_job_state(f"Job {job.id} is in state {job.state}: results are available once it is JobComplete")
    if ctx.version != job.api_version:
        raise ApiError(
            409,
            "API_ERROR",
            f"Job {job.id} was created in API version {job.api_version}; get its results with that version",
        )
    return job


def _start_offset(request: Request) -> int:
    """The record a request's ``locator`` points at (0 without one); a locator that decodes to nothing is a 400."""
    locator = request.query_params.get("locator") or ""
    offset = 0 if locator in ("", "null") else decode_locator(locator)
    if offset is None:
        raise ApiError(400, "INVALID_QUERY_LOCATOR", f"Invalid locator: {locator}")
    return offset


def _page_records(request: Request, ctx: ApiContext) -> int | None:
    """Records per page: the request's ``maxRecords``, else the emulator's ``page_records`` setting."""
    return _max_records(request.query_params.get("maxRecords")) or ctx.state.bulk.result_pages.current.page_records


@api_endpoint
async def job_results(request: Request, ctx: ApiContext) -> Response:
    require_version(ctx, MIN_VERSION)
    job = _finished_job(request, ctx)
    offset = _start_offset(request)
    page = result_page(job.directory, offset, _page_records(request, ctx))
    if page is None:
        raise ApiError(400, "INVALID_QUERY_LOCATOR", f"Invalid locator: {request.query_params.get('locator')}")
    seconds = ctx.state.bulk.result_pages.current.page_seconds
    if seconds > 0:
        await anyio.sleep(seconds)  # the server preparing the page; other requests go on meanwhile
    headers = {
        "Sforce-NumberOfRecords": str(page.count),
        "Sforce-Locator": page.locator,
        "Content-Length": str(page.size),
    }
    return StreamingResponse(page.chunks(), media_type=CSV_MEDIA_TYPE, headers=headers)


@api_endpoint
async def job_result_pages(request: Request, ctx: ApiContext) -> Response:
    """``resultPages``: up to five ``resultUrl`` links to the job's result pages, and the next five's URL."""
    require_version(ctx, RESULT_PAGES_MIN_VERSION)
    job = _finished_job(request, ctx)
    start = _start_offset(request)
    total = result_count(job.directory)
    if start > total:
        raise ApiError(400, "INVALID_QUERY_LOCATOR", f"Invalid locator: {request.query_params.get('locator')}")
    size = _page_records(request, ctx)
    links = result_links(total, start, size)
    results_path = ctx.data_url(f"/jobs/query/{job.id}/results")
    pages_path = ctx.data_url(f"/jobs/query/{job.id}/resultPages")
    next_url = None
    if links.next_start is not None:
        next_url = with_query(pages_path, {"locator": encode_locator(links.next_start), "maxRecords": size})
    body = {
        "resultPages": [
            {"resultUrl": with_query(results_path, {"locator": encode_locator(offset), "maxRecords": size})}
            for offset in links.starts
        ],
        "nextRecordsUrl": next_url,
        "done": next_url is None,
    }
    return json_response(body)


async def result_page_settings(request: Request) -> Response:
    """Admin API: GET the result page settings; PUT ``{"page_records": N | null, "page_seconds": s}`` to change them."""
    config = get_state(request).bulk.result_pages
    if request.method == "PUT":
        try:
            changes = json.loads(await request.body() or b"{}")
            if not isinstance(changes, dict):
                raise ResultPageSettingsError('the body must be {"page_records": ..., "page_seconds": ...}')
            return json_response(config.update(changes).to_json())
        except (ResultPageSettingsError, json.JSONDecodeError) as exc:
            return json_response({"error": str(exc)}, status=400)
    return json_response(config.current.to_json())


def get_routes() -> list[BaseRoute]:
    return [
        *routes(QUERY_PATH, jobs_root, ["GET", "POST"]),
        *routes(QUERY_PATH + "/{job_id}", job_resource, ["GET", "PATCH", "DELETE"]),
        *routes(QUERY_PATH + "/{job_id}/results", job_results, ["GET"]),
        *routes(QUERY_PATH + "/{job_id}/resultPages", job_result_pages, ["GET"]),
        Route(ADMIN_PREFIX + "bulk/result-pages", result_page_settings, methods=["GET", "PUT"]),
    ]
