"""A triggerer restart (or two triggerers) while a deferred Bulk load waits: the job runs once, nothing is written.

What a triggerer does on restart is rebuild each trigger from ``serialize()`` (classpath + kwargs) and run
it from the start; during a failover two copies can run at once. Here the trigger is started, cancelled
mid-wait, rebuilt from its serialized form (twice, concurrently), and the task is resumed with the event
on a fresh operator instance, as a worker does. The emulator's request log shows the trigger only reads.
"""

from __future__ import annotations

import asyncio
import csv
import importlib
import io
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowException

try:  # Airflow 3.2+
    from airflow.sdk.exceptions import TaskDeferred
except ImportError:  # Airflow 3.1
    from airflow.exceptions import TaskDeferred  # type: ignore[no-redef]
from reliability_support import FakeTI, first_event, requests_to, task_context, wait_until, writes

from airflow_provider_sfpy.client import Client
from airflow_provider_sfpy.operators.bulk import SalesforceBulkIngestOperator
from airflow_provider_sfpy.sensors.bulk import SalesforceBulkJobSensor
from airflow_provider_sfpy.triggers.bulk import SalesforceBulkJobTrigger


def rebuild(trigger: Any) -> Any:
    """What the triggerer does after a restart: import the classpath, call it with the serialized kwargs."""
    classpath, kwargs = trigger.serialize()
    module, name = classpath.rsplit(".", 1)
    return getattr(importlib.import_module(module), name)(**kwargs)


async def stop_mid_wait(trigger: Any, emulator: Any, job_id: str) -> None:
    """Run the trigger until it has polled the job at least twice, then cancel it like a triggerer shutdown."""
    task = asyncio.ensure_future(first_event(trigger))
    while len(requests_to(emulator.requests_log(), f"/jobs/ingest/{job_id}", "GET")) < 2:
        assert not task.done(), "the trigger finished before it could be stopped"
        await asyncio.sleep(0.02)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def loader(conn_id: str, source: str, results: Path) -> SalesforceBulkIngestOperator:
    return SalesforceBulkIngestOperator(
        task_id="load",
        object_type="Account",
        operation="insert",
        source=source,
        results_destination=results.as_uri(),
        deferrable=True,
        poll_interval=0.1,
        max_poll_interval=0.2,
        sfpy_conn_id=conn_id,
    )


def source_csv(path: Path, label: str, rows: int) -> str:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["Name"])
    writer.writerows([f"{label} {n:05d}"] for n in range(rows))
    path.write_text(text.getvalue())
    return path.as_uri()


def test_restarted_and_duplicated_trigger_completes_the_same_job_once_and_the_task_resumes(
    bulk_emulator: Any, bulk_conn: str, bulk_checker: Client, tmp_path: Path
) -> None:
    label, rows = f"Restart{uuid.uuid4().hex[:8]}", 3000
    source = source_csv(tmp_path / "in.csv", label, rows)
    ti = FakeTI()
    with pytest.raises(TaskDeferred) as deferred:
        loader(bulk_conn, source, tmp_path / "results").execute(context=task_context(ti))
    (job_id,) = ti.pushed["job_ids"]
    bulk_emulator.clear_requests_log()

    original = deferred.value.trigger
    asyncio.run(stop_mid_wait(original, bulk_emulator, job_id))
    assert bulk_checker.jobs.ingest.info(job_id).body["state"] in ("UploadComplete", "InProgress")  # not aborted

    async def two_rebuilt_copies() -> list[Any]:
        return list(await asyncio.gather(first_event(rebuild(original)), first_event(rebuild(original))))

    events = asyncio.run(two_rebuilt_copies())
    payloads = [event.payload for event in events]
    assert payloads[0] == payloads[1]
    assert payloads[0]["status"] == "success"
    assert payloads[0]["jobs"][job_id]["state"] == "JobComplete"
    assert payloads[0]["jobs"][job_id]["numberRecordsProcessed"] == rows
    assert writes(bulk_emulator.requests_log()) == []  # three triggers, only reads (and logins)

    # The worker resumes the task on a fresh operator instance, with the event only.
    resumed_ti = FakeTI()
    result = loader(bulk_conn, source, tmp_path / "results").execute_complete(
        context=task_context(resumed_ti),
        event=payloads[0],
    )
    assert result["records_processed"] == rows and result["records_failed"] == 0
    assert resumed_ti.pushed["bulk_results"] == result
    assert bulk_checker.query(f"SELECT COUNT() FROM Account WHERE Name LIKE '{label} %'").body["totalSize"] == rows
    (saved,) = (tmp_path / "results").glob(f"{job_id}-successful.csv")
    assert len(saved.read_text().splitlines()) == rows + 1


def test_a_restart_does_not_extend_the_deadline(bulk_emulator: Any, bulk_conn: str, bulk_checker: Client) -> None:
    job_id = bulk_checker.jobs.ingest.create({"object": "Account", "operation": "insert"}).body["id"]  # stays Open
    bulk_emulator.clear_requests_log()
    trigger = SalesforceBulkJobTrigger(
        sfpy_conn_id=bulk_conn, job_ids=[job_id], poll_interval=0.05, deadline=time.time() + 0.6
    )
    asyncio.run(stop_mid_wait(trigger, bulk_emulator, job_id))
    deadline = trigger.deadline
    assert deadline is not None
    wait_until(lambda: time.time() > deadline)
    started = time.monotonic()
    event = asyncio.run(first_event(rebuild(trigger)))
    assert event.payload["status"] == "timeout" and job_id in event.payload["message"]
    assert time.monotonic() - started < 5  # one poll, then the deadline it inherited
    assert writes(bulk_emulator.requests_log()) == []
    assert bulk_checker.jobs.ingest.info(job_id).body["state"] == "Open"  # a timeout does not abort either
    bulk_checker.jobs.ingest.abort(job_id)


def test_trigger_rides_out_503s_and_an_expired_session_while_waiting(
    bulk_emulator: Any, bulk_conn: str, bulk_checker: Client
) -> None:
    job_id = bulk_checker.jobs.ingest.create({"object": "Account", "operation": "insert"}).body["id"]
    bulk_checker.jobs.ingest.upload(job_id, "Name\n" + "".join(f"Ride Out {n}\n" for n in range(1000)))
    bulk_checker.jobs.ingest.close(job_id)
    bulk_emulator.clear_requests_log()
    bulk_emulator.add_faults(
        {"path": f"/jobs/ingest/{job_id}$", "method": "GET", "expire_sessions": True, "skip": 1, "times": 1},
        {"path": f"/jobs/ingest/{job_id}$", "method": "GET", "status": 503, "skip": 2, "times": 2},
    )
    trigger = SalesforceBulkJobTrigger(sfpy_conn_id=bulk_conn, job_ids=[job_id], poll_interval=0.05)
    event = asyncio.run(first_event(trigger))
    assert event.payload["status"] == "success"
    assert event.payload["jobs"][job_id]["numberRecordsProcessed"] == 1000
    assert all(rule["fired"] for rule in bulk_emulator.faults())
    log = bulk_emulator.requests_log()
    # The renewal, plus the first login unless an earlier trigger of this connection shared its session.
    assert writes(log) == [] and len(requests_to(log, "/oauth2/token", "POST")) in (1, 2)


def test_a_wait_that_cannot_continue_fails_the_task_loudly_and_leaves_the_job_running(
    bulk_emulator: Any, bulk_conn: str, bulk_checker: Client
) -> None:
    job_id = bulk_checker.jobs.ingest.create({"object": "Account", "operation": "insert"}).body["id"]  # stays Open
    bulk_emulator.clear_requests_log()
    bulk_emulator.add_faults({"path": f"/jobs/ingest/{job_id}$", "method": "GET", "status": 401})
    event = asyncio.run(first_event(SalesforceBulkJobTrigger(sfpy_conn_id=bulk_conn, job_ids=[job_id])))
    assert event.payload["status"] == "error" and "INVALID_SESSION_ID" in event.payload["message"]
    assert writes(bulk_emulator.requests_log()) == []
    operator = loader(bulk_conn, "file:///unused.csv", Path("/unused"))
    with pytest.raises(AirflowException, match=r"waiting for Bulk jobs failed \(error\): .*INVALID_SESSION_ID"):
        operator.execute_complete(context=task_context(FakeTI()), event=event.payload)
    bulk_emulator.clear_faults()
    assert bulk_checker.jobs.ingest.info(job_id).body["state"] == "Open"
    bulk_checker.jobs.ingest.abort(job_id)


def test_a_deferred_sensor_resumes_from_a_rebuilt_trigger(
    bulk_emulator: Any, bulk_conn: str, bulk_checker: Client
) -> None:
    job_id = bulk_checker.jobs.ingest.create({"object": "Account", "operation": "insert"}).body["id"]
    bulk_checker.jobs.ingest.upload(job_id, "Name\n" + "".join(f"Sensed Restart {n}\n" for n in range(2000)))
    bulk_checker.jobs.ingest.close(job_id)

    def sensor() -> SalesforceBulkJobSensor:
        return SalesforceBulkJobSensor(
            task_id="wait", job_ids=job_id, sfpy_conn_id=bulk_conn, deferrable=True, poke_interval=0.1, timeout=60
        )

    with pytest.raises(TaskDeferred) as deferred:
        sensor().execute(context=task_context())
    bulk_emulator.clear_requests_log()
    asyncio.run(stop_mid_wait(deferred.value.trigger, bulk_emulator, job_id))
    event = asyncio.run(first_event(rebuild(deferred.value.trigger)))
    result = sensor().execute_complete(context=task_context(), event=event.payload)
    assert result[job_id]["state"] == "JobComplete" and result[job_id]["numberRecordsProcessed"] == 2000
    assert writes(bulk_emulator.requests_log()) == []
