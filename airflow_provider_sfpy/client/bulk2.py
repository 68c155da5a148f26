"""Bulk API 2.0: ``client.jobs.ingest`` and ``client.jobs.query``.

The SalesforcePy-shaped calls (``create``, ``batches``, ``update``, ``delete``, ``get``) are kept, and
beside them the ones a long unattended load needs: job listing that follows ``nextRecordsUrl``,
result CSVs as byte streams (a million-row result never has to fit in memory), and query results
paged by ``Sforce-Locator`` or, from API 58.0, listed as links to download in parallel
(``result_links``, see ``bulk2_result_pages``). Uploads accept bytes, text or a binary file object, which is sent as
it is read.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from airflow_provider_sfpy.client.bulk2_result_pages import collect_result_links
from airflow_provider_sfpy.client.bulk_pacing import PollPacer
from airflow_provider_sfpy.client.errors import SalesforceConfigError
from airflow_provider_sfpy.client.query import broken_cursor_error, plural
from airflow_provider_sfpy.client.result import Result
from airflow_provider_sfpy.client.urls import bulk_job_path

if TYPE_CHECKING:
    from airflow_provider_sfpy.client.client import Client

JOB_STATES_SETTABLE = frozenset({"UploadComplete", "Aborted"})
TERMINAL_STATES = frozenset({"JobComplete", "Failed", "Aborted"})
INGEST_OPERATIONS = frozenset({"insert", "update", "upsert", "delete", "hardDelete"})
COLUMN_DELIMITERS = {"COMMA": ",", "TAB": "\t", "PIPE": "|", "SEMICOLON": ";", "CARET": "^", "BACKQUOTE": "`"}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
RESULT_KINDS = {"successful": "successfulResults", "failed": "failedResults", "unprocessed": "unprocessedrecords"}
CHUNK_BYTES = 1 << 16


def is_terminal(state: str | None) -> bool:
    return state in TERMINAL_STATES


class _Jobs:
    """What ingest and query jobs share: paths, info, abort, delete, listing."""

    kind = ""

    def __init__(self, client: Client) -> None:
        self._client = client

    def _root(self) -> str:
        return self._client.data_path(f"jobs/{self.kind}")

    def _job_path(self, job_id: str, suffix: str = "") -> str:
        return self._client.data_path(bulk_job_path(self.kind, job_id, suffix))

    def info(self, job_id: str) -> Result:
        """Job info: state, numberRecordsProcessed/Failed, errorMessage, ..."""
        return self._client.request("GET", self._job_path(job_id))

    def abort(self, job_id: str) -> Result:
        return self._client.request("PATCH", self._job_path(job_id), json={"state": "Aborted"})

    def delete(self, job_id: str) -> Result:
        """Delete a job (``DELETE``), 204; Salesforce only allows it once the job has finished."""
        return self._client.request("DELETE", self._job_path(job_id))

    def list_all(self, **filters: Any) -> Iterator[dict[str, Any]]:
        """Every job, following ``nextRecordsUrl`` page by page.

        A ``nextRecordsUrl`` that an earlier page already gave raises ``SalesforceProtocolError``
        instead of listing the same jobs forever.
        """
        body, _ = self._client.request("GET", self._root(), params=filters or None)
        given_by: dict[str, int] = {}  # each nextRecordsUrl followed -> the page that gave it
        pages = jobs = 0
        while True:
            records = body.get("records", [])
            pages, jobs = pages + 1, jobs + len(records)
            yield from records
            next_url = None if body.get("done", True) else body.get("nextRecordsUrl")
            if not next_url:
                return
            if next_url in given_by:
                raise broken_cursor_error(
                    f"Bulk {self.kind} job list",
                    f"page {pages} gave the nextRecordsUrl {next_url} again (page {given_by[next_url]} gave it "
                    "first, and it was followed then); following it would list the same jobs forever",
                    read=f"{plural(pages, 'page')} and {plural(jobs, 'job')}",
                    url=next_url,
                    consequence="The listing was stopped rather than list any job twice.",
                )
            given_by[next_url] = pages
            body, _ = self._client.request("GET", next_url)


class Ingest(_Jobs):
    """``client.jobs.ingest``."""

    kind = "ingest"

    def create(self, job_resource: Mapping[str, Any] | None = None, **fields: Any) -> Result:
        """Create a job (``POST /jobs/ingest``) -> job info with state Open.

        ``job_resource`` is SalesforcePy's dict (``{"object", "operation", ...}``); keyword fields are
        merged into it.
        """
        resource = {**(job_resource or {}), **fields}
        operation = resource.get("operation")
        if operation not in INGEST_OPERATIONS:
            raise SalesforceConfigError(
                f"operation must be one of {', '.join(sorted(INGEST_OPERATIONS))}, not {operation!r}"
            )
        if not resource.get("object"):
            raise SalesforceConfigError("a Bulk ingest job needs object, e.g. 'Account'")
        if operation == "upsert" and not resource.get("externalIdFieldName"):
            raise SalesforceConfigError("an upsert job needs externalIdFieldName")
        return self._client.request("POST", self._root(), json=resource)

    def batches(self, job_id: str, csv_file: str | bytes | IO[bytes]) -> Result:
        """Upload the job's CSV (``PUT /jobs/ingest/{id}/batches``); one upload per job, at most 100 MB."""
        data = csv_file.encode("utf-8") if isinstance(csv_file, str) else csv_file
        return self._client.request(
            "PUT", self._job_path(job_id, "/batches"), data=data, headers={"Content-Type": "text/csv"}
        )

    upload = batches

    def update(self, job_id: str, state: str) -> Result:
        """Close (``UploadComplete``) or abort (``Aborted``) a job."""
        if state not in JOB_STATES_SETTABLE:
            raise SalesforceConfigError(f"a job's state can be set to UploadComplete or Aborted, not {state!r}")
        return self._client.request(
            "PATCH", self._job_path(job_id), json={"state": state}, stops_work=state == "Aborted"
        )

    def close(self, job_id: str) -> Result:
        return self.update(job_id, "UploadComplete")

    def results(self, job_id: str, kind: str) -> Result:
        """A result CSV as a stream of byte chunks: ``kind`` is successful, failed or unprocessed."""
        if kind not in RESULT_KINDS:
            raise SalesforceConfigError(f"result kind must be one of {', '.join(RESULT_KINDS)}, not {kind!r}")
        return self._client.request("GET", self._job_path(job_id, f"/{RESULT_KINDS[kind]}/"), stream=True)

    def get(
        self,
        job_id: str | None = None,
        successes: bool = False,
        failures: bool = False,
        unprocessed: bool = False,
        *,
        stream: bool = False,
    ) -> Result:
        """SalesforcePy's ``get``: all jobs (no id), one job's info, or one of its result CSVs (text)."""
        if job_id is None:
            return self._client.request("GET", self._root())
        chosen = [
            kind
            for kind, flag in (("successful", successes), ("failed", failures), ("unprocessed", unprocessed))
            if flag
        ]
        if len(chosen) > 1:
            raise SalesforceConfigError("ask for one of successes, failures or unprocessed per call")
        if not chosen:
            return self.info(job_id)
        if stream:
            return self.results(job_id, chosen[0])
        return self._client.request("GET", self._job_path(job_id, f"/{RESULT_KINDS[chosen[0]]}/"))


@dataclass
class QueryResultPage:
    """One page of a Bulk query result: CSV bytes (streamed), its record count and the next locator."""

    chunks: Iterator[bytes]
    number_of_records: int
    locator: str | None


class Query(_Jobs):
    """``client.jobs.query``."""

    kind = "query"

    def create(self, query: str, *, include_deleted: bool = False, **fields: Any) -> Result:
        """Start a query job (``POST /jobs/query``) for ``query`` (SOQL)."""
        if not query or not query.strip():
            raise SalesforceConfigError("a Bulk query job needs a SOQL query")
        body = {"operation": "queryAll" if include_deleted else "query", "query": query, **fields}
        return self._client.request("POST", self._root(), json=body)

    def result_page(
        self, job_id: str, *, locator: str | None = None, max_records: int | None = None
    ) -> QueryResultPage:
        """One results page; ``locator`` None for the first. The body is streamed."""
        params: dict[str, Any] = {}
        if locator:
            params["locator"] = locator
        if max_records:
            params["maxRecords"] = max_records
        response, _ = self._client.request(
            "GET", self._job_path(job_id, "/results"), params=params or None, stream=True, raw=True
        )
        return _result_page(response)

    def result_links(self, job_id: str, *, max_records: int | None = None) -> list[str] | None:
        """Every results page of a finished job as a link (``resultPages``, API 58.0+), in order, for
        :meth:`result_page_at`; ``None`` where the org does not offer them (then follow locators)."""
        return collect_result_links(
            self._client, self._job_path(job_id, "/resultPages"), job_id, max_records=max_records
        )

    def result_page_at(self, link: str) -> QueryResultPage:
        """The results page a ``resultPages`` link names; the body is streamed."""
        response, _ = self._client.request("GET", link, stream=True, raw=True)
        return _result_page(response)

    def result_pages(self, job_id: str, *, max_records: int | None = None) -> Iterator[QueryResultPage]:
        """Every results page in order; consume each page's chunks before asking for the next.

        An ``Sforce-Locator`` that an earlier page already gave raises ``SalesforceProtocolError``
        instead of fetching the same results forever.
        """
        locator: str | None = None
        given_by: dict[str, int] = {}  # each locator followed -> the page that gave it
        pages = records = 0
        while True:
            page = self.result_page(job_id, locator=locator, max_records=max_records)
            pages, records = pages + 1, records + page.number_of_records
            yield page
            if page.locator is None:
                return
            if page.locator in given_by:
                raise broken_cursor_error(
                    "Bulk query results",
                    f"results page {pages} of job {job_id} gave the Sforce-Locator {page.locator!r} again "
                    f"(page {given_by[page.locator]} gave it first, and it was followed then); following it "
                    "would fetch the same records forever",
                    read=f"{plural(pages, 'page')} and {plural(records, 'record')}",
                    consequence="The repeated page was not fetched, so no record was read twice; the results read "
                    "so far are incomplete (sfpy's Bulk query export publishes its file, or its part files' "
                    "manifest, only after the last page).",
                )
            given_by[page.locator] = pages
            locator = page.locator


def _result_page(response: Any) -> QueryResultPage:
    """A streamed ``/results`` response as a page: its chunks, record count and next locator."""
    next_locator = response.headers.get("Sforce-Locator")
    return QueryResultPage(
        chunks=response.iter_content(chunk_size=CHUNK_BYTES),
        number_of_records=int(response.headers.get("Sforce-NumberOfRecords", "0")),
        locator=None if next_locator in (None, "", "null") else next_locator,
    )


class Jobs:
    """``client.jobs``: Bulk API 2.0 job families."""

    def __init__(self, client: Client) -> None:
        self.ingest = Ingest(client)
        self.query = Query(client)


def job_summary(info: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON-friendly part of a job's info that waiters report and operators act on."""
    keys = ("id", "object", "operation", "state", "numberRecordsProcessed", "numberRecordsFailed", "errorMessage")
    return {key: info.get(key) for key in keys if key in info}


def wait_for_jobs(
    jobs: _Jobs,
    job_ids: list[str],
    *,
    poll_interval: float = 5.0,
    max_poll_interval: float = 60.0,
    timeout: float | None = None,
    on_poll: Callable[[dict[str, dict[str, Any]]], None] | None = None,
    expected_records: Mapping[str, int] | None = None,
) -> dict[str, dict[str, Any]]:
    """Poll until every job is terminal (JobComplete, Failed, Aborted); the wait backs off 1.5x but never past
    poll_interval plus a quarter of the time waited (see ``bulk_pacing``).

    With ``expected_records`` (records per job, as uploaded) a poll is brought forward to when the
    processing rate says the jobs will be done (see ``bulk_pacing``). Returns each job's summary.
    Raises TimeoutError naming the jobs still running after ``timeout``.
    """
    deadline = time.monotonic() + timeout if timeout is not None else None
    summaries: dict[str, dict[str, Any]] = {}
    pending = list(job_ids)
    pacer = PollPacer(poll_interval, max_poll_interval, expected_records)
    while True:
        for job_id in list(pending):
            info, _ = jobs.info(job_id)
            pacer.observe(job_id, info, time.monotonic())
            summaries[job_id] = job_summary(info)
            if is_terminal(info.get("state")):
                pending.remove(job_id)
        if on_poll is not None:
            on_poll(summaries)
        if not pending:
            return summaries
        delay = pacer.next_delay(pending, time.monotonic())
        if deadline is not None and time.monotonic() + delay > deadline:
            raise TimeoutError(f"Bulk jobs still not finished after {timeout:.0f} s: {', '.join(pending)}")
        time.sleep(delay)
