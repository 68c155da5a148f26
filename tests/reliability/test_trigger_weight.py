"""The Bulk trigger is light on the triggerer's event loop, and it polls only the job it names.

A triggerer imports a trigger's module and runs it on the one event loop all its triggers share, and
Airflow logs "async thread was blocked ... badly-written trigger" whenever that loop stalls. So the
module imports nothing of the client (requests, JWT/cryptography, tenacity, the hook, operators) and
the first ``run()`` imports them on a worker thread. Measured in fresh interpreters, since an import
is only slow the first time.

A job id is one path segment, quoted exactly as the sync client quotes it: ``../../limits`` is asked
for as ``jobs/ingest/..%2F..%2Flimits`` (not found: an error event naming the job), never as
``GET .../limits``, which an HTTP client would make of it unquoted (it resolves ``..`` segments).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from fresh_interpreter import fresh_python
from reliability_support import requests_to, run_trigger, writes

from airflow_provider_sfpy.client import Client, SalesforceNotFoundError
from airflow_provider_sfpy.client.bulk2 import wait_for_jobs
from airflow_provider_sfpy.triggers.bulk import SalesforceBulkJobTrigger

#: Seconds the trigger module may add to ``import airflow.triggers.base``. Measured after the change:
#: 0.001-0.011 s (one small module; this suite runs without .pyc files, on a busy 2-CPU box). Before
#: it: 0.38-1.98 s here, 0.11-0.14 s with .pyc files (about 200 modules: the client, requests,
#: PyJWT/cryptography, tenacity). The module list checked beside it does not depend on timing.
IMPORT_BUDGET = 0.1
#: Longest stall of the event loop, in seconds, while the triggerer imports the trigger module and runs
#: the trigger to its first event. Airflow warns when a 0.1 s sleep of its watchdog takes over 0.2 s.
LOOP_STALL_BUDGET = 0.2
#: Modules the trigger must not import on the loop (by module import or during ``run()``).
HEAVY = ("airflow_provider_sfpy.client", "airflow_provider_sfpy.hooks.salesforce", "airflow_provider_sfpy.operators",
         "airflow_provider_sfpy.formats", "requests", "jwt", "tenacity", "msgspec", "pyarrow")  # fmt: skip

IMPORT_COST = """
import json, sys, time
t0 = time.perf_counter()
import airflow.triggers.base
t1 = time.perf_counter()
before = set(sys.modules)
import airflow_provider_sfpy.triggers.bulk
t2 = time.perf_counter()
print(json.dumps({"base": t1 - t0, "trigger": t2 - t1, "new": sorted(set(sys.modules) - before)}))
"""

# What a triggerer does with a Bulk trigger, in a fresh interpreter: Airflow's triggerer modules and the
# connection API already warm (they are, in a running triggerer), then, on the loop, import the trigger's
# module (the triggerer's import_string) and run it to its first event, while a ticker measures how
# long the loop goes unserved and an import hook records which thread imports what. The heap is frozen
# first, so a full garbage collection of Airflow's own objects (a pause of the whole interpreter, not the
# trigger's work) cannot land in the measurement.
FIRST_RUN = """
import asyncio, gc, importlib, json, sys, threading, time
import airflow.triggers.base
import airflow.jobs.triggerer_job_runner
from airflow.sdk import BaseHook

conn_id, job_id, deadline = sys.argv[1], sys.argv[2], float(sys.argv[3])
loop_thread = threading.get_ident()
on_loop = []

class Recorder:
    def find_spec(self, name, path=None, target=None):
        if threading.get_ident() == loop_thread:
            on_loop.append(name)
        return None

async def main():
    await BaseHook.aget_connection(conn_id)
    gc.collect()
    gc.freeze()
    stalls, done = [], asyncio.Event()

    async def ticker():
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.002)
            now = time.perf_counter()
            stalls.append(now - last - 0.002)
            last = now

    tick = asyncio.create_task(ticker())
    await asyncio.sleep(0.05)
    stalls.clear()
    sys.meta_path.insert(0, Recorder())
    started = time.perf_counter()
    module = importlib.import_module("airflow_provider_sfpy.triggers.bulk")
    trigger = module.SalesforceBulkJobTrigger(
        sfpy_conn_id=conn_id, job_ids=[job_id], poll_interval=0.1, deadline=deadline
    )
    async for event in trigger.run():
        break
    elapsed = time.perf_counter() - started
    done.set()
    await tick
    print(json.dumps({"max_stall": max(stalls), "elapsed": elapsed, "on_loop": on_loop, "event": event.payload}))

asyncio.run(main())
"""


def heavy(modules: list[str]) -> list[str]:
    return [m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY)]


@pytest.fixture
def finished_job(checker: Client) -> str:
    """An ingest job that has finished (JobComplete)."""
    job, _ = checker.jobs.ingest.create(object="Account", operation="insert")
    checker.jobs.ingest.batches(job["id"], "Name\nTrigger Weight Co\n")
    checker.jobs.ingest.close(job["id"])
    wait_for_jobs(checker.jobs.ingest, [job["id"]], poll_interval=0.05, max_poll_interval=0.2, timeout=60)
    return str(job["id"])


def test_importing_the_trigger_costs_next_to_nothing_beyond_airflow_triggers() -> None:
    measured = fresh_python(IMPORT_COST)

    assert heavy(measured["new"]) == []
    assert measured["trigger"] < IMPORT_BUDGET, measured


def test_the_first_run_imports_the_client_off_the_event_loop(sfpy_conn: str, finished_job: str) -> None:
    measured = fresh_python(FIRST_RUN, sfpy_conn, finished_job, str(time.time() + 60))

    assert measured["event"]["status"] == "success", measured["event"]
    assert measured["event"]["jobs"][finished_job]["state"] == "JobComplete"
    assert heavy(measured["on_loop"]) == [], "imported on the triggerer's event loop"
    assert measured["max_stall"] < LOOP_STALL_BUDGET, measured


def test_a_job_id_is_quoted_as_the_sync_client_quotes_it(checker: Client) -> None:
    from airflow_provider_sfpy.client.urls import bulk_job_path

    assert bulk_job_path("ingest", "../../limits") == "jobs/ingest/..%2F..%2Flimits"
    assert bulk_job_path("query", "750/x?y#z") == "jobs/query/750%2Fx%3Fy%23z"
    assert checker.jobs.ingest._job_path("../../limits", "/batches") == checker.data_path(
        "jobs/ingest/..%2F..%2Flimits/batches"
    )


@pytest.mark.parametrize("job_type", ["ingest", "query"])
def test_a_path_like_job_id_is_reported_not_found_and_never_reaches_another_resource(
    emulator: Any, sfpy_conn: str, checker: Client, job_type: str
) -> None:
    trigger = SalesforceBulkJobTrigger(
        sfpy_conn_id=sfpy_conn,
        job_ids=["../../limits"],
        job_type=job_type,
        poll_interval=0.05,
        max_poll_interval=0.1,
        deadline=time.time() + 5,
    )

    event = run_trigger(trigger)

    assert event.payload["status"] == "error", event.payload
    message = event.payload["message"]
    assert f"Bulk {job_type} job '../../limits'" in message and "SalesforceNotFoundError" in message
    log = emulator.requests_log()
    # The emulator logs the decoded path: the ``..`` segments are still inside the job's resource.
    polled = [e for e in requests_to(log, f"/jobs/{job_type}/", "GET") if e["status"] != 401]  # 401: a re-login
    assert [(e["path"], e["status"]) for e in polled] == [
        (f"/services/data/v{checker.version}/jobs/{job_type}/../../limits", 404)
    ]
    assert not [e for e in log if e["path"].rstrip("/").endswith(f"v{checker.version}/limits")]


def test_aborting_a_path_like_job_id_touches_nothing_else(emulator: Any, sfpy_conn: str, checker: Client) -> None:
    trigger = SalesforceBulkJobTrigger(sfpy_conn_id=sfpy_conn, job_ids=["../../limits"])

    with pytest.raises(SalesforceNotFoundError):
        asyncio.run(trigger.abort_unfinished_jobs())

    log = emulator.requests_log()
    assert writes(log) == []
    assert not [e for e in log if e["path"].rstrip("/").endswith(f"v{checker.version}/limits")]


def test_the_sync_client_and_the_trigger_ask_for_the_same_job_path(
    emulator: Any, sfpy_conn: str, checker: Client, finished_job: str
) -> None:
    emulator.clear_requests_log()
    checker.jobs.ingest.info(finished_job)
    event = run_trigger(SalesforceBulkJobTrigger(sfpy_conn_id=sfpy_conn, job_ids=[finished_job]))
    assert event.payload["status"] == "success"
    # (The trigger may first find the session its triggerer shares expired by an earlier test: 401, re-login.)
    answered = [e for e in requests_to(emulator.requests_log(), "/jobs/ingest/", "GET") if e["status"] == 200]
    assert len(answered) == 2
    assert {e["path"] for e in answered} == {f"/services/data/v{checker.version}/jobs/ingest/{finished_job}"}
