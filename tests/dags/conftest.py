"""DAG tests: a migrated sqlite metadata DB (once per session) and an ``sfpy_default`` connection to the emulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest


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
