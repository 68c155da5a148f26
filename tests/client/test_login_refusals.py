"""A refused login quotes Salesforce's OAuth error once and says what it means, or the flow's usual causes.

Where the emulator refuses a login itself (a wrong password or secret, an unknown JWT subject, a wrong
audience, a refresh token it does not know) the test logs in for real; the refusals the emulator has
no setting for (a clock skew, a connected app without a Run As user, the client credentials flow
sent to login.salesforce.com) are Salesforce's documented answers served by its fault injection.
Before this change a wrong password read ``invalid_grant: password login at ... was refused:
invalid_grant: authentication failure`` (the code twice) with one fixed list of checks per flow.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_sfpy.client import Client, PasswordFlow, SalesforceAuthError
from airflow_provider_sfpy.client.aio import AsyncClient

TOKEN_PATH = r"/services/oauth2/token$"
WRONG_PASSWORD = "Wr0ng-Passw0rd-7f3a"


def oauth_refusal(error: str, description: str) -> dict[str, Any]:
    """A fault rule: the token endpoint answers Salesforce's refusal ``error``/``description``."""
    body = json.dumps({"error": error, "error_description": description})
    return {"path": TOKEN_PATH, "status": 400, "body": body, "content_type": "application/json"}


def refusal(client: Client) -> SalesforceAuthError:
    with pytest.raises(SalesforceAuthError) as caught:
        client.login()
    return caught.value


def assert_code_once(error: SalesforceAuthError, code: str, description: str) -> str:
    text = str(error)
    assert error.error == code and error.error_code == code
    assert text.count(code) == 1, text
    assert f"was refused: {code}: {description}." in text, text
    return text


def jwt_client(emulator: Any, **overrides: Any) -> Client:
    settings: dict[str, Any] = {
        "username": emulator.username,
        "client_id": emulator.client_id,
        "private_key": emulator.jwt_private_key_pem,
        "login_url": emulator.base_url,
    }
    settings.update(overrides)
    return Client.with_jwt(**settings)


def test_a_wrong_password_names_the_security_token_and_the_login_url(make_client: Callable[..., Client]) -> None:
    error = refusal(make_client(password=WRONG_PASSWORD))
    text = assert_code_once(error, "invalid_grant", "authentication failure")
    assert "password must be followed by the user's security_token" in text
    assert "https://test.salesforce.com for a sandbox" in text and "My Domain" in text
    assert WRONG_PASSWORD not in text


def test_the_async_client_words_a_refusal_the_same_way(emulator: Any, make_client: Callable[..., Client]) -> None:
    flow = PasswordFlow(emulator.username, WRONG_PASSWORD, emulator.client_id, emulator.client_secret)

    async def login() -> None:
        async with AsyncClient(login_url=emulator.base_url, auth=flow) as client:
            await client.login()

    with pytest.raises(SalesforceAuthError) as caught:
        asyncio.run(login())
    assert str(caught.value) == str(refusal(make_client(password=WRONG_PASSWORD)))


def test_a_wrong_client_secret_names_the_connected_app_credentials(
    emulator: Any, make_client: Callable[..., Client]
) -> None:
    error = refusal(make_client(client_secret="not-the-secret"))
    text = assert_code_once(error, "invalid_client", "invalid client credentials")
    assert "client_id and client_secret are not a connected app's consumer key and secret" in text
    assert "not-the-secret" not in text


def test_a_jwt_user_not_pre_authorized(emulator: Any) -> None:
    error = refusal(jwt_client(emulator, username="stranger@example.com"))
    text = assert_code_once(error, "invalid_grant", "user hasn't approved this consumer")
    assert "not pre-authorized for the connected app" in text and "permission set" in text


def test_a_jwt_audience_that_is_not_the_login_servers(emulator: Any) -> None:
    error = refusal(jwt_client(emulator, audience="https://login.example.com"))
    text = assert_code_once(error, "invalid_grant", "audience is invalid")
    assert "https://login.salesforce.com for production or https://test.salesforce.com for a sandbox" in text


def test_a_jwt_assertion_expired_on_arrival_points_at_the_clock(emulator: Any) -> None:
    emulator.add_faults(oauth_refusal("invalid_grant", "expired authorization code"))
    text = assert_code_once(refusal(jwt_client(emulator)), "invalid_grant", "expired authorization code")
    assert "this machine's clock is probably wrong" in text


def test_a_jwt_refusal_the_answer_does_not_explain_lists_the_flows_usual_causes(emulator: Any) -> None:
    emulator.add_faults(oauth_refusal("invalid_grant", "authentication failure"))
    text = assert_code_once(refusal(jwt_client(emulator)), "invalid_grant", "authentication failure")
    for cause in ("certificate uploaded to the connected app", "pre-authorized", "audience", "clock"):
        assert cause in text, (cause, text)
    assert "security_token" not in text  # the password flow's causes are not this flow's


@pytest.mark.parametrize(
    ("error", "description", "meaning"),
    [
        ("invalid_grant", "request not supported on this domain", "served only on the org's My Domain"),
        ("invalid_grant", "no client credentials user enabled", "no Run As user"),
    ],
    ids=["not-my-domain", "no-run-as-user"],
)
def test_client_credentials_refusals_name_my_domain_and_the_run_as_user(
    error: str, description: str, meaning: str, emulator: Any
) -> None:
    emulator.add_faults(oauth_refusal(error, description))
    client = Client.with_client_credentials(
        client_id=emulator.client_id, client_secret=emulator.client_secret, login_url=emulator.base_url
    )
    text = assert_code_once(refusal(client), error, description)
    assert meaning in text and "client credentials login" in text


def test_a_refresh_token_salesforce_no_longer_accepts(emulator: Any) -> None:
    client = Client.with_refresh_token(
        refresh_token="5Aep861-revoked", client_id=emulator.client_id, login_url=emulator.base_url
    )
    text = assert_code_once(refusal(client), "invalid_grant", "expired access/refresh token")
    assert "the refresh token was revoked or has expired: authorize the app again" in text
    assert "5Aep861-revoked" not in text
