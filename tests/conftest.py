"""Fixtures shared by the whole suite: the local Salesforce emulator, and an isolated Airflow home.

The emulator is started once per session (a real HTTP server on a free port); tests that inject
faults or read the request log get both cleaned after them, so tests stay independent while sharing
one server. (The Airflow home for the session is set up by the repository's root conftest.)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

EMULATOR_FIXTURES = ("emulator", "emulator_tls")


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
