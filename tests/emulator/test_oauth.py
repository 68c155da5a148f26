"""The OAuth endpoints over HTTP: every grant, every refusal with Salesforce's error codes, revoke,
userinfo and the identity URL."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

import jwt
import pytest
import requests

from airflow_provider_sfpy.emulator.certs import jwt_key_pair
from airflow_provider_sfpy.emulator.testing import RunningEmulator, start_emulator


def _token(emulator: RunningEmulator, **data: str) -> requests.Response:
    return requests.post(emulator.token_url, data=data, timeout=30)


def _password(emulator: RunningEmulator, **overrides: str) -> requests.Response:
    data = {
        "grant_type": "password",
        "client_id": emulator.client_id,
        "client_secret": emulator.client_secret,
        "username": emulator.username,
        "password": emulator.password,
    }
    data.update(overrides)
    return _token(emulator, **data)


def _assertion(emulator: RunningEmulator, key: str | None = None, **claims: Any) -> str:
    payload: dict[str, Any] = {
        "iss": emulator.client_id,
        "sub": emulator.username,
        "aud": "https://login.salesforce.com",
        "exp": int(time.time()) + 180,
    }
    payload.update(claims)
    payload = {k: v for k, v in payload.items() if v is not None}
    signing_key = key or emulator.jwt_private_key_pem
    assert signing_key is not None
    return jwt.encode(payload, signing_key, algorithm="RS256")


def _jwt(emulator: RunningEmulator, assertion: str) -> requests.Response:
    return _token(emulator, grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer", assertion=assertion)


def _api_status(emulator: RunningEmulator, token: str) -> int:
    response = requests.get(emulator.data_url("/limits"), headers={"Authorization": f"Bearer {token}"}, timeout=30)
    return response.status_code


def test_password_flow_returns_a_salesforce_shaped_token(emulator: RunningEmulator) -> None:
    response = _password(emulator)
    assert response.status_code == 200
    body = response.json()
    org_id = emulator.store.org_id
    assert body["access_token"].startswith(org_id[:15] + "!AQ")
    assert body["instance_url"] == emulator.base_url
    assert body["id"] == f"{emulator.base_url}/id/{org_id}/{emulator.state.admin_user_id}"
    assert body["token_type"] == "Bearer"
    assert body["issued_at"].isdigit() and abs(int(body["issued_at"]) / 1000 - time.time()) < 60
    expected = hmac.new(emulator.client_secret.encode(), (body["id"] + body["issued_at"]).encode(), hashlib.sha256)
    assert body["signature"] == base64.b64encode(expected.digest()).decode()
    assert body["refresh_token"] == emulator.refresh_token
    assert "api" in body["scope"].split()
    assert _api_status(emulator, body["access_token"]) == 200


def test_username_is_case_insensitive(emulator: RunningEmulator) -> None:
    assert _password(emulator, username=emulator.username.upper()).status_code == 200


@pytest.mark.parametrize(
    ("overrides", "error", "description"),
    [
        ({"password": "wrong"}, "invalid_grant", "authentication failure"),
        ({"username": "nobody@example.com"}, "invalid_grant", "authentication failure"),
        ({"client_id": "unknown"}, "invalid_client_id", "client identifier invalid"),
        ({"client_secret": "wrong"}, "invalid_client", "invalid client credentials"),
        ({"grant_type": "authorization_code"}, "unsupported_grant_type", "grant type not supported"),
        ({"grant_type": ""}, "unsupported_grant_type", "grant type not supported"),
    ],
)
def test_password_flow_errors(
    emulator: RunningEmulator, overrides: dict[str, str], error: str, description: str
) -> None:
    response = _password(emulator, **overrides)
    assert response.status_code == 400
    assert response.json() == {"error": error, "error_description": description}


def test_password_flow_with_a_security_token_needs_it_appended() -> None:
    with start_emulator(sample_data=False, security_token="TOKEN123") as emulator:
        assert _password(emulator).status_code == 400
        assert _password(emulator, password=emulator.password + "TOKEN123").status_code == 200


def test_client_credentials(emulator: RunningEmulator) -> None:
    ok = _token(
        emulator, grant_type="client_credentials", client_id=emulator.client_id, client_secret=emulator.client_secret
    )
    assert ok.status_code == 200
    assert "refresh_token" not in ok.json()
    assert _api_status(emulator, ok.json()["access_token"]) == 200
    bad = _token(emulator, grant_type="client_credentials", client_id=emulator.client_id, client_secret="nope")
    assert bad.status_code == 400
    assert bad.json() == {"error": "invalid_client", "error_description": "invalid client credentials"}


def test_client_credentials_in_a_basic_authorization_header(emulator: RunningEmulator) -> None:
    response = requests.post(
        emulator.token_url,
        data={"grant_type": "client_credentials"},
        auth=(emulator.client_id, emulator.client_secret),
        timeout=30,
    )
    assert response.status_code == 200


def test_refresh_token_flow(emulator: RunningEmulator) -> None:
    ok = _token(
        emulator, grant_type="refresh_token", client_id=emulator.client_id, refresh_token=emulator.refresh_token
    )
    assert ok.status_code == 200
    assert _api_status(emulator, ok.json()["access_token"]) == 200
    bad = _token(emulator, grant_type="refresh_token", client_id=emulator.client_id, refresh_token="stale")
    assert bad.json() == {"error": "invalid_grant", "error_description": "expired access/refresh token"}
    wrong_client = _token(emulator, grant_type="refresh_token", client_id="x", refresh_token=emulator.refresh_token)
    assert wrong_client.json()["error"] == "invalid_client_id"


def test_revoking_an_access_token(emulator: RunningEmulator) -> None:
    token = _password(emulator).json()["access_token"]
    response = requests.post(f"{emulator.base_url}/services/oauth2/revoke", data={"token": token}, timeout=30)
    assert response.status_code == 200
    assert _api_status(emulator, token) == 401
    again = requests.post(f"{emulator.base_url}/services/oauth2/revoke", data={"token": token}, timeout=30)
    assert again.status_code == 400
    assert again.json() == {"error": "unsupported_token_type", "error_description": "this token type is not supported"}


def test_revoking_the_refresh_token_ends_it_and_its_sessions() -> None:
    with start_emulator(sample_data=False) as emulator:
        session = _password(emulator).json()["access_token"]
        revoke_url = f"{emulator.base_url}/services/oauth2/revoke"
        assert requests.post(revoke_url, data={"token": emulator.refresh_token}, timeout=30).status_code == 200
        assert _api_status(emulator, session) == 401
        refreshed = _token(
            emulator, grant_type="refresh_token", client_id=emulator.client_id, refresh_token=emulator.refresh_token
        )
        assert refreshed.json()["error"] == "invalid_grant"


def test_jwt_bearer_accepted_for_each_audience(emulator: RunningEmulator) -> None:
    for audience in ("https://login.salesforce.com", "https://test.salesforce.com", emulator.base_url):
        response = _jwt(emulator, _assertion(emulator, aud=audience))
        assert response.status_code == 200, (audience, response.text)
        body = response.json()
        assert "refresh_token" not in body
        assert _api_status(emulator, body["access_token"]) == 200


def test_jwt_bearer_for_another_known_user(emulator: RunningEmulator) -> None:
    response = _jwt(emulator, _assertion(emulator, sub="ana.garcia@sfpy.example"))
    assert response.status_code == 200
    ana = emulator.store.user_by_username("ana.garcia@sfpy.example")
    assert ana is not None and response.json()["id"].endswith(ana["Id"])


@pytest.mark.parametrize(
    ("claims", "error", "description"),
    [
        ({"aud": "https://evil.example.com"}, "invalid_grant", "audience is invalid"),
        ({"exp": int(time.time()) - 600}, "invalid_grant", "expired authorization code"),
        ({"exp": None}, "invalid_grant", "invalid assertion"),
        ({"sub": "stranger@example.com"}, "invalid_grant", "user hasn't approved this consumer"),
        ({"iss": "someone-else"}, "invalid_client_id", "client identifier invalid"),
    ],
)
def test_jwt_bearer_refusals(emulator: RunningEmulator, claims: dict[str, Any], error: str, description: str) -> None:
    response = _jwt(emulator, _assertion(emulator, **claims))
    assert response.status_code == 400
    assert response.json() == {"error": error, "error_description": description}


def test_jwt_signed_by_an_untrusted_key_or_garbage_is_an_invalid_assertion(emulator: RunningEmulator) -> None:
    stranger = jwt_key_pair().private_key_pem
    for assertion in (_assertion(emulator, key=stranger), "not.a.jwt", ""):
        response = _jwt(emulator, assertion)
        assert response.status_code == 400
        assert response.json() == {"error": "invalid_grant", "error_description": "invalid assertion"}


def test_userinfo_and_identity_url(emulator: RunningEmulator) -> None:
    token = _password(emulator).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    info = requests.get(f"{emulator.base_url}/services/oauth2/userinfo", headers=headers, timeout=30)
    assert info.status_code == 200
    assert info.json()["preferred_username"] == emulator.username
    identity = requests.get(token["id"], headers=headers, timeout=30)
    assert identity.status_code == 200
    assert identity.json()["username"] == emulator.username
    assert identity.json()["organization_id"] == emulator.store.org_id
    anonymous = requests.get(f"{emulator.base_url}/services/oauth2/userinfo", timeout=30)
    assert anonymous.status_code == 403
