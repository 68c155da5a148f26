"""DAG tests: a migrated sqlite metadata DB (once per session), an ``sfpy_default`` connection to the emulator,
and a fresh machine (empty temporary folder and home) for running examples with their own defaults."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dag_runner import FreshMachine


@pytest.fixture(scope="session", autouse=True)
def reuse_in_process_execution_api() -> Iterator[None]:
    """Build dag.test()'s in-process Execution API once, as Airflow 3.2+ does (apache/airflow#65235).

    Airflow 3.1 builds a new FastAPI app (Cadwyn's versioned routes, an event-loop thread) for every
    task dag.test() runs: 1-4 s per task, most of these tests' time on the 3.1 venv. Later versions
    cache ``in_process_api_server``; here the same cache is put in place for the session.
    """
    from airflow.sdk.execution_time import supervisor

    build = supervisor.in_process_api_server
    if hasattr(build, "cache_info"):  # this Airflow caches it already
        yield
        return
    supervisor.in_process_api_server = functools.lru_cache(maxsize=1)(build)
    try:
        yield
    finally:
        supervisor.in_process_api_server = build


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """``airflow db migrate`` into the session's temporary AIRFLOW_HOME (set by the root conftest)."""
    result = subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


@pytest.fixture
def sfpy_default(emulator: Any, airflow_db: None) -> Iterator[None]:
    """Point the ``sfpy_default`` connection at the emulator for one test."""
    connection = emulator.airflow_connection()
    os.environ["AIRFLOW_CONN_SFPY_DEFAULT"] = json.dumps(connection)
    try:
        yield
    finally:
        os.environ.pop("AIRFLOW_CONN_SFPY_DEFAULT", None)


@pytest.fixture
def fresh_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FreshMachine:
    """Point ``$TMPDIR`` and ``$HOME`` at empty folders: an example's default output folder does not exist yet.

    Load the DAG after this fixture: its defaults are computed when the file is parsed.
    """
    machine = FreshMachine(temp=tmp_path / "tmp", home=tmp_path / "home")
    machine.temp.mkdir()
    machine.home.mkdir()
    monkeypatch.setenv("TMPDIR", str(machine.temp))
    monkeypatch.setenv("HOME", str(machine.home))
    monkeypatch.setattr(tempfile, "tempdir", None)  # gettempdir() caches its answer: make it read $TMPDIR again
    return machine


@pytest.fixture(scope="session")
def emulator(emulator_pubsub: Any) -> Any:
    """The DAG tests' emulator also serves the Pub/Sub API: examples publish platform events over it."""
    return emulator_pubsub
