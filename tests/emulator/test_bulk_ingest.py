"""Bulk API 2.0 ingest over HTTP: job lifecycle, per-row results, job failures, abort, limits, job list.

Every test checks the data itself through ``/query`` (or the store), not only what the job reports.
"""

from __future__ import annotations

import csv
import io
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from emulator_api import Api, unique

from airflow_provider_sfpy.emulator.testing import RunningEmulator, start_emulator

TERMINAL = {"JobComplete", "Failed", "Aborted"}
CREATE_KEYS = [
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
    "contentUrl",
    "lineEnding",
    "columnDelimiter",
]
DETAIL_KEYS = [
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
    "jobType",
    "lineEnding",
    "columnDelimiter",
    "numberRecordsProcessed",
    "numberRecordsFailed",
    "retries",
    "totalProcessingTime",
    "apiActiveProcessingTime",
    "apexProcessingTime",
]


class Bulk:
    """Bulk API 2.0 ingest calls over ``Api``, plus polling and result parsing."""

    def __init__(self, api: Api) -> None:
        self.api = api

    def create(self, **job: Any) -> dict[str, Any]:
        response = self.api.post("/jobs/ingest", json={"contentType": "CSV", **job})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def upload(self, job_id: str, data: str | bytes) -> requests.Response:
        payload = data.encode() if isinstance(data, str) else data
        return self.api.request(
            "PUT", f"/jobs/ingest/{job_id}/batches", data=payload, headers={"Content-Type": "text/csv"}
        )

    def set_state(self, job_id: str, state: str) -> requests.Response:
        return self.api.patch(f"/jobs/ingest/{job_id}", json={"state": state})

    def info(self, job_id: str) -> dict[str, Any]:
        response = self.api.get(f"/jobs/ingest/{job_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def wait(self, job_id: str, timeout: float = 10.0) -> tuple[dict[str, Any], list[str]]:
        """Poll until the job ends; returns its final info and the distinct states seen, in order."""
        seen: list[str] = []
        deadline = time.monotonic() + timeout
        while True:
            info = self.info(job_id)
            if not seen or seen[-1] != info["state"]:
                seen.append(info["state"])
            if info["state"] in TERMINAL:
                return info, seen
            assert time.monotonic() < deadline, f"job {job_id} still {info['state']}"
            time.sleep(0.02)

    def run(self, data: str | bytes, **job: Any) -> dict[str, Any]:
        created = self.create(**job)
        assert self.upload(created["id"], data).status_code == 201
        assert self.set_state(created["id"], "UploadComplete").status_code == 200
        info, _ = self.wait(created["id"])
        return info

    def result_text(self, job_id: str, kind: str) -> str:
        response = self.api.get(f"/jobs/ingest/{job_id}/{kind}/")
        assert response.status_code == 200, response.text
        assert response.headers["Content-Type"].startswith("text/csv")
        return response.text

    def results(self, job_id: str, kind: str, delimiter: str = ",") -> list[dict[str, str]]:
        text = self.result_text(job_id, kind)
        return list(csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter))


@pytest.fixture
def bulk(api: Api) -> Bulk:
    return Bulk(api)


@pytest.fixture(scope="module")
def paced() -> Iterator[RunningEmulator]:
    """An org whose jobs go slowly enough to watch (and abort) mid-way, with small limits."""
    with start_emulator(
        sample_data=False,
        bulk_queue_delay=0.1,
        bulk_chunk_rows=10,
        bulk_chunk_delay=0.05,
        bulk_upload_limit_bytes=2000,
        bulk_jobs_page_size=2,
    ) as running:
        yield running


def _names_in_org(api: Api, prefix: str) -> dict[str, dict[str, Any]]:
    records = api.query(f"SELECT Id, Name, Industry, NumberOfEmployees FROM Account WHERE Name LIKE '{prefix}%'")
    return {r["Name"]: r for r in records["records"]}


# ------------------------------------------------------------------------------------- lifecycle


def test_insert_job_lifecycle_and_results(bulk: Bulk, api: Api) -> None:
    prefix = unique("BulkIns")
    created = bulk.create(object="Account", operation="insert")
    assert list(created) == CREATE_KEYS
    job_id = created["id"]
    assert job_id.startswith("750") and len(job_id) == 18
    assert created["state"] == "Open" and created["apiVersion"] == 62.0
    assert created["contentUrl"] == f"services/data/v62.0/jobs/ingest/{job_id}/batches"
    assert (created["concurrencyMode"], created["lineEnding"], created["columnDelimiter"]) == (
        "Parallel",
        "LF",
        "COMMA",
    )

    rows = [f"{prefix}-{i},Banking,{i}" for i in range(25)]
    uploaded = bulk.upload(job_id, "Name,Industry,NumberOfEmployees\n" + "\n".join(rows) + "\n")
    assert uploaded.status_code == 201 and uploaded.content == b""

    closed = bulk.set_state(job_id, "UploadComplete")
    assert closed.status_code == 200 and closed.json()["state"] == "UploadComplete"
    assert "contentUrl" not in closed.json()
    info, seen = bulk.wait(job_id)
    assert seen[0] == "UploadComplete" and seen[-1] == "JobComplete"
    assert list(info) == DETAIL_KEYS
    assert (info["numberRecordsProcessed"], info["numberRecordsFailed"], info["retries"]) == (25, 0, 0)
    assert info["jobType"] == "V2Ingest" and info["apexProcessingTime"] == 0

    in_org = _names_in_org(api, prefix)
    assert len(in_org) == 25 and in_org[f"{prefix}-7"]["NumberOfEmployees"] == 7
    text = bulk.result_text(job_id, "successfulResults")
    assert text.startswith('"sf__Id","sf__Created",Name,Industry,NumberOfEmployees\n')
    successes = bulk.results(job_id, "successfulResults")
    assert {r["sf__Id"] for r in successes} == {r["Id"] for r in in_org.values()}
    assert {r["sf__Created"] for r in successes} == {"true"}
    assert successes[3] == {
        "sf__Id": in_org[f"{prefix}-3"]["Id"],
        "sf__Created": "true",
        "Name": f"{prefix}-3",
        "Industry": "Banking",
        "NumberOfEmployees": "3",
    }
    assert bulk.results(job_id, "failedResults") == []
    assert bulk.result_text(job_id, "unprocessedrecords") == ""
    # Clients differ in the resource's case (simple-salesforce asks for unprocessedRecords).
    assert api.get(f"/jobs/ingest/{job_id}/unprocessedRecords").status_code == 200


def test_failed_rows_carry_their_error_and_original_values(bulk: Bulk, api: Api) -> None:
    prefix = unique("BulkBad")
    ext = unique("ext")
    data = (
        "Name,NumberOfEmployees,ParentId,External_Id__c\n"
        f"{prefix}-ok,5,,\n"
        ",3,,\n"
        f"{prefix}-nan,abc,,\n"
        f"{prefix}-ref,1,001000000000000AAA,\n"
        f"{prefix}-first,1,,{ext}\n"
        f"{prefix}-again,1,,{ext}\n"
    )
    info = bulk.run(data, object="Account", operation="insert")
    assert (info["state"], info["numberRecordsProcessed"], info["numberRecordsFailed"]) == ("JobComplete", 6, 4)
    failed = {(r["Name"], r["NumberOfEmployees"]): r for r in bulk.results(info["id"], "failedResults")}
    assert failed[("", "3")]["sf__Error"] == "REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --"
    assert failed[(f"{prefix}-nan", "abc")]["sf__Error"] == (
        "INVALID_TYPE_ON_FIELD_IN_RECORD:Employees: value not of required type: abc:NumberOfEmployees --"
    )
    assert failed[(f"{prefix}-ref", "1")]["sf__Error"] == (
        "INVALID_CROSS_REFERENCE_KEY:invalid cross reference id:ParentId --"
    )
    assert failed[(f"{prefix}-ref", "1")]["ParentId"] == "001000000000000AAA"
    in_org = _names_in_org(api, prefix)
    assert set(in_org) == {f"{prefix}-ok", f"{prefix}-first"}
    assert failed[(f"{prefix}-again", "1")]["sf__Error"] == (
        "DUPLICATE_VALUE:duplicate value found: External_Id__c duplicates value on record with id: "
        f"{in_org[f'{prefix}-first']['Id']}:--"
    )
    assert all(r["sf__Id"] == "" for r in failed.values())


def test_update_ignores_empty_cells_and_nulls_na(bulk: Bulk, api: Api) -> None:
    first = api.create("Account", {"Name": unique("Upd"), "Phone": "111", "Description": "old"})
    second = api.create("Account", {"Name": unique("Upd"), "Phone": "222", "Description": "keep"})
    gone = api.create("Account", {"Name": unique("Upd")})
    assert api.delete(f"/sobjects/Account/{gone}").status_code == 204
    data = (
        "Id,Phone,Description\n"
        f"{first},,#N/A\n"
        f"{second[:15]},333,\n"
        f"{gone},1,\n"
        "001000000000000AAA,1,\n"
        "not-an-id,1,\n"
        ",1,\n"
    )
    info = bulk.run(data, object="Account", operation="update")
    assert (info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (6, 4)
    rows = api.query(f"SELECT Id, Phone, Description FROM Account WHERE Id IN ('{first}', '{second}')")["records"]
    by_id = {r["Id"]: r for r in rows}
    assert (by_id[first]["Phone"], by_id[first]["Description"]) == ("111", None)
    assert (by_id[second]["Phone"], by_id[second]["Description"]) == ("333", "keep")
    successes = bulk.results(info["id"], "successfulResults")
    assert [(r["sf__Id"], r["sf__Created"]) for r in successes] == [(first, "false"), (second, "false")]
    errors = {r["Id"]: (r["sf__Id"], r["sf__Error"]) for r in bulk.results(info["id"], "failedResults")}
    assert errors[gone] == (gone, "ENTITY_IS_DELETED:entity is deleted:--")
    assert errors["001000000000000AAA"] == (
        "001000000000000AAA",
        "INVALID_CROSS_REFERENCE_KEY:invalid cross reference id:--",
    )
    assert errors["not-an-id"] == ("", "MALFORMED_ID:Account ID: id value of incorrect type: not-an-id:Id --")
    assert errors[""] == ("", "MISSING_ARGUMENT:Id not specified in an update call:--")


def test_upsert_creates_and_updates_by_external_id(bulk: Bulk, api: Api) -> None:
    existing_key, new_key = unique("key"), unique("key")
    existing = api.create("Account", {"Name": "Before", "External_Id__c": existing_key})
    data = f"External_Id__c,Name\n{existing_key},After\n{new_key},Brand New\n,No Key\n"
    info = bulk.run(data, object="Account", operation="upsert", externalIdFieldName="External_Id__c")
    assert info["externalIdFieldName"] == "External_Id__c"
    successes = {r["External_Id__c"]: r for r in bulk.results(info["id"], "successfulResults")}
    assert (successes[existing_key]["sf__Id"], successes[existing_key]["sf__Created"]) == (existing, "false")
    assert successes[new_key]["sf__Created"] == "true"
    assert [r["sf__Error"] for r in bulk.results(info["id"], "failedResults")] == [
        "MISSING_ARGUMENT:External_Id__c not specified:--"
    ]
    names = {
        r["External_Id__c"]: r["Name"]
        for r in api.query(
            f"SELECT Name, External_Id__c FROM Account WHERE External_Id__c IN ('{existing_key}', '{new_key}')"
        )["records"]
    }
    assert names == {existing_key: "After", new_key: "Brand New"}


def test_parent_referenced_by_external_id(bulk: Bulk, api: Api) -> None:
    key = unique("parent")
    account = api.create("Account", {"Name": "Parent", "External_Id__c": key})
    last = unique("Child")
    data = f"LastName,Account.External_Id__c\n{last},{key}\n{last}-orphan,{unique('nokey')}\n"
    info = bulk.run(data, object="Contact", operation="insert")
    assert info["numberRecordsFailed"] == 1
    contact = api.query(f"SELECT AccountId FROM Contact WHERE LastName = '{last}'")["records"]
    assert [c["AccountId"] for c in contact] == [account]
    (failure,) = bulk.results(info["id"], "failedResults")
    assert failure["sf__Error"].startswith("INVALID_FIELD:Foreign key external ID: ")
    assert failure["sf__Error"].endswith(" not found for field External_Id__c in entity Account:--")


def test_delete_and_hard_delete(bulk: Bulk, api: Api) -> None:
    soft, hard, hard_twice = (api.create("Account", {"Name": unique("Del")}) for _ in range(3))
    info = bulk.run(f"Id\n{soft}\n", object="Account", operation="delete")
    assert [(r["sf__Id"], r["sf__Created"]) for r in bulk.results(info["id"], "successfulResults")] == [(soft, "false")]
    info = bulk.run(f"Id\n{hard}\n{hard_twice}\n{hard_twice}\n{soft}\n", object="Account", operation="hardDelete")
    errors = [(r["Id"], r["sf__Error"]) for r in bulk.results(info["id"], "failedResults")]
    assert errors == [
        (hard_twice, "INVALID_CROSS_REFERENCE_KEY:invalid cross reference id:--"),  # already gone for good
        (soft, "ENTITY_IS_DELETED:entity is deleted:--"),
    ]
    soql = f"SELECT Id, IsDeleted FROM Account WHERE Id IN ('{soft}', '{hard}', '{hard_twice}')"
    everything = api.get("/queryAll", params={"q": soql}).json()["records"]
    assert [(r["Id"], r["IsDeleted"]) for r in everything] == [(soft, True)]
    assert api.query(f"SELECT COUNT() FROM Account WHERE Id = '{soft}'")["totalSize"] == 0


def test_quoting_tab_delimiter_and_crlf(bulk: Bulk, api: Api) -> None:
    name = unique("Tab")
    description = 'Line one\r\nsays "hi",\tthen a tab'
    quoted = '"' + description.replace('"', '""') + '"'
    data = f"Name\tDescription\r\n{name}\t{quoted}\r\n"
    info = bulk.run(data, object="Account", operation="insert", columnDelimiter="TAB", lineEnding="CRLF")
    assert (info["state"], info["columnDelimiter"], info["lineEnding"]) == ("JobComplete", "TAB", "CRLF")
    stored = api.query(f"SELECT Description FROM Account WHERE Name = '{name}'")["records"]
    assert stored == [{"attributes": stored[0]["attributes"], "Description": description}]
    text = bulk.result_text(info["id"], "successfulResults")
    assert text.startswith('"sf__Id"\t"sf__Created"\tName\tDescription\r\n')
    (success,) = bulk.results(info["id"], "successfulResults", delimiter="\t")
    assert success["Description"] == description


# ------------------------------------------------------------------------------------- whole-job failures


@pytest.mark.parametrize(
    ("job", "data", "message"),
    [
        ({}, "Name,Foo\nx,1\n", "InvalidBatch : Field name not found : Foo"),
        (
            {},
            "Name\r\nx\r\n",
            "ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is LF",
        ),
        (
            {"lineEnding": "CRLF"},
            "Name\nx\n",
            "ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is CRLF",
        ),
        ({}, "Name|Industry\nx|Banking\n", "InvalidBatch : Field name not found : Name|Industry"),
        ({}, "Name,Industry\nx\n", "ClientInputError : Wrong number of columns in row 1: expected 2, found 1"),
        (
            {},
            '\ufeff"Name"\n"x"\n',
            "InvalidBatch : Failed to parse CSV. Found unescaped quote. A value with quote should be within a quote",
        ),
        ({}, "\ufeffName\nx\n", "InvalidBatch : Field name not found : \ufeffName"),
        ({}, 'Name\n"x\n', "InvalidBatch : Failed to parse CSV. EOF reached before closing an opened quote"),
        (
            {"operation": "delete"},
            "Id,Name\n001000000000000AAA,x\n",
            "InvalidBatch : The 'delete' batch must contain only ids",
        ),
    ],
    ids=[
        "unknown-column",
        "crlf-in-lf-job",
        "lf-in-crlf-job",
        "wrong-delimiter",
        "ragged-row",
        "bom-quoted",
        "bom-unquoted",
        "unclosed-quote",
        "delete-extra-column",
    ],
)
def test_unreadable_upload_fails_the_job_and_applies_nothing(
    bulk: Bulk, api: Api, job: dict[str, str], data: str, message: str
) -> None:
    marker = unique("NeverLoaded")
    info = bulk.run(data.replace("x", marker), **{"object": "Account", "operation": "insert", **job})
    assert (info["state"], info["errorMessage"]) == ("Failed", message)
    assert info["numberRecordsProcessed"] == 0
    assert api.query(f"SELECT COUNT() FROM Account WHERE Name LIKE '{marker}%'")["totalSize"] == 0
    assert bulk.result_text(info["id"], "unprocessedrecords") == data.replace("x", marker)
    assert bulk.results(info["id"], "failedResults") == []


def test_closing_a_job_without_data_fails_it(bulk: Bulk) -> None:
    job_id = bulk.create(object="Account", operation="insert")["id"]
    assert bulk.set_state(job_id, "UploadComplete").status_code == 200
    info, _ = bulk.wait(job_id)
    assert (info["state"], info["errorMessage"]) == ("Failed", "InvalidBatch : No data was uploaded for the job")


# ------------------------------------------------------------------------------------- request errors


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        ({"object": "Nope__c", "operation": "insert"}, "INVALIDENTITY", "sObject type 'Nope__c' is not supported."),
        (
            {"object": "Account", "operation": "upsert"},
            "INVALIDJOB",
            "External ID was blank for Account. An External ID must be specified for upsert.",
        ),
        (
            {"object": "Account", "operation": "upsert", "externalIdFieldName": "Name"},
            "INVALIDJOB",
            "Field name provided, Name does not match an External ID, Salesforce Id, or indexed field for Account",
        ),
        ({"object": "Account"}, "INVALIDJOB", "Operation is required"),
    ],
)
def test_create_job_errors(api: Api, body: dict[str, str], code: str, message: str) -> None:
    response = api.post("/jobs/ingest", json=body)
    assert response.status_code == 400
    assert api.error(response) == {"errorCode": code, "message": message}


@pytest.mark.parametrize(("key", "value"), [("operation", "merge"), ("columnDelimiter", "COLON"), ("lineEnding", "CR")])
def test_unknown_enum_values_are_json_errors(api: Api, key: str, value: str) -> None:
    response = api.post("/jobs/ingest", json={"object": "Account", "operation": "insert", key: value})
    assert response.status_code == 400
    error = api.error(response)
    assert error["errorCode"] == "JSON_PARSER_ERROR" and f'from String "{value}"' in error["message"]


def test_state_rules(bulk: Bulk, api: Api) -> None:
    job_id = bulk.create(object="Account", operation="insert")["id"]
    assert api.get(f"/jobs/ingest/{job_id}/successfulResults/").status_code == 400
    assert bulk.upload(job_id, f"Name\n{unique('St')}\n").status_code == 201
    second = bulk.upload(job_id, "Name\nagain\n")
    assert second.status_code == 400
    assert api.error(second) == {
        "errorCode": "INVALIDJOB",
        "message": f"Found multipe contents for job: <{job_id[:15]}>, please 'Close' / 'Abort' / 'Delete' the "
        "current Job then create a new Job and make sure you only do 'PUT' once on a given Job.",
    }
    deleting_open = api.delete(f"/jobs/ingest/{job_id}")
    assert deleting_open.status_code == 400 and api.error(deleting_open)["errorCode"] == "INVALIDJOBSTATE"
    assert bulk.set_state(job_id, "JobComplete").status_code == 400
    assert bulk.set_state(job_id, "UploadComplete").status_code == 200
    late = bulk.upload(job_id, "Name\nlate\n")
    assert late.status_code == 400 and api.error(late)["errorCode"] == "INVALIDJOBSTATE"
    bulk.wait(job_id)
    again = bulk.set_state(job_id, "UploadComplete")
    assert again.status_code == 400 and api.error(again)["errorCode"] == "INVALIDJOBSTATE"
    assert bulk.set_state(job_id, "Aborted").status_code == 400
    deleted = api.delete(f"/jobs/ingest/{job_id}")
    assert deleted.status_code == 204 and deleted.content == b""
    for response in (
        api.get(f"/jobs/ingest/{job_id}"),
        api.delete(f"/jobs/ingest/{job_id}"),
        bulk.set_state(job_id, "Aborted"),
        bulk.upload(job_id, "Name\nx\n"),
        api.get(f"/jobs/ingest/{job_id}/failedResults/"),
    ):
        assert response.status_code == 404
        assert api.error(response) == {"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}


def test_abort_an_open_job(bulk: Bulk, api: Api) -> None:
    job_id = bulk.create(object="Contact", operation="insert")["id"]
    data = f"LastName\n{unique('Ab')}\n"
    assert bulk.upload(job_id, data).status_code == 201
    aborted = bulk.set_state(job_id, "Aborted")
    assert aborted.status_code == 200 and aborted.json()["state"] == "Aborted"
    assert bulk.result_text(job_id, "unprocessedrecords") == data
    assert api.delete(f"/jobs/ingest/{job_id}").status_code == 204


def test_bulk_ingest_needs_api_41(api: Api) -> None:
    assert api.get("/services/data/v40.0/jobs/ingest").status_code == 404
    assert api.get("/services/data/v41.0/jobs/ingest").status_code == 200


# ------------------------------------------------------------------------------------- paced org


def test_abort_mid_job_leaves_the_rest_unprocessed(paced: RunningEmulator) -> None:
    bulk = Bulk(Api(paced))
    names = [f"Row-{i:03d}" for i in range(200)]
    data = "LastName\n" + "".join(f"{name}\n" for name in names)
    job_id = bulk.create(object="Contact", operation="insert")["id"]
    assert bulk.upload(job_id, data).status_code == 201
    bulk.set_state(job_id, "UploadComplete")
    deadline = time.monotonic() + 5
    while (info := bulk.info(job_id))["numberRecordsProcessed"] < 30:
        assert time.monotonic() < deadline and info["state"] in ("UploadComplete", "InProgress")
        time.sleep(0.01)
    assert info["state"] == "InProgress"
    assert bulk.set_state(job_id, "Aborted").json()["state"] == "Aborted"
    info = bulk.info(job_id)
    successes = bulk.results(job_id, "successfulResults")
    unprocessed = bulk.result_text(job_id, "unprocessedrecords").splitlines()
    assert unprocessed[0] == "LastName"
    done = [r["LastName"] for r in successes]
    assert 30 <= len(done) < 200 and done + unprocessed[1:] == names
    assert bulk.info(job_id)["numberRecordsProcessed"] == len(done)
    stored = paced.store.count("Contact")
    assert stored == len(done)


def test_upload_limit(paced: RunningEmulator) -> None:
    bulk = Bulk(Api(paced))
    job_id = bulk.create(object="Account", operation="insert")["id"]
    too_big = "Name\n" + "x" * 3000 + "\n"
    refused = bulk.upload(job_id, too_big)
    assert refused.status_code == 413
    assert bulk.api.error(refused) == {
        "errorCode": "EXCEEDED_MAX_SIZE_REQUEST",
        "message": "Job data exceeds the maximum upload size of 2000 bytes",
    }
    assert bulk.info(job_id)["state"] == "Open"
    assert bulk.upload(job_id, "Name\nsmall\n").status_code == 201


def test_job_list_is_paged(paced: RunningEmulator) -> None:
    api = Api(paced)
    bulk = Bulk(api)
    mine = {bulk.create(object="Account", operation="insert")["id"] for _ in range(5)}
    first = api.get("/jobs/ingest")
    assert first.status_code == 200
    pages = [first.json()]
    while not pages[-1]["done"]:
        url = pages[-1]["nextRecordsUrl"]
        assert url.startswith("/services/data/v62.0/jobs/ingest?queryLocator=")
        pages.append(api.get(url).json())
    assert pages[-1]["nextRecordsUrl"] is None
    assert all(len(p["records"]) <= 2 for p in pages) and len(pages) >= 3
    listed = [r["id"] for p in pages for r in p["records"]]
    assert len(listed) == len(set(listed)) and mine <= set(listed)
    entry = next(r for p in pages for r in p["records"] if r["id"] in mine)
    assert entry["jobType"] == "V2Ingest" and entry["contentUrl"].startswith("services/data/v62.0/jobs/ingest/")
    filtered = api.get("/jobs/ingest", params={"jobType": "Classic"}).json()
    assert filtered == {"done": True, "records": [], "nextRecordsUrl": None}
    assert api.get("/jobs/ingest", params={"isPkChunkingEnabled": "true"}).json()["records"] == []
    parallel = api.get("/jobs/ingest", params={"concurrencyMode": "Parallel"}).json()
    assert parallel["nextRecordsUrl"].startswith(
        "/services/data/v62.0/jobs/ingest?concurrencyMode=Parallel&queryLocator="
    )


def test_shutdown_stops_a_running_job_and_removes_its_files(tmp_path: Path) -> None:
    """Job files live under ``data_dir`` when there is one; stopping the emulator mid-job ends the
    worker (the store closes after it) and leaves no spool behind."""
    before = set(threading.enumerate())
    with start_emulator(
        sample_data=False, data_dir=tmp_path, bulk_queue_delay=0, bulk_chunk_rows=5, bulk_chunk_delay=0.05
    ) as running:
        bulk = Bulk(Api(running))
        job_id = bulk.create(object="Contact", operation="insert")["id"]
        bulk.upload(job_id, "LastName\n" + "".join(f"Stop-{i}\n" for i in range(500)))
        assert (tmp_path / "bulk-jobs" / job_id / "upload.csv").exists()
        bulk.set_state(job_id, "UploadComplete")
        while bulk.info(job_id)["numberRecordsProcessed"] == 0:
            time.sleep(0.01)
        stopping = time.monotonic()
    assert time.monotonic() - stopping < 5
    assert not (tmp_path / "bulk-jobs").exists()
    assert not [t for t in set(threading.enumerate()) - before if t.name.startswith("sfpy-bulk")]
