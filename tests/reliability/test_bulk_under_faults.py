"""Bulk API 2.0 loads under faults: every row loaded once and accounted for, or a loud failure with results saved.

Runs against ``bulk_emulator``, whose jobs are processed 100 rows at a time with pauses, so that a job
can be polled, failed, aborted or killed while it is half done. "Accounted for" means: rows in the
successful results + rows in the failed results + rows in the unprocessed results = rows in the source,
and the org holds exactly the successful ones.
"""

from __future__ import annotations

import csv
import io
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowException
from reliability_support import FakeTI, requests_to, task_context, wait_until, with_fast_retries

from airflow_provider_sfpy.client import Client, SalesforceOutcomeUnknownError
from airflow_provider_sfpy.operators.bulk import SalesforceBulkIngestOperator

JOB = r"/jobs/ingest/[^/]+$"


def write_source(path: Path, label: str, rows: int, *, crlf_tail: int = 0) -> str:
    """A CSV with LF line endings (its last ``crlf_tail`` rows end with CRLF: two exports pasted together)."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["Name", "Description"])
    for n in range(rows):
        if n == rows - crlf_tail:
            writer = csv.writer(text, lineterminator="\r\n")
        writer.writerow([f"{label} {n:05d}", f'row {n}, "quoted"\nsecond line'])
    path.write_bytes(text.getvalue().encode("utf-8"))
    return path.as_uri()


def make_operator(conn_id: str, source: str, results: Path, **kwargs: Any) -> SalesforceBulkIngestOperator:
    operator = SalesforceBulkIngestOperator(
        task_id="load",
        object_type="Account",
        operation="insert",
        source=source,
        results_destination=results.as_uri(),
        deferrable=False,
        poll_interval=0.1,
        max_poll_interval=0.2,
        sfpy_conn_id=conn_id,
        **kwargs,
    )
    return with_fast_retries(operator)


def result_rows(results: Path, kind: str) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for path in sorted(results.glob(f"*-{kind}.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            rows.extend(csv.DictReader(handle))
    return rows


def org_names(checker: Client, label: str) -> list[str]:
    soql = f"SELECT Name FROM Account WHERE Name LIKE '{label} %'"
    return sorted(r["Name"] for r in checker.query_records(soql))


def expected_names(label: str, rows: int) -> list[str]:
    return [f"{label} {n:05d}" for n in range(rows)]


def new_label() -> str:
    return f"Bulk{uuid.uuid4().hex[:8]}"


POLL_FAULTS = {
    "503-while-polling": [{"path": JOB, "method": "GET", "status": 503, "times": 3}],
    "dropped-while-polling": [{"path": JOB, "method": "GET", "drop": "before", "times": 2}],
    "session-expired-while-polling": [{"path": JOB, "method": "GET", "expire_sessions": True, "skip": 2, "times": 1}],
    "503-on-create-and-close": [
        {"path": r"/jobs/ingest$", "method": "POST", "status": 503, "times": 1},
        {"path": JOB, "method": "PATCH", "status": 503, "times": 1},
    ],
    "503-on-results-download": [{"path": r"Results/$", "method": "GET", "status": 503, "times": 2}],
}


@pytest.mark.parametrize("name", list(POLL_FAULTS))
def test_load_completes_exactly_once_under_transient_faults(
    name: str, bulk_emulator: Any, bulk_conn: str, bulk_checker: Client, tmp_path: Path
) -> None:
    label, rows = new_label(), 1500
    source = write_source(tmp_path / "in.csv", label, rows)
    bulk_emulator.add_faults(*POLL_FAULTS[name])
    result = make_operator(bulk_conn, source, tmp_path / "results").execute(context=task_context(FakeTI()))
    assert (result["records_processed"], result["records_failed"]) == (rows, 0)
    assert all(rule["fired"] for rule in bulk_emulator.faults())
    assert org_names(bulk_checker, label) == expected_names(label, rows)
    assert len(result_rows(tmp_path / "results", "successful")) == rows
    assert len(requests_to(bulk_emulator.requests_log(), "/batches", "PUT")) == 1


@pytest.mark.parametrize(
    "fault",
    [{"status": 503}, {"expire_sessions": True}],
    ids=["503-on-upload", "session-expired-on-upload"],
)
def test_upload_retried_after_a_safe_failure_loads_every_row(
    fault: dict[str, Any], bulk_emulator: Any, bulk_conn: str, bulk_checker: Client, tmp_path: Path
) -> None:
    label, rows = new_label(), 300
    source = write_source(tmp_path / "in.csv", label, rows)
    bulk_emulator.add_faults({"path": r"/batches$", "method": "PUT", "times": 1, **fault})
    try:
        result = make_operator(bulk_conn, source, tmp_path / "results").execute(context=task_context(FakeTI()))
    except AirflowException:
        result = None  # failing loudly would be acceptable; succeeding with rows missing is not
    assert result is not None and result["records_processed"] == rows
    assert org_names(bulk_checker, label) == expected_names(label, rows)


def test_close_whose_response_was_lost_does_not_fail_a_running_load(
    bulk_emulator: Any, bulk_conn: str, bulk_checker: Client, tmp_path: Path
) -> None:
    label, rows = new_label(), 300
    source = write_source(tmp_path / "in.csv", label, rows)
    bulk_emulator.add_faults({"path": JOB, "method": "PATCH", "drop": "after", "times": 1})
    result = make_operator(bulk_conn, source, tmp_path / "results").execute(context=task_context(FakeTI()))
    assert result["records_processed"] == rows
    assert org_names(bulk_checker, label) == expected_names(label, rows)


def test_job_create_that_may_have_landed_is_not_resent_and_no_data_is_sent(
    bulk_emulator: Any, bulk_conn: str, bulk_checker: Client, tmp_path: Path
) -> None:
    label = new_label()
    source = write_source(tmp_path / "in.csv", label, 50)
    bulk_emulator.add_faults(
        {"path": r"/jobs/ingest$", "method": "POST", "status": 500, "after_processing": True, "times": 1}
    )
    ti = FakeTI()
    with pytest.raises(SalesforceOutcomeUnknownError):
        make_operator(bulk_conn, source, tmp_path / "results").execute(context=task_context(ti))
    log = bulk_emulator.requests_log()
    assert len(requests_to(log, "/jobs/ingest", "POST")) == 1
    assert not requests_to(log, "/batches")  # nothing uploaded into a job we cannot name
    assert org_names(bulk_checker, label) == []


def test_result_download_cut_mid_stream_is_retried_or_leaves_no_truncated_file(
    bulk_emulator: Any, bulk_conn: str, tmp_path: Path
) -> None:
    label, rows = new_label(), 300
    source = write_source(tmp_path / "in.csv", label, rows)
    bulk_emulator.add_faults({"path": r"/successfulResults/$", "method": "GET", "drop": "partial", "times": 1})
    results = tmp_path / "results"
    try:
        make_operator(bulk_conn, source, results).execute(context=task_context(FakeTI()))
    except Exception:  # a loud failure is fine, as long as no truncated file is left
        assert not list(results.glob("*-successful.csv"))
    else:
        assert len(result_rows(results, "successful")) == rows


def test_job_failed_mid_way_fails_the_task_with_its_error_message_and_keeps_every_result(
    bulk_emulator: Any, bulk_conn: str, bulk_checker: Client, tmp_path: Path
) -> None:
    """Two jobs: the first loads; Salesforce fails the second (its last rows end with CRLF, the file's with LF)."""
    label, rows = new_label(), 3000
    source = write_source(tmp_path / "in.csv", label, rows, crlf_tail=10)
    results = tmp_path / "results"
    ti = FakeTI()
    with pytest.raises(AirflowException, match=r"did not complete: .* Failed: ClientInputError : LineEnding") as caught:
        make_operator(bulk_conn, source, results, max_upload_bytes=100_000).execute(context=task_context(ti))
    first_job, second_job = ti.pushed["job_ids"]
    assert second_job in str(caught.value) and first_job not in str(caught.value)
    outcome = ti.pushed["bulk_results"]  # pushed before the task failed
    assert outcome["jobs"][first_job]["state"] == "JobComplete"
    assert outcome["jobs"][second_job]["state"] == "Failed"
    successful = result_rows(results, "successful")
    unprocessed = result_rows(results, "unprocessed")
    # Nothing lost: the first job's rows are in its successful results, the failed job's in its unprocessed ones.
    assert len(successful) == outcome["jobs"][first_job]["numberRecordsProcessed"] > 0
    assert sorted([r["Name"] for r in successful] + [r["Name"] for r in unprocessed]) == expected_names(label, rows)
    assert org_names(bulk_checker, label) == sorted(r["Name"] for r in successful)


@dataclass
class BackgroundLoad:
    """A 3,000-row load running in a thread, once its (single) job has been submitted."""

    label: str
    rows: int
    results: Path
    operator: SalesforceBulkIngestOperator
    worker: threading.Thread
    errors: list[BaseException]
    job_id: str


def start_load(bulk_conn: str, tmp_path: Path, rows: int = 3000) -> BackgroundLoad:
    label = new_label()
    source = write_source(tmp_path / "in.csv", label, rows)
    results = tmp_path / "results"
    ti = FakeTI()
    operator = make_operator(bulk_conn, source, results)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            operator.execute(context=task_context(ti))
        except BaseException as exc:
            errors.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    wait_until(lambda: "job_ids" in ti.pushed)
    (job_id,) = ti.pushed["job_ids"]
    return BackgroundLoad(label, rows, results, operator, worker, errors, job_id)


def test_job_aborted_mid_way_by_someone_else_fails_the_task_and_accounts_for_every_row(
    bulk_emulator: Any, bulk_conn: str, bulk_checker: Client, tmp_path: Path
) -> None:
    load = start_load(bulk_conn, tmp_path)
    wait_until(lambda: int(bulk_checker.jobs.ingest.info(load.job_id).body.get("numberRecordsProcessed") or 0) > 0)
    bulk_checker.jobs.ingest.abort(load.job_id)  # an admin in Setup, or another process
    load.worker.join(timeout=60)
    assert not load.worker.is_alive()
    (error,) = load.errors
    assert isinstance(error, AirflowException) and f"{load.job_id} Aborted" in str(error)
    successful = result_rows(load.results, "successful")
    unprocessed = result_rows(load.results, "unprocessed")
    assert 0 < len(successful) < load.rows
    assert len(successful) + len(result_rows(load.results, "failed")) + len(unprocessed) == load.rows
    assert org_names(bulk_checker, load.label) == sorted(r["Name"] for r in successful)


def test_a_killed_task_aborts_its_open_jobs(
    bulk_emulator: Any, bulk_conn: str, bulk_checker: Client, tmp_path: Path
) -> None:
    load = start_load(bulk_conn, tmp_path)
    wait_until(lambda: bulk_checker.jobs.ingest.info(load.job_id).body["state"] in ("InProgress", "JobComplete"))
    load.operator.on_kill()  # what Airflow calls when a user marks the running task failed
    load.worker.join(timeout=60)
    info = bulk_checker.jobs.ingest.info(load.job_id).body
    assert info["state"] == "Aborted" and info["numberRecordsProcessed"] < load.rows
    patches = requests_to(bulk_emulator.requests_log(), load.job_id, "PATCH")
    assert len(patches) == 2  # the close, then the abort
    assert load.errors and "Aborted" in str(load.errors[0])
    assert org_names(bulk_checker, load.label) == sorted(r["Name"] for r in result_rows(load.results, "successful"))


def test_on_kill_leaves_finished_jobs_alone(bulk_emulator: Any, bulk_conn: str, bulk_checker: Client) -> None:
    done = bulk_checker.jobs.ingest.create({"object": "Account", "operation": "insert"}).body["id"]
    bulk_checker.jobs.ingest.upload(done, b"Name\nKill Leaves Me\n")
    bulk_checker.jobs.ingest.close(done)
    wait_until(lambda: bulk_checker.jobs.ingest.info(done).body["state"] == "JobComplete")
    still_open = bulk_checker.jobs.ingest.create({"object": "Account", "operation": "insert"}).body["id"]
    operator = make_operator(bulk_conn, "file:///unused.csv", Path("/unused"))
    operator._job_ids = [done, still_open]
    bulk_emulator.clear_requests_log()
    operator.on_kill()
    assert bulk_checker.jobs.ingest.info(done).body["state"] == "JobComplete"
    assert bulk_checker.jobs.ingest.info(still_open).body["state"] == "Aborted"
    assert [e["path"].rsplit("/", 1)[-1] for e in requests_to(bulk_emulator.requests_log(), "/jobs/", "PATCH")] == [
        still_open
    ]
