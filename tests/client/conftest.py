"""Client-test helpers: clients wired to the session's emulator, with fast retries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_sfpy.client import Client, RetryPolicy

FAST_RETRY = RetryPolicy(max_attempts=4, initial_wait=0.01, max_wait=0.05, jitter=0.01)


@pytest.fixture
def make_client(emulator: Any) -> Callable[..., Client]:
    """A password-flow client factory for the emulator; keyword arguments override the defaults."""

    def factory(**overrides: Any) -> Client:
        kwargs: dict[str, Any] = {
            "username": emulator.username,
            "password": emulator.password,
            "client_id": emulator.client_id,
            "client_secret": emulator.client_secret,
            "login_url": emulator.base_url,
            "retry": FAST_RETRY,
        }
        kwargs.update(overrides)
        return Client(**kwargs)

    return factory


@pytest.fixture
def sf(make_client: Callable[..., Client]) -> Client:
    """A logged-in client."""
    client = make_client()
    client.login()
    return client
