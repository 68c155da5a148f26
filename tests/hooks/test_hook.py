"""The hook against the emulator: connection -> logged-in client, test_connection, masking, provider info."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from typing import Any

import pytest

from airflow_provider_sfpy.client import SalesforceError
from airflow_provider_sfpy.get_provider_info import get_provider_info
from airflow_provider_sfpy.hooks.salesforce import SalesforcePyHook, _SharedHttpClient


def _set_connection(monkeypatch: pytest.MonkeyPatch, conn_id: str, **fields: Any) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "sfpy", **fields}))


@pytest.fixture
def password_conn(monkeypatch: pytest.MonkeyPatch, emulator: Any) -> str:
    _set_connection(
        monkeypatch,
        "sfpy_test",
        host=emulator.base_url,
        login=emulator.username,
        password=emulator.password,
        extra={"client_id": emulator.client_id, "client_secret": emulator.client_secret},
    )
    return "sfpy_test"


def test_get_conn_returns_one_logged_in_client(password_conn: str) -> None:
    hook = SalesforcePyHook(sfpy_conn_id=password_conn)
    client = hook.get_conn()
    assert client.is_logged_in and hook.get_conn() is client
    assert client.query("SELECT COUNT() FROM Account").body["totalSize"] > 0


def test_test_connection_succeeds_and_says_where(password_conn: str, emulator: Any) -> None:
    ok, message = SalesforcePyHook(sfpy_conn_id=password_conn).test_connection()
    assert ok, message
    assert emulator.base_url in message and "password flow" in message


@pytest.fixture
def wrong_password_conn(monkeypatch: pytest.MonkeyPatch, emulator: Any) -> str:
    _set_connection(
        monkeypatch,
        "sfpy_bad",
        host=emulator.base_url,
        login=emulator.username,
        password="wrong-pw",
        extra={"client_id": emulator.client_id, "client_secret": emulator.client_secret},
    )
    return "sfpy_bad"


def test_test_connection_with_wrong_password_names_the_problem(wrong_password_conn: str) -> None:
    ok, message = SalesforcePyHook(sfpy_conn_id=wrong_password_conn).test_connection()
    assert not ok
    assert "password login" in message and "authentication failure" in message and "wrong-pw" not in message


def test_test_connection_with_missing_field(monkeypatch: pytest.MonkeyPatch, emulator: Any) -> None:
    _set_connection(
        monkeypatch,
        "sfpy_half",
        host=emulator.base_url,
        login=emulator.username,
        extra={"auth_type": "jwt", "client_id": emulator.client_id},
    )
    ok, message = SalesforcePyHook(sfpy_conn_id="sfpy_half").test_connection()
    assert not ok and "private_key or private_key_file" in message


def test_jwt_connection_with_prefixed_extras(monkeypatch: pytest.MonkeyPatch, emulator: Any) -> None:
    _set_connection(
        monkeypatch,
        "sfpy_jwt",
        host=emulator.base_url,
        login=emulator.username,
        extra={
            "extra__sfpy__auth_type": "jwt",
            "extra__sfpy__client_id": emulator.client_id,
            "extra__sfpy__private_key": emulator.jwt_private_key,
        },
    )
    client = SalesforcePyHook(sfpy_conn_id="sfpy_jwt").get_conn()
    assert client.auth.name == "JWT bearer" and client.is_logged_in


def test_secrets_and_session_token_are_masked(password_conn: str, emulator: Any) -> None:
    from airflow.sdk._shared.secrets_masker import redact

    client = SalesforcePyHook(sfpy_conn_id=password_conn).get_conn()
    line = f"pw={emulator.password} secret={emulator.client_secret} token={client.session_id}"
    redacted = str(redact(line))
    for secret in (emulator.password, emulator.client_secret, client.session_id):
        assert secret not in redacted


def test_provider_info_declares_the_connection_form() -> None:
    info = get_provider_info()
    (conn,) = info["connection-types"]
    assert conn["connection-type"] == "sfpy"
    assert conn["hook-class-name"] == "airflow_provider_sfpy.hooks.salesforce.SalesforcePyHook"
    fields = conn["conn-fields"]
    secret_fields = {name for name, spec in fields.items() if spec["schema"].get("format") == "password"}
    assert secret_fields == {"client_secret", "security_token", "private_key", "refresh_token", "access_token"}
    assert set(conn["ui-field-behaviour"]["hidden-fields"]) == {"schema", "port", "extra"}


def test_airflow_lists_the_provider_and_connection_type() -> None:
    airflow = [sys.executable, "-m", "airflow"]
    providers = subprocess.run([*airflow, "providers", "list"], capture_output=True, text=True, check=True).stdout
    assert "airflow-provider-sfpy" in providers
    hooks = subprocess.run([*airflow, "providers", "hooks"], capture_output=True, text=True, check=True).stdout
    assert "sfpy" in hooks and "SalesforcePyHook" in hooks
    from airflow import __version__ as airflow_version
    from packaging.version import Version

    if Version(airflow_version) < Version("3.2"):
        # 3.1 builds the form from the hook's legacy widgets, which need the FAB form libraries.
        return
    widgets = subprocess.run(
        [*airflow, "providers", "widgets", "-o", "json"], capture_output=True, text=True, check=True
    ).stdout
    assert "extra__sfpy__client_secret" in widgets


def test_expired_session_is_renewed_by_the_hooks_client(password_conn: str, emulator: Any) -> None:
    hook = SalesforcePyHook(sfpy_conn_id=password_conn)
    client = hook.get_conn()
    old_token = client.session_id
    emulator.expire_sessions()
    assert client.query("SELECT COUNT() FROM Account").body["totalSize"] > 0
    assert hook.get_conn() is client and client.session_id != old_token


def test_legacy_field_behaviour_matches_provider_info() -> None:
    behaviour = SalesforcePyHook.get_ui_field_behaviour()
    (conn,) = get_provider_info()["connection-types"]
    assert behaviour["hidden_fields"] == conn["ui-field-behaviour"]["hidden-fields"]
    assert behaviour["placeholders"] == conn["ui-field-behaviour"]["placeholders"]


def test_connection_from_a_uri(monkeypatch: pytest.MonkeyPatch, emulator: Any) -> None:
    from urllib.parse import quote

    host = emulator.base_url.split("://", 1)[1]
    uri = (
        f"sfpy://{quote(emulator.username, safe='')}:{quote(emulator.password, safe='')}@{host}"
        f"?client_id={quote(emulator.client_id)}&client_secret={quote(emulator.client_secret)}"
    )
    monkeypatch.setenv("AIRFLOW_CONN_SFPY_URI", uri)
    settings = SalesforcePyHook(sfpy_conn_id="sfpy_uri").settings()
    assert settings.username == emulator.username and settings.auth_type == "password"
    assert settings.login_url == host  # the URI's port is put back on the host


def test_async_clients_of_one_connection_share_one_http_client_until_the_last_closes(password_conn: str) -> None:
    """One TLS context and connection pool per connection and event loop, however many triggers wait."""

    async def scenario() -> None:
        first = await SalesforcePyHook.aget_async_client(password_conn)
        second = await SalesforcePyHook.aget_async_client(password_conn)
        http = first._http
        assert second._http is http
        await first.aclose()
        assert not http.is_closed  # the second client still uses it
        assert (await second.get(second.data_path("limits")))["DailyApiRequests"]["Max"] > 0
        await second.aclose()
        assert http.is_closed
        third = await SalesforcePyHook.aget_async_client(password_conn)  # a fresh one after the last closed
        assert third._http is not http and not third._http.is_closed
        await third.aclose()

    asyncio.run(scenario())
    # Another event loop never gets the first loop's HTTP client.
    asyncio.run(scenario())


def test_a_failed_login_gives_the_shared_http_client_back(wrong_password_conn: str) -> None:
    async def scenario() -> list[Any]:
        with pytest.raises(SalesforceError):
            await SalesforcePyHook.aget_async_client(wrong_password_conn)
        return [c for shared in _SharedHttpClient._by_loop.values() for c in shared.values()]

    assert asyncio.run(scenario()) == []
