"""Where credentials and tokens may go: verified TLS only, plain HTTP only on this machine, only the instance host.

- TLS is verified by default, by the hook, the operators and the trigger's async client alike, against
  the emulator's TLS mode (a self-signed certificate): refused without ``ca_bundle``, accepted with it,
  and the environment cannot switch verification off.
- A login URL, session instance URL or token-endpoint ``instance_url`` over plain ``http://`` to a
  non-loopback host is refused before anything is sent to it (hosts ending in ``.invalid`` cannot
  resolve, so an attempt would show up as a connection error, not the configuration error asserted).
- A server-given link (``nextRecordsUrl``, a job list's next page) to another host is refused; the
  request is never made, so the bearer token never leaves the instance.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
from reliability_support import FAST_RETRY, connection_fields, first_event, task_context, with_fast_retries

from airflow_provider_sfpy.client import (
    Client,
    PasswordFlow,
    RetryPolicy,
    SalesforceConfigError,
    SalesforceConnectionError,
    SalesforceUnsafeUrlError,
)
from airflow_provider_sfpy.client.aio import AsyncClient
from airflow_provider_sfpy.hooks.salesforce import SalesforcePyHook
from airflow_provider_sfpy.operators.query_to_file import SalesforceQueryToFileOperator
from airflow_provider_sfpy.triggers.bulk import SalesforceBulkJobTrigger

EVIL = "sfpy-evil.invalid"


def set_conn(monkeypatch: pytest.MonkeyPatch, conn_id: str, fields: dict[str, Any]) -> str:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(fields))
    return conn_id


# ------------------------------------------------------------------------------------------ TLS
def test_hook_and_operator_verify_tls_by_default(
    emulator_tls: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    untrusted = set_conn(monkeypatch, "sfpy_tls_untrusted", connection_fields(emulator_tls))
    with pytest.raises(SalesforceConnectionError, match=r"TLS certificate verification failed.*ca_bundle"):
        SalesforcePyHook(sfpy_conn_id=untrusted, retry=FAST_RETRY).get_conn()
    operator = SalesforceQueryToFileOperator(
        task_id="export", soql="SELECT Id FROM Account", destination=str(tmp_path / "a.csv"), sfpy_conn_id=untrusted
    )
    with pytest.raises(SalesforceConnectionError):
        with_fast_retries(operator).execute(context=task_context())
    assert list(tmp_path.iterdir()) == []
    ok, message = SalesforcePyHook(sfpy_conn_id=untrusted).test_connection()
    assert not ok and "TLS certificate verification failed" in message

    trusted = set_conn(monkeypatch, "sfpy_tls", connection_fields(emulator_tls, ca_bundle=emulator_tls.ca_bundle_path))
    operator = SalesforceQueryToFileOperator(
        task_id="export", soql="SELECT Id FROM Account", destination=str(tmp_path / "a.csv"), sfpy_conn_id=trusted
    )
    assert with_fast_retries(operator).execute(context=task_context())["rows"] > 0
    assert SalesforcePyHook(sfpy_conn_id=trusted).test_connection()[0]


@pytest.mark.parametrize(
    "environment",
    [{"CURL_CA_BUNDLE": ""}, {"REQUESTS_CA_BUNDLE": ""}, {"PYTHONHTTPSVERIFY": "0"}],
    ids=["empty-CURL_CA_BUNDLE", "empty-REQUESTS_CA_BUNDLE", "PYTHONHTTPSVERIFY=0"],
)
def test_the_environment_cannot_switch_verification_off(
    environment: dict[str, str], emulator_tls: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    client = emulator_tls.password_client(retry=FAST_RETRY)
    with pytest.raises(SalesforceConnectionError, match="TLS certificate verification failed"):
        client.login()


def test_an_explicit_ca_bundle_wins_over_one_from_the_environment(
    emulator_tls: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import certifi

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())  # the public CAs: would refuse the emulator
    client = emulator_tls.password_client(ca_bundle=emulator_tls.ca_bundle_path)
    assert client.login().response.status == 200


def test_the_trigger_verifies_tls_and_accepts_the_connections_ca_bundle(
    emulator_tls: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    checker = emulator_tls.password_client(ca_bundle=emulator_tls.ca_bundle_path)
    job_id = checker.jobs.ingest.create({"object": "Account", "operation": "insert"}).body["id"]
    checker.jobs.ingest.abort(job_id)  # a terminal job: one poll is enough
    trusted = set_conn(monkeypatch, "sfpy_tls", connection_fields(emulator_tls, ca_bundle=emulator_tls.ca_bundle_path))
    event = asyncio.run(first_event(SalesforceBulkJobTrigger(sfpy_conn_id=trusted, job_ids=[job_id])))
    assert event.payload["status"] == "success" and event.payload["jobs"][job_id]["state"] == "Aborted"

    flow = PasswordFlow(
        emulator_tls.username, emulator_tls.password, emulator_tls.client_id, emulator_tls.client_secret
    )

    async def untrusted_login() -> None:
        async with AsyncClient(login_url=emulator_tls.base_url, auth=flow, retry=FAST_RETRY) as client:
            await client.login()

    with pytest.raises(SalesforceConnectionError):
        asyncio.run(untrusted_login())


def test_the_async_client_explains_a_tls_failure_like_the_sync_client(emulator_tls: Any) -> None:
    flow = PasswordFlow(
        emulator_tls.username, emulator_tls.password, emulator_tls.client_id, emulator_tls.client_secret
    )
    slow_retry = RetryPolicy(max_attempts=4, initial_wait=0.5, max_wait=0.5, jitter=0.0)

    async def login() -> None:
        async with AsyncClient(login_url=emulator_tls.base_url, auth=flow, retry=slow_retry) as client:
            await client.login()

    started = time.monotonic()
    with pytest.raises(SalesforceConnectionError) as caught:
        asyncio.run(login())
    assert "TLS certificate verification failed" in str(caught.value) and "ca_bundle" in str(caught.value)
    assert time.monotonic() - started < 0.5  # not retried


# ------------------------------------------------------------------------------------------ plain HTTP
REMOTE_PLAIN_HTTP = [
    f"http://{EVIL}",
    f"HTTP://{EVIL.upper()}:8080/",
    "http://10.0.0.7",
    "http://192.168.1.20:8999",
    f"http://localhost.{EVIL}",
    f"http://127.0.0.1.{EVIL}",
    f"http://127.0.0.1@{EVIL}",
    f"http://{EVIL}#@127.0.0.1",
]


@pytest.mark.parametrize("url", REMOTE_PLAIN_HTTP)
def test_a_plain_http_login_url_to_a_remote_host_is_refused_before_anything_is_sent(url: str) -> None:
    with pytest.raises(SalesforceConfigError, match="plain http"):
        Client("u", "p", "id", "secret", login_url=url)
    with pytest.raises(SalesforceConfigError, match="plain http"):
        AsyncClient(login_url=url, auth=PasswordFlow("u", "p", "id", "secret"))


@pytest.mark.parametrize("url", ["http://127.0.0.1:8999", "http://localhost:8999", "http://[::1]:8999"])
def test_plain_http_is_allowed_only_on_loopback(url: str) -> None:
    assert Client("u", "p", "id", "secret", login_url=url).login_url.startswith("http://")


FLOW_EXTRAS: dict[str, dict[str, Any]] = {
    "password": {"client_id": "id", "client_secret": "secret"},
    "jwt": {"auth_type": "jwt", "client_id": "id", "private_key": "-----BEGIN PRIVATE KEY-----\nx\n-----END"},
    "client_credentials": {"auth_type": "client_credentials", "client_id": "id", "client_secret": "secret"},
    "refresh_token": {"auth_type": "refresh_token", "client_id": "id", "refresh_token": "rt"},
    "session": {"auth_type": "session", "access_token": "00D!AQtoken", "instance_url": f"http://{EVIL}"},
}


@pytest.mark.parametrize("flow", list(FLOW_EXTRAS))
def test_no_flow_sends_credentials_over_plain_http_to_a_remote_host(flow: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fields = {"conn_type": "sfpy", "host": f"http://{EVIL}", "login": "u", "password": "p", "extra": FLOW_EXTRAS[flow]}
    conn_id = set_conn(monkeypatch, "sfpy_plain", fields)
    with pytest.raises(SalesforceConfigError, match="plain http"):
        SalesforcePyHook(sfpy_conn_id=conn_id).get_conn()
    ok, message = SalesforcePyHook(sfpy_conn_id=conn_id).test_connection()
    assert not ok and "plain http" in message
    event = asyncio.run(first_event(SalesforceBulkJobTrigger(sfpy_conn_id=conn_id, job_ids=["7505g000000000AAA"])))
    assert event.payload["status"] == "error" and "plain http" in event.payload["message"]


def token_response(instance_url: str) -> dict[str, Any]:
    """A spoofed token-endpoint answer (as a compromised proxy could send)."""
    body = {
        "access_token": "00D000000000001!AQspoofed",
        "instance_url": instance_url,
        "id": f"{instance_url}/id/00D000000000001AAA/005000000000001AAA",
        "token_type": "Bearer",
        "issued_at": str(int(time.time() * 1000)),
        "signature": "x",
    }
    return {
        "path": r"/services/oauth2/token$",
        "status": 200,
        "body": json.dumps(body),
        "content_type": "application/json",
    }


def test_an_instance_url_over_plain_http_to_a_remote_host_is_refused(emulator: Any) -> None:
    emulator.add_faults(token_response(f"http://{EVIL}"))
    client = emulator.password_client(retry=FAST_RETRY)
    with pytest.raises(SalesforceConfigError, match="plain http"):
        client.login()
    assert not client.is_logged_in
    flow = PasswordFlow(emulator.username, emulator.password, emulator.client_id, emulator.client_secret)

    async def async_login() -> None:
        async with AsyncClient(login_url=emulator.base_url, auth=flow, retry=FAST_RETRY) as async_client:
            await async_client.login()

    with pytest.raises(SalesforceConfigError, match="plain http"):
        asyncio.run(async_login())


# ------------------------------------------------------------------------------------------ other hosts
FOREIGN_LINKS = [
    f"https://{EVIL}/services/data/v64.0/query/01gX-2000",
    f"//{EVIL}/services/data/v64.0/query/01gX-2000",
    "https://127.0.0.1:1/services/data/v64.0/query/01gX-2000",
]


@pytest.mark.parametrize("link", FOREIGN_LINKS, ids=["absolute", "protocol-relative", "same-ip-other-port"])
def test_an_export_refuses_a_next_page_on_another_host(
    link: str, emulator: Any, sfpy_conn: str, tmp_path: Path
) -> None:
    page = {"totalSize": 4000, "done": False, "nextRecordsUrl": link, "records": [{"Id": "001000000000001AAA"}]}
    emulator.add_faults(
        {"path": r"/query$", "status": 200, "body": json.dumps(page), "content_type": "application/json"}
    )
    operator = SalesforceQueryToFileOperator(
        task_id="export", soql="SELECT Id FROM Account", destination=str(tmp_path / "a.csv")
    )
    with pytest.raises(SalesforceUnsafeUrlError, match="another host"):
        with_fast_retries(operator).execute(context=task_context())
    assert list(tmp_path.iterdir()) == []


def test_a_job_list_next_page_on_another_host_is_refused(emulator: Any, checker: Client) -> None:
    page = {"done": False, "nextRecordsUrl": f"https://{EVIL}/services/data/v64.0/jobs/ingest?page=2", "records": []}
    emulator.add_faults(
        {
            "path": r"/jobs/ingest$",
            "method": "GET",
            "status": 200,
            "body": json.dumps(page),
            "content_type": "application/json",
        }
    )
    with pytest.raises(SalesforceUnsafeUrlError, match="another host"):
        list(checker.jobs.ingest.list_all())


def test_redirects_are_not_followed(emulator: Any, checker: Client) -> None:
    """A 3xx is an error, never a hop: the bearer token is only ever sent to the URL the client built."""
    emulator.add_faults({"path": r"/limits$", "status": 307, "body": "", "content_type": "text/plain"})
    with pytest.raises(Exception) as caught:  # whatever the error class: no second request
        checker.limits()
    assert "307" in str(caught.value)
    assert sum(1 for e in emulator.requests_log() if e["path"].endswith("/limits")) == 1
