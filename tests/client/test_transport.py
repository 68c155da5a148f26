"""Retries, re-login and the no-duplicate rule, proven with the emulator's fault injection."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_sfpy.client import (
    Client,
    RetryPolicy,
    SalesforceLimitExceededError,
    SalesforceMalformedRequestError,
    SalesforceOutcomeUnknownError,
    SalesforceServerError,
)

QUERY_PATH = r"/query"


def _count(log: list[dict[str, Any]], method: str, fragment: str) -> int:
    return sum(1 for entry in log if entry["method"] == method and fragment in entry["path"])


def test_503_is_retried_until_success(sf: Client, emulator: Any) -> None:
    emulator.add_faults({"path": QUERY_PATH, "status": 503, "times": 2})
    body, response = sf.query("SELECT Id FROM Account LIMIT 1")
    assert response.status == 200 and body["records"]
    assert _count(emulator.requests_log(), "GET", "/query") == 3


def test_429_honours_retry_after(sf: Client, emulator: Any) -> None:
    emulator.add_faults({"path": QUERY_PATH, "status": 429, "retry_after": 1, "times": 1})
    started = time.monotonic()
    assert sf.query("SELECT Id FROM Account LIMIT 1").response.status == 200
    assert time.monotonic() - started >= 0.95


def test_retry_budget_exhausted_raises_the_last_error(sf: Client, emulator: Any) -> None:
    emulator.add_faults({"path": QUERY_PATH, "status": 503})
    with pytest.raises(SalesforceServerError) as caught:
        sf.query("SELECT Id FROM Account LIMIT 1")
    assert caught.value.status == 503 and caught.value.error_code == "SERVER_UNAVAILABLE"
    assert _count(emulator.requests_log(), "GET", "/query") == sf.transport.retry.max_attempts


def test_429_beyond_budget_is_a_limit_error(sf: Client, emulator: Any) -> None:
    emulator.add_faults({"path": QUERY_PATH, "status": 429, "retry_after": 0})
    with pytest.raises(SalesforceLimitExceededError):
        sf.query("SELECT Id FROM Account LIMIT 1")


def test_dropped_connection_on_a_read_is_retried(sf: Client, emulator: Any) -> None:
    emulator.add_faults({"path": QUERY_PATH, "drop": "before", "times": 1})
    assert sf.query("SELECT Id FROM Account LIMIT 1").response.status == 200


def test_unable_to_lock_row_is_retried_even_for_a_create(sf: Client, emulator: Any) -> None:
    emulator.add_faults(
        {"path": r"/sobjects/Account$", "method": "POST", "status": 400, "error_code": "UNABLE_TO_LOCK_ROW", "times": 1}
    )
    body, _ = sf.sobjects(object_type="Account").insert({"Name": "Lock Retry Co"})
    assert body["success"] is True
    assert sf.query("SELECT COUNT() FROM Account WHERE Name = 'Lock Retry Co'").body["totalSize"] == 1


def test_503_on_a_create_is_retried_and_creates_once(sf: Client, emulator: Any) -> None:
    emulator.add_faults({"path": r"/sobjects/Account$", "method": "POST", "status": 503, "times": 1})
    sf.sobjects(object_type="Account").insert({"Name": "Unavailable Once Co"})
    assert sf.query("SELECT COUNT() FROM Account WHERE Name = 'Unavailable Once Co'").body["totalSize"] == 1


@pytest.mark.parametrize(
    "fault",
    [
        {"drop": "after"},
        {"status": 500, "after_processing": True},
    ],
    ids=["dropped-after-commit", "500-after-commit"],
)
def test_a_create_that_may_have_landed_is_not_resent(sf: Client, emulator: Any, fault: dict[str, Any]) -> None:
    name = f"Maybe Landed {fault.get('drop') or fault.get('status')}"
    emulator.add_faults({"path": r"/sobjects/Account$", "method": "POST", "times": 1, **fault})
    with pytest.raises(SalesforceOutcomeUnknownError, match="not re-sent"):
        sf.sobjects(object_type="Account").insert({"Name": name})
    assert _count(emulator.requests_log(), "POST", "/sobjects/Account") == 1
    emulator.clear_faults()
    assert sf.query(f"SELECT COUNT() FROM Account WHERE Name = '{name}'").body["totalSize"] == 1


def test_read_timeout_on_a_create_is_not_resent(make_client: Callable[..., Client], emulator: Any) -> None:
    client = make_client(timeout=(5, 0.5))
    client.login()
    emulator.add_faults({"path": r"/sobjects/Account$", "method": "POST", "latency": 1.0, "times": 1})
    with pytest.raises(SalesforceOutcomeUnknownError):
        client.sobjects(object_type="Account").insert({"Name": "Slow Create Co"})
    assert _count(emulator.requests_log(), "POST", "/sobjects/Account") == 1


def test_read_timeout_on_a_query_is_retried(make_client: Callable[..., Client], emulator: Any) -> None:
    client = make_client(timeout=(5, 0.5))
    client.login()
    emulator.add_faults({"path": QUERY_PATH, "latency": 1.0, "times": 1})
    assert client.query("SELECT Id FROM Account LIMIT 1").response.status == 200


def test_session_expiry_mid_pagination_relogs_in_and_continues(sf: Client, emulator: Any) -> None:
    for n in range(420):
        sf.sobjects(object_type="Account").insert({"Name": f"Expiry Co {n:04d}"})
    emulator.clear_requests_log()
    # The 2nd query request (the first nextRecordsUrl) finds every session expired.
    emulator.add_faults({"path": r"/query", "expire_sessions": True, "skip": 1, "times": 1})
    pages, _ = sf.query_more("SELECT Id FROM Account WHERE Name LIKE 'Expiry Co%'", batch_size=200)
    ids = [r["Id"] for p in pages for r in p["records"]]
    assert len(ids) == 420 == len(set(ids))
    log = emulator.requests_log()
    assert any(entry["status"] == 401 for entry in log)
    assert _count(log, "POST", "/services/oauth2/token") == 1


def test_a_non_json_error_page_from_a_proxy_is_explained(sf: Client, emulator: Any) -> None:
    emulator.add_faults(
        {
            "path": QUERY_PATH,
            "status": 502,
            "content_type": "text/html",
            "body": "<html><body><h1>502 Bad Gateway</h1></body></html>",
        }
    )
    with pytest.raises(SalesforceServerError) as caught:
        sf.query("SELECT Id FROM Account LIMIT 1")
    assert "non-JSON" in str(caught.value) and "502 Bad Gateway" in str(caught.value)


def test_definite_client_errors_are_not_retried(sf: Client, emulator: Any) -> None:
    with pytest.raises(SalesforceMalformedRequestError):
        sf.sobjects(object_type="Account").insert({"Industry": "Banking"})
    assert _count(emulator.requests_log(), "POST", "/sobjects/Account") == 1


def test_no_retry_policy_sends_once(make_client: Callable[..., Client], emulator: Any) -> None:
    client = make_client(retry=RetryPolicy(max_attempts=1))
    client.login()
    emulator.add_faults({"path": QUERY_PATH, "status": 503, "times": 1})
    with pytest.raises(SalesforceServerError):
        client.query("SELECT Id FROM Account LIMIT 1")
    assert _count(emulator.requests_log(), "GET", "/query") == 1


def test_secrets_stay_out_of_reprs_and_errors(make_client: Callable[..., Client], emulator: Any) -> None:
    client = make_client()
    client.login()
    texts = [repr(client), repr(client.auth), repr(client._token)]
    emulator.add_faults({"path": QUERY_PATH, "status": 503})
    try:
        client.query("SELECT Id FROM Account")
    except SalesforceServerError as exc:
        texts.append(str(exc))
        texts.append(repr(exc))
    secrets = [emulator.password, emulator.client_secret, client.session_id]
    for text in texts:
        for secret in secrets:
            assert secret not in text
