"""The default username/password/security-token logins of simple-salesforce 1.12 and of the official
provider's ``SalesforceHook`` (both SOAP ``login()`` at ``login.salesforce.com``/``test.salesforce.com``),
unchanged, against the emulator.

They run against an org of their own whose login needs a security token, so the tests prove the
token is sent and checked (the shared TLS emulator's token is empty, with which the hook would take
its no-token path). Its ``*.salesforce.com`` calls go there through a ``RoutingSession``.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from airflow.providers.salesforce.hooks.salesforce import SalesforceHook
from simple_salesforce import Salesforce, SalesforceAuthenticationFailed

from airflow_provider_sfpy.emulator.testing import RunningEmulator, start_emulator
from conformance.conftest import RoutingSession

SECURITY_TOKEN = "sfpyToken4SOAP"
CONN_ID = "salesforce_soap"
SIMPLE_SALESFORCE_VERSION = "59.0"  # simple-salesforce's (and so the hook's) default API version


@pytest.fixture(scope="module")
def token_org() -> Iterator[RunningEmulator]:
    """A TLS org with sample data whose logins need the security token appended to the password."""
    with start_emulator(tls=True, security_token=SECURITY_TOKEN) as org:
        yield org
        # A client exception's traceback keeps its response, and so its TLS socket, alive in a
        # reference cycle; collect it, or the server's graceful shutdown waits 5 s for that socket.
        gc.collect()


@pytest.fixture
def to_token_org(token_org: RunningEmulator) -> Iterator[RoutingSession]:
    """A ``requests.Session`` that sends ``*.salesforce.com`` to ``token_org``."""
    token_org.clear_requests_log()
    with RoutingSession(token_org.base_url, token_org.ca_bundle_path) as session:
        yield session


def set_salesforce_connection(monkeypatch: pytest.MonkeyPatch, org: RunningEmulator, password: str) -> str:
    """An Airflow ``salesforce`` connection as the provider documents it: username, password, security token."""
    connection = {
        "conn_type": "salesforce",
        "login": org.username,
        "password": password,
        "extra": {"security_token": SECURITY_TOKEN},
    }
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(connection))
    return CONN_ID


def soap_logins(org: RunningEmulator) -> list[tuple[str, int]]:
    """(path, status) of every SOAP request the org received since the test started."""
    return [(r["path"], r["status"]) for r in org.requests_log() if r["path"].startswith("/services/Soap/")]


def sandbox_flag_is_modelled(org: RunningEmulator, session: requests.Session) -> bool:
    """Whether the org has the Organization object that ``is_sandbox()`` queries (it is being added)."""
    response = session.get(org.data_url("/sobjects"), headers=org.auth_headers(), timeout=30)
    response.raise_for_status()
    return any(sobject["name"] == "Organization" for sobject in response.json()["sobjects"])


def login(org: RunningEmulator, session: RoutingSession, **kwargs: Any) -> Salesforce:
    return Salesforce(username=org.username, password=org.password, session=session, **kwargs)


def test_simple_salesforce_logs_in_with_password_and_security_token(
    token_org: RunningEmulator, to_token_org: RoutingSession
) -> None:
    sf = login(token_org, to_token_org, security_token=SECURITY_TOKEN)
    assert soap_logins(token_org) == [(f"/services/Soap/u/{SIMPLE_SALESFORCE_VERSION}", 200)]
    assert sf.sf_instance == f"{token_org.host}:{token_org.port}"
    assert sf.query("SELECT Id FROM Account")["totalSize"] == token_org.store.count("Account")


def test_simple_salesforce_logs_in_to_a_sandbox_with_domain_test(
    token_org: RunningEmulator, to_token_org: RoutingSession
) -> None:
    sf = login(token_org, to_token_org, security_token=SECURITY_TOKEN, domain="test")
    assert soap_logins(token_org) == [(f"/services/Soap/u/{SIMPLE_SALESFORCE_VERSION}", 200)]
    assert sf.query("SELECT Id FROM Contact")["totalSize"] == token_org.store.count("Contact")


def test_simple_salesforce_login_without_the_security_token_is_refused(
    token_org: RunningEmulator, to_token_org: RoutingSession
) -> None:
    with pytest.raises(SalesforceAuthenticationFailed) as raised:
        login(token_org, to_token_org, security_token="")
    assert raised.value.code == "INVALID_LOGIN"
    assert "Invalid username, password, security token; or user locked out." in str(raised.value)


def test_simple_salesforce_is_sandbox(token_org: RunningEmulator, to_token_org: RoutingSession) -> None:
    if not sandbox_flag_is_modelled(token_org, to_token_org):
        pytest.skip("the emulator has no Organization object yet (issue #14 item 2), which is_sandbox() queries")
    sf = login(token_org, to_token_org, security_token=SECURITY_TOKEN)
    assert sf.is_sandbox() is False


def test_salesforce_hook_make_query_after_soap_login(
    monkeypatch: pytest.MonkeyPatch, token_org: RunningEmulator, to_token_org: RoutingSession
) -> None:
    conn_id = set_salesforce_connection(monkeypatch, token_org, token_org.password)
    hook = SalesforceHook(salesforce_conn_id=conn_id, session=to_token_org)
    result = hook.make_query("SELECT Id FROM Account")
    assert soap_logins(token_org) == [(f"/services/Soap/u/{SIMPLE_SALESFORCE_VERSION}", 200)]
    assert result["done"] is True
    assert result["totalSize"] == token_org.store.count("Account") == len(result["records"])


def test_salesforce_hook_with_a_wrong_password_fails_to_log_in(
    monkeypatch: pytest.MonkeyPatch, token_org: RunningEmulator, to_token_org: RoutingSession
) -> None:
    conn_id = set_salesforce_connection(monkeypatch, token_org, "wrong-password")
    with pytest.raises(SalesforceAuthenticationFailed) as raised:
        SalesforceHook(salesforce_conn_id=conn_id, session=to_token_org).get_conn()
    assert raised.value.code == "INVALID_LOGIN"
