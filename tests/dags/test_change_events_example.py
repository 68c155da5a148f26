"""example_sfpy_change_events deployed: an Opportunity closes, the DAG runs; a triggerer restart loses nothing.

Airflow's api-server, scheduler, dag-processor and triggerer run as separate processes (the deployment
test's ``Deployment``) against an emulator serving the Pub/Sub API. The example's asset watcher runs in
the triggerer. The test closes an Opportunity through REST and measures the time until the DAG run
appears; then it kills the triggerer, closes a second Opportunity, starts a new triggerer, and checks
that there are exactly two runs, two asset events (one per Opportunity) and one Chatter post on each
Opportunity: none lost, none repeated.

Airflow 3.3+ only (the trigger needs its shared-stream ack mode and asset state). About a minute on an
idle 2-core machine, most of it starting Airflow. Run it alone with::

    .venv/bin/pytest -q -s tests/dags/test_change_events_example.py
"""

from __future__ import annotations

import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from airflow import __version__ as airflow_version
from packaging.version import Version

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deployment"))

from change_events_deployment import ExampleDeployment
from deployment_support import DeploymentError, wait_for

from airflow_provider_sfpy.client import Client

EXAMPLE = Path(__file__).resolve().parents[2] / "example_dags" / "example_sfpy_change_events.py"
DAG_ID = "example_sfpy_change_events"
ASSET = "salesforce_opportunities_closed_won"

pytestmark = [
    pytest.mark.skipif(
        Version(Version(airflow_version).base_version) < Version("3.3"),
        reason=f"Airflow {airflow_version} < 3.3: the change-event trigger needs ack mode and asset state",
    ),
    pytest.mark.timeout(420),
]


def new_opportunity(sf: Client, name: str) -> str:
    body, _ = sf.sobjects(object_type="Opportunity").insert(
        {"Name": name, "StageName": "Prospecting", "CloseDate": "2026-12-31"}
    )
    return str(body["id"])


def close_won(sf: Client, record_id: str) -> None:
    sf.sobjects(object_type="Opportunity", id=record_id).update({"StageName": "Closed Won"})


def chatter_posts(emulator: Any, sf: Client, record_id: str) -> list[str]:
    """The texts posted on the record's feed."""
    response = requests.get(
        f"{emulator.base_url}/services/data/v{sf.version}/chatter/feeds/record/{record_id}/feed-elements",
        headers=emulator.auth_headers(),
        timeout=30,
    )
    response.raise_for_status()
    return [str(element["body"]["text"]) for element in response.json()["elements"]]


def triggering_records(deployment: ExampleDeployment) -> list[list[str]]:
    """The record ids of each asset event of the watched asset, oldest first."""
    body = deployment.api("GET", "/api/v2/assets/events", params={"limit": 100, "order_by": "timestamp"})
    return [
        event["extra"]["payload"]["header"]["recordIds"]
        for event in body["asset_events"]
        if event.get("name") == ASSET or event.get("asset_name") == ASSET or event.get("uri") == ASSET
    ]


def finished_runs(deployment: ExampleDeployment, count: int) -> list[dict[str, Any]] | None:
    runs = deployment.dag_runs(DAG_ID)
    failed = [run["dag_run_id"] for run in runs if run["state"] == "failed"]
    if failed:
        raise DeploymentError(f"DAG run(s) failed: {failed}")
    done = [run for run in runs if run["state"] == "success"]
    return runs if len(done) >= count else None


def test_a_closed_opportunity_runs_the_dag_and_a_triggerer_restart_loses_and_repeats_nothing(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    from airflow_provider_sfpy.emulator.testing import start_emulator

    with start_emulator(pubsub=True, sample_data=False) as emulator:
        sf: Client = emulator.password_client()
        sf.login()
        first = new_opportunity(sf, "Acme renewal")
        second = new_opportunity(sf, "Globex expansion")
        deployment = ExampleDeployment(
            tmp_path_factory.mktemp("airflow-home"), emulator.airflow_connection(), [EXAMPLE]
        )
        try:
            deployment.start()
            deployment.wait_for_dag(DAG_ID)
            # The watcher subscribes from LATEST the first time: wait until its stream listens.
            wait_for("the triggerer to subscribe", lambda: emulator.event_bus.subscriber_count > 0, 120, 0.2)

            changed_at = time.time()
            close_won(sf, first)
            run = wait_for(
                "a DAG run after the first Opportunity closed", lambda: deployment.dag_runs(DAG_ID) or None, 60, 0.1
            )
            latency = datetime.fromisoformat(run[0]["queued_at"]).timestamp() - changed_at
            wait_for("the first run to succeed", lambda: finished_runs(deployment, 1), 120)
            # Airflow confirms the stored asset event to the trigger within a sync or two; then the replay id is kept.
            state = wait_for("the replay id in the asset's state", lambda: deployment.asset_state(ASSET) or None, 30)

            deployment.stop_triggerer()
            close_won(sf, second)  # while no triggerer runs
            time.sleep(2)
            assert len(deployment.dag_runs(DAG_ID)) == 1, "a DAG run appeared while no triggerer ran"
            restarted = time.monotonic()
            deployment.start_triggerer()
            wait_for("a second DAG run after the restart", lambda: len(deployment.dag_runs(DAG_ID)) >= 2 or None, 120)
            resumed = time.monotonic() - restarted
            runs = wait_for("both runs to succeed", lambda: finished_runs(deployment, 2), 120)
            time.sleep(5)  # a repeated event would make a third run by now
            runs = deployment.dag_runs(DAG_ID)
            events = triggering_records(deployment)
        except DeploymentError as exc:
            raise DeploymentError(f"{exc}\n\n{deployment.diagnostics()}") from None
        finally:
            deployment.stop()

        print(
            f"\nOpportunity closed -> DAG run queued: {latency:.2f} s; "
            f"triggerer restarted -> second run: {resumed:.1f} s; "
            f"stored before the restart: {state}; asset events: {events}; runs: {[r['dag_run_id'] for r in runs]}"
        )
        assert len(runs) == 2, runs
        assert events == [[first], [second]]
        assert [len(chatter_posts(emulator, sf, record_id)) for record_id in (first, second)] == [1, 1]
        assert "Acme renewal is Closed Won" in chatter_posts(emulator, sf, first)[0]
