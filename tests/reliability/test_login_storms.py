"""Logins under concurrency and refusal: many first calls log in once; a refused session is retried, boundedly.

A fresh client used by many threads at once must not send one OAuth token request per thread (an org
limits logins per user per hour, and every login is one more session for an admin to see). And a
session that Salesforce refuses again right after a fresh login (an admin revoking the connected app's
sessions as they are issued, a session locked to another IP address) gets exactly one more fresh login,
then fails clearly, never a loop of logins. Both hold for the sync client and the async (trigger) client.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from reliability_support import FAST_RETRY, requests_to

from airflow_provider_sfpy.client import PasswordFlow, SalesforceSessionExpiredError
from airflow_provider_sfpy.client.aio import AsyncClient

THREADS = 16
TOKEN = "/services/oauth2/token"
LIMITS = r"/limits$"
#: Enough for every thread to arrive while the first login is still on the wire.
SLOW_LOGIN = {"path": TOKEN, "latency": 0.3, "times": 1}
REFUSED_AGAIN = "refused the session again right after logging in anew"


def logins(emulator: Any) -> int:
    return len(requests_to(emulator.requests_log(), TOKEN, "POST"))


def limits_gets(emulator: Any) -> list[dict[str, Any]]:
    return [e for e in emulator.requests_log() if e["method"] == "GET" and e["path"].endswith("/limits")]


def run_in_threads(call: Any, count: int = THREADS) -> list[Any]:
    """``call()`` on ``count`` threads released together; each thread's result or exception."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def worker(index: int) -> None:
        barrier.wait()
        try:
            results[index] = call()
        except Exception as exc:  # collected and asserted on by the test
            results[index] = exc

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def async_client(emulator: Any) -> AsyncClient:
    flow = PasswordFlow(emulator.username, emulator.password, emulator.client_id, emulator.client_secret)
    return AsyncClient(login_url=emulator.base_url, auth=flow, retry=FAST_RETRY)


# ----------------------------------------------------------------------------- sync client
def test_sixteen_threads_making_the_first_call_on_a_fresh_client_log_in_once(emulator: Any) -> None:
    client = emulator.password_client(retry=FAST_RETRY)
    emulator.add_faults(SLOW_LOGIN)

    results = run_in_threads(lambda: client.limits().body)

    assert [r for r in results if not isinstance(r, dict)] == []
    assert logins(emulator) == 1
    assert len(requests_to(emulator.requests_log(), "/services/data/", "GET")) == 1 + THREADS  # versions, then limits
    # No thread saw the token before its API version: every call went to the negotiated version.
    assert {e["path"] for e in limits_gets(emulator)} == {f"/services/data/v{client.version}/limits"}


def test_sixteen_threads_finding_the_session_expired_log_in_again_once(emulator: Any) -> None:
    client = emulator.password_client(retry=FAST_RETRY)
    client.login()
    emulator.expire_sessions()
    emulator.clear_requests_log()
    emulator.add_faults(SLOW_LOGIN)

    results = run_in_threads(lambda: client.limits().body)

    assert [r for r in results if not isinstance(r, dict)] == []
    assert logins(emulator) == 1


def test_a_session_refused_again_right_after_a_relogin_gets_one_more_login(emulator: Any) -> None:
    client = emulator.password_client(retry=FAST_RETRY)
    client.login()
    emulator.clear_requests_log()
    emulator.add_faults({"path": LIMITS, "expire_sessions": True, "times": 2})

    body, response = client.limits()

    assert response.status == 200 and body["DailyApiRequests"]["Max"] > 0
    assert logins(emulator) == 2
    assert [e["status"] for e in limits_gets(emulator)] == [401, 401, 200]


def test_a_session_refused_after_every_relogin_fails_clearly_after_two(emulator: Any) -> None:
    client = emulator.password_client(retry=FAST_RETRY)
    client.login()
    emulator.clear_requests_log()
    emulator.add_faults({"path": LIMITS, "expire_sessions": True})  # every session refused, for ever

    with pytest.raises(SalesforceSessionExpiredError) as caught:
        client.limits()

    assert REFUSED_AGAIN in str(caught.value)
    assert caught.value.error_code == "INVALID_SESSION_ID" and caught.value.status == 401
    assert "IP" in str(caught.value) and "revok" in str(caught.value)
    assert logins(emulator) == 2  # client.MAX_RELOGINS_PER_CALL fresh logins, then no more
    assert [e["status"] for e in limits_gets(emulator)] == [401, 401, 401]
    assert client.session_id not in str(caught.value)


# ----------------------------------------------------------------------------- async client
def test_async_first_calls_at_once_log_in_once(emulator: Any) -> None:
    async def scenario() -> list[Any]:
        async with async_client(emulator) as client:
            return await asyncio.gather(*(client.get("/services/data/") for _ in range(THREADS)))

    emulator.add_faults(SLOW_LOGIN)
    bodies = asyncio.run(scenario())

    assert all(isinstance(body, list) and body for body in bodies)
    assert logins(emulator) == 1


def test_async_session_refused_again_right_after_a_relogin_gets_one_more_login(emulator: Any) -> None:
    async def scenario() -> Any:
        async with async_client(emulator) as client:
            await client.login()
            emulator.clear_requests_log()
            emulator.add_faults({"path": LIMITS, "expire_sessions": True, "times": 2})
            return await client.get(client.data_path("limits"))

    body = asyncio.run(scenario())

    assert body["DailyApiRequests"]["Max"] > 0
    assert logins(emulator) == 2
    assert [e["status"] for e in limits_gets(emulator)] == [401, 401, 200]


def test_async_session_refused_after_every_relogin_fails_clearly_after_two(emulator: Any) -> None:
    async def scenario() -> None:
        async with async_client(emulator) as client:
            await client.login()
            emulator.clear_requests_log()
            emulator.add_faults({"path": LIMITS, "expire_sessions": True})
            await client.get(client.data_path("limits"))

    with pytest.raises(SalesforceSessionExpiredError) as caught:
        asyncio.run(scenario())

    assert REFUSED_AGAIN in str(caught.value)
    assert caught.value.error_code == "INVALID_SESSION_ID"
    assert logins(emulator) == 2
    assert [e["status"] for e in limits_gets(emulator)] == [401, 401, 401]
