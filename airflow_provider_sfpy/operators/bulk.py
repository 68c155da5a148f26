"""``SalesforceBulkIngestOperator``: load a CSV of any size through Bulk API 2.0 and wait for the jobs.

The source is streamed and split on record boundaries into uploads under the limit (100 MB by
default), one job each; every job is closed as soon as its data is up and its id pushed to XCom at
once (so a retry, or a person, can find it). The wait polls on the worker unless the task is
deferrable (``deferrable=True``, or ``[operators] default_deferrable = True`` in Airflow's
configuration, which a stock install leaves False); then the triggerer waits and the worker slot
is free. Results are delivered failed-rows-first, to object storage or XCom, before any failure is
raised: no failed row is ever lost. Once the data is loaded, a result CSV too big for XCom never
fails the task (a retry would load everything again): it is left out of XCom and named in the
outcome's ``omitted_results``, to be downloaded from Salesforce.
"""

from __future__ import annotations

import csv
import io
import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import IO, Any

from airflow.sdk import BaseOperatorLink, Context, ObjectStoragePath
from airflow.sdk.exceptions import AirflowException

from airflow_provider_sfpy.client import SalesforceError
from airflow_provider_sfpy.client.bulk2 import INGEST_OPERATIONS, is_terminal
from airflow_provider_sfpy.formats.csv_split import (
    DEFAULT_MAX_UPLOAD_BYTES,
    DELIMITERS,
    CsvChunk,
    CsvInputError,
    CsvLayout,
    split_csv,
)
from airflow_provider_sfpy.operators.base import SalesforceBulkWaitingOperator, default_deferrable
from airflow_provider_sfpy.operators.bulk_results import DEFAULT_MAX_XCOM_RESULT_BYTES, finish_ingest
from airflow_provider_sfpy.operators.records_input import as_record_list
from airflow_provider_sfpy.operators.storage import storage_path
from airflow_provider_sfpy.operators.task_state import AirflowFailException, TaskState, no_blind_retry, try_number

#: The task state store key holding a load's chunks and the job carrying each (see ``_plan_this_try``).
INGEST_STATE_KEY = "sfpy_bulk_ingest"

JOB_IDS_XCOM_KEY = "job_ids"
JOB_LINKS_XCOM_KEY = "job_links"


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
            source="s3://landing/accounts/{{ (dag_run.logical_date or dag_run.run_after) | ds }}.csv",
            source_conn_id="aws_default",
            results_destination="s3://landing/accounts/{{ (dag_run.logical_date or dag_run.run_after) | ds }}/results/",
            results_conn_id="aws_default",
        )

    :param object_type: the sObject (templated).
    :param operation: ``insert``, ``update``, ``upsert``, ``delete`` or ``hardDelete``.
    :param source: the CSV, an ObjectStoragePath URL (templated) (default ``None``; give it or ``records``).
    :param source_conn_id: the Airflow connection for the source's storage (templated) (default ``None``).
    :param records: records (dicts) from a literal, template or XComArg, loaded as one CSV (templated)
        (default ``None``).
    :param external_id_field: for ``upsert``: the external id column (templated) (default ``None``).
    :param column_delimiter: COMMA, TAB, PIPE, SEMICOLON, CARET or BACKQUOTE (default ``'COMMA'``).
    :param line_ending: LF or CRLF (default ``None``: the file's own; CRLF for ``records``).
    :param max_upload_bytes: upload size per job, at most Salesforce's 100 MB (default ``100_000_000``).
    :param results_destination: folder URL for result CSVs (``<job>-failed.csv`` ...); missing local
        folders are created (templated) (default ``None``: the results go to XCom).
    :param results_conn_id: the Airflow connection for ``results_destination`` (templated) (default ``None``).
    :param max_failed_records: more failed rows than this fail the task, after the results are saved
        (default ``0``: any failed row fails the task).
    :param max_xcom_result_bytes: without ``results_destination``, the largest result CSV (per job and
        kind) kept in XCom. A larger one does not fail the task: it is not downloaded past the cap, its
        entry in ``results`` is ``None``, it is described in ``omitted_results`` and a warning is logged
        (default ``1_000_000``).
    :param deferrable: wait in the triggerer instead of a worker slot (default ``False``: Airflow's
        ``[operators] default_deferrable``, which a stock install leaves False).
    :param poll_interval: seconds between job polls at first; each wait grows 1.5x up to
        ``max_poll_interval``, but never past ``poll_interval`` plus a quarter of the time waited so far, so
        a job is seen done within a quarter of its run time (plus one ``poll_interval``) (default ``5.0``).
    :param max_poll_interval: the longest wait between two polls, in seconds (default ``60.0``).
    :param wait_timeout: give up waiting for the jobs after this many seconds (default ``86400``, one day).
    :param retry_after_load: on Airflow 3.1/3.2 only: let Airflow retry a try that failed after jobs
        were created, accepting that rows may load twice (default ``False``).
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
        retry_after_load: bool = False,
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
        self.retry_after_load = retry_after_load
        self._job_ids: list[str] = []

    # ------------------------------------------------------------------ submit
    def execute(self, context: Context) -> Any:
        state = TaskState(context, INGEST_STATE_KEY)
        with no_blind_retry(state, retry_after_load=self.retry_after_load, loaded=self._what_reached_salesforce):
            plan = self._plan_this_try(context, state)
            rows_per_job = {chunk["job_id"]: int(chunk["rows"]) for chunk in plan["chunks"]}
            self._record(state, plan, phase="waiting", context=context)
            summaries = self.wait_for_bulk_jobs(
                self._job_ids,
                "ingest",
                expected_records=rows_per_job,
                before_defer=lambda: self._record(state, plan, phase="deferred", context=context),
            )
            return self._finish(summaries, context, plan)

    def _plan_this_try(self, context: Context, state: TaskState) -> dict[str, Any]:
        """Which job carries each chunk of the source, after creating the jobs this try must create.

        First try: the whole source is read, validated and split (spooled to temporary files) before
        the first job is created, and the chunks are recorded; then each chunk's job id is recorded
        before its data is uploaded. A later try of the same task instance starts from that record:
        a chunk whose job is past ``Open`` is not sent again (its job is waited on); a chunk with no
        job, or whose job is still ``Open`` (its upload may be partial; Salesforce processes nothing
        before ``UploadComplete``), is sent again as a new job, the ``Open`` one aborted.
        """
        plan = state.load()
        states: dict[str, str | None] = {}
        to_send: list[int] = []
        if plan is not None:
            self._check_same_load(plan)
            self._job_ids = [chunk["job_id"] for chunk in plan["chunks"] if chunk["job_id"]]
            self._push_job_ids(context)
            self.log.info(
                "Resuming the load an earlier try started: %d chunk(s), job(s) %s",
                len(plan["chunks"]),
                ", ".join(self._job_ids) or "none yet",
            )
            if plan.get("phase") == "deferred" and plan.get("try") != try_number(context):
                self._abort_jobs_of_a_stopped_try(plan)
            states = self._job_states(plan)
            to_send = [i for i, c in enumerate(plan["chunks"]) if states.get(c["job_id"]) in (None, "Open")]
            if not to_send:
                return plan  # every chunk has a job past Open: the source is not even read
        with self._validated_chunks() as (chunks, line_ending):
            if plan is None:
                plan = self._new_plan(chunks, line_ending)
                state.save(plan)
                to_send = list(range(len(chunks)))
            else:
                self._check_same_source(plan, chunks)
            for index in to_send:
                self._send_chunk(plan, index, chunks[index], states, context, state)
        return plan

    def _job_states(self, plan: dict[str, Any]) -> dict[str, str | None]:
        """The current state of each recorded job (one GET each)."""
        ingest = self.client.jobs.ingest
        return {
            chunk["job_id"]: ingest.info(chunk["job_id"]).body.get("state")
            for chunk in plan["chunks"]
            if chunk["job_id"]
        }

    @contextmanager
    def _validated_chunks(self) -> Iterator[tuple[list[CsvChunk], str]]:
        """The whole source, validated and split into upload-sized chunks on the task's temporary disk.

        A bad record anywhere fails here, before any job exists. Each finished chunk but the last
        is moved out of memory (a spooled file rolled over to disk), so memory stays bounded.
        """
        chunks: list[CsvChunk] = []
        layouts: list[CsvLayout] = []
        started = time.monotonic()
        try:
            with self._open_source() as stream:
                try:
                    for chunk in split_csv(
                        stream,
                        max_bytes=self.max_upload_bytes,
                        column_delimiter=self.column_delimiter,
                        line_ending=self.line_ending,
                        required_columns=self._required_columns(),
                        layout_out=layouts,
                    ):
                        if chunks:
                            _to_disk(chunks[-1])
                        chunks.append(chunk)
                except CsvInputError as exc:
                    raise AirflowException(
                        f"the source CSV cannot be loaded: {exc}. Nothing was sent to Salesforce."
                    ) from None
            self.log.info(
                "Validated the source: %d rows, %.1f MB, %d upload(s), in %.1f s",
                sum(c.rows for c in chunks),
                sum(c.size for c in chunks) / 1e6,
                len(chunks),
                time.monotonic() - started,
            )
            # The job must declare the file's own line ending, or Salesforce rejects the data.
            yield chunks, layouts[0].line_ending
        finally:
            for chunk in chunks:
                chunk.close()

    def _new_plan(self, chunks: list[CsvChunk], line_ending: str) -> dict[str, Any]:
        return {
            "object": self.object_type,
            "operation": self.operation,
            "external_id_field": self.external_id_field,
            "line_ending": line_ending,
            "chunks": [
                {"rows": c.rows, "bytes": c.size, "sha256": c.sha256, "first_row": c.first_row, "job_id": None}
                for c in chunks
            ],
            "replaced_jobs": [],
            "aborted_after_stop": [],
            "phase": "submitting",
        }

    def _send_chunk(
        self,
        plan: dict[str, Any],
        index: int,
        chunk: CsvChunk,
        states: dict[str, str | None],
        context: Context,
        state: TaskState,
    ) -> None:
        entry = plan["chunks"][index]
        ingest = self.client.jobs.ingest
        if entry["job_id"] and states.get(entry["job_id"]) == "Open":
            # An earlier try created this job but did not close it: its upload may be partial. An Open
            # job has processed nothing, so aborting it and sending the chunk again loads each row once.
            ingest.abort(entry["job_id"])
            self.log.warning(
                "Job %s of an earlier try was still Open (upload unfinished): aborted it; sending its %d rows again",
                entry["job_id"],
                entry["rows"],
            )
            plan["replaced_jobs"].append(entry["job_id"])
            self._job_ids.remove(entry["job_id"])
        job_id = self._create_job(plan["line_ending"])
        entry["job_id"] = job_id
        state.save(plan)  # recorded before any data is sent: a later try knows this job carries the chunk
        self._job_ids.append(job_id)
        self._push_job_ids(context)
        chunk.file.seek(0)
        ingest.upload(job_id, chunk.file)
        self._close_job(job_id)
        self.log.info("Job %s: uploaded %d rows (%.1f MB)", job_id, chunk.rows, chunk.size / 1e6)

    def _create_job(self, line_ending: str) -> str:
        resource: dict[str, Any] = {
            "object": self.object_type,
            "operation": self.operation,
            "contentType": "CSV",
            "columnDelimiter": self.column_delimiter,
            "lineEnding": line_ending,
        }
        if self.external_id_field:
            resource["externalIdFieldName"] = self.external_id_field
        job, _ = self.client.jobs.ingest.create(resource)
        return str(job["id"])

    def _close_job(self, job_id: str) -> None:
        ingest = self.client.jobs.ingest
        try:
            ingest.close(job_id)
        except SalesforceError:
            # A close whose answer was lost is re-sent and then refused (the job is no longer Open);
            # if Salesforce already has the job past Open, the close did land and the load goes on.
            state = ingest.info(job_id).body.get("state")
            if state in (None, "Open"):
                raise
            self.log.info("Job %s was already closed (state %s); continuing", job_id, state)

    def _check_same_load(self, plan: dict[str, Any]) -> None:
        recorded = (plan.get("object"), plan.get("operation"), plan.get("external_id_field"))
        wanted = (self.object_type, self.operation, self.external_id_field)
        if recorded != wanted:
            raise AirflowFailException(
                f"an earlier try of this task instance loaded {recorded[0]} ({recorded[1]}) in Bulk job(s) "
                f"{_job_list(plan)}, but this try asks for {wanted[0]} ({wanted[1]}); nothing more was sent. "
                f"Start a new DAG run for a different load, or delete the task state key '{INGEST_STATE_KEY}'."
            )

    def _check_same_source(self, plan: dict[str, Any], chunks: list[CsvChunk]) -> None:
        recorded = [(c["rows"], c["sha256"]) for c in plan["chunks"]]
        now = [(c.rows, c.sha256) for c in chunks]
        if recorded != now:
            raise AirflowFailException(
                f"the source changed since an earlier try of this task instance started loading it (then "
                f"{len(recorded)} upload(s) of {sum(r for r, _ in recorded)} rows, now {len(now)} of "
                f"{sum(r for r, _ in now)}); Bulk job(s) {_job_list(plan)} already carry part of the earlier "
                "data, so nothing more was sent. Check those jobs in Salesforce, then load what is missing "
                f"in a new DAG run (or delete the task state key '{INGEST_STATE_KEY}' to start this one afresh)."
            )

    def _abort_jobs_of_a_stopped_try(self, plan: dict[str, Any]) -> None:
        """An earlier try deferred and never resumed: it was stopped from outside (marked failed or cleared
        by a person, or timed out by the scheduler) while no triggerer could act on it. Its jobs must not
        run on as if nobody had stopped the load: abort the ones still running."""
        ingest = self.client.jobs.ingest
        for job_id in self._job_ids:
            if not is_terminal(ingest.info(job_id).body.get("state")):
                ingest.abort(job_id)
                plan["aborted_after_stop"].append(job_id)
                self.log.error(
                    "Aborted Bulk job %s: the try that started it was stopped while it waited in the triggerer",
                    job_id,
                )

    def _record(self, state: TaskState, plan: dict[str, Any], *, phase: str, context: Context) -> None:
        plan["phase"] = phase
        plan["try"] = try_number(context)
        state.save(plan)

    def _push_job_ids(self, context: Context) -> None:
        self._push(context, JOB_IDS_XCOM_KEY, list(self._job_ids))
        self._push(context, JOB_LINKS_XCOM_KEY, [job_setup_url(self.client.instance_url, j) for j in self._job_ids])

    def _what_reached_salesforce(self) -> str | None:
        return f"Bulk job(s) {', '.join(self._job_ids)}" if self._job_ids else None

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
        state = TaskState(context, INGEST_STATE_KEY)
        self._job_ids = list(event.get("jobs", {})) or self._job_ids
        with no_blind_retry(state, retry_after_load=self.retry_after_load, loaded=self._what_reached_salesforce):
            plan = state.load()
            if plan is not None:
                self._record(state, plan, phase="resumed", context=context)
            if event.get("status") != "success":
                raise AirflowException(
                    f"waiting for Bulk jobs failed ({event.get('status')}): {event.get('message')}"
                    + (" A retry of this task waits for the same jobs again; it sends nothing twice." if plan else "")
                )
            return self._finish(event["jobs"], context, plan)

    def _finish(
        self, summaries: dict[str, dict[str, Any]], context: Context, plan: dict[str, Any] | None
    ) -> dict[str, Any]:
        aborted = (plan or {}).get("aborted_after_stop") or []
        note = (
            f". Job(s) {', '.join(aborted)} were aborted because the try that started them was stopped "
            "(marked failed or cleared) while it waited in the triggerer; the rows they had not processed are "
            "in the unprocessed results. Load those in a new DAG run."
            if aborted
            else ""
        )
        return finish_ingest(
            self.client,
            summaries,
            destination=self.results_destination,
            destination_conn_id=self.results_conn_id,
            max_xcom_bytes=self.max_xcom_result_bytes,
            max_failed_records=self.max_failed_records,
            push=lambda key, value: self._push(context, key, value),
            logger=self.log,
            note=note,
        )

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


def _to_disk(chunk: CsvChunk) -> None:
    """Move a finished chunk's spooled bytes to its temporary file, so only one chunk is ever in memory."""
    rollover = getattr(chunk.file, "rollover", None)
    if rollover is not None:
        rollover()


def _job_list(plan: dict[str, Any]) -> str:
    return ", ".join(c["job_id"] for c in plan["chunks"] if c["job_id"]) or "(none)"
