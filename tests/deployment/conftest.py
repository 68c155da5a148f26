"""Fixtures of the real-deployment tests: a slow-Bulk emulator, the running deployment, an independent checker.

Everything is started once per module and torn down at its end. A failed test's report gets a
"deployment logs" section: the tails of the api-server, scheduler, dag-processor and triggerer logs
and of the newest task logs.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
from deployment_support import Deployment, DeploymentError

from airflow_provider_sfpy.client import Client

#: Bulk jobs in this emulator take a while (0.2 s per 100 records, after 0.5 s queued), so a test
#: can act while one runs: 2,000 records take about 4.5 s.
EMULATOR_PACING: dict[str, Any] = {"bulk_queue_delay": 0.5, "bulk_chunk_rows": 100, "bulk_chunk_delay": 0.2}
DAG_IDS = (
    "sfpy_deploy_plain",
    "sfpy_deploy_worker_killed",
    "sfpy_deploy_triggerer_killed",
    "sfpy_deploy_results_fail",
    "sfpy_deploy_stopped_while_deferred",
)


@pytest.fixture(scope="module")
def deploy_emulator() -> Iterator[Any]:
    """The emulator, in this process (a real HTTP server on loopback; the ``sfpy-emulator`` command
    has no flags for the Bulk pacing these tests need)."""
    from airflow_provider_sfpy.emulator.testing import start_emulator

    with start_emulator(sample_data=False, **EMULATOR_PACING) as running:
        yield running


@pytest.fixture(scope="module")
def deployment(deploy_emulator: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """api-server, scheduler, dag-processor and triggerer, healthy, with every test DAG parsed."""
    connection = deploy_emulator.airflow_connection()
    running = Deployment(tmp_path_factory.mktemp("airflow-home"), connection)
    try:
        try:
            running.start()
            for dag_id in DAG_IDS:
                running.wait_for_dag(dag_id)
        except DeploymentError as exc:
            raise DeploymentError(f"{exc}\n\n{running.diagnostics()}") from None
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def checker(deploy_emulator: Any) -> Client:
    """An independent client, to count what reached the emulator."""
    client: Client = deploy_emulator.password_client()
    client.login()
    return client


@pytest.fixture
def scratch(tmp_path: Path, deploy_emulator: Any) -> Iterator[Path]:
    """A test's own folder; the emulator's fault rules are removed after the test."""
    yield tmp_path
    deploy_emulator.clear_faults()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    funcargs = getattr(item, "funcargs", {})
    running = funcargs.get("deployment")
    if report.failed and isinstance(running, Deployment):
        run_ids = [load.run_id for load in funcargs.get("loads") or []]
        report.sections.append(("deployment logs", running.diagnostics(run_ids)))
    return report
