"""Bulk API 2.0 ingest: ``/services/data/vXX.X/jobs/ingest`` (API 41.0 and later).

The lifecycle a client drives: ``POST`` creates a job (``Open``), ``PUT .../batches`` uploads its one
CSV (201, empty body), ``PATCH {"state": "UploadComplete"}`` closes it and a worker takes it through
``InProgress`` to ``JobComplete`` (or ``Failed`` with an ``errorMessage``), while the client polls
``GET .../{id}``; then ``GET .../{id}/successfulResults/``, ``failedResults/`` and
``unprocessedrecords/`` stream the result CSVs. ``PATCH {"state": "Aborted"}`` stops a job, ``DELETE``
removes a finished one (204), ``GET /jobs/ingest`` lists jobs page by page.

Uploads are streamed to disk as they arrive and capped at ``bulk_upload_limit_bytes``; a request that
is refused after the client started sending is still read to its end, so the client sees the error
response instead of a reset connection.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from airflow_provider_sfpy.emulator import ids
from airflow_provider_sfpy.emulator.bulk import info
from airflow_provider_sfpy.emulator.bulk.api import (
    csv_file_response,
    job_or_404,
    job_response,
    list_jobs,
    read_job_body,
    require_version,
    settings,
    wait_settled,
)
from airflow_provider_sfpy.emulator.bulk.errors import invalid_enum, invalid_job, invalid_job_state
from airflow_provider_sfpy.emulator.bulk.ingest import IngestProcessor
from airflow_provider_sfpy.emulator.bulk.ingest_files import RESULT_KINDS, UNPROCESSED
from airflow_provider_sfpy.emulator.bulk.jobs import (
    ABORTED,
    FAILED,
    IN_PROGRESS,
    INGEST,
    JOB_COMPLETE,
    JOB_KEY_PREFIX,
    OPEN,
    TERMINAL_STATES,
    UPLOAD_COMPLETE,
    Job,
)
from airflow_provider_sfpy.emulator.errors import ApiError, not_found
from airflow_provider_sfpy.emulator.routes.common import VERSION_PREFIX, ApiContext, api_endpoint, routes
from airflow_provider_sfpy.emulator.schema import SObjectDef, lookup_sobject

INGEST_PATH = VERSION_PREFIX + "/jobs/ingest"
MIN_VERSION = 41.0
OPERATIONS = frozenset({"insert", "update", "upsert", "delete", "hardDelete"})
JOB_STATES = frozenset({OPEN, UPLOAD_COMPLETE, IN_PROGRESS, JOB_COMPLETE, FAILED, ABORTED})
ABORTABLE = frozenset({OPEN, UPLOAD_COMPLETE, IN_PROGRESS})
DELETABLE = frozenset({UPLOAD_COMPLETE, JOB_COMPLETE, ABORTED, FAILED})


async def _drain(request: Request) -> None:
    async for _ in request.stream():
        pass


# ------------------------------------------------------------------------------------- create / list


def _external_id_field(obj: SObjectDef, name: object) -> str:
    """The canonical name of an upsert job's external id field, or Bulk API 1.0's job errors for it."""
    if not isinstance(name, str) or not name:
        raise invalid_job(f"External ID was blank for {obj.name}. An External ID must be specified for upsert.")
    f = obj.field(name)
    if f is None or not (f.external_id or f.name == "Id"):
        raise invalid_job(
            f"Field name provided, {name} does not match an External ID, Salesforce Id, or indexed field for {obj.name}"
        )
    return f.name


async def _create(request: Request, ctx: ApiContext) -> Response:
    body = await read_job_body(request)
    operation = body.get("operation")
    if operation is None:
        raise invalid_job("Operation is required")
    if operation not in OPERATIONS:
        raise invalid_enum("OperationEnum", operation, body.raw, "operation")
    object_name = body.get("object")
    if not isinstance(object_name, str) or not object_name:
        raise invalid_job("Object is required")
    obj = lookup_sobject(object_name)
    if obj is None:
        raise ApiError(400, "INVALIDENTITY", f"sObject type '{object_name}' is not supported.")
    body.enum("contentType", "ContentType", frozenset({"CSV"}), "CSV")
    csv_format = body.csv_format()
    external_id = _external_id_field(obj, body.get("externalIdFieldName")) if operation == "upsert" else None
    rule = body.get("assignmentRuleId")
    job = ctx.state.bulk.new_job(
        ctx.state.store.new_ids(JOB_KEY_PREFIX, 1)[0],
        INGEST,
        ctx.state.config.data_dir,
        operation=operation,
        sobject=obj.name,
        created_by_id=ctx.user_id,
        api_version=ctx.version,
        csv_format=csv_format,
        external_id_field=external_id,
        assignment_rule_id=rule if isinstance(rule, str) and rule else None,
    )
    return job_response(ctx, job, info.summary)


@api_endpoint
async def jobs_root(request: Request, ctx: ApiContext) -> Response:
    require_version(ctx, MIN_VERSION)
    if request.method == "POST":
        return await _create(request, ctx)
    return list_jobs(request, ctx, INGEST)


# ------------------------------------------------------------------------------------- one job


async def _change_state(request: Request, ctx: ApiContext, job: Job) -> Response:
    body = await read_job_body(request)
    state = body.enum("state", "JobStateEnum", JOB_STATES, "")
    jobs = ctx.state.bulk
    if state == UPLOAD_COMPLETE:
        if not jobs.transition(job, {OPEN}, UPLOAD_COMPLETE):
            raise invalid_job_state(f"Job {job.id} is in state {job.state} and can't be closed")
        jobs.submit(IngestProcessor(jobs, job, ctx.state.store, settings(ctx)))
    elif state == ABORTED:
        was_open = job.state == OPEN
        if not jobs.transition(job, ABORTABLE, ABORTED):
            raise invalid_job_state(f"Job {job.id} is in state {job.state} and can't be aborted")
        if was_open:  # no worker will ever pick it up: its (unprocessed) data is final now
            jobs.update(job, unprocessed_path=job.upload_path if job.uploaded else None)
            job.settled.set()
    else:
        raise invalid_job_state(f"Invalid state change requested: {state or 'null'}. Use UploadComplete or Aborted")
    return job_response(ctx, job, info.summary)


@api_endpoint
async def job_resource(request: Request, ctx: ApiContext) -> Response:
    require_version(ctx, MIN_VERSION)
    job = job_or_404(ctx, request.path_params["job_id"], INGEST)
    if request.method == "PATCH":
        return await _change_state(request, ctx, job)
    if request.method == "DELETE":
        if job.state not in DELETABLE:
            raise invalid_job_state(f"Job {job.id} is in state {job.state} and can't be deleted")
        ctx.state.bulk.remove(job)
        return Response(status_code=204)
    return job_response(ctx, job, info.detail)


# ------------------------------------------------------------------------------------- data


@api_endpoint
async def upload(request: Request, ctx: ApiContext) -> Response:
    """``PUT .../batches``: the job's one CSV, streamed to its spool file."""
    require_version(ctx, MIN_VERSION)
    job = ctx.state.bulk.get(request.path_params["job_id"], INGEST)
    if job is None:
        await _drain(request)
        raise not_found()
    refusal = ctx.state.bulk.start_upload(job)
    if refusal is not None:
        await _drain(request)
        if refusal == "taken":
            raise invalid_job(
                f"Found multipe contents for job: <{ids.to_15(job.id)}>, please 'Close' / 'Abort' / 'Delete' the "
                "current Job then create a new Job and make sure you only do 'PUT' once on a given Job."
            )
        raise invalid_job_state(f"Job {job.id} is in state {job.state}: data can be uploaded only to an Open job")
    limit = settings(ctx).upload_limit_bytes
    stored = False
    partial = job.upload_path.with_suffix(".part")
    try:
        size = 0
        with partial.open("wb") as target:
            async for chunk in request.stream():
                size += len(chunk)
                if size <= limit:  # past the limit, read on (and drop) so the client gets the answer
                    target.write(chunk)
        if size > limit:
            raise ApiError(
                413, "EXCEEDED_MAX_SIZE_REQUEST", f"Job data exceeds the maximum upload size of {limit} bytes"
            )
        partial.replace(job.upload_path)
        stored = True
    finally:
        partial.unlink(missing_ok=True)
        ctx.state.bulk.finish_upload(job, stored)
    return Response(status_code=201)


@api_endpoint
async def results(request: Request, ctx: ApiContext) -> Response:
    """``successfulResults`` / ``failedResults`` / ``unprocessedrecords`` of a finished job."""
    require_version(ctx, MIN_VERSION)
    kind = RESULT_KINDS.get(request.path_params["result"].lower())
    if kind is None:
        raise not_found()
    job = job_or_404(ctx, request.path_params["job_id"], INGEST)
    if job.state not in TERMINAL_STATES:
        raise invalid_job_state(f"Job {job.id} is in state {job.state}: results are available once it has finished")
    await wait_settled(job)
    path = job.unprocessed_path if kind == UNPROCESSED else job.result_path(kind)
    return csv_file_response(path)


def get_routes() -> list[BaseRoute]:
    return [
        *routes(INGEST_PATH, jobs_root, ["GET", "POST"]),
        *routes(INGEST_PATH + "/{job_id}", job_resource, ["GET", "PATCH", "DELETE"]),
        *routes(INGEST_PATH + "/{job_id}/batches", upload, ["PUT"]),
        *routes(INGEST_PATH + "/{job_id}/{result}", results, ["GET"]),
    ]
