"""Bulk API 2.0 ingest operator, trigger and sensor against the emulator's real background jobs."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk import ObjectStoragePath
from airflow.sdk.exceptions import AirflowException

try:
    from airflow.sdk.exceptions import TaskDeferred
except ImportError:  # Airflow 3.1
    from airflow.exceptions import TaskDeferred  # type: ignore[no-redef]

from airflow_provider_sfpy.client import Client
from airflow_provider_sfpy.operators.bulk import SalesforceBulkIngestOperator
from airflow_provider_sfpy.sensors.bulk import SalesforceBulkJobSensor
from airflow_provider_sfpy.triggers.bulk import SalesforceBulkJobTrigger


class FakeTI:
    """Collects what the operator pushes to XCom (a real TI needs a running task)."""

    def __init__(self) -> None:
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


def write_csv(path: Path, rows: list[list[str]]) -> str:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path.as_uri()


def ingest(**kwargs: Any) -> tuple[dict[str, Any], FakeTI]:
    ti = FakeTI()
    operator = SalesforceBulkIngestOperator(task_id="load", deferrable=False, poll_interval=0.2, **kwargs)
    result = operator.execute(context={"ti": ti})  # type: ignore[arg-type]
    return result, ti


def count(checker: Client, where: str) -> int:
    return int(checker.query(f"SELECT COUNT() FROM Account WHERE {where}").body["totalSize"])


def test_insert_split_into_several_jobs_with_results_saved(sfpy_conn: str, checker: Client, tmp_path: Path) -> None:
    rows = [["Name", "Description"]] + [[f"Bulk Split {n:04d}", f"multi\nline, {n}"] for n in range(300)]
    source = write_csv(tmp_path / "accounts.csv", rows)
    result, ti = ingest(
        object_type="Account",
        operation="insert",
        source=source,
        max_upload_bytes=4000,
        results_destination=(tmp_path / "results").as_uri(),
    )
    assert len(ti.pushed["job_ids"]) == len(result["jobs"]) > 1
    assert result["records_processed"] == 300 and result["records_failed"] == 0
    assert count(checker, "Name LIKE 'Bulk Split %'") == 300
    saved = result["results"]["successful"]
    total = 0
    for path in saved.values():
        with ObjectStoragePath(path).open("rb") as raw:
            total += len(list(csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8", newline=""))))
    assert total == 300
    assert ti.pushed["job_links"][0].endswith(f"%2F{ti.pushed['job_ids'][0]}")


def test_polling_logs_each_jobs_progress_against_the_rows_it_was_sent(
    sfpy_conn: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [["Name"]] + [[f"Bulk Progress {n}"] for n in range(120)]
    result, ti = ingest(
        object_type="Account", operation="insert", source=write_csv(tmp_path / "p.csv", rows), max_upload_bytes=1500
    )
    job_ids = ti.pushed["job_ids"]
    assert len(job_ids) > 1 and result["records_processed"] == 120
    states = [line for line in capsys.readouterr().out.splitlines() if "Job states:" in line]
    sizes = [int(n) for n in re.findall(r"=JobComplete \(\d+/(\d+) records\)", states[-1])]
    assert sum(sizes) == 120 and len(sizes) == len(job_ids)


def test_failed_rows_are_saved_before_the_task_fails(sfpy_conn: str, checker: Client, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "a.csv", [["Name", "Industry"], ["Bulk Good One", "Banking"], ["", "Banking"]])
    with pytest.raises(AirflowException, match=r"1 record\(s\) failed, more than max_failed_records=0"):
        ingest(
            object_type="Account", operation="insert", source=source, results_destination=(tmp_path / "out").as_uri()
        )
    (failed_file,) = (tmp_path / "out").glob("*-failed.csv")
    failed = list(csv.DictReader(failed_file.open(newline="")))
    assert len(failed) == 1 and failed[0]["sf__Error"].startswith("REQUIRED_FIELD_MISSING")
    assert count(checker, "Name = 'Bulk Good One'") == 1


def test_failures_within_budget_go_to_xcom(sfpy_conn: str) -> None:
    records = [{"Name": "Bulk Xcom A"}, {"Name": ""}]
    result, _ = ingest(object_type="Account", operation="insert", records=records, max_failed_records=1)
    (failed_csv,) = result["results"]["failed"].values()
    assert "REQUIRED_FIELD_MISSING" in failed_csv
    assert result["records_failed"] == 1
    (successful_csv,) = result["results"]["successful"].values()
    assert "Bulk Xcom A" in successful_csv  # results that fit still arrive as CSV text
    assert result["omitted_results"] == []


def run_deferred(operator: SalesforceBulkIngestOperator, ti: FakeTI) -> Any:
    """Run a deferrable operator as Airflow does: execute, the trigger in the triggerer, execute_complete.

    The operator checks its jobs once before deferring, after ``poll_interval`` (at most 1 s); a 10 ms
    first check comes well before the emulator starts a job (0.2 s after it is closed), so it defers."""
    operator.poll_interval = 0.01
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(context={"ti": ti})  # type: ignore[arg-type]
    event = asyncio.run(_first_event(deferred.value.trigger))
    return operator.execute_complete(context={"ti": ti}, event=event.payload)  # type: ignore[arg-type]


def account_insert(**kwargs: Any) -> SalesforceBulkIngestOperator:
    """An Account insert polled every 0.2 s; ``kwargs`` give the data and anything else."""
    return SalesforceBulkIngestOperator(
        task_id="load", object_type="Account", operation="insert", poll_interval=0.2, **kwargs
    )


def warnings_logged(capsys: pytest.CaptureFixture[str]) -> list[str]:
    """The WARNING lines the operator logged (Airflow renders an operator's ``self.log`` to stdout)."""
    return [line for line in capsys.readouterr().out.splitlines() if "[warning" in line]


@pytest.mark.parametrize("deferrable", [False, True], ids=["polling", "deferred"])
def test_successful_results_over_the_xcom_cap_are_omitted_and_the_task_succeeds(
    sfpy_conn: str, checker: Client, tmp_path: Path, capsys: pytest.CaptureFixture[str], deferrable: bool
) -> None:
    """The load is done when the results are fetched: a result too big for XCom must not fail the task
    (a retry would insert every record again). It is left out, named in the outcome and in a warning."""
    label = f"Bulk Omit {'D' if deferrable else 'P'}"
    rows = [["Name", "Description"]] + [[f"{label} {n:04d}", f"row {n}"] for n in range(100)]
    source = write_csv(tmp_path / "big.csv", rows)
    assert (tmp_path / "big.csv").stat().st_size > 2000  # so the submit-time warning is due too
    operator = account_insert(source=source, max_xcom_result_bytes=2000, deferrable=deferrable)
    ti = FakeTI()
    result = run_deferred(operator, ti) if deferrable else operator.execute(context={"ti": ti})  # type: ignore[arg-type]

    assert count(checker, f"Name LIKE '{label} %'") == 100  # every record, exactly once
    (job_id,) = ti.pushed["job_ids"]
    assert result["records_processed"] == 100 and result["records_failed"] == 0
    assert ti.pushed["bulk_results"] == result
    assert result["results"]["successful"] == {job_id: None}
    assert result["results"]["failed"][job_id].startswith('"sf__Id","sf__Error"')  # small: still CSV text
    (omitted,) = result["omitted_results"]
    assert omitted["kind"] == "successful" and omitted["job_id"] == job_id
    assert omitted["max_xcom_result_bytes"] == 2000 and omitted["bytes_read"] > 2000
    assert "max_xcom_result_bytes=2,000" in omitted["reason"]
    assert omitted["download"].endswith(f"/jobs/ingest/{job_id}/successfulResults/")
    warnings = warnings_logged(capsys)
    (warned,) = [line for line in warnings if "NOT kept in XCom" in line]
    for text in (omitted["message"], warned):
        assert job_id in text and "results_destination=" in text and "7 days" in text
    # The early hint, before anything was loaded:
    assert any("more than max_xcom_result_bytes=2,000" in line for line in warnings)
    # What was left out can still be had from Salesforce by job id.
    full, _ = checker.jobs.ingest.results(job_id, "successful")
    assert len(list(csv.DictReader(io.StringIO(b"".join(full).decode())))) == 100


def test_reading_an_oversized_result_stops_at_the_cap(sfpy_conn: str, checker: Client) -> None:
    label = "Bulk Omit Stop"
    records = [{"Name": f"{label} {n:05d}", "Description": "x" * 100} for n in range(2000)]
    result, ti = ingest(object_type="Account", operation="insert", records=records, max_xcom_result_bytes=1000)
    (job_id,) = ti.pushed["job_ids"]
    (omitted,) = result["omitted_results"]
    full, _ = checker.jobs.ingest.results(job_id, "successful")
    size = len(b"".join(full))
    assert size > 200_000
    assert 1000 < omitted["bytes_read"] < size / 2  # one 64 KiB read at most, not the whole CSV
    assert count(checker, f"Name LIKE '{label} %'") == 2000


def test_failed_rows_over_the_xcom_cap_the_error_names_the_jobs(
    sfpy_conn: str, checker: Client, capsys: pytest.CaptureFixture[str]
) -> None:
    records = [{"Name": "Bulk Omit Failed Good"}] + [{"Name": "", "Description": f"bad {n}"} for n in range(60)]
    ti = FakeTI()
    operator = account_insert(records=records, max_xcom_result_bytes=2000, deferrable=False)
    with pytest.raises(AirflowException, match=r"60 record\(s\) failed, more than max_failed_records=0") as caught:
        operator.execute(context={"ti": ti})  # type: ignore[arg-type]
    (job_id,) = ti.pushed["job_ids"]
    message = str(caught.value)
    assert f"the failed rows of job(s) {job_id} were NOT kept in XCom" in message
    assert "max_xcom_result_bytes=2,000" in message and "results_destination=" in message
    assert "are in XCom" not in message
    outcome = ti.pushed["bulk_results"]  # pushed before the task failed
    assert outcome["results"]["failed"] == {job_id: None}
    assert "Bulk Omit Failed Good" in outcome["results"]["successful"][job_id]  # small: still CSV text
    assert [(o["kind"], o["job_id"]) for o in outcome["omitted_results"]] == [("failed", job_id)]
    assert any(f"failed results of Bulk job {job_id} were NOT kept in XCom" in w for w in warnings_logged(capsys))
    assert count(checker, "Name = 'Bulk Omit Failed Good'") == 1


def test_upsert_and_delete(sfpy_conn: str, checker: Client, tmp_path: Path) -> None:
    rows = [["External_Id__c", "Name"], ["BULK-UP-1", "Bulk Upsert 1"], ["BULK-UP-2", "Bulk Upsert 2"]]
    ingest(
        object_type="Account",
        operation="upsert",
        external_id_field="External_Id__c",
        source=write_csv(tmp_path / "u.csv", rows),
    )
    rows[1][1] = "Bulk Upsert 1 renamed"
    ingest(
        object_type="Account",
        operation="upsert",
        external_id_field="External_Id__c",
        source=write_csv(tmp_path / "u2.csv", rows),
    )
    assert count(checker, "Name LIKE 'Bulk Upsert%'") == 2
    ids = [r["Id"] for r in checker.query_records("SELECT Id FROM Account WHERE Name LIKE 'Bulk Upsert%'")]
    ingest(object_type="Account", operation="delete", records=[{"Id": i} for i in ids])
    assert count(checker, "Name LIKE 'Bulk Upsert%'") == 0


@pytest.mark.parametrize(
    ("rows", "kwargs", "message"),
    [
        ([["Name"]], {"operation": "insert"}, "header but no records"),
        ([["Name", "Industry"], ["a"]], {"operation": "insert"}, "has 1 fields but the header has 2"),
        ([["Name"], ["x"]], {"operation": "delete"}, r"needs the column\(s\) Id"),
        ([["Name"], ["x"]], {"operation": "upsert", "external_id_field": "External_Id__c"}, "External_Id__c"),
    ],
)
def test_bad_csv_fails_before_any_job(
    sfpy_conn: str, emulator: Any, tmp_path: Path, rows: list[list[str]], kwargs: dict[str, Any], message: str
) -> None:
    source = write_csv(tmp_path / "bad.csv", rows)
    with pytest.raises(AirflowException, match=message):
        ingest(object_type="Account", source=source, **kwargs)
    assert not [e for e in emulator.requests_log() if e["path"].endswith("/jobs/ingest")]


def test_unknown_field_fails_the_job_with_salesforce_message(sfpy_conn: str, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "f.csv", [["Name", "Colour__c"], ["x", "red"]])
    with pytest.raises(AirflowException, match="Colour__c"):
        ingest(object_type="Account", operation="insert", source=source)


def test_deferral_hands_a_json_only_trigger_to_the_triggerer(sfpy_conn: str, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "d.csv", [["Name"], ["Bulk Deferred"]])
    operator = SalesforceBulkIngestOperator(
        task_id="load", object_type="Account", operation="insert", source=source, deferrable=True, poll_interval=0.01
    )  # checked once after 10 ms, well before the emulator starts the job (0.2 s): it defers
    ti = FakeTI()
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(context={"ti": ti})  # type: ignore[arg-type]
    trigger = deferred.value.trigger
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_sfpy.triggers.bulk.SalesforceBulkJobTrigger"
    assert kwargs["job_ids"] == ti.pushed["job_ids"] and isinstance(kwargs["deadline"], float)
    assert kwargs["expected_records"] == {ti.pushed["job_ids"][0]: 1}  # for polls paced by progress
    rebuilt = SalesforceBulkJobTrigger(**kwargs)  # what a triggerer restart does
    event = asyncio.run(_first_event(rebuilt))
    assert event.payload["status"] == "success"
    result = operator.execute_complete(context={"ti": ti}, event=event.payload)  # type: ignore[arg-type]
    assert result["records_processed"] == 1


async def _first_event(trigger: SalesforceBulkJobTrigger) -> Any:
    async for event in trigger.run():
        return event
    raise AssertionError("the trigger yielded nothing")


def test_two_trigger_copies_complete_the_same_job_and_write_nothing(
    sfpy_conn: str, checker: Client, emulator: Any
) -> None:
    job = checker.jobs.ingest.create({"object": "Account", "operation": "insert"}).body
    checker.jobs.ingest.upload(job["id"], b"Name\nBulk Twin\n")
    checker.jobs.ingest.close(job["id"])
    emulator.clear_requests_log()

    async def both() -> list[Any]:
        a = SalesforceBulkJobTrigger(sfpy_conn_id=sfpy_conn, job_ids=[job["id"]], poll_interval=0.1)
        b = SalesforceBulkJobTrigger(**a.serialize()[1])
        return list(await asyncio.gather(_first_event(a), _first_event(b)))

    events = asyncio.run(both())
    assert [e.payload["status"] for e in events] == ["success", "success"]
    assert all(e.payload["jobs"][job["id"]]["state"] == "JobComplete" for e in events)
    writes = [e for e in emulator.requests_log() if e["method"] not in ("GET",) and "oauth2" not in e["path"]]
    assert writes == []


def test_trigger_reports_unknown_connection_and_unknown_job(sfpy_conn: str) -> None:
    missing_conn = asyncio.run(_first_event(SalesforceBulkJobTrigger(sfpy_conn_id="no_such_conn", job_ids=["750x"])))
    assert missing_conn.payload["status"] == "error" and "no_such_conn" in missing_conn.payload["message"]
    missing_job = asyncio.run(
        _first_event(SalesforceBulkJobTrigger(sfpy_conn_id=sfpy_conn, job_ids=["7505g00000000000AA"]))
    )
    assert missing_job.payload["status"] == "error" and "NOT_FOUND" in missing_job.payload["message"]


def test_trigger_deadline(sfpy_conn: str, checker: Client) -> None:
    job = checker.jobs.ingest.create({"object": "Account", "operation": "insert"}).body  # stays Open
    import time

    trigger = SalesforceBulkJobTrigger(
        sfpy_conn_id=sfpy_conn, job_ids=[job["id"]], poll_interval=0.1, deadline=time.time() + 0.3
    )
    event = asyncio.run(_first_event(trigger))
    assert event.payload["status"] == "timeout" and job["id"] in event.payload["message"]
    checker.jobs.ingest.abort(job["id"])


def test_sensor_on_an_external_job(sfpy_conn: str, checker: Client) -> None:
    job = checker.jobs.ingest.create({"object": "Account", "operation": "insert"}).body
    checker.jobs.ingest.upload(job["id"], b"Name\nBulk Sensed\n")
    checker.jobs.ingest.close(job["id"])
    sensor = SalesforceBulkJobSensor(task_id="wait", job_ids=job["id"], poke_interval=0.2, timeout=30, deferrable=False)
    result = sensor.execute(context={})  # type: ignore[arg-type]
    assert result[job["id"]]["state"] == "JobComplete"


def test_sensor_fails_on_an_aborted_job(sfpy_conn: str, checker: Client) -> None:
    job = checker.jobs.ingest.create({"object": "Account", "operation": "insert"}).body
    checker.jobs.ingest.abort(job["id"])
    sensor = SalesforceBulkJobSensor(
        task_id="wait", job_ids=[job["id"]], poke_interval=0.2, timeout=30, deferrable=True
    )
    with pytest.raises(AirflowException, match="Aborted"):
        sensor.execute(context={})  # type: ignore[arg-type]


def test_on_kill_aborts_open_jobs(sfpy_conn: str, checker: Client) -> None:
    job = checker.jobs.ingest.create({"object": "Account", "operation": "insert"}).body
    operator = SalesforceBulkIngestOperator(
        task_id="load", object_type="Account", operation="insert", records=[{"Name": "x"}], deferrable=False
    )
    operator._job_ids = [job["id"]]
    operator.on_kill()
    assert checker.jobs.ingest.info(job["id"]).body["state"] == "Aborted"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"operation": "merge"}, "operation must be one of"),
        ({"operation": "upsert"}, "external_id_field"),
        ({"operation": "insert", "records": [{"Name": "x"}]}, "exactly one of source"),
        ({"operation": "insert", "column_delimiter": "COLON"}, "column_delimiter"),
        ({"operation": "insert", "max_upload_bytes": 200_000_000}, "max_upload_bytes"),
    ],
)
def test_bad_arguments(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SalesforceBulkIngestOperator(task_id="x", object_type="Account", source="file:///tmp/x.csv", **kwargs)


def test_a_users_kill_aborts_the_jobs_the_trigger_waits_for(sfpy_conn: str, checker: Client) -> None:
    job = checker.jobs.ingest.create({"object": "Account", "operation": "insert"}).body
    trigger = SalesforceBulkJobTrigger(sfpy_conn_id=sfpy_conn, job_ids=[job["id"]], poll_interval=0.1)
    asyncio.run(trigger.on_kill())
    assert checker.jobs.ingest.info(job["id"]).body["state"] == "Aborted"


def test_a_triggerer_restart_never_aborts(sfpy_conn: str, checker: Client, emulator: Any) -> None:
    job = checker.jobs.ingest.create({"object": "Account", "operation": "insert"}).body  # stays Open

    async def start_then_cancel() -> None:
        trigger = SalesforceBulkJobTrigger(sfpy_conn_id=sfpy_conn, job_ids=[job["id"]], poll_interval=0.1)
        task = asyncio.ensure_future(_first_event(trigger))
        await asyncio.sleep(0.5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    emulator.clear_requests_log()
    asyncio.run(start_then_cancel())
    assert checker.jobs.ingest.info(job["id"]).body["state"] == "Open"
    assert not [e for e in emulator.requests_log() if e["method"] == "PATCH"]
    checker.jobs.ingest.abort(job["id"])


def test_unknown_object_fails_at_job_creation(sfpy_conn: str, tmp_path: Path) -> None:
    from airflow_provider_sfpy.client import SalesforceError

    source = write_csv(tmp_path / "o.csv", [["Name"], ["x"]])
    with pytest.raises(SalesforceError, match="Acount"):
        ingest(object_type="Acount", operation="insert", source=source)


def test_sensor_on_a_job_that_does_not_exist(sfpy_conn: str) -> None:
    from airflow_provider_sfpy.client import SalesforceNotFoundError

    sensor = SalesforceBulkJobSensor(
        task_id="wait", job_ids="7505g00000000000AA", poke_interval=0.2, timeout=5, deferrable=False
    )
    with pytest.raises(SalesforceNotFoundError):
        sensor.execute(context={})  # type: ignore[arg-type]


def test_triggers_of_one_connection_share_one_session(sfpy_conn: str, checker: Client, emulator: Any) -> None:
    jobs = []
    for _ in range(5):
        job = checker.jobs.ingest.create({"object": "Account", "operation": "insert"}).body
        checker.jobs.ingest.upload(job["id"], b"Name\nBulk Shared Session\n")
        checker.jobs.ingest.close(job["id"])
        jobs.append(job["id"])
    emulator.clear_requests_log()

    async def all_of_them() -> list[Any]:
        triggers = [SalesforceBulkJobTrigger(sfpy_conn_id=sfpy_conn, job_ids=[j], poll_interval=0.1) for j in jobs]
        return list(await asyncio.gather(*(_first_event(t) for t in triggers)))

    events = asyncio.run(all_of_them())
    assert all(e.payload["status"] == "success" for e in events)
    logins = [e for e in emulator.requests_log() if e["path"].endswith("/oauth2/token")]
    assert len(logins) <= 1
