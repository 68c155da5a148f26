"""Apex REST over HTTP (``/services/apexrest/...``): the built-in sample classes, URL mapping, auth and
the platform's answers for unmapped URLs, undefined methods and unhandled Apex exceptions."""

from __future__ import annotations

import pytest
import requests
from emulator_api import Api, unique

APEXREST = "/services/apexrest"


def summary_of(api: Api, where: str = "") -> tuple[int, float]:
    """Count and revenue of the Accounts, every page of them (other suites share the org)."""
    page = api.query(f"SELECT AnnualRevenue FROM Account{where}")
    records = list(page["records"])
    while not page["done"]:
        response = api.http.get(api.emulator.base_url + page["nextRecordsUrl"], verify=api.emulator.verify)
        page = response.json()
        records += page["records"]
    return len(records), sum(r["AnnualRevenue"] or 0 for r in records)


def test_account_summary_reads_the_org(api: Api) -> None:
    api.create("Account", {"Name": unique("Summary"), "Industry": "Chemicals", "AnnualRevenue": 1234})
    response = api.get(f"{APEXREST}/AccountSummary", params={"industry": "Chemicals"})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert "Sforce-Limit-Info" in response.headers
    body = response.json()
    count, revenue = summary_of(api, " WHERE Industry = 'Chemicals'")
    assert body == {"industry": "Chemicals", "accounts": count, "annualRevenue": pytest.approx(revenue)}
    assert body["accounts"] >= 1
    assert api.get(f"{APEXREST}/AccountSummary/Chemicals").json() == body


def test_account_summary_without_an_industry_covers_every_account(api: Api) -> None:
    body = api.get(f"{APEXREST}/AccountSummary/").json()
    count, revenue = summary_of(api)
    assert body == {"industry": None, "accounts": count, "annualRevenue": pytest.approx(revenue)}


def test_echo_returns_the_body_and_the_caller(api: Api) -> None:
    payload = {"greeting": "héllo", "items": [1, 2, {"nested": True}]}
    for method in ("POST", "PUT", "PATCH"):
        response = api.request(method, f"{APEXREST}/Echo", json=payload)
        assert response.status_code == 200
        assert response.json() == {"method": method, "userId": api.emulator.state.admin_user_id, "body": payload}
    assert api.post(f"{APEXREST}/Echo/sub/path").json()["body"] is None


def test_an_unhandled_apex_exception_is_a_500_apex_error(api: Api) -> None:
    response = api.post(f"{APEXREST}/Echo", data="{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 500
    error = api.error(response)
    assert error["errorCode"] == "APEX_ERROR"
    assert error["message"].startswith("System.JSONException: ")
    assert "\n\nClass.Echo." in error["message"]


@pytest.mark.parametrize("path", ["/Nope", "/accountsummary", "/AccountSummaryX", ""])
def test_an_unmapped_url_is_not_found(api: Api, path: str) -> None:
    response = api.get(f"{APEXREST}{path}")
    assert response.status_code == 404
    assert response.json() == [{"errorCode": "NOT_FOUND", "message": f"Could not find a match for URL {path or '/'}"}]


def test_a_method_the_class_does_not_define(api: Api) -> None:
    response = api.delete(f"{APEXREST}/AccountSummary")
    assert response.status_code == 405
    assert api.error(response) == {
        "errorCode": "METHOD_NOT_ALLOWED",
        "message": "HTTP Method 'DELETE' not allowed. Allowed are GET",
    }
    assert (
        api.error(api.get(f"{APEXREST}/Echo"))["message"] == "HTTP Method 'GET' not allowed. Allowed are POST,PUT,PATCH"
    )


def test_needs_a_session_and_lives_outside_the_versioned_api(api: Api) -> None:
    anonymous = requests.get(api.url(f"{APEXREST}/AccountSummary"), timeout=30)
    assert anonymous.status_code == 401
    assert api.error(anonymous)["errorCode"] == "INVALID_SESSION_ID"
    assert api.get("/apexrest/AccountSummary").status_code == 404
