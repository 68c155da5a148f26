"""The ``max_api_usage`` connection extra: validated, shown in the connection form, passed by the hook to
the sync and async clients, and stopping an export before the request that would pass it (nothing written)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_sfpy.client import MaxApiUsage, SalesforceApiQuotaGuardError, SalesforceConfigError
from airflow_provider_sfpy.emulator.testing import RunningEmulator, start_emulator
from airflow_provider_sfpy.get_provider_info import get_provider_info
from airflow_provider_sfpy.hooks.salesforce import SalesforcePyHook
from airflow_provider_sfpy.hooks.settings import ConnectionSettings, build_async_client
from airflow_provider_sfpy.operators.query_to_file import SalesforceQueryToFileOperator

CONN_ID = "sfpy_quota"


def settings(**extras: Any) -> ConnectionSettings:
    return ConnectionSettings.from_fields(
        host="login.salesforce.com", login="u@example.com", password="pw", extras={"client_id": "id", **extras}
    )


@pytest.fixture
def small_org() -> Iterator[RunningEmulator]:
    """A fresh org allowed 50 API requests a day, with 5+ pages of 200 Accounts."""
    with start_emulator(daily_api_requests=50, generate={"Account": 1000}) as running:
        yield running


@pytest.fixture
def quota_conn(small_org: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> str:
    """A connection to ``small_org`` with ``max_api_usage`` "0.1" (5 of its 50 requests), given as text."""
    connection = small_org.airflow_connection(max_api_usage="0.1")
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(connection))
    return CONN_ID


@pytest.mark.parametrize(
    ("extras", "expected"),
    [
        ({"max_api_usage": "0.8"}, MaxApiUsage(fraction=Decimal("0.8"))),
        ({"max_api_usage": 0.8}, MaxApiUsage(fraction=Decimal("0.8"))),
        ({"max_api_usage": 12000}, MaxApiUsage(count=12000)),
        ({"extra__sfpy__max_api_usage": "12000"}, MaxApiUsage(count=12000)),
        ({"max_api_usage": " "}, None),
        ({}, None),
    ],
)
def test_the_extra_becomes_the_clients_guard(extras: dict[str, Any], expected: MaxApiUsage | None) -> None:
    connection = settings(**extras, client_secret="s")
    client = connection.build_client()
    assert connection.max_api_usage() == expected
    assert (client.quota.max_usage if client.quota else None) == expected
    async_client = build_async_client(connection)
    assert (async_client.quota.max_usage if async_client.quota else None) == expected
    asyncio.run(async_client.aclose())


@pytest.mark.parametrize("value", ["0", "-1", "1.5", "80%", "all", True, "nan"])
def test_invalid_extras_are_refused_naming_the_extra(value: Any) -> None:
    with pytest.raises(SalesforceConfigError) as refused:
        settings(max_api_usage=value, client_secret="s").build_client()
    assert str(refused.value).startswith(f"connection extra max_api_usage={value!r} ")
    assert "0.8 stops at 80 %" in str(refused.value)


def test_the_connection_form_offers_the_field() -> None:
    field = get_provider_info()["connection-types"][0]["conn-fields"]["max_api_usage"]
    assert field["label"] == "Max API usage" and "0.8" in field["description"]
    assert field["schema"]["type"] == ["number", "null"]


def test_the_hooks_client_stops_before_passing_the_connections_threshold(
    quota_conn: str, small_org: RunningEmulator
) -> None:
    client = SalesforcePyHook(sfpy_conn_id=quota_conn).get_conn()
    with pytest.raises(SalesforceApiQuotaGuardError, match=r"used 5 of its 50 .* max_api_usage=0\.1"):
        list(client.query_records("SELECT Id FROM Account", batch_size=200))
    assert small_org.state.usage.used() == 5


def test_the_hooks_async_client_gets_the_guard_too(quota_conn: str) -> None:
    async def scenario() -> MaxApiUsage | None:
        client = await SalesforcePyHook.aget_async_client(quota_conn)
        try:
            return client.quota.max_usage if client.quota else None
        finally:
            await client.aclose()

    assert asyncio.run(scenario()) == MaxApiUsage(fraction=Decimal("0.1"))


def test_an_export_stopped_by_the_guard_writes_nothing(
    quota_conn: str, small_org: RunningEmulator, tmp_path: Path
) -> None:
    operator = SalesforceQueryToFileOperator(
        task_id="export",
        sfpy_conn_id=quota_conn,
        soql="SELECT Id, Name FROM Account",
        destination=str(tmp_path / "accounts.csv"),
        batch_size=200,
    )
    with pytest.raises(SalesforceApiQuotaGuardError, match="This request was not sent"):
        operator.execute(context={})
    assert list(tmp_path.iterdir()) == []
    assert small_org.state.usage.used() == 5
