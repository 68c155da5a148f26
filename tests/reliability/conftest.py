"""Reliability-suite fixtures: connections to the emulators, a slow-Bulk emulator, and the Airflow DB.

The session's ``emulator`` (tests/conftest.py) serves most tests. Tests that need Bulk jobs slow enough
to be interrupted mid-way use ``bulk_emulator`` (same credentials, jobs processed 100 rows at a time);
the 200k-row export tests start their own emulator in their module. Faults and request logs of these
extra emulators are cleared after each test, as the shared fixture does for the session's emulator.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from reliability_support import connection_fields

from airflow_provider_sfpy.client import Client

EXTRA_EMULATOR_FIXTURES = ("bulk_emulator", "big_emulator", "secrets_emulator")


@pytest.fixture(scope="session")
def bulk_emulator() -> Iterator[Any]:
    """An emulator whose Bulk jobs take a while: 100 records per chunk, 30 ms between chunks."""
    from airflow_provider_sfpy.emulator.testing import start_emulator

    with start_emulator(bulk_queue_delay=0.05, bulk_chunk_rows=100, bulk_chunk_delay=0.03) as running:
        yield running


@pytest.fixture(autouse=True)
def clean_extra_emulators(request: pytest.FixtureRequest) -> Iterator[None]:
    used = [request.getfixturevalue(name) for name in EXTRA_EMULATOR_FIXTURES if name in request.fixturenames]
    yield
    for running in used:
        running.clear_faults()
        running.clear_requests_log()


@pytest.fixture
def sfpy_conn(emulator: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """``sfpy_default`` pointing at the session's emulator (password flow)."""
    monkeypatch.setenv("AIRFLOW_CONN_SFPY_DEFAULT", json.dumps(connection_fields(emulator)))
    return "sfpy_default"


@pytest.fixture
def bulk_conn(bulk_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """``sfpy_bulk`` pointing at the slow-Bulk emulator."""
    monkeypatch.setenv("AIRFLOW_CONN_SFPY_BULK", json.dumps(connection_fields(bulk_emulator)))
    return "sfpy_bulk"


@pytest.fixture
def checker(emulator: Any) -> Client:
    """An independent client of the session's emulator, for asserting what the product did."""
    client: Client = emulator.password_client()
    client.login()
    return client


@pytest.fixture
def bulk_checker(bulk_emulator: Any) -> Client:
    client: Client = bulk_emulator.password_client()
    client.login()
    return client


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """A migrated metadata DB in the session's AIRFLOW_HOME (tests/dags migrates it too; once is enough)."""
    import os

    url = os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    db_file = Path(url.removeprefix("sqlite:///"))
    if db_file.exists():
        with sqlite3.connect(db_file) as db:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if {"alembic_version", "dag_run", "xcom", "rendered_task_instance_fields"} <= tables:
            return
    result = subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


@pytest.fixture
def provider_records() -> Iterator[list[logging.LogRecord]]:
    """Every record the provider's own loggers emit (``airflow_provider_sfpy.*``, DEBUG and up), unmasked."""
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("airflow_provider_sfpy")
    handler = Collect(level=logging.DEBUG)
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield records
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
