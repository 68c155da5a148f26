"""Fault injection over real HTTP: every rule key, connection drops, and the request log."""

from __future__ import annotations

import time

import pytest
import requests
from emulator_api import Api, unique

from airflow_provider_sfpy.emulator.testing import RunningEmulator

LIMITS = r"/limits$"


def _statuses(api: Api, count: int, path: str = "/limits") -> list[int]:
    return [api.get(path).status_code for _ in range(count)]


def test_status_with_default_error_codes(api: Api, emulator: RunningEmulator) -> None:
    for status, code in ((503, "SERVER_UNAVAILABLE"), (429, "REQUEST_LIMIT_EXCEEDED"), (500, "UNKNOWN_EXCEPTION")):
        emulator.add_faults({"path": LIMITS, "status": status, "times": 1})
        response = api.get("/limits")
        assert response.status_code == status
        assert api.error(response)["errorCode"] == code
        assert response.headers["content-type"].startswith("application/json")
        emulator.clear_faults()


def test_error_code_message_and_retry_after(api: Api, emulator: RunningEmulator) -> None:
    emulator.add_faults(
        {"path": LIMITS, "status": 400, "error_code": "UNABLE_TO_LOCK_ROW", "message": "locked!", "retry_after": 7}
    )
    response = api.get("/limits")
    assert response.status_code == 400
    assert response.json() == [{"message": "locked!", "errorCode": "UNABLE_TO_LOCK_ROW"}]
    assert response.headers["Retry-After"] == "7"


def test_raw_body_such_as_a_proxy_page(api: Api, emulator: RunningEmulator) -> None:
    emulator.add_faults(
        {"path": LIMITS, "status": 502, "body": "<html>Bad Gateway</html>", "content_type": "text/html"}
    )
    response = api.get("/limits")
    assert response.status_code == 502
    assert response.text == "<html>Bad Gateway</html>"
    assert response.headers["content-type"] == "text/html"


def test_oauth_faults_use_the_oauth_error_shape(emulator: RunningEmulator) -> None:
    emulator.add_faults({"path": "/services/oauth2/token", "status": 503, "times": 1})
    response = requests.post(emulator.token_url, data={"grant_type": "password"}, timeout=30)
    assert response.status_code == 503
    assert response.json()["error"] == "SERVER_UNAVAILABLE"


def test_method_filter(api: Api, emulator: RunningEmulator) -> None:
    emulator.add_faults({"path": r"/sobjects/Account$", "method": "post", "status": 503})
    assert api.get("/sobjects/Account").status_code == 200
    assert api.post("/sobjects/Account", json={"Name": "never"}).status_code == 503


def test_skip_and_times(api: Api, emulator: RunningEmulator) -> None:
    emulator.add_faults({"path": LIMITS, "status": 503, "skip": 1, "times": 2})
    assert _statuses(api, 5) == [200, 503, 503, 200, 200]
    (rule,) = emulator.faults()
    assert rule["seen"] == 5 and rule["fired"] == 2 and rule["index"] == 0


def test_rate_is_seeded_and_deterministic(api: Api, emulator: RunningEmulator) -> None:
    emulator.add_faults({"path": LIMITS, "status": 503, "rate": 0.5, "seed": 42})
    first = _statuses(api, 20)
    emulator.clear_faults()
    emulator.add_faults({"path": LIMITS, "status": 503, "rate": 0.5, "seed": 42})
    assert _statuses(api, 20) == first
    assert 0 < first.count(503) < 20


def test_latency_then_normal_handling(api: Api, emulator: RunningEmulator) -> None:
    emulator.add_faults({"path": LIMITS, "latency": 0.3, "times": 1})
    started = time.monotonic()
    assert api.get("/limits").status_code == 200
    assert time.monotonic() - started >= 0.3


def test_drop_before_never_reaches_the_app(api: Api, emulator: RunningEmulator) -> None:
    emulator.add_faults({"path": r"/sobjects/Account$", "method": "POST", "drop": "before", "times": 1})
    name = unique("Dropped before")
    with pytest.raises(requests.ConnectionError):
        api.post("/sobjects/Account", json={"Name": name})
    assert api.query(f"SELECT COUNT() FROM Account WHERE Name = '{name}'")["totalSize"] == 0
    entry = next(e for e in emulator.requests_log() if e["path"].endswith("/sobjects/Account"))
    assert entry["status"] is None and entry["drop"] == "before" and entry["fault"] == 0


def test_drop_after_lands_the_write_but_sends_nothing(api: Api, emulator: RunningEmulator) -> None:
    emulator.add_faults({"path": r"/sobjects/Account$", "method": "POST", "drop": "after", "times": 1})
    name = unique("Dropped after")
    with pytest.raises(requests.ConnectionError):
        api.post("/sobjects/Account", json={"Name": name})
    assert api.query(f"SELECT COUNT() FROM Account WHERE Name = '{name}'")["totalSize"] == 1
    posts = [e for e in emulator.requests_log() if e["path"].endswith("/sobjects/Account")]
    assert len(posts) == 1 and posts[0]["drop"] == "after"


def test_partial_drop_cuts_the_body(api: Api, emulator: RunningEmulator) -> None:
    emulator.add_faults({"path": r"/query", "drop": "partial", "times": 1})
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        api.get("/query", params={"q": "SELECT Id, Name FROM Account"})
    assert api.get("/query", params={"q": "SELECT Id FROM Account"}).status_code == 200


def test_error_after_processing_commits_then_fails(api: Api, emulator: RunningEmulator) -> None:
    emulator.add_faults({"path": r"/sobjects/Account$", "method": "POST", "status": 500, "after_processing": True})
    name = unique("Committed then 500")
    response = api.post("/sobjects/Account", json={"Name": name})
    assert response.status_code == 500
    assert api.query(f"SELECT COUNT() FROM Account WHERE Name = '{name}'")["totalSize"] == 1


def test_expire_sessions_rule(api: Api, emulator: RunningEmulator) -> None:
    emulator.add_faults({"path": LIMITS, "expire_sessions": True, "times": 1})
    response = api.get("/limits")
    assert response.status_code == 401
    assert api.error(response)["errorCode"] == "INVALID_SESSION_ID"
    assert api.get("/sobjects").status_code == 401
    assert Api(emulator).get("/limits").status_code == 200


def test_first_matching_rule_wins_and_rules_are_listed(api: Api, emulator: RunningEmulator) -> None:
    emulator.add_faults({"path": LIMITS, "status": 503, "times": 1}, {"path": LIMITS, "status": 429})
    assert _statuses(api, 3) == [503, 429, 429]
    rules = emulator.faults()
    assert [(r["index"], r["status"], r["fired"]) for r in rules] == [(0, 503, 1), (1, 429, 2)]
    emulator.clear_faults()
    assert emulator.faults() == []
    assert _statuses(api, 1) == [200]


def test_request_log_records_every_request_but_not_the_admin_api(api: Api, emulator: RunningEmulator) -> None:
    emulator.clear_requests_log()
    emulator.add_faults({"path": LIMITS, "status": 503, "times": 1})
    api.get("/limits", params={"x": "1"})
    api.get("/limits")
    emulator.faults()
    log = emulator.requests_log()
    assert [(e["method"], e["path"], e["query"], e["status"], e["fault"]) for e in log] == [
        ("GET", "/services/data/v62.0/limits", "x=1", 503, 0),
        ("GET", "/services/data/v62.0/limits", "", 200, None),
    ]
    assert all(isinstance(e["time"], float) for e in log)
    emulator.clear_requests_log()
    assert emulator.requests_log() == []


def test_admin_api_is_never_faulted(emulator: RunningEmulator) -> None:
    emulator.add_faults({"status": 503}, {"drop": "before"})
    assert emulator.faults()[0]["status"] == 503
    emulator.clear_faults()


@pytest.mark.parametrize(
    "rule",
    [{"bogus": 1}, {"drop": "sideways"}, {"after_processing": True}, {"rate": 2}, {"path": "("}, "not an object"],
)
def test_invalid_rules_are_refused(emulator: RunningEmulator, rule: object) -> None:
    response = requests.post(
        emulator.admin_url("faults"), json={"rules": [rule]}, headers=emulator.admin_headers(), timeout=30
    )
    assert response.status_code == 400
    assert "error" in response.json()
    assert emulator.faults() == []


def test_expire_sessions_admin_endpoint(api: Api, emulator: RunningEmulator) -> None:
    response = requests.post(emulator.admin_url("expire-sessions"), headers=emulator.admin_headers(), timeout=30)
    assert response.status_code == 200 and response.json()["expired"] >= 1
    assert api.get("/limits").status_code == 401
