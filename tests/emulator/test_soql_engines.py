"""The REST query route, Bulk API 2.0 query jobs and Apex's inline SOQL share one SOQL compiler: the
new constructs (semi-joins, date functions, FIELDS()) work in all three, and each API refuses what
Salesforce's refuses there (Bulk: aggregates and child subqueries; Apex: unbounded FIELDS())."""

from __future__ import annotations

import csv
import io
import time
from typing import Any

import pytest
from emulator_api import Api, unique

from airflow_provider_sfpy.emulator.testing import RunningEmulator


@pytest.fixture(scope="module")
def prefix(emulator: RunningEmulator) -> str:
    """Two accounts; only the first has a contact named Bob and a deal closing in 2024."""
    api = Api(emulator)
    prefix = unique("Eng")
    bob = api.create("Account", {"Name": f"{prefix}-bob", "Industry": "Energy"})
    api.create("Account", {"Name": f"{prefix}-none", "Industry": "Energy"})
    api.create("Contact", {"LastName": "Bob", "AccountId": bob})
    deal = {"Name": f"{prefix}-deal", "StageName": "Prospecting", "CloseDate": "2024-02-29", "AccountId": bob}
    api.create("Opportunity", deal)
    return prefix


def bulk_query(api: Api, soql: str) -> list[dict[str, str]]:
    created = api.post("/jobs/query", json={"operation": "query", "query": soql})
    assert created.status_code == 200, created.text
    job_id = created.json()["id"]
    deadline = time.monotonic() + 10
    while (state := api.get(f"/jobs/query/{job_id}").json()["state"]) not in ("JobComplete", "Failed", "Aborted"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert state == "JobComplete"
    results = api.get(f"/jobs/query/{job_id}/results")
    return list(csv.DictReader(io.StringIO(results.text, newline="")))


def test_bulk_query_runs_semi_joins_and_date_functions(api: Api, prefix: str) -> None:
    soql = (
        f"SELECT Name, Industry FROM Account WHERE Name LIKE '{prefix}-%' "
        "AND Id IN (SELECT AccountId FROM Opportunity WHERE CALENDAR_YEAR(CloseDate) = 2024) "
        "AND Id NOT IN (SELECT AccountId FROM Contact WHERE LastName = 'Nobody')"
    )
    assert bulk_query(api, soql) == [{"Name": f"{prefix}-bob", "Industry": "Energy"}]


@pytest.mark.parametrize(
    ("soql", "message"),
    [
        ("SELECT Industry, COUNT(Id) FROM Account GROUP BY Industry", "Aggregate functions are not supported"),
        ("SELECT Name, (SELECT LastName FROM Contacts) FROM Account", "Parent-to-child relationship queries"),
    ],
)
def test_bulk_query_refuses_what_bulk_api_2_refuses(api: Api, soql: str, message: str) -> None:
    response = api.post("/jobs/query", json={"operation": "query", "query": soql})
    assert response.status_code == 400
    error = api.error(response)
    assert error["errorCode"] == "API_ERROR" and error["message"].startswith(message)


def execute(api: Api, source: str) -> dict[str, Any]:
    response = api.get("/tooling/executeAnonymous/", params={"anonymousBody": source})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_apex_inline_soql_runs_semi_joins_date_functions_and_fields(api: Api, prefix: str) -> None:
    source = f"""
        String pattern = '{prefix}-%';
        List<Account> withBob = [SELECT Name FROM Account WHERE Name LIKE :pattern
                                 AND Id IN (SELECT AccountId FROM Contact WHERE LastName = 'Bob')];
        System.assertEquals(1, withBob.size());
        System.assertEquals('{prefix}-bob', withBob[0].Name);
        System.assertEquals(1, [SELECT COUNT() FROM Account WHERE Name LIKE :pattern
                                AND Id NOT IN (SELECT AccountId FROM Contact)]);
        System.assertEquals(1, [SELECT COUNT() FROM Opportunity WHERE Name LIKE :pattern
                                AND CALENDAR_MONTH(CloseDate) = 2 AND DAY_IN_MONTH(CloseDate) = 29]);
        Id bobsAccount = withBob[0].Id;
        Account full = [SELECT FIELDS(STANDARD) FROM Account WHERE Id = :bobsAccount];
        System.assertEquals('Energy', full.Industry);
    """
    body = execute(api, source)
    assert body["success"] is True, body


def test_apex_refuses_unbounded_fields_as_salesforce_does(api: Api) -> None:
    body = execute(api, "List<Account> rows = [SELECT FIELDS(ALL) FROM Account LIMIT 1];")
    assert body["compiled"] is False
    assert (
        body["compileProblem"]
        == "The SOQL FIELDS function is not supported with an unbounded set of fields in this API"
    )
