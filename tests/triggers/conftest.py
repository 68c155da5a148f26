"""Fixtures of the change-event trigger tests: a client that changes records on the module's emulator."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_sfpy.client import Client


@pytest.fixture
def sf(emulator_pubsub: Any, pubsub_connection: str) -> Client:
    """The ``sfpy_default`` connection to the emulator (each module chooses its own), and a client that
    changes records there."""
    client: Client = emulator_pubsub.password_client()
    client.login()
    return client
