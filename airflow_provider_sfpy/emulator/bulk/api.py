"""What the ingest and query routes share: job request bodies, job lookup, the paged job list, and
streaming a file back.

Job properties are enums in Salesforce's JSON binding, so an unknown ``operation`` or
``columnDelimiter`` is a ``JSON_PARSER_ERROR`` pointing into the body, like any other malformed JSON.
The job list pages by a ``queryLocator`` that names the last job of the previous page, so paging stays
consistent while jobs are created or deleted between calls.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import anyio
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from airflow_provider_sfpy.emulator.bulk.errors import invalid_enum, job_not_found
from airflow_provider_sfpy.emulator.bulk.formats import COLUMN_DELIMITERS, LINE_ENDINGS, CsvFormat
from airflow_provider_sfpy.emulator.bulk.info import CONCURRENCY_MODE, INGEST_JOB_TYPE, QUERY_JOB_TYPE, summary
from airflow_provider_sfpy.emulator.bulk.jobs import INGEST, BulkSettings, Job
from airflow_provider_sfpy.emulator.bulk.query import decode_locator, encode_locator
from airflow_provider_sfpy.emulator.errors import ApiError, json_parser_error, not_found
from airflow_provider_sfpy.emulator.responses import json_response
from airflow_provider_sfpy.emulator.routes.common import ApiContext

CSV_MEDIA_TYPE = "text/csv"
FILE_BLOCK = 1024 * 1024
#: How long a result request waits for a just-aborted job's worker to finish its files.
SETTLE_TIMEOUT = 30.0


class JobBody:
    """A parsed job request body: its JSON object and raw text (for error positions)."""

    def __init__(self, data: Mapping[str, Any], raw: str) -> None:
        self.data = data
        self.raw = raw

    def get(self, key: str) -> Any:
        return self.data.get(key)

    def enum(self, key: str, type_name: str, allowed: Collection[str], default: str) -> str:
        value = self.data.get(key)
        if value is None:
            return default
        if not isinstance(value, str) or value not in allowed:
            raise invalid_enum(type_name, value, self.raw, key)
        return value

    def csv_format(self) -> CsvFormat:
        return CsvFormat(
            self.enum("columnDelimiter", "ColumnDelimiterEnum", COLUMN_DELIMITERS, "COMMA"),
            self.enum("lineEnding", "LineEndingEnum", LINE_ENDINGS, "LF"),
        )


async def read_job_body(request: Request) -> JobBody:
    raw_bytes = await request.body()
    try:
        raw = raw_bytes.decode("utf-8")
    except UnicodeDecodeError:
        raise json_parser_error("Invalid UTF-8 start byte at [line:1, column:1]") from None
    if not raw.strip():
        raise json_parser_error("No content to map due to end-of-input at [line:1, column:0]")
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise json_parser_error(f"Unexpected character: {exc.msg} at [line:{exc.lineno}, column:{exc.colno}]") from None
    if not isinstance(data, dict):
        raise json_parser_error("Cannot deserialize instance of JobInfo out of START_ARRAY token at [line:1, column:1]")
    return JobBody(data, raw)


def require_version(ctx: ApiContext, minimum: float) -> None:
    """Bulk API 2.0 ingest exists from API 41.0, query from 47.0; before that the resource does not."""
    if float(ctx.version) < minimum:
        raise not_found()


def settings(ctx: ApiContext) -> BulkSettings:
    return BulkSettings.from_config(ctx.state.config)


def job_or_404(ctx: ApiContext, job_id: str, kind: str) -> Job:
    job = ctx.state.bulk.get(job_id, kind)
    if job is None:
        raise job_not_found()
    return job


def job_response(ctx: ApiContext, job: Job, render: Callable[[Job], dict[str, Any]]) -> Response:
    return json_response(render(ctx.state.bulk.snapshot(job)))


async def wait_settled(job: Job) -> None:
    """Let the worker finish writing the job's files (only an abort can leave it mid-write)."""
    if not job.settled.is_set():
        await anyio.to_thread.run_sync(job.settled.wait, SETTLE_TIMEOUT)


def _file_blocks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as source:
        while block := source.read(FILE_BLOCK):
            yield block


def csv_file_response(path: Path | None, headers: Mapping[str, str] | None = None) -> Response:
    """A result file streamed from disk (never read whole into memory); no file is an empty CSV."""
    if path is None or not path.exists():
        return Response(b"", media_type=CSV_MEDIA_TYPE, headers=headers)
    all_headers = {"Content-Length": str(path.stat().st_size), **(headers or {})}
    return StreamingResponse(_file_blocks(path), media_type=CSV_MEDIA_TYPE, headers=all_headers)


def list_jobs(request: Request, ctx: ApiContext, kind: str) -> Response:
    """``GET /jobs/ingest`` or ``/jobs/query``: every job of that family, ``jobs_page_size`` per page."""
    params = request.query_params
    after = 0
    locator = params.get("queryLocator")
    if locator:
        decoded = decode_locator(locator)
        if decoded is None:
            raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        after = decoded
    job_type = params.get("jobType")
    own_type = INGEST_JOB_TYPE if kind == INGEST else QUERY_JOB_TYPE
    mode = params.get("concurrencyMode")
    pk_chunking = (params.get("isPkChunkingEnabled") or "").lower() == "true"
    if (job_type and job_type != own_type) or (mode and mode.lower() != CONCURRENCY_MODE.lower()) or pk_chunking:
        # Only Bulk API 1.0 jobs have PK chunking or another type; the emulator has none.
        jobs: list[Job] = []
        more = False
    else:
        page_size = max(1, settings(ctx).jobs_page_size)
        jobs, more = ctx.state.bulk.page(kind, after, page_size)
    body: dict[str, Any] = {
        "done": not more,
        "records": [summary(ctx.state.bulk.snapshot(job), job_type=True) for job in jobs],
        "nextRecordsUrl": None,
    }
    if more:
        query = [(k, v) for k, v in params.multi_items() if k != "queryLocator"]
        query.append(("queryLocator", encode_locator(jobs[-1].sequence)))
        body["nextRecordsUrl"] = ctx.data_url(f"/jobs/{kind}?{urlencode(query)}")
    return json_response(body)
