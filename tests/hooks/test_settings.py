"""Connection fields -> login flow: every auth type, inference, prefixed extras and missing fields."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_sfpy.client import (
    ClientCredentialsFlow,
    JwtBearerFlow,
    PasswordFlow,
    RefreshTokenFlow,
    SalesforceConfigError,
    SessionFlow,
)
from airflow_provider_sfpy.hooks.settings import ConnectionSettings


def settings(
    host: str | None = "login.salesforce.com",
    login: str | None = "u@example.com",
    password: str | None = "pw",
    **extras: Any,
) -> ConnectionSettings:
    return ConnectionSettings.from_fields(host=host, login=login, password=password, extras=extras)


@pytest.mark.parametrize(
    ("fields", "flow_type"),
    [
        ({"client_id": "id", "client_secret": "s"}, PasswordFlow),
        ({"auth_type": "jwt", "client_id": "id", "private_key": "PEM"}, JwtBearerFlow),
        ({"private_key_file": "/k.pem", "client_id": "id"}, JwtBearerFlow),
        ({"auth_type": "client_credentials", "client_id": "id", "client_secret": "s"}, ClientCredentialsFlow),
        ({"refresh_token": "r", "client_id": "id"}, RefreshTokenFlow),
        ({"auth_type": "session", "access_token": "t", "instance_url": "https://a.my.salesforce.com"}, SessionFlow),
    ],
)
def test_each_auth_type_builds_its_flow(fields: dict[str, Any], flow_type: type) -> None:
    assert isinstance(settings(**fields).auth_flow(), flow_type)


def test_client_credentials_inferred_without_a_username() -> None:
    s = settings(login=None, password=None, client_id="id", client_secret="s")
    assert s.auth_type == "client_credentials"


def test_prefixed_extras_from_old_forms_are_read() -> None:
    s = settings(**{"extra__sfpy__client_id": "id", "extra__sfpy__client_secret": "s"})
    flow = s.auth_flow()
    assert isinstance(flow, PasswordFlow) and flow.client_id == "id"


def test_short_keys_win_over_prefixed_and_blank_counts_as_unset() -> None:
    s = settings(
        client_id="short", client_secret=" ", **{"extra__sfpy__client_id": "long", "extra__sfpy__client_secret": "s2"}
    )
    flow = s.auth_flow()
    assert isinstance(flow, PasswordFlow) and flow.client_id == "short" and flow.client_secret == "s2"


@pytest.mark.parametrize(
    ("fields", "missing"),
    [
        ({"client_id": "id"}, "client_secret"),
        ({"auth_type": "jwt", "client_id": "id"}, "private_key or private_key_file"),
        ({"auth_type": "refresh_token", "client_id": "id"}, "refresh_token"),
        ({"auth_type": "session"}, "access_token"),
    ],
)
def test_missing_fields_are_named(fields: dict[str, Any], missing: str) -> None:
    kwargs: dict[str, Any] = {"password": None} if fields.get("auth_type") == "session" else {}
    with pytest.raises(SalesforceConfigError, match=missing):
        settings(**kwargs, **fields).auth_flow()


def test_unknown_auth_type() -> None:
    with pytest.raises(SalesforceConfigError, match="not one of"):
        settings(auth_type="kerberos")


def test_timeout_proxies_and_version_are_passed_to_the_client() -> None:
    s = settings(
        client_id="id", client_secret="s", timeout="30", proxies='{"https": "http://proxy:3128"}', version="61"
    )
    client = s.build_client()
    assert client.transport.timeout == (10.0, 30.0)
    assert client.transport.session.proxies["https"] == "http://proxy:3128"
    assert client.version == "61.0"


@pytest.mark.parametrize(
    ("extra", "message"),
    [({"timeout": "soon"}, "timeout"), ({"proxies": "[1]"}, "proxies"), ({"proxies": "not json"}, "proxies")],
)
def test_bad_extras_are_explained(extra: dict[str, Any], message: str) -> None:
    with pytest.raises(SalesforceConfigError, match=message):
        settings(client_id="id", client_secret="s", **extra).build_client()


def test_secrets_listed_for_masking_and_hidden_from_repr() -> None:
    s = settings(client_id="id", client_secret="csecret", security_token="stoken", refresh_token="rtoken")
    assert set(s.secrets()) == {"pw", "csecret", "stoken", "rtoken"}
    assert "csecret" not in repr(s) and "pw" not in repr(s.auth_flow())


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        ("login.salesforce.com", None, "login.salesforce.com"),
        ("127.0.0.1", 8999, "127.0.0.1:8999"),
        ("http://127.0.0.1", 8999, "http://127.0.0.1:8999"),
        ("http://127.0.0.1:7000", 8999, "http://127.0.0.1:7000"),
        ("https://acme.my.salesforce.com/", 443, "https://acme.my.salesforce.com:443"),
    ],
)
def test_a_separate_port_is_put_back_on_the_host(host: str, port: int | None, expected: str) -> None:
    s = ConnectionSettings.from_fields(host=host, login="u", password="p", extras={}, port=port)
    assert s.login_url == expected
