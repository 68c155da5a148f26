"""The async (httpx) client shares the sync client's retry decisions, errors and re-login."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from airflow_provider_sfpy.client import PasswordFlow, RetryPolicy, SalesforceServerError, SalesforceUnsafeUrlError
from airflow_provider_sfpy.client.aio import AsyncClient

FAST = RetryPolicy(max_attempts=3, initial_wait=0.01, max_wait=0.05, jitter=0.01)


def make(emulator: Any, **kwargs: Any) -> AsyncClient:
    flow = PasswordFlow(emulator.username, emulator.password, emulator.client_id, emulator.client_secret)
    return AsyncClient(login_url=emulator.base_url, auth=flow, retry=FAST, **kwargs)


def test_get_retries_503_and_relogs_in_after_expiry(emulator: Any) -> None:
    async def scenario() -> tuple[Any, Any]:
        async with make(emulator) as client:
            await client.login()
            emulator.add_faults({"path": "/limits", "status": 503, "times": 2})
            limits = await client.get(client.data_path("limits"))
            emulator.expire_sessions()
            again = await client.get(client.data_path("limits"))
            return limits, again

    limits, again = asyncio.run(scenario())
    assert limits["DailyApiRequests"]["Max"] > 0 and again["DailyApiRequests"]["Max"] > 0
    log = emulator.requests_log()
    assert sum(1 for e in log if e["path"].endswith("/limits") and e["status"] == 503) == 2
    assert any(e["status"] == 401 for e in log)


def test_retry_budget_and_foreign_links(emulator: Any) -> None:
    async def scenario() -> None:
        async with make(emulator) as client:
            await client.login()
            emulator.add_faults({"path": "/limits", "status": 503})
            with pytest.raises(SalesforceServerError):
                await client.get(client.data_path("limits"))
            with pytest.raises(SalesforceUnsafeUrlError):
                await client.get("https://evil.example.com/services/data/")

    asyncio.run(scenario())
    assert sum(1 for e in emulator.requests_log() if e["path"].endswith("/limits")) == FAST.max_attempts


def test_secrets_stay_out_of_repr(emulator: Any) -> None:
    client = make(emulator)
    assert emulator.password not in repr(client) and emulator.client_secret not in repr(client.auth)
    asyncio.run(client.aclose())
