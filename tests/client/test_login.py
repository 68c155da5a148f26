"""Every login flow against the emulator's OAuth endpoint, and the errors each bad input gets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_sfpy.client import (
    Client,
    SalesforceAuthError,
    SalesforceConfigError,
    SalesforceConnectionError,
    SalesforceSessionExpiredError,
)
from airflow_provider_sfpy.client.versions import pick_highest_version
from airflow_provider_sfpy.emulator import defaults


def test_password_login_picks_the_highest_version_and_hides_the_token(make_client: Callable[..., Client]) -> None:
    client = make_client()
    body, response = client.login()
    assert response.status == 200
    assert client.version == defaults.LATEST_API_VERSION
    assert "access_token" not in body and "refresh_token" not in body and "signature" not in body
    assert body["instance_url"].startswith("http://127.0.0.1:")
    assert client.session_id not in repr(client) and client.session_id not in repr(body)


def test_versions_compare_numerically_not_as_strings() -> None:
    assert pick_highest_version([{"version": "9.0"}, {"version": "10.0"}, {"version": "100.0"}]) == "100.0"
    assert pick_highest_version([{"version": "59.0"}, {"version": "60.0"}, {"version": "6.0"}]) == "60.0"


def test_explicit_version_is_kept(make_client: Callable[..., Client]) -> None:
    client = make_client(version="v58")
    client.login()
    assert client.version == "58.0"
    body, _ = client.query("SELECT Id FROM Account LIMIT 1")
    assert "/v58.0/" in body["records"][0]["attributes"]["url"]


def test_wrong_password_names_the_flow_and_salesforce_description(make_client: Callable[..., Client]) -> None:
    with pytest.raises(SalesforceAuthError) as caught:
        make_client(password="not-the-password").login()
    err = caught.value
    assert err.flow == "password" and err.error == "invalid_grant" and err.status == 400
    assert "password login" in str(err) and "authentication failure" in str(err)
    assert "not-the-password" not in str(err)


def test_wrong_client_secret_is_an_auth_error(make_client: Callable[..., Client]) -> None:
    with pytest.raises(SalesforceAuthError) as caught:
        make_client(client_secret="wrong-secret").login()
    assert caught.value.error in ("invalid_client", "invalid_client_id")
    assert "wrong-secret" not in str(caught.value)


@pytest.mark.parametrize(
    ("missing", "named"),
    [("password", "password"), ("client_id", "client_id"), ("client_secret", "client_secret")],
)
def test_missing_fields_are_named_before_any_request(
    make_client: Callable[..., Client], emulator: Any, missing: str, named: str
) -> None:
    emulator.clear_requests_log()
    with pytest.raises(SalesforceConfigError, match=named):
        make_client(**{missing: None}).login()
    assert emulator.requests_log() == []


def test_plain_http_to_a_remote_host_is_refused() -> None:
    with pytest.raises(SalesforceConfigError, match="plain http"):
        Client("u", "p", "id", "secret", login_url="http://login.example.com")


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("login.salesforce.com", "https://login.salesforce.com"),
        ("https://acme.my.salesforce.com/", "https://acme.my.salesforce.com"),
        ("http://localhost:8080", "http://localhost:8080"),
        ("http://127.0.0.5:1234/path", "http://127.0.0.5:1234"),
    ],
)
def test_login_url_forms(given: str, expected: str) -> None:
    assert Client("u", "p", "id", "s", login_url=given).login_url == expected


def test_jwt_bearer_login(emulator: Any) -> None:
    client = Client.with_jwt(
        username=emulator.username,
        client_id=emulator.client_id,
        private_key=emulator.jwt_private_key,
        login_url=emulator.base_url,
    )
    client.login()
    body, _ = client.query("SELECT COUNT() FROM Account")
    assert body["totalSize"] > 0


def test_jwt_with_a_key_the_org_does_not_trust_is_refused(emulator: Any) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    client = Client.with_jwt(
        username=emulator.username, client_id=emulator.client_id, private_key=pem, login_url=emulator.base_url
    )
    with pytest.raises(SalesforceAuthError) as caught:
        client.login()
    assert caught.value.flow == "JWT bearer" and caught.value.error == "invalid_grant"
    assert "BEGIN" not in str(caught.value)


def test_jwt_with_garbage_key_fails_before_any_request(emulator: Any) -> None:
    emulator.clear_requests_log()
    client = Client.with_jwt(
        username=emulator.username,
        client_id=emulator.client_id,
        private_key="-----BEGIN PRIVATE KEY-----\nnot-a-key-sekrit\n-----END PRIVATE KEY-----",
        login_url=emulator.base_url,
    )
    with pytest.raises(SalesforceConfigError, match="not a usable RSA private key") as caught:
        client.login()
    assert "sekrit" not in str(caught.value)
    assert emulator.requests_log() == []


def test_jwt_key_file(emulator: Any, tmp_path: Any) -> None:
    key_file = tmp_path / "sf.key"
    key_file.write_text(emulator.jwt_private_key)
    client = Client.with_jwt(
        username=emulator.username,
        client_id=emulator.client_id,
        private_key_file=str(key_file),
        login_url=emulator.base_url,
    )
    assert client.login().response.status == 200
    with pytest.raises(SalesforceConfigError, match="cannot read private_key_file"):
        Client.with_jwt(
            username="u", client_id="c", private_key_file=str(tmp_path / "missing.key"), login_url=emulator.base_url
        ).login()


def test_client_credentials_login(emulator: Any) -> None:
    client = Client.with_client_credentials(
        client_id=emulator.client_id, client_secret=emulator.client_secret, login_url=emulator.base_url
    )
    client.login()
    assert client.limits().response.status == 200
    bad = Client.with_client_credentials(
        client_id=emulator.client_id, client_secret="nope", login_url=emulator.base_url
    )
    with pytest.raises(SalesforceAuthError) as caught:
        bad.login()
    assert caught.value.flow == "client credentials" and caught.value.error == "invalid_client"


def test_refresh_token_login_and_expired_refresh_token(emulator: Any, make_client: Callable[..., Client]) -> None:
    client = Client.with_refresh_token(
        refresh_token=emulator.refresh_token, client_id=emulator.client_id, login_url=emulator.base_url
    )
    assert client.login().response.status == 200
    bogus = Client.with_refresh_token(
        refresh_token="expired-or-revoked", client_id=emulator.client_id, login_url=emulator.base_url
    )
    with pytest.raises(SalesforceAuthError) as caught:
        bogus.login()
    assert caught.value.flow == "refresh token" and caught.value.error == "invalid_grant"
    assert "expired" in str(caught.value)


def test_session_login_and_logout_revokes_the_token(make_client: Callable[..., Client], emulator: Any) -> None:
    client = make_client()
    client.login()
    borrowed = Client.from_session(emulator.base_url, client.session_id, retry=client.transport.retry)
    assert borrowed.query("SELECT Id FROM Account LIMIT 1").response.status == 200
    _, response = client.logout()
    assert response.status == 200
    # The session flow cannot log in again, so the revoked token surfaces as a typed error.
    with pytest.raises(SalesforceSessionExpiredError) as caught:
        borrowed.query("SELECT Id FROM Account LIMIT 1")
    assert caught.value.error_code == "INVALID_SESSION_ID"


def test_tls_is_verified_and_a_ca_bundle_makes_it_trusted(emulator_tls: Any) -> None:
    kwargs: dict[str, Any] = {
        "username": emulator_tls.username,
        "password": emulator_tls.password,
        "client_id": emulator_tls.client_id,
        "client_secret": emulator_tls.client_secret,
        "login_url": emulator_tls.base_url,
    }
    assert emulator_tls.base_url.startswith("https://")
    with pytest.raises(SalesforceConnectionError, match="TLS certificate verification failed"):
        Client(**kwargs).login()
    trusted = Client(**kwargs, ca_bundle=emulator_tls.ca_bundle_path)
    trusted.login()
    assert trusted.query("SELECT COUNT() FROM Account").body["totalSize"] > 0
