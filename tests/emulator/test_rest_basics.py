"""Versions, the resource map, authentication of data routes, limits and API-usage accounting."""

from __future__ import annotations

import re

import pytest
import requests
from emulator_api import Api

from airflow_provider_sfpy.emulator import defaults
from airflow_provider_sfpy.emulator.routes.versions import release_label
from airflow_provider_sfpy.emulator.testing import RunningEmulator

INVALID_SESSION = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
NOT_FOUND = [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]


def test_versions_need_no_auth_and_are_labelled(emulator: RunningEmulator) -> None:
    response = requests.get(f"{emulator.base_url}/services/data/", timeout=30)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    versions = response.json()
    assert [v["version"] for v in versions] == list(defaults.API_VERSIONS)
    assert versions[-1] == {"label": "Summer '25", "url": "/services/data/v64.0", "version": "64.0"}
    assert {"label": "Winter '25", "url": "/services/data/v62.0", "version": "62.0"} in versions
    assert requests.get(f"{emulator.base_url}/services/data", timeout=30).status_code == 200


@pytest.mark.parametrize(("version", "label"), [("20.0", "Winter '11"), ("31.0", "Summer '14"), ("60.0", "Spring '24")])
def test_release_labels(version: str, label: str) -> None:
    assert release_label(version) == label


def test_resource_map(api: Api) -> None:
    for path in ("/services/data/v62.0/", "/services/data/v62.0"):
        response = api.get(path)
        assert response.status_code == 200
        body = response.json()
        assert body["sobjects"] == "/services/data/v62.0/sobjects"
        assert body["query"] == "/services/data/v62.0/query"
        assert body["queryAll"] == "/services/data/v62.0/queryAll"
        assert body["limits"] == "/services/data/v62.0/limits"
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/id/00D\w{15}/005\w{15}", body["identity"])


def test_unknown_version_is_not_found(api: Api) -> None:
    for path in ("/services/data/v99.0/", "/services/data/v30.0/sobjects", "/services/data/v62/limits"):
        response = api.get(path)
        assert response.status_code == 404
        assert response.json() == NOT_FOUND


@pytest.mark.parametrize("header", [None, "Bearer nonsense", "Bearer ", "Basic Zm9vOmJhcg=="])
def test_data_routes_need_a_valid_session(emulator: RunningEmulator, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    for path in ("/limits", "/sobjects", "/query?q=SELECT+Id+FROM+Account", "/"):
        response = requests.get(emulator.data_url(path), headers=headers, timeout=30)
        assert response.status_code == 401
        assert response.json() == INVALID_SESSION


def test_oauth_scheme_is_accepted_like_bearer(emulator: RunningEmulator) -> None:
    token = emulator.login()["access_token"]
    response = requests.get(emulator.data_url("/limits"), headers={"Authorization": f"OAuth {token}"}, timeout=30)
    assert response.status_code == 200


def test_expired_sessions_get_401_until_login_again(emulator: RunningEmulator, api: Api) -> None:
    assert api.get("/limits").status_code == 200
    assert emulator.expire_sessions() >= 1
    assert api.get("/limits").json() == INVALID_SESSION
    assert requests.get(emulator.data_url("/limits"), headers=emulator.auth_headers(), timeout=30).status_code == 200


def test_limits_count_down_and_header_reports_usage(api: Api) -> None:
    first = api.get("/limits")
    assert first.status_code == 200
    body = first.json()
    for name in ("DailyApiRequests", "DailyBulkV2QueryJobs", "DailyBulkApiBatches", "DataStorageMB", "FileStorageMB"):
        assert set(body[name]) == {"Max", "Remaining"}
    assert body["DailyApiRequests"]["Max"] == 15000
    usage = re.fullmatch(r"api-usage=(\d+)/15000", first.headers["Sforce-Limit-Info"])
    assert usage is not None
    used = int(usage.group(1))
    assert body["DailyApiRequests"]["Remaining"] == 15000 - used
    second = api.get("/limits")
    assert second.json()["DailyApiRequests"]["Remaining"] < body["DailyApiRequests"]["Remaining"]
    assert second.headers["Sforce-Limit-Info"] != first.headers["Sforce-Limit-Info"]


def test_every_authenticated_response_carries_limit_info(api: Api) -> None:
    for response in (api.get("/sobjects"), api.get("/sobjects/Nope"), api.get("/query", params={"q": "bad"})):
        assert response.headers["Sforce-Limit-Info"].startswith("api-usage=")


def test_unknown_path_and_wrong_method(api: Api) -> None:
    missing = api.get("/no/such/resource")
    assert missing.status_code == 404
    assert missing.json() == NOT_FOUND
    wrong = api.request("PUT", "/sobjects/Account")
    assert wrong.status_code == 405
    assert api.error(wrong)["errorCode"] == "METHOD_NOT_ALLOWED"
    assert "PUT" in api.error(wrong)["message"]
