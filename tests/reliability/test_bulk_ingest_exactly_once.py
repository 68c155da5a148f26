"""Bulk ingest exactly once: bad input loads nothing, and a retry (or a clear) never loads a row twice.

A retry is played as Airflow 3.3 plays it: a fresh operator instance, a new try number, and the same
task state store (``MemoryTaskStateStore``; the real one is exercised in ``tests/deployment``). Every
test counts the records in the emulator by a unique label and the jobs created from its request log.
"""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowException
from reliability_support import MemoryTaskStateStore, first_event, requests_to, task_context, with_fast_retries

try:
    from airflow.sdk.exceptions import TaskDeferred
except ImportError:  # Airflow 3.1
    from airflow.exceptions import TaskDeferred  # type: ignore[no-redef]

from airflow_provider_sfpy.client import Client
from airflow_provider_sfpy.operators.bulk import INGEST_STATE_KEY, SalesforceBulkIngestOperator
from airflow_provider_sfpy.operators.task_state import AirflowFailException
from airflow_provider_sfpy.sensors.bulk import SalesforceBulkJobSensor

CREATE_JOB = r"/jobs/ingest$"


class TryTI:
    """A task instance of one try: its number, and what it pushes to XCom."""

    def __init__(self, try_number: int) -> None:
        self.try_number = try_number
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


def a_try(store: MemoryTaskStateStore | None, number: int) -> tuple[Any, TryTI]:
    ti = TryTI(number)
    context = task_context(ti) if store is None else task_context(ti, task_state_store=store)
    return context, ti


def write_rows(path: Path, label: str, rows: int, *, bad_line: bytes | None = None) -> str:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["Name", "Description"])
    writer.writerows([f"{label} {n:05d}", f"row {n}, with a comma"] for n in range(rows))
    data = text.getvalue().encode()
    path.write_bytes(data + (bad_line or b""))
    return path.as_uri()


def loader(conn_id: str, source: str, **kwargs: Any) -> SalesforceBulkIngestOperator:
    options: dict[str, Any] = {"deferrable": False, "poll_interval": 0.1, "max_poll_interval": 0.2}
    options.update(kwargs)
    operator = SalesforceBulkIngestOperator(
        task_id="load", object_type="Account", operation="insert", source=source, sfpy_conn_id=conn_id, **options
    )
    return with_fast_retries(operator)


def org_count(checker: Client, label: str) -> int:
    return int(checker.query(f"SELECT COUNT() FROM Account WHERE Name LIKE '{label} %'").body["totalSize"])


def jobs_created(emulator: Any) -> int:
    return len(requests_to_create(emulator))


def requests_to_create(emulator: Any) -> list[dict[str, Any]]:
    import re

    return [e for e in emulator.requests_log() if e["method"] == "POST" and re.search(CREATE_JOB, e["path"])]


def new_label() -> str:
    return f"Once{uuid.uuid4().hex[:8]}"


# ---------------------------------------------------------------- 1. validate before load
BAD_TAILS = {
    "ragged-row": (b"only one field\n", r"data row 401 \(line 402\) has 1 fields but the header has 2"),
    "not-utf8": (b"Caf\xe9 Latin-1,x\n", r"not valid UTF-8 \(near line 402"),
    "unterminated-quote": (b'"never closed,x\n', r"cannot be parsed at line|has 1 fields"),
}


@pytest.mark.parametrize("tail", list(BAD_TAILS), ids=list(BAD_TAILS))
def test_a_bad_row_in_a_later_chunk_creates_no_job_at_all(
    bulk_emulator: Any, bulk_conn: str, bulk_checker: Client, tmp_path: Path, tail: str
) -> None:
    bad_line, message = BAD_TAILS[tail]
    label = new_label()
    source = write_rows(tmp_path / "in.csv", label, 400, bad_line=bad_line)
    bulk_emulator.clear_requests_log()
    with pytest.raises(AirflowException, match=message) as caught:
        loader(bulk_conn, source, max_upload_bytes=4000).execute(context=task_context(TryTI(1)))
    assert "Nothing was sent to Salesforce" in str(caught.value)
    assert jobs_created(bulk_emulator) == 0
    assert org_count(bulk_checker, label) == 0


def test_an_oversized_record_in_a_later_chunk_creates_no_job(
    bulk_emulator: Any, bulk_conn: str, bulk_checker: Client, tmp_path: Path
) -> None:
    label = new_label()
    source = write_rows(tmp_path / "in.csv", label, 400, bad_line=b"huge," + b"x" * 5000 + b"\n")
    bulk_emulator.clear_requests_log()
    with pytest.raises(AirflowException, match=r"data row 401 is 5,006 bytes"):
        loader(bulk_conn, source, max_upload_bytes=4000).execute(context=task_context(TryTI(1)))
    assert jobs_created(bulk_emulator) == 0 and org_count(bulk_checker, label) == 0


# ---------------------------------------------------------------- 2. retries resume, never resubmit
def test_a_retry_after_results_delivery_failed_loads_nothing_again(
    bulk_emulator: Any, bulk_conn: str, bulk_checker: Client, tmp_path: Path
) -> None:
    label, rows = new_label(), 250
    source = write_rows(tmp_path / "in.csv", label, rows)
    blocked = tmp_path / "results"
    blocked.write_text("a file where the results folder should be")  # try 1 cannot save results
    store = MemoryTaskStateStore()
    bulk_emulator.clear_requests_log()

    context, _ = a_try(store, 1)
    with pytest.raises(Exception, match="results"):
        loader(bulk_conn, source, max_upload_bytes=4000, results_destination=blocked.as_uri()).execute(context=context)
    first_jobs = jobs_created(bulk_emulator)
    assert first_jobs > 1 and org_count(bulk_checker, label) == rows

    blocked.unlink()  # the retry can deliver
    context, ti = a_try(store, 2)
    result = loader(bulk_conn, source, max_upload_bytes=4000, results_destination=blocked.as_uri()).execute(
        context=context
    )
    assert jobs_created(bulk_emulator) == first_jobs  # no new job
    assert org_count(bulk_checker, label) == rows  # each record once
    assert result["records_processed"] == rows
    assert sorted(ti.pushed["job_ids"]) == sorted(result["jobs"])
    assert len(list(blocked.glob("*-successful.csv"))) == first_jobs


def test_a_job_left_open_by_a_cut_upload_is_aborted_and_its_chunk_sent_once_more(
    bulk_emulator: Any, bulk_conn: str, bulk_checker: Client, tmp_path: Path
) -> None:
    """Try 1 loads chunk 1, then its upload of chunk 2 is cut for good (the job stays Open). The retry
    keeps chunk 1's job, aborts the Open one, and sends chunk 2 in a new job: every record once."""
    label, rows = new_label(), 250
    source = write_rows(tmp_path / "in.csv", label, rows)
    store = MemoryTaskStateStore()
    bulk_emulator.clear_requests_log()
    bulk_emulator.add_faults({"path": r"/batches$", "method": "PUT", "drop": "before", "skip": 1, "times": 50})
    context, _ = a_try(store, 1)
    with pytest.raises(Exception):  # noqa: B017 - the cut upload's own error
        loader(bulk_conn, source, max_upload_bytes=8000).execute(context=context)
    bulk_emulator.clear_faults()
    recorded = store.get(INGEST_STATE_KEY)
    first_job, open_job = recorded["chunks"][0]["job_id"], recorded["chunks"][1]["job_id"]
    assert bulk_checker.jobs.ingest.info(open_job).body["state"] == "Open"
    assert all(chunk["job_id"] is None for chunk in recorded["chunks"][2:])

    context, _ = a_try(store, 2)
    result = loader(bulk_conn, source, max_upload_bytes=8000).execute(context=context)
    assert org_count(bulk_checker, label) == rows
    assert result["records_processed"] == rows
    assert bulk_checker.jobs.ingest.info(open_job).body["state"] == "Aborted"
    assert first_job in result["jobs"] and open_job not in result["jobs"]
    assert jobs_created(bulk_emulator) == len(recorded["chunks"]) + 1  # one job per chunk, plus the replacement


def test_a_deferred_load_whose_wait_timed_out_is_waited_on_again_by_the_retry(
    bulk_emulator: Any, bulk_conn: str, bulk_checker: Client, tmp_path: Path
) -> None:
    label, rows = new_label(), 1500
    source = write_rows(tmp_path / "in.csv", label, rows)
    store = MemoryTaskStateStore()
    bulk_emulator.clear_requests_log()
    context, ti = a_try(store, 1)
    operator = loader(bulk_conn, source, deferrable=True)
    with pytest.raises(TaskDeferred):
        operator.execute(context=context)
    (job_id,) = ti.pushed["job_ids"]
    # The trigger gave up (its deadline passed) while the job still ran: try 1 fails on resuming.
    timeout_event = {"status": "timeout", "jobs": {job_id: {"state": "InProgress"}}, "message": "deadline"}
    with pytest.raises(AirflowException, match="waits for the same jobs again"):
        loader(bulk_conn, source, deferrable=True).execute_complete(context=context, event=timeout_event)

    context, ti = a_try(store, 2)
    retry = loader(bulk_conn, source, deferrable=True)
    try:
        result = retry.execute(context=context)
    except TaskDeferred as deferred:
        assert deferred.trigger.job_ids == [job_id]  # the same job, not a new one
        event = asyncio.run(first_event(deferred.trigger))
        result = loader(bulk_conn, source, deferrable=True).execute_complete(context=context, event=event.payload)
    assert jobs_created(bulk_emulator) == 1
    assert org_count(bulk_checker, label) == rows and result["records_processed"] == rows


def test_a_retry_with_a_changed_source_sends_nothing(
    bulk_emulator: Any, bulk_conn: str, bulk_checker: Client, tmp_path: Path
) -> None:
    label, rows = new_label(), 250
    path = tmp_path / "in.csv"
    source = write_rows(path, label, rows)
    store = MemoryTaskStateStore()
    refuse_second_job = {"path": CREATE_JOB, "method": "POST", "status": 400, "error_code": "INVALID_FIELD"}
    bulk_emulator.add_faults({**refuse_second_job, "skip": 1, "times": 1})
    context, _ = a_try(store, 1)
    with pytest.raises(Exception):  # noqa: B017 - the refused second job
        loader(bulk_conn, source, max_upload_bytes=8000).execute(context=context)
    bulk_emulator.clear_requests_log()
    write_rows(path, label, rows + 5)  # the file was replaced between the tries
    context, _ = a_try(store, 2)
    with pytest.raises(AirflowFailException, match="the source changed since an earlier try"):
        loader(bulk_conn, source, max_upload_bytes=8000).execute(context=context)
    assert jobs_created(bulk_emulator) == 0


def test_a_try_stopped_while_deferred_has_its_running_jobs_aborted_by_the_next_try(
    bulk_emulator: Any, bulk_conn: str, bulk_checker: Client, tmp_path: Path
) -> None:
    """Marked failed (or cleared) while it waited and no triggerer ran: nobody aborted its job. The
    next try finds the job still running, aborts it, sends nothing, and fails saying what happened."""
    label, rows = new_label(), 3000
    source = write_rows(tmp_path / "in.csv", label, rows)
    results = tmp_path / "results"
    store = MemoryTaskStateStore()
    bulk_emulator.clear_requests_log()
    context, ti = a_try(store, 1)
    with pytest.raises(TaskDeferred):
        loader(bulk_conn, source, deferrable=True, results_destination=results.as_uri()).execute(context=context)
    (job_id,) = ti.pushed["job_ids"]

    context, _ = a_try(store, 2)  # the next try; try 1 never resumed
    with pytest.raises(AirflowFailException, match=rf"{job_id} were aborted because the try that started them"):
        loader(bulk_conn, source, deferrable=True, results_destination=results.as_uri()).execute(context=context)
    info = bulk_checker.jobs.ingest.info(job_id).body
    assert info["state"] == "Aborted"
    assert jobs_created(bulk_emulator) == 1
    loaded = org_count(bulk_checker, label)
    assert loaded < rows  # stopped mid-way
    with (results / f"{job_id}-unprocessed.csv").open(newline="") as handle:
        unprocessed = list(csv.DictReader(handle))
    assert loaded + len(unprocessed) == rows  # every row is either in Salesforce or in the unprocessed file


# ---------------------------------------------------------------- Airflow 3.1/3.2: no store
def test_without_a_task_state_store_a_failure_after_loading_is_not_retried(
    bulk_emulator: Any, bulk_conn: str, tmp_path: Path
) -> None:
    label = new_label()
    source = write_rows(tmp_path / "in.csv", label, 50)
    blocked = tmp_path / "results"
    blocked.write_text("not a folder")
    ti = TryTI(1)
    with pytest.raises(AirflowFailException, match=r"Not retried: Bulk job\(s\) \w+ had already reached Salesforce"):
        loader(bulk_conn, source, results_destination=blocked.as_uri()).execute(context=task_context(ti))
    with pytest.raises(OSError, match="cannot write to") as caught:  # opted in: the original, retryable error
        loader(bulk_conn, source, results_destination=blocked.as_uri(), retry_after_load=True).execute(
            context=task_context(TryTI(1))
        )
    assert not isinstance(caught.value, AirflowFailException)


def test_without_a_store_bad_input_stays_an_ordinary_failure(bulk_conn: str, tmp_path: Path) -> None:
    source = write_rows(tmp_path / "in.csv", new_label(), 5, bad_line=b"ragged\n")
    with pytest.raises(AirflowException) as caught:
        loader(bulk_conn, source).execute(context=task_context(TryTI(1)))
    assert not isinstance(caught.value, AirflowFailException)


# ---------------------------------------------------------------- check before deferring
def test_a_sub_second_job_completes_without_deferral(
    bulk_emulator: Any, bulk_conn: str, bulk_checker: Client, tmp_path: Path
) -> None:
    label = new_label()
    source = write_rows(tmp_path / "in.csv", label, 20)
    result = loader(bulk_conn, source, deferrable=True, poll_interval=1.0).execute(context=task_context(TryTI(1)))
    assert result["records_processed"] == 20 and org_count(bulk_checker, label) == 20


# ---------------------------------------------------------------- the sensor delivers results
@pytest.mark.parametrize("deferrable", [False, True], ids=["poke", "deferred"])
def test_the_sensor_saves_an_external_jobs_results_with_the_operators_code(
    bulk_emulator: Any, bulk_conn: str, bulk_checker: Client, tmp_path: Path, deferrable: bool
) -> None:
    ingest = bulk_checker.jobs.ingest
    job = ingest.create({"object": "Account", "operation": "insert", "lineEnding": "LF"}).body
    label = new_label()
    ingest.upload(job["id"], "Name\n" + "".join(f"{label} {n}\n" for n in range(300)))
    ingest.close(job["id"])
    results = tmp_path / "results"
    sensor = SalesforceBulkJobSensor(
        task_id="wait",
        job_ids=job["id"],
        sfpy_conn_id=bulk_conn,
        poke_interval=0.1,
        timeout=60,
        deferrable=deferrable,
        results_destination=results.as_uri(),
        max_failed_records=0,
    )
    ti = TryTI(1)
    try:
        outcome = sensor.execute(context=task_context(ti))
    except TaskDeferred as deferred:
        event = asyncio.run(first_event(deferred.trigger))
        outcome = sensor.execute_complete(context=task_context(ti), event=event.payload)
    assert outcome["records_processed"] == 300 and ti.pushed["bulk_results"] == outcome
    with (results / f"{job['id']}-successful.csv").open(newline="") as handle:
        assert len(list(csv.DictReader(handle))) == 300


def test_the_sensor_fails_on_failed_rows_after_saving_them(
    bulk_emulator: Any, bulk_conn: str, bulk_checker: Client, tmp_path: Path
) -> None:
    ingest = bulk_checker.jobs.ingest
    job = ingest.create({"object": "Account", "operation": "insert", "lineEnding": "LF"}).body
    ingest.upload(job["id"], f"Name,Industry\n{new_label()} ok,Banking\n,Banking\n")
    ingest.close(job["id"])
    sensor = SalesforceBulkJobSensor(
        task_id="wait", job_ids=[job["id"]], sfpy_conn_id=bulk_conn, poke_interval=0.1, timeout=60,
        deferrable=False, deliver_results=True, max_failed_records=0,
    )  # fmt: skip
    ti = TryTI(1)
    with pytest.raises(AirflowException, match=r"1 record\(s\) failed, more than max_failed_records=0"):
        sensor.execute(context=task_context(ti))
    (failed_csv,) = ti.pushed["bulk_results"]["results"]["failed"].values()
    assert "REQUIRED_FIELD_MISSING" in failed_csv


def test_the_sensor_logs_in_once_for_all_its_pokes(bulk_emulator: Any, bulk_conn: str, bulk_checker: Client) -> None:
    ingest = bulk_checker.jobs.ingest
    job = ingest.create({"object": "Account", "operation": "insert", "lineEnding": "LF"}).body
    ingest.upload(job["id"], "Name\n" + "".join(f"{new_label()} {n}\n" for n in range(1500)))
    ingest.close(job["id"])
    bulk_emulator.clear_requests_log()
    sensor = SalesforceBulkJobSensor(
        task_id="wait", job_ids=job["id"], sfpy_conn_id=bulk_conn, poke_interval=0.1, timeout=60, deferrable=False
    )
    sensor.execute(context=task_context(TryTI(1)))
    polls = requests_to(bulk_emulator.requests_log(), f"/jobs/ingest/{job['id']}", "GET")
    logins = requests_to(bulk_emulator.requests_log(), "/oauth2/token")
    assert len(polls) > 2 and len(logins) == 1


@pytest.mark.parametrize("to_files", [True, False], ids=["results-destination", "xcom"])
def test_a_result_download_cut_mid_stream_is_fetched_again(
    bulk_emulator: Any, bulk_conn: str, tmp_path: Path, to_files: bool
) -> None:
    """A result GET is safe to repeat: a download cut half-way is fetched again, whole, within the try."""
    label, rows = new_label(), 300
    source = write_rows(tmp_path / "in.csv", label, rows)
    results = tmp_path / "results"
    bulk_emulator.add_faults({"path": r"/successfulResults/$", "method": "GET", "drop": "partial", "times": 1})
    options: dict[str, Any] = {"results_destination": results.as_uri()} if to_files else {}
    outcome = loader(bulk_conn, source, **options).execute(context=task_context(TryTI(1)))
    (saved,) = outcome["results"]["successful"].values()
    text = (results / Path(saved).name).read_text() if to_files else saved
    assert len(list(csv.DictReader(io.StringIO(text)))) == rows
    gets = requests_to(bulk_emulator.requests_log(), "/successfulResults/", "GET")
    assert len(gets) == 2 and sum(1 for e in gets if e["fault"] is not None) == 1
