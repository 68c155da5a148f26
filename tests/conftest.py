"""Fixtures shared by the whole suite: the local Salesforce emulator, and an isolated Airflow home.

The emulator is started once per session (a real HTTP server on a free port); tests that inject
faults or read the request log get both cleaned after them, so tests stay independent while sharing
one server. Airflow settings point at a throw-away home before anything imports Airflow.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

_AIRFLOW_HOME = tempfile.mkdtemp(prefix="sfpy-tests-airflow-")
os.environ["AIRFLOW_HOME"] = _AIRFLOW_HOME
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "True"
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_AIRFLOW_HOME}/airflow.db"

EMULATOR_FIXTURES = ("emulator", "emulator_tls")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(_AIRFLOW_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def emulator() -> Iterator[Any]:
    """The session's emulator (``RunningEmulator``): sample data, demo credentials, a trusted JWT key."""
    from airflow_provider_sfpy.emulator.testing import start_emulator

    with start_emulator() as running:
        yield running


@pytest.fixture(scope="session")
def emulator_tls() -> Iterator[Any]:
    """A second emulator serving HTTPS with a self-signed certificate (``ca_bundle_path``)."""
    from airflow_provider_sfpy.emulator.testing import start_emulator

    with start_emulator(tls=True) as running:
        yield running


@pytest.fixture(autouse=True)
def clean_emulator(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a test that used an emulator: remove its fault rules and empty its request log."""
    used = [request.getfixturevalue(name) for name in EMULATOR_FIXTURES if name in request.fixturenames]
    yield
    for running in used:
        running.clear_faults()
        running.clear_requests_log()
