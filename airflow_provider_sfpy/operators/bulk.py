"""``SalesforceBulkIngestOperator``: load a CSV of any size through Bulk API 2.0, then wait without a worker slot.

The source is streamed and split on record boundaries into uploads under the limit (100 MB by
default), one job each; every job is closed as soon as its data is up and its id pushed to XCom at
once (so a retry, or a person, can find it). The wait is deferred to the triggerer by default
(``[operators] default_deferrable``) or done by polling. Results are delivered failed-rows-first, to
object storage or XCom, before any failure is raised: no failed row is ever lost. Once the data is
loaded, a result CSV too big for XCom never fails the task (a retry would load everything again): it
is left out of XCom and named in the outcome's ``omitted_results``, to be downloaded from Salesforce.
"""

from __future__ import annotations

import csv
import io
import logging
import time
from collections.abc import Sequence
from typing import IO, Any

from airflow.sdk import BaseOperatorLink, Context, ObjectStoragePath
from airflow.sdk.exceptions import AirflowException

from airflow_provider_sfpy.client import SalesforceError
from airflow_provider_sfpy.client.bulk2 import INGEST_OPERATIONS, is_terminal
from airflow_provider_sfpy.formats.csv_split import (
    DEFAULT_MAX_UPLOAD_BYTES,
    DELIMITERS,
    CsvInputError,
    CsvLayout,
    split_csv,
)
from airflow_provider_sfpy.operators.base import SalesforceBulkWaitingOperator, default_deferrable
from airflow_provider_sfpy.operators.bulk_results import SALESFORCE_RESULTS_RETENTION, deliver_results
from airflow_provider_sfpy.operators.records_input import as_record_list
from airflow_provider_sfpy.operators.storage import storage_path

JOB_IDS_XCOM_KEY = "job_ids"
JOB_LINKS_XCOM_KEY = "job_links"
DEFAULT_MAX_XCOM_RESULT_BYTES = 1_000_000


def job_setup_url(instance_url: str, job_id: str) -> str:
    """The job's page in Setup > Bulk Data Load Jobs."""
    return f"{instance_url}/lightning/setup/AsyncApiJobStatus/page?address=%2F{job_id}"


class SalesforceBulkJobLink(BaseOperatorLink):
    """'Bulk job in Salesforce': opens the (first) job's page in Salesforce Setup."""

    name = "Bulk job in Salesforce"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        try:
            links = ti_key.xcom_pull(task_ids=ti_key.task_id, key=JOB_LINKS_XCOM_KEY)
        except Exception:  # outside a task (e.g. the UI on an old run): no link rather than an error
            return ""
        return str(links[0]) if links else ""


class SalesforceBulkIngestOperator(SalesforceBulkWaitingOperator):
    """Insert, update, upsert, delete or hard-delete records through Bulk API 2.0.

    Example::

        SalesforceBulkIngestOperator(
            task_id="load_accounts",
            object_type="Account",
            operation="upsert",
            external_id_field="External_Id__c",
            source="s3://landing/accounts/{{ ds }}.csv",
            source_conn_id="aws_default",
            results_destination="s3://landing/accounts/{{ ds }}/results/",
            results_conn_id="aws_default",
        )

    :param object_type: the sObject (templated).
    :param operation: ``insert``, ``update``, ``upsert``, ``delete`` or ``hardDelete``.
    :param source: the CSV, an ObjectStoragePath URL (templated). Or give ``records`` instead.
    :param records: records (dicts) from a literal, template or XComArg, loaded as one CSV (templated).
    :param external_id_field: for ``upsert`` (templated).
    :param column_delimiter: COMMA, TAB, PIPE, SEMICOLON, CARET or BACKQUOTE.
    :param line_ending: LF or CRLF; default: the file's own.
    :param max_upload_bytes: upload size per job (at most Salesforce's 100 MB).
    :param results_destination: folder URL for result CSVs (``<job>-failed.csv`` ...); else they go to XCom.
    :param max_failed_records: more failed rows than this fail the task (after the results are saved).
    :param max_xcom_result_bytes: without ``results_destination``, the largest result CSV (per job and
        kind) kept in XCom. A larger one does not fail the task: it is not downloaded past the cap, its
        entry in ``results`` is ``None``, it is described in ``omitted_results`` and a warning is logged.
    :param deferrable: wait in the triggerer (default from ``[operators] default_deferrable``).
    :param poll_interval: seconds between job polls (grows 1.5x up to ``max_poll_interval``).
    :param wait_timeout: give up waiting after this long (seconds).
    :returns: (also pushed to XCom as ``bulk_results`` before any failure is raised)
        ``{"jobs": {job_id: summary}, "records_processed": int, "records_failed": int,
        "results": {"failed" | "unprocessed" | "successful": {job_id: path | csv-text | None}},
        "omitted_results": [...]}``. ``results`` holds file paths with ``results_destination``, else
        the CSV text; ``None`` marks a result left out of XCom for its size, and ``omitted_results``
        then has one entry for it: ``{"kind", "job_id", "max_xcom_result_bytes", "bytes_read",
        "reason", "download", "message"}`` (``download``: the CSV's REST path in Salesforce, which
        keeps it about 7 days; ``message``: what happened and what to do). Empty when all fit.
    """

    template_fields: Sequence[str] = (
        "object_type",
        "source",
        "source_conn_id",
        "records",
        "external_id_field",
        "results_destination",
        "results_conn_id",
    )
    operator_extra_links = (SalesforceBulkJobLink(),)
    ui_color = "#00a1e0"

    def __init__(
        self,
        *,
        object_type: str,
        operation: str,
        source: str | ObjectStoragePath | None = None,
        source_conn_id: str | None = None,
        records: Any = None,
        external_id_field: str | None = None,
        column_delimiter: str = "COMMA",
        line_ending: str | None = None,
        max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
        results_destination: str | None = None,
        results_conn_id: str | None = None,
        max_failed_records: int = 0,
        max_xcom_result_bytes: int = DEFAULT_MAX_XCOM_RESULT_BYTES,
        deferrable: bool | None = None,
        poll_interval: float = 5.0,
        max_poll_interval: float = 60.0,
        wait_timeout: float = 24 * 3600.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if operation not in INGEST_OPERATIONS:
            raise ValueError(f"operation must be one of {', '.join(sorted(INGEST_OPERATIONS))}, not {operation!r}")
        if operation == "upsert" and not external_id_field:
            raise ValueError("upsert needs external_id_field: the external id column that matches records")
        if (source is None) == (records is None):
            raise ValueError("give exactly one of source (a CSV in object storage) or records")
        if column_delimiter not in DELIMITERS:
            raise ValueError(f"column_delimiter must be one of {', '.join(DELIMITERS)}, not {column_delimiter!r}")
        if line_ending not in (None, "LF", "CRLF"):
            raise ValueError(f"line_ending must be LF or CRLF, not {line_ending!r}")
        if not 0 < max_upload_bytes <= DEFAULT_MAX_UPLOAD_BYTES:
            raise ValueError(f"max_upload_bytes must be between 1 and {DEFAULT_MAX_UPLOAD_BYTES:,}")
        if max_failed_records < 0:
            raise ValueError("max_failed_records must be 0 or more")
        self.object_type = object_type
        self.operation = operation
        self.source = source
        self.source_conn_id = source_conn_id
        self.records = records
        self.external_id_field = external_id_field
        self.column_delimiter = column_delimiter
        self.line_ending = line_ending
        self.max_upload_bytes = max_upload_bytes
        self.results_destination = results_destination
        self.results_conn_id = results_conn_id
        self.max_failed_records = max_failed_records
        self.max_xcom_result_bytes = max_xcom_result_bytes
        self.deferrable = default_deferrable() if deferrable is None else deferrable
        self.poll_interval = poll_interval
        self.max_poll_interval = max_poll_interval
        self.wait_timeout = wait_timeout
        self._job_ids: list[str] = []

    # ------------------------------------------------------------------ submit
    def execute(self, context: Context) -> Any:
        required = self._required_columns()
        started = time.monotonic()
        total_rows = total_bytes = 0
        rows_per_job: dict[str, int] = {}
        layouts: list[CsvLayout] = []
        with self._open_source() as stream:
            try:
                for chunk in split_csv(
                    stream,
                    max_bytes=self.max_upload_bytes,
                    column_delimiter=self.column_delimiter,
                    line_ending=self.line_ending,
                    required_columns=required,
                    layout_out=layouts,
                ):
                    try:
                        # The job must declare the file's own line ending, or Salesforce rejects the data.
                        job_id = self._submit(chunk.file, layouts[0].line_ending, context)
                    finally:
                        chunk.close()
                    rows_per_job[job_id] = chunk.rows
                    total_rows += chunk.rows
                    total_bytes += chunk.size
                    self.log.info(
                        "Job %s: uploaded %d rows (%.1f MB); %d rows, %.1f MB so far",
                        job_id,
                        chunk.rows,
                        chunk.size / 1e6,
                        total_rows,
                        total_bytes / 1e6,
                    )
            except CsvInputError as exc:
                if self._job_ids:
                    self.log.error("Jobs already submitted before the bad input was found: %s", self._job_ids)
                raise AirflowException(f"the source CSV cannot be loaded: {exc}") from None
        self.log.info(
            "Submitted %d job(s), %d rows in %.1f s; waiting for Salesforce",
            len(self._job_ids),
            total_rows,
            time.monotonic() - started,
        )
        summaries = self.wait_for_bulk_jobs(self._job_ids, "ingest", expected_records=rows_per_job)
        return self._finish(summaries, context)

    def _submit(self, upload: IO[bytes], line_ending: str, context: Context) -> str:
        ingest = self.client.jobs.ingest
        resource: dict[str, Any] = {
            "object": self.object_type,
            "operation": self.operation,
            "contentType": "CSV",
            "columnDelimiter": self.column_delimiter,
            "lineEnding": line_ending,
        }
        if self.external_id_field:
            resource["externalIdFieldName"] = self.external_id_field
        job, _ = ingest.create(resource)
        job_id = str(job["id"])
        self._job_ids.append(job_id)
        self._push(context, JOB_IDS_XCOM_KEY, list(self._job_ids))
        self._push(context, JOB_LINKS_XCOM_KEY, [job_setup_url(self.client.instance_url, j) for j in self._job_ids])
        ingest.upload(job_id, upload)
        try:
            ingest.close(job_id)
        except SalesforceError:
            # A close whose answer was lost is re-sent and then refused (the job is no longer Open);
            # if Salesforce already has the job past Open, the close did land and the load goes on.
            state = ingest.info(job_id).body.get("state")
            if state in (None, "Open"):
                raise
            self.log.info("Job %s was already closed (state %s); continuing", job_id, state)
        return job_id

    def _push(self, context: Context, key: str, value: Any) -> None:
        ti = context.get("ti") if isinstance(context, dict) else None
        if ti is not None:
            ti.xcom_push(key=key, value=value)

    def _required_columns(self) -> list[str]:
        if self.operation in ("delete", "hardDelete"):
            return ["Id"]
        if self.operation == "update":
            return ["Id"]
        if self.operation == "upsert" and self.external_id_field:
            return [self.external_id_field]
        return []

    def _open_source(self) -> IO[bytes]:
        if self.source is not None:
            path = storage_path(self.source, self.source_conn_id)
            if not path.exists():
                raise AirflowException(f"source {path} does not exist")
            self._warn_if_results_will_not_fit(_size_of(path))
            return path.open("rb")
        records = as_record_list(self.records)
        if not records:
            raise AirflowException("records is empty: nothing to load")
        columns = list(dict.fromkeys(key for record in records for key in record if key != "attributes"))
        text = io.StringIO()
        writer = csv.DictWriter(
            text, fieldnames=columns, delimiter=DELIMITERS[self.column_delimiter], extrasaction="ignore"
        )
        writer.writeheader()
        writer.writerows(records)
        self.line_ending = self.line_ending or "CRLF"
        data = text.getvalue().encode("utf-8")
        self._warn_if_results_will_not_fit(len(data))
        return io.BytesIO(data)

    def _warn_if_results_will_not_fit(self, size: int | None) -> None:
        """Warn before loading when the successful results (about the source's size) will not fit in XCom."""
        if self.results_destination or size is None:
            return
        if size > self.max_xcom_result_bytes:
            self.log.warning(
                "The CSV to load is %s bytes, more than max_xcom_result_bytes=%s, and results_destination is not "
                "set: the successful results (about the source's size) will not be kept in XCom, only "
                "described in omitted_results. Set results_destination= (an ObjectStoragePath URL) to save "
                "result CSVs as files, or download them from Salesforce by job id afterwards.",
                f"{size:,}",
                f"{self.max_xcom_result_bytes:,}",
            )

    # ------------------------------------------------------------------ finish
    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        self._job_ids = list(event.get("jobs", {})) or self._job_ids
        if event.get("status") != "success":
            raise AirflowException(f"waiting for Bulk jobs failed ({event.get('status')}): {event.get('message')}")
        return self._finish(event["jobs"], context)

    def _finish(self, summaries: dict[str, dict[str, Any]], context: Context) -> dict[str, Any]:
        job_ids = list(summaries)
        omitted: list[dict[str, Any]] = []
        results = deliver_results(
            self.client,
            job_ids,
            destination=self.results_destination,
            destination_conn_id=self.results_conn_id,
            max_xcom_bytes=self.max_xcom_result_bytes,
            omitted_out=omitted,
            logger=self.log,
        )
        processed = sum(int(s.get("numberRecordsProcessed") or 0) for s in summaries.values())
        failed = sum(int(s.get("numberRecordsFailed") or 0) for s in summaries.values())
        outcome = {
            "jobs": summaries,
            "records_processed": processed,
            "records_failed": failed,
            "results": results,
            "omitted_results": omitted,
        }
        # Pushed before any failure is raised, so the counts and result locations survive a failed task.
        self._push(context, "bulk_results", outcome)
        broken = {j: s for j, s in summaries.items() if s.get("state") in ("Failed", "Aborted")}
        if broken:
            reasons = "; ".join(
                f"{j} {s.get('state')}: {s.get('errorMessage') or 'no message'}" for j, s in broken.items()
            )
            raise AirflowException(f"Bulk job(s) did not complete: {reasons}{_omitted_note(omitted)}")
        self.log.info("Bulk load done: %d records processed, %d failed", processed, failed)
        if failed > self.max_failed_records:
            raise AirflowException(
                f"{failed} record(s) failed, more than max_failed_records={self.max_failed_records}; "
                f"{self._where_failed_rows_are(summaries, results['failed'], omitted)}"
            )
        return outcome

    def _where_failed_rows_are(
        self, summaries: dict[str, dict[str, Any]], failed: dict[str, str | None], omitted: list[dict[str, Any]]
    ) -> str:
        """Where the failed rows are, for the max_failed_records error: files, XCom, or only in Salesforce."""
        if self.results_destination:
            return f"the failed rows with Salesforce's sf__Error are saved at {failed}"
        too_big = [o["job_id"] for o in omitted if o["kind"] == "failed"]
        kept = [
            job_id
            for job_id, csv_text in failed.items()
            if csv_text is not None and int(summaries.get(job_id, {}).get("numberRecordsFailed") or 0) > 0
        ]
        parts = []
        if kept or not too_big:
            of_jobs = f" of job(s) {', '.join(kept)}" if kept else ""
            parts.append(
                f"the failed rows with Salesforce's sf__Error{of_jobs} are in XCom "
                "(return value and bulk_results, results.failed)"
            )
        if too_big:
            parts.append(
                f"the failed rows of job(s) {', '.join(too_big)} were NOT kept in XCom: larger than "
                f"max_xcom_result_bytes={self.max_xcom_result_bytes:,}; download each job's failedResults "
                f"from Salesforce by job id (kept {SALESFORCE_RESULTS_RETENTION}; see omitted_results in XCom), or set "
                "results_destination= (an ObjectStoragePath URL) to save result CSVs as files"
            )
        return "; ".join(parts)

    def on_kill(self) -> None:
        """Abort the jobs this task started that have not finished, so a killed load stops in Salesforce."""
        for job_id in self._job_ids:
            try:
                info, _ = self.client.jobs.ingest.info(job_id)
                if not is_terminal(info.get("state")):
                    self.client.jobs.ingest.abort(job_id)
                    self.log.info("Aborted Bulk job %s", job_id)
            except Exception as exc:
                self.log.warning("Could not abort Bulk job %s: %s", job_id, exc)


def _size_of(path: ObjectStoragePath) -> int | None:
    """The file's size in bytes, or ``None`` when the storage cannot tell (it is only used for a hint)."""
    try:
        return int(path.stat().st_size)
    except Exception as exc:  # never fail (or stop) the load over a hint
        logging.getLogger(__name__).debug("Could not read the size of the source: %s", exc)
        return None


def _omitted_note(omitted: list[dict[str, Any]]) -> str:
    """A note for an error message: which result CSVs were left out of XCom (too big)."""
    if not omitted:
        return ""
    names = ", ".join(f"{o['kind']} of {o['job_id']}" for o in omitted)
    return (
        f" (results not kept in XCom, too big: {names}; download them from Salesforce by job id, "
        "see omitted_results in XCom)"
    )
