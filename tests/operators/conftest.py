"""Operator tests: an ``sfpy_default`` connection to the emulator, and a client to check results with."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_sfpy.client import Client


@pytest.fixture
def sfpy_conn(emulator: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    connection = emulator.airflow_connection()
    monkeypatch.setenv("AIRFLOW_CONN_SFPY_DEFAULT", json.dumps(connection))
    yield "sfpy_default"


@pytest.fixture
def checker(emulator: Any) -> Client:
    """An independent client for asserting what the operators did."""
    client: Client = emulator.password_client()
    client.login()
    return client
