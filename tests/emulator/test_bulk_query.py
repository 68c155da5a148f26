"""Bulk API 2.0 query over HTTP: job lifecycle, locator paging over every row, CSV shape, errors."""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from emulator_api import Api, unique

from airflow_provider_sfpy.emulator.testing import RunningEmulator, start_emulator

ACCOUNTS = 2500
TERMINAL = {"JobComplete", "Failed", "Aborted"}
SUMMARY_KEYS = [
    "id",
    "operation",
    "object",
    "createdById",
    "createdDate",
    "systemModstamp",
    "state",
    "concurrencyMode",
    "contentType",
    "apiVersion",
    "lineEnding",
    "columnDelimiter",
]


@pytest.fixture(scope="module")
def org() -> Iterator[RunningEmulator]:
    """Only generated records, so counts are exact."""
    with start_emulator(sample_data=False, generate={"Account": ACCOUNTS, "Contact": 300}, bulk_queue_delay=0.05) as e:
        yield e


def create(api: Api, soql: str, **job: Any) -> dict[str, Any]:
    response = api.post("/jobs/query", json={"operation": "query", "query": soql, **job})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def wait(api: Api, job_id: str, timeout: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        info: dict[str, Any] = api.get(f"/jobs/query/{job_id}").json()
        if info["state"] in TERMINAL:
            return info
        assert time.monotonic() < deadline, info
        time.sleep(0.02)


def run(api: Api, soql: str, **job: Any) -> str:
    job_id = create(api, soql, **job)["id"]
    assert wait(api, job_id)["state"] == "JobComplete"
    return job_id


def rows(response: requests.Response, delimiter: str = ",") -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.text, newline=""), delimiter=delimiter))


def test_query_job_lifecycle(org: RunningEmulator) -> None:
    api = Api(org)
    created = create(api, "SELECT Id, Name FROM Account")
    assert list(created) == SUMMARY_KEYS
    assert created["id"].startswith("750") and created["state"] == "UploadComplete"
    assert (created["operation"], created["object"], created["apiVersion"]) == ("query", "Account", 62.0)
    info = wait(api, created["id"])
    assert info == {
        **created,
        "systemModstamp": info["systemModstamp"],
        "state": "JobComplete",
        "jobType": "V2Query",
        "numberRecordsProcessed": ACCOUNTS,
        "retries": 0,
        "totalProcessingTime": info["totalProcessingTime"],
        "isPkChunkingSupported": True,
    }
    listed = api.get("/jobs/query").json()
    assert created["id"] in [r["id"] for r in listed["records"]]


def test_results_are_paged_by_locator_covering_every_row_once(org: RunningEmulator) -> None:
    api = Api(org)
    job_id = run(api, "SELECT Id, Name FROM Account ORDER BY Name")
    pages: list[requests.Response] = []
    locator = None
    while locator != "null":
        params: dict[str, Any] = {"maxRecords": 1000}
        if locator:
            params["locator"] = locator
        response = api.get(f"/jobs/query/{job_id}/results", params=params)
        assert response.status_code == 200, response.text
        assert response.headers["Content-Type"].startswith("text/csv")
        pages.append(response)
        locator = response.headers["Sforce-Locator"]
    assert [int(p.headers["Sforce-NumberOfRecords"]) for p in pages] == [1000, 1000, 500]
    assert all(p.text.startswith('"Id","Name"\n') for p in pages)
    ids = [r["Id"] for p in pages for r in rows(p)]
    assert len(ids) == len(set(ids)) == ACCOUNTS
    assert set(ids) == set(org.store.live_ids("Account"))
    names = [r["Name"] for p in pages for r in rows(p)]
    assert names == sorted(names, key=str.lower)
    second = pages[0].headers["Sforce-Locator"]
    again = api.get(f"/jobs/query/{job_id}/results", params={"maxRecords": 1000, "locator": second})
    assert again.content == pages[1].content
    whole = api.get(f"/jobs/query/{job_id}/results")
    assert whole.headers["Sforce-Locator"] == "null" and len(rows(whole)) == ACCOUNTS


def test_csv_shape_relationships_booleans_nulls_and_dialect(org: RunningEmulator) -> None:
    api = Api(org)
    name = unique("Shape")
    account = api.create("Account", {"Name": name, "Active__c": False, "Description": 'say "hi", twice'})
    api.create("Contact", {"LastName": name, "AccountId": account, "HasOptedOutOfEmail": True})
    api.create("Contact", {"LastName": name})
    soql = (
        "SELECT LastName, Account.Name, Account.Active__c, Account.Description, HasOptedOutOfEmail, CreatedDate "
        f"FROM Contact WHERE LastName = '{name}' ORDER BY Account.Name NULLS LAST"
    )
    job_id = run(api, soql, columnDelimiter="PIPE", lineEnding="CRLF")
    response = api.get(f"/jobs/query/{job_id}/results")
    lines = response.text.split("\r\n")
    assert (
        lines[0]
        == '"LastName"|"Account.Name"|"Account.Active__c"|"Account.Description"|"HasOptedOutOfEmail"|"CreatedDate"'
    )
    assert lines[1].startswith(f'"{name}"|"{name}"|"false"|"say ""hi"", twice"|"true"|"')
    assert lines[2].startswith(f'"{name}"|""|""|""|"false"|"')
    assert lines[3] == ""
    created = rows(response, delimiter="|")[0]["CreatedDate"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", created), created


def test_query_all_includes_deleted_rows(org: RunningEmulator) -> None:
    api = Api(org)
    name = unique("Gone")
    record = api.create("Account", {"Name": name})
    assert api.delete(f"/sobjects/Account/{record}").status_code == 204
    soql = f"SELECT Id, IsDeleted FROM Account WHERE Name = '{name}'"
    assert rows(api.get(f"/jobs/query/{run(api, soql)}/results")) == []
    everything = rows(api.get(f"/jobs/query/{run(api, soql, operation='queryAll')}/results"))
    assert everything == [{"Id": record, "IsDeleted": "true"}]


@pytest.mark.parametrize(
    ("soql", "code", "fragment"),
    [
        ("SELECT Id FROM", "MALFORMED_QUERY", "ERROR at Row:1:Column:"),
        ("SELECT Nope FROM Account", "INVALID_FIELD", "No such column 'Nope' on entity 'Account'"),
        ("SELECT Id FROM Nope__c", "INVALID_TYPE", "sObject type 'Nope__c' is not supported"),
        ("SELECT COUNT() FROM Account", "API_ERROR", "Aggregate functions are not supported in Bulk Query"),
        ("SELECT Id FROM Account LIMIT 5 OFFSET 5", "API_ERROR", "OFFSET clause is not supported in Bulk Query"),
    ],
)
def test_invalid_soql_is_rejected_at_creation(api: Api, soql: str, code: str, fragment: str) -> None:
    response = api.post("/jobs/query", json={"operation": "query", "query": soql})
    assert response.status_code == 400
    error = api.error(response)
    assert error["errorCode"] == code and fragment in error["message"]


def test_request_errors(api: Api) -> None:
    bad_operation = api.post("/jobs/query", json={"operation": "insert", "query": "SELECT Id FROM Account"})
    assert bad_operation.status_code == 400 and api.error(bad_operation)["errorCode"] == "JSON_PARSER_ERROR"
    job_id = run(api, "SELECT Id FROM Account LIMIT 3")
    results = f"/jobs/query/{job_id}/results"
    assert api.get(results, params={"locator": "bm9wZQ"}).status_code == 400
    assert api.get(results, params={"maxRecords": "0"}).status_code == 400
    other_version = api.get(f"/services/data/v61.0/jobs/query/{job_id}/results")
    assert other_version.status_code == 409
    assert api.patch(f"/jobs/query/{job_id}", json={"state": "Aborted"}).status_code == 400
    assert api.delete(f"/jobs/query/{job_id}").status_code == 204
    missing = api.get(f"/jobs/query/{job_id}")
    assert missing.status_code == 404 and api.error(missing)["errorCode"] == "NOT_FOUND"
    assert api.get("/services/data/v46.0/jobs/query").status_code == 404
    ingest_id = api.post("/jobs/ingest", json={"object": "Account", "operation": "insert"}).json()["id"]
    assert api.get(f"/jobs/query/{ingest_id}").status_code == 404


def test_abort_before_processing(api: Api) -> None:
    job_id = create(api, "SELECT Id FROM Account")["id"]
    aborted = api.patch(f"/jobs/query/{job_id}", json={"state": "Aborted"})
    assert aborted.status_code == 200 and aborted.json()["state"] == "Aborted"
    time.sleep(0.3)  # past the queue delay: the worker must not have run it
    info = api.get(f"/jobs/query/{job_id}").json()
    assert (info["state"], info["numberRecordsProcessed"]) == ("Aborted", 0)
    refused = api.get(f"/jobs/query/{job_id}/results")
    assert refused.status_code == 400 and api.error(refused)["errorCode"] == "INVALIDJOBSTATE"
    assert api.delete(f"/jobs/query/{job_id}").status_code == 204
