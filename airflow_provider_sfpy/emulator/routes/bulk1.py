"""Bulk API 1.0: ``/services/async/XX.X/job...``, the API behind simple-salesforce's ``sf.bulk``, the
official Airflow provider's ``SalesforceBulkOperator`` and jsforce's ``bulk.load``.

The lifecycle a client drives: ``POST /job`` (a ``jobInfo``) creates an ``Open`` job; ``POST
/job/{id}/batch`` adds batches of records (CSV, JSON or XML, as the job's ``contentType`` says) or,
for a query job, the SOQL; each batch is processed in the background (``Queued`` -> ``InProgress`` ->
``Completed``/``Failed``) while the client polls ``GET /job/{id}/batch/{batchId}``; ``POST /job/{id}``
with ``state`` ``Closed`` or ``Aborted`` ends the job. ``GET .../batch/{batchId}/result`` returns a DML
batch's per-record results, or a query batch's result ids, each read with ``.../result/{resultId}``;
``.../request`` returns the batch as it was sent; ``GET /job/{id}/batch`` lists the batches.

Calls authenticate with the ``X-SFDC-Session`` header, as Bulk API 1.0 clients send the session id,
or with ``Authorization: Bearer``. Errors are Bulk API 1.0's ``exceptionCode``/``exceptionMessage``
documents (``bulk1/errors.py``), in the call's format (``bulk1/wire.py``).

With ``bulk_queue_delay`` set to 0, a batch is processed before the call that adds it returns (the
answer still says ``Queued``, as Salesforce's does), so clients that sleep a fixed 5 seconds between
polls (simple-salesforce, and the provider's operator through it) find it done at their first poll.

Reference: Bulk API Developer Guide, "Bulk API Ingest" and "Bulk API Query",
https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/asynch_api_intro.htm
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import anyio
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute

from airflow_provider_sfpy.emulator.bulk.jobs import BulkSettings
from airflow_provider_sfpy.emulator.bulk1 import info
from airflow_provider_sfpy.emulator.bulk1.errors import (
    Bulk1Error,
    invalid_batch,
    invalid_job,
    invalid_job_state,
    invalid_session,
    invalid_url,
)
from airflow_provider_sfpy.emulator.bulk1.ingest import IngestWorker
from airflow_provider_sfpy.emulator.bulk1.job_request import job_spec, read_job_info, requested_state
from airflow_provider_sfpy.emulator.bulk1.jobs import (
    ABORTED,
    BATCH_KEY_PREFIX,
    CLOSED,
    COMPLETED,
    JOB_KEY_PREFIX,
    OPEN,
    Batch,
    Bulk1Jobs,
    Job,
    registry_for,
)
from airflow_provider_sfpy.emulator.bulk1.query import QueryWorker
from airflow_provider_sfpy.emulator.bulk1.wire import (
    JSON,
    MEDIA_TYPES,
    XML,
    answer_format,
    declared_format,
    document_response,
    error_response,
)
from airflow_provider_sfpy.emulator.routes.common import bearer_token, routes
from airflow_provider_sfpy.emulator.sessions import Session
from airflow_provider_sfpy.emulator.state import EmulatorState, get_state

ASYNC_PREFIX = "/services/async/{version}"
JOB_PATH = ASYNC_PREFIX + "/job"
BATCH_PATH = JOB_PATH + "/{job_id}/batch/{batch_id}"
#: Bulk API 1.0's batch size limit (10 MB); larger batches are refused before anything is stored.
MAX_BATCH_BYTES = 10_000_000
#: The org limit every batch counts against (``/limits``).
BATCH_ALLOCATION = "DailyBulkApiBatches"
#: How long adding a batch waits for it when the queue delay is 0 (a 10,000-record batch takes ~1 s).
INLINE_TIMEOUT = 120.0


@dataclass
class AsyncContext:
    """The authenticated caller of one Bulk API 1.0 request."""

    state: EmulatorState
    session: Session
    version: str
    registry: Bulk1Jobs
    #: The content type of the job the request is about, once known: errors then follow it.
    job_content_type: str | None = None

    def job(self, job_id: str) -> Job:
        job = self.registry.get(job_id)
        if job is None:
            raise invalid_job(f"Invalid job id: {job_id}")
        self.job_content_type = job.content_type
        return job

    def batch(self, job_id: str, batch_id: str) -> tuple[Job, Batch]:
        job = self.job(job_id)
        batch = self.registry.batch(job, batch_id)
        if batch is None:
            raise invalid_batch(f"Invalid batch id: {batch_id}")
        return job, batch


Handler = Callable[[Request, AsyncContext], Awaitable[Response]]


def _authenticate(request: Request, state: EmulatorState) -> Session:
    token = request.headers.get("x-sfdc-session", "").strip() or bearer_token(request)
    session = state.sessions.resolve(token) if token else None
    if session is None:
        raise invalid_session()
    return session


def async_endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Version check, session check, API usage accounting, and errors in Bulk API 1.0's shape."""

    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        state = get_state(request)
        version = request.path_params["version"]
        ctx: AsyncContext | None = None
        try:
            if version not in state.config.api_versions:
                raise invalid_url(f"Unsupported API version: {version}")
            session = _authenticate(request, state)
            state.usage.consume()
            ctx = AsyncContext(state, session, version, registry_for(state))
            return await handler(request, ctx)
        except Bulk1Error as exc:
            return error_response(exc, answer_format(request, ctx.job_content_type if ctx else None))

    return endpoint


# ------------------------------------------------------------------------------------- jobs


@async_endpoint
async def create_job(request: Request, ctx: AsyncContext) -> Response:
    fmt = declared_format(request) or XML
    spec = job_spec(read_job_info(await request.body(), fmt))
    job = ctx.registry.new_job(
        ctx.state.store.new_ids(JOB_KEY_PREFIX, 1)[0],
        operation=spec.operation,
        sobject=spec.sobject,
        content_type=spec.content_type,
        concurrency_mode=spec.concurrency_mode,
        created_by_id=ctx.session.user_id,
        api_version=ctx.version,
        external_id_field=spec.external_id_field,
        assignment_rule_id=spec.assignment_rule_id,
    )
    return info.job_response(ctx.registry.view(job), fmt)


@async_endpoint
async def job_resource(request: Request, ctx: AsyncContext) -> Response:
    """``GET`` a job's info; ``POST`` a ``state`` of ``Closed`` or ``Aborted``."""
    job = ctx.job(request.path_params["job_id"])
    if request.method == "POST":
        state = requested_state(read_job_info(await request.body(), declared_format(request) or XML))
        if state == CLOSED:
            if not ctx.registry.set_job_state(job, {OPEN}, CLOSED):
                raise invalid_job_state(f"Job {job.id} is {job.state}: only an Open job can be closed")
        elif state == ABORTED:
            if not ctx.registry.set_job_state(job, {OPEN, CLOSED}, ABORTED):
                raise invalid_job_state(f"Job {job.id} is {job.state}: only an Open or Closed job can be aborted")
        else:
            raise invalid_job_state(f"Invalid state change requested: {state or 'none'}. Use Closed or Aborted")
    return info.job_response(ctx.registry.view(job), answer_format(request, job.content_type))


# ------------------------------------------------------------------------------------- batches


async def _batch_body(request: Request) -> bytes:
    """The request body, refused once it passes ``MAX_BATCH_BYTES`` (read to its end, so the client
    sees the answer rather than a reset connection)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size <= MAX_BATCH_BYTES:
            chunks.append(chunk)
    if size > MAX_BATCH_BYTES:
        raise invalid_batch(f"Batch data exceeds the limit of {MAX_BATCH_BYTES} bytes: split it into smaller batches")
    return b"".join(chunks)


async def _add_batch(request: Request, ctx: AsyncContext, job: Job) -> Response:
    body = await _batch_body(request)
    batch = ctx.registry.add_batch(job, ctx.state.store.new_ids(BATCH_KEY_PREFIX, 1)[0], body)
    if batch is None:
        raise invalid_job_state(f"Job {job.id} is {job.state}: batches can be added to an Open job only")
    ctx.state.usage.consume(BATCH_ALLOCATION)
    answer = ctx.registry.snapshot(batch)
    settings = BulkSettings.from_config(ctx.state.config)
    workers = ctx.state.bulk
    worker_type = QueryWorker if job.is_query else IngestWorker
    workers.submit(worker_type(ctx.registry, workers, job, batch, ctx.state.store, settings))
    if settings.queue_delay <= 0 and not workers.stopping.is_set():
        await anyio.to_thread.run_sync(batch.settled.wait, INLINE_TIMEOUT)
    return info.batch_response(answer, answer_format(request, job.content_type))


@async_endpoint
async def batches(request: Request, ctx: AsyncContext) -> Response:
    """``POST`` adds a batch; ``GET`` lists the job's batches."""
    job = ctx.job(request.path_params["job_id"])
    if request.method == "POST":
        return await _add_batch(request, ctx, job)
    return info.batch_list_response(ctx.registry.batches(job), answer_format(request, job.content_type))


@async_endpoint
async def batch_resource(request: Request, ctx: AsyncContext) -> Response:
    job, batch = ctx.batch(request.path_params["job_id"], request.path_params["batch_id"])
    return info.batch_response(ctx.registry.snapshot(batch), answer_format(request, job.content_type))


@async_endpoint
async def batch_request(request: Request, ctx: AsyncContext) -> Response:
    """The batch as it was sent (the SOQL, for a query batch)."""
    job, batch = ctx.batch(request.path_params["job_id"], request.path_params["batch_id"])
    media_type = "text/plain" if job.is_query else MEDIA_TYPES[job.content_type]
    return FileResponse(batch.request_path, media_type=media_type)


def _completed(ctx: AsyncContext, batch: Batch) -> Batch:
    current = ctx.registry.snapshot(batch)
    if current.state != COMPLETED:
        raise invalid_batch(f"Batch not completed: batch {batch.id} is {current.state}")
    return current


@async_endpoint
async def batch_result(request: Request, ctx: AsyncContext) -> Response:
    """A DML batch's results, or a query batch's result ids."""
    job, batch = ctx.batch(request.path_params["job_id"], request.path_params["batch_id"])
    current = _completed(ctx, batch)
    if not job.is_query:
        return FileResponse(batch.result_path, media_type=MEDIA_TYPES[job.content_type])
    fmt = JSON if job.content_type == JSON else XML
    ids = list(current.result_ids)
    return document_response(fmt, "result-list", ids, [("result", result_id) for result_id in ids])


@async_endpoint
async def query_result(request: Request, ctx: AsyncContext) -> Response:
    """One result file of a query batch."""
    job, batch = ctx.batch(request.path_params["job_id"], request.path_params["batch_id"])
    result_id = request.path_params["result_id"]
    if result_id not in _completed(ctx, batch).result_ids:
        raise invalid_batch(f"Invalid result id: {result_id}")
    return FileResponse(batch.query_result_path(result_id), media_type=MEDIA_TYPES[job.content_type])


def get_routes() -> list[BaseRoute]:
    return [
        *routes(JOB_PATH, create_job, ["POST"]),
        *routes(JOB_PATH + "/{job_id}", job_resource, ["GET", "POST"]),
        *routes(JOB_PATH + "/{job_id}/batch", batches, ["GET", "POST"]),
        *routes(BATCH_PATH, batch_resource, ["GET"]),
        *routes(BATCH_PATH + "/request", batch_request, ["GET"]),
        *routes(BATCH_PATH + "/result", batch_result, ["GET"]),
        *routes(BATCH_PATH + "/result/{result_id}", query_result, ["GET"]),
    ]
