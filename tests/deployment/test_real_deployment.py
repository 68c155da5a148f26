"""Exactly once, proved in a real Airflow deployment: a Bulk load retried after a crash loads its records once.

Airflow's api-server, scheduler (LocalExecutor), dag-processor and triggerer run as separate
processes (see ``deployment_support.py``) against the emulator, with the DAGs in
``tests/deployment/dags/``. Each scenario loads its own CSV of ``ROWS`` Accounts (names carry a
unique marker) with ``retries=1``, breaks something while the load runs, and then checks, through
an independent client and the emulator's request log, that the task succeeded, that every record
is in Salesforce exactly once, and that exactly one ingest job was created.

Airflow 3.3+ only (earlier versions give tasks no task_state_store, so a retry cannot know what its
first try did). Two to three minutes on a busy 2-core machine, 45-60 s of it starting Airflow.
Run it alone with::

    .venv/bin/pytest -q tests/deployment/test_real_deployment.py

(The Airflow processes inherit PYTHONPATH, so ``PYTHONPATH=/path/to/other/checkout`` runs the
tasks on another checkout's ``airflow_provider_sfpy``, e.g. to compare with the last commit.)
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from airflow import __version__ as airflow_version
from deployment_support import TERMINAL_TI_STATES, Deployment, DeploymentError, wait_for
from packaging.version import Version

from airflow_provider_sfpy.client import Client, RetryPolicy
from airflow_provider_sfpy.client.bulk2 import is_terminal

pytestmark = [
    pytest.mark.skipif(
        Version(Version(airflow_version).base_version) < Version("3.3"),
        reason=f"Airflow {airflow_version} < 3.3: tasks have no task_state_store, so a retry cannot resume a load",
    ),
    # The first test also starts the deployment (about a minute on a busy 2-core machine).
    pytest.mark.timeout(420),
]

ROWS = 2000
CREATE_JOB = re.compile(r"/services/data/v[\d.]+/jobs/ingest/?$")
CLOSE_JOB = re.compile(r"/services/data/v[\d.]+/jobs/ingest/(\w+)/?$")
#: Long enough for a retry (heartbeat timeout 12 s, retry_delay 2 s, a worker start, the job).
FINISH_TIMEOUT = 180.0


@dataclass
class Load:
    dag_id: str
    run_id: str
    marker: str
    rows: int
    started: float  # epoch seconds, to read the emulator's request log from


def start_load(deployment: Deployment, folder: Path, dag_id: str, rows: int = ROWS, **conf: Any) -> Load:
    """Write a CSV of ``rows`` uniquely named Accounts and trigger ``dag_id`` on it."""
    marker = f"Deploy{uuid.uuid4().hex[:10]}"
    source = folder / f"{marker}.csv"
    source.write_text("Name\n" + "".join(f"{marker} {n:05d}\n" for n in range(rows)))
    started = time.time()
    run_id = deployment.trigger(dag_id, {"source": source.as_uri(), **conf})
    return Load(dag_id, run_id, marker, rows, started)


def requests_since(emulator: Any, load: Load) -> list[dict[str, Any]]:
    return [entry for entry in emulator.requests_log() if entry["time"] >= load.started]


def created_jobs(emulator: Any, load: Load) -> int:
    """Ingest jobs created since the load started (``POST .../jobs/ingest`` answered 2xx)."""
    return sum(
        1
        for entry in requests_since(emulator, load)
        if entry["method"] == "POST" and CREATE_JOB.search(entry["path"]) and 200 <= (entry["status"] or 0) < 300
    )


def job_ids(emulator: Any, load: Load) -> list[str]:
    """Ids of the jobs closed (``PATCH .../jobs/ingest/<id>``) since the load started, in order."""
    ids: list[str] = []
    for entry in requests_since(emulator, load):
        match = CLOSE_JOB.search(entry["path"])
        if entry["method"] == "PATCH" and match and match.group(1) not in ids:
            ids.append(match.group(1))
    return ids


def outcome(deployment: Deployment, emulator: Any, checker: Client, load: Load) -> dict[str, Any]:
    """Once the task has ended (and every job it created has finished): what happened."""
    ti = deployment.wait_for_ti(load.dag_id, load.run_id, TERMINAL_TI_STATES, FINISH_TIMEOUT)
    jobs = job_ids(emulator, load)
    wait_for(
        f"jobs {jobs} to finish",
        lambda: all(is_terminal(checker.jobs.ingest.info(job).body.get("state")) for job in jobs),
        timeout=60,
    )
    body, _ = checker.query(f"SELECT COUNT() FROM Account WHERE Name LIKE '{load.marker}%'")
    return {
        "state": ti["state"],
        "tries": ti["try_number"],
        "records": body["totalSize"],
        "jobs_created": created_jobs(emulator, load),
    }


@pytest.fixture
def loads(deployment: Deployment) -> Iterator[list[Load]]:
    """Loads a test started; a run still going when the test ends is marked failed (not to disturb the next)."""
    started: list[Load] = []
    yield started
    for load in started:
        deployment.fail_run_if_unfinished(load.dag_id, load.run_id)


def test_harness_a_plain_deferrable_load_succeeds_once(
    deployment: Deployment, deploy_emulator: Any, checker: Client, scratch: Path, loads: list[Load]
) -> None:
    load = start_load(deployment, scratch, "sfpy_deploy_plain")
    loads.append(load)
    assert outcome(deployment, deploy_emulator, checker, load) == {
        "state": "success",
        "tries": 1,
        "records": ROWS,
        "jobs_created": 1,
    }


def test_worker_killed_while_a_non_deferrable_load_waits_loads_each_record_once(
    deployment: Deployment, deploy_emulator: Any, checker: Client, scratch: Path, loads: list[Load]
) -> None:
    load = start_load(deployment, scratch, "sfpy_deploy_worker_killed")
    loads.append(load)

    def job_in_progress() -> str | None:
        jobs = job_ids(deploy_emulator, load)
        if not jobs:
            return None
        state = checker.jobs.ingest.info(jobs[0]).body.get("state")
        if is_terminal(state):
            raise DeploymentError(f"job {jobs[0]} ended ({state}) before the worker could be killed: slow the emulator")
        return jobs[0] if state == "InProgress" else None

    wait_for("the load's Bulk job to be InProgress", job_in_progress, timeout=120, interval=0.1)
    ti = deployment.task_instance(load.dag_id, load.run_id)
    assert ti["state"] == "running", f"the task should be polling its job, but is {ti['state']}"
    killed = deployment.kill_task_process(ti["id"])
    assert killed, "no worker process was killed"

    assert outcome(deployment, deploy_emulator, checker, load) == {
        "state": "success",
        "tries": 2,
        "records": ROWS,
        "jobs_created": 1,
    }


def test_triggerer_killed_while_a_deferred_load_waits_loads_each_record_once(
    deployment: Deployment, deploy_emulator: Any, checker: Client, scratch: Path, loads: list[Load]
) -> None:
    load = start_load(deployment, scratch, "sfpy_deploy_triggerer_killed")
    loads.append(load)
    deployment.wait_for_ti(load.dag_id, load.run_id, {"deferred"}, timeout=120, interval=0.2)

    def job_polls() -> int:
        jobs = job_ids(deploy_emulator, load)
        return sum(
            1
            for entry in requests_since(deploy_emulator, load)
            if entry["method"] == "GET" and jobs and entry["path"].rstrip("/").endswith(f"/jobs/ingest/{jobs[0]}")
        )

    polls_before_deferring = job_polls()
    # The trigger runs in the triggerer (it has polled the job) when the triggerer is killed.
    wait_for("the trigger to poll the job", lambda: job_polls() > polls_before_deferring, timeout=60, interval=0.1)
    deployment.restart_triggerer(down_for=3.0)

    assert outcome(deployment, deploy_emulator, checker, load) == {
        "state": "success",
        "tries": 1,
        "records": ROWS,
        "jobs_created": 1,
    }


def test_result_delivery_failing_once_loads_nothing_again(
    deployment: Deployment, deploy_emulator: Any, checker: Client, scratch: Path, loads: list[Load]
) -> None:
    # Every result download of try 1 fails until the client's retries are spent (the hook's default
    # policy), so try 1 fails after its job completed; the faults are used up by then.
    attempts = RetryPolicy().max_attempts
    deploy_emulator.add_faults(
        {
            "path": r"/jobs/ingest/[^/]+/(successfulResults|failedResults|unprocessedrecords)",
            "method": "GET",
            "status": 500,
            "times": attempts,
        }
    )
    results = scratch / "results"
    load = start_load(deployment, scratch, "sfpy_deploy_results_fail", results=results.as_uri())
    loads.append(load)

    observed = outcome(deployment, deploy_emulator, checker, load)
    fired = sum(rule["fired"] for rule in deploy_emulator.faults())
    assert fired == attempts, f"the result downloads failed {fired} times, not {attempts}: try 1 did not fail"
    assert observed == {"state": "success", "tries": 2, "records": ROWS, "jobs_created": 1}


def test_a_load_marked_failed_while_no_triggerer_runs_is_aborted_by_its_next_try(
    deployment: Deployment, deploy_emulator: Any, checker: Client, scratch: Path, loads: list[Load]
) -> None:
    """A person marks a deferred load failed while no triggerer runs, so nothing aborts its job; then
    clears the task. The next try finds the job still running, aborts it, sends nothing, and fails
    saying so: every record is either in Salesforce once or in the saved unprocessed rows."""
    rows = 20_000  # about 40 s of processing in this emulator: still running when the next try starts
    results = scratch / "results"
    deployment.stop_triggerer()
    try:
        load = start_load(deployment, scratch, "sfpy_deploy_stopped_while_deferred", rows, results=results.as_uri())
        loads.append(load)
        deployment.wait_for_ti(load.dag_id, load.run_id, {"deferred"}, timeout=120, interval=0.2)
        deployment.set_ti_state(load.dag_id, load.run_id, "failed")
        deployment.wait_for_run(load.dag_id, load.run_id, {"failed"}, timeout=60)  # as a person sees it in the UI
        (job_id,) = job_ids(deploy_emulator, load)
        assert not is_terminal(checker.jobs.ingest.info(job_id).body.get("state"))  # nobody aborted it
        deployment.clear_ti(load.dag_id, load.run_id)
    finally:
        deployment.start_triggerer()

    observed = outcome(deployment, deploy_emulator, checker, load)
    assert checker.jobs.ingest.info(job_id).body["state"] == "Aborted"
    unprocessed_file = results / f"{job_id}-unprocessed.csv"
    unprocessed = len(unprocessed_file.read_text().splitlines()) - 1  # one name per line, after the header
    assert observed["state"] == "failed" and observed["tries"] == 2 and observed["jobs_created"] == 1
    assert 0 < observed["records"] < rows
    assert observed["records"] + unprocessed == rows
