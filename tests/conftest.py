"""Fixtures shared by the whole suite: the local Salesforce emulator, and an isolated Airflow home.

The emulator is started once per session (a real HTTP server on a free port); tests that inject
faults or read the request log get both cleaned after them, so tests stay independent while sharing
one server. (The Airflow home for the session is set up by the repository's root conftest.)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

EMULATOR_FIXTURES = ("emulator", "emulator_tls", "emulator_pubsub", "emulator_pubsub_tls")


def _serve(**options: Any) -> Iterator[Any]:
    """A fixture's body: an emulator started with these ``start_emulator`` options, stopped after its last test."""
    from airflow_provider_sfpy.emulator.testing import start_emulator

    with start_emulator(**options) as running:
        yield running


@pytest.fixture(scope="session")
def emulator() -> Iterator[Any]:
    """The session's emulator (``RunningEmulator``): sample data, demo credentials, a trusted JWT key."""
    yield from _serve()


@pytest.fixture(scope="session")
def emulator_tls() -> Iterator[Any]:
    """A second emulator serving HTTPS with a self-signed certificate (``ca_bundle_path``)."""
    yield from _serve(tls=True)


@pytest.fixture(scope="session")
def emulator_pubsub() -> Iterator[Any]:
    """An emulator that also serves the Pub/Sub API (plain gRPC at ``pubsub_target``, ``pubsub_url``) and
    records change events; separate from ``emulator`` so the suites that load data pay no capture cost.

    Shared by every Pub/Sub test: a test tells its own events apart (a marker, a unique value), since the
    bus holds everything earlier tests published."""
    yield from _serve(pubsub=True)


@pytest.fixture(scope="module")
def emulator_pubsub_of_module() -> Iterator[Any]:
    """An emulator with the Pub/Sub API for one module alone (no sample data), for tests that cannot share
    ``emulator_pubsub``: ones that read a channel from EARLIEST (all the bus holds, including other tests'
    undecodable events) or expire every session. A module overrides ``emulator_pubsub`` with it, so that
    ``pubsub_connection`` points there too."""
    yield from _serve(pubsub=True, sample_data=False)


@pytest.fixture(scope="module")
def emulator_pubsub_tls() -> Iterator[Any]:
    """An emulator serving HTTPS and the Pub/Sub API over TLS with one self-signed certificate
    (``ca_bundle_path``): for clients that only speak TLS. Per module, as only a few modules need it."""
    yield from _serve(tls=True, pubsub=True)


@pytest.fixture
def pubsub_connection(emulator_pubsub: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """The ``sfpy_default`` Airflow connection pointed at ``emulator_pubsub`` for one test; its conn id."""
    monkeypatch.setenv("AIRFLOW_CONN_SFPY_DEFAULT", json.dumps(emulator_pubsub.airflow_connection()))
    return "sfpy_default"


@pytest.fixture(autouse=True)
def clean_emulator(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a test that used an emulator: remove its fault rules and empty its request log."""
    used = [request.getfixturevalue(name) for name in EMULATOR_FIXTURES if name in request.fixturenames]
    yield
    for running in used:
        running.clear_faults()
        running.clear_requests_log()
