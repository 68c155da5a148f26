"""Bulk API 1.0 over HTTP: jobs and batches in CSV, JSON and XML, batch states, results, query jobs
with result ids, and the API's own error documents.

Every DML test reads the data back through ``/query``, not only what the batch reports.
"""

from __future__ import annotations

import csv
import io
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from emulator_api import Api, unique

from airflow_provider_sfpy.emulator.bulk1.jobs import registry_for
from airflow_provider_sfpy.emulator.testing import RunningEmulator, start_emulator

VERSION = "62.0"
NS = "{http://www.force.com/2009/06/asyncapi/dataload}"
XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
DONE = {"Completed", "Failed", "NotProcessed"}
XML_JOB_KEYS = [
    "id",
    "operation",
    "object",
    "createdById",
    "createdDate",
    "systemModstamp",
    "state",
    "concurrencyMode",
    "contentType",
    "numberBatchesQueued",
    "numberBatchesInProgress",
    "numberBatchesCompleted",
    "numberBatchesFailed",
    "numberBatchesTotal",
    "numberRecordsProcessed",
    "numberRetries",
    "apiVersion",
    "numberRecordsFailed",
    "totalProcessingTime",
    "apiActiveProcessingTime",
    "apexProcessingTime",
]


def job_xml(**fields: str) -> str:
    body = "".join(f"<{key}>{value}</{key}>" for key, value in fields.items())
    return f'<?xml version="1.0" encoding="UTF-8"?><jobInfo xmlns="{NS[1:-1]}">{body}</jobInfo>'


def xml_fields(element: ET.Element) -> dict[str, str]:
    return {child.tag.removeprefix(NS): child.text or "" for child in element}


class Bulk1:
    """Bulk API 1.0 calls over ``requests``, authenticated with ``X-SFDC-Session`` as clients do."""

    def __init__(self, emulator: RunningEmulator, version: str = VERSION) -> None:
        self.base = f"{emulator.base_url}/services/async/{version}"
        self.http = requests.Session()
        self.http.headers["X-SFDC-Session"] = emulator.login()["access_token"]

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        return self.http.request(method, self.base + path, **kwargs)

    def xml(self, method: str, path: str, body: str | None = None, content_type: str = "application/xml") -> ET.Element:
        response = self.call(method, path, data=body, headers={"Content-Type": content_type})
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/xml")
        return ET.fromstring(response.content)

    def json(self, method: str, path: str, body: Any = None) -> Any:
        response = self.call(method, path, json=body)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/json")
        return response.json()

    def create_xml_job(self, **fields: str) -> dict[str, str]:
        root = self.xml("POST", "/job", job_xml(**fields))
        assert root.tag == f"{NS}jobInfo"
        return xml_fields(root)

    def document(self, method: str, path: str, body: str | None = None, content_type: str | None = None) -> Any:
        """A jobInfo or batchInfo answer, XML (as ``{element: text}``) or JSON alike."""
        headers = {"Content-Type": content_type} if content_type else {}
        response = self.call(method, path, data=body, headers=headers)
        assert response.status_code == 200, response.text
        if response.headers["content-type"].startswith("application/json"):
            return response.json()
        return xml_fields(ET.fromstring(response.content))

    def wait(self, job_id: str, batch_id: str, timeout: float = 10) -> Any:
        """The batch's info once it is done (``Completed``, ``Failed`` or ``NotProcessed``)."""
        deadline = time.monotonic() + timeout
        while True:
            info = self.document("GET", f"/job/{job_id}/batch/{batch_id}")
            if info["state"] in DONE or time.monotonic() > deadline:
                return info
            time.sleep(0.02)


def error_of(response: requests.Response) -> tuple[int, str, str]:
    """(status, exceptionCode, exceptionMessage) of an XML or JSON Bulk API 1.0 error."""
    if response.headers["content-type"].startswith("application/json"):
        body = response.json()
        return response.status_code, body["exceptionCode"], body["exceptionMessage"]
    root = ET.fromstring(response.content)
    assert root.tag == f"{NS}error"
    fields = xml_fields(root)
    return response.status_code, fields["exceptionCode"], fields["exceptionMessage"]


@pytest.fixture
def bulk(emulator: RunningEmulator) -> Bulk1:
    return Bulk1(emulator)


@pytest.fixture(scope="module")
def paced() -> Iterator[RunningEmulator]:
    """An org whose batches wait 0.2 s queued, then apply one record every 0.1 s: states stay long
    enough to be seen."""
    with start_emulator(sample_data=False, bulk_queue_delay=0.2, bulk_chunk_rows=1, bulk_chunk_delay=0.1) as org:
        yield org


@pytest.fixture(scope="module")
def stalled() -> Iterator[RunningEmulator]:
    """An org whose batches stay queued for a minute (or until it stops)."""
    with start_emulator(sample_data=False, bulk_queue_delay=60) as org:
        yield org


# ------------------------------------------------------------------------------------- CSV / XML


def test_csv_insert_job_in_xml_from_open_to_results(bulk: Bulk1, api: Api) -> None:
    name = unique("B1csv")
    job = bulk.create_xml_job(operation="insert", object="Account", contentType="CSV")
    assert list(job) == XML_JOB_KEYS
    assert job["state"] == "Open" and job["concurrencyMode"] == "Parallel" and job["apiVersion"] == VERSION
    assert job["id"].startswith("750") and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", job["createdDate"])
    data = f'Name,NumberOfEmployees\n{name},3\n"{name}, Inc.",\n,4\n'
    batch = xml_fields(bulk.xml("POST", f"/job/{job['id']}/batch", data, content_type="text/csv"))
    assert batch["state"] == "Queued" and batch["jobId"] == job["id"] and batch["id"].startswith("751")

    done = bulk.wait(job["id"], batch["id"])
    assert done["state"] == "Completed"
    assert (done["numberRecordsProcessed"], done["numberRecordsFailed"]) == ("3", "1")
    response = bulk.call("GET", f"/job/{job['id']}/batch/{batch['id']}/result")
    assert response.headers["content-type"].startswith("text/csv")
    assert response.text.startswith('"Id","Success","Created","Error"\n')
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["Success"], r["Created"]) for r in rows] == [("true", "true"), ("true", "true"), ("false", "false")]
    assert (
        rows[2]["Id"] == "" and rows[2]["Error"] == "REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --"
    )
    stored = api.query(f"SELECT Id, Name, NumberOfEmployees FROM Account WHERE Name LIKE '{name}%' ORDER BY Name")
    assert [(r["Id"], r["NumberOfEmployees"]) for r in stored["records"]] == [(rows[0]["Id"], 3), (rows[1]["Id"], None)]

    closed = xml_fields(bulk.xml("POST", f"/job/{job['id']}", job_xml(state="Closed")))
    assert closed["state"] == "Closed"
    assert (closed["numberBatchesCompleted"], closed["numberBatchesTotal"]) == ("1", "1")
    assert (closed["numberRecordsProcessed"], closed["numberRecordsFailed"]) == ("3", "1")


def test_batch_states_go_queued_in_progress_completed(paced: RunningEmulator) -> None:
    bulk = Bulk1(paced)
    job = bulk.create_xml_job(operation="insert", object="Account", contentType="CSV")
    added = xml_fields(bulk.xml("POST", f"/job/{job['id']}/batch", "Name\na\nb\nc\n", content_type="text/csv"))
    seen = [added["state"]]
    counts = []
    deadline = time.monotonic() + 10
    while seen[-1] not in DONE and time.monotonic() < deadline:
        info = xml_fields(bulk.xml("GET", f"/job/{job['id']}/batch/{added['id']}"))
        if info["state"] != seen[-1]:
            seen.append(info["state"])
        if info["state"] == "InProgress":
            counts.append(int(info["numberRecordsProcessed"]))
            job_info = xml_fields(bulk.xml("GET", f"/job/{job['id']}"))  # read a moment later: maybe done by now
            in_progress, completed = job_info["numberBatchesInProgress"], job_info["numberBatchesCompleted"]
            assert (in_progress, completed) in (("1", "0"), ("0", "1")) and job_info["numberBatchesQueued"] == "0"
        time.sleep(0.02)
    assert seen == ["Queued", "InProgress", "Completed"]
    # Progress only grows; the last record may be counted a moment before the state turns Completed.
    assert counts == sorted(counts) and counts[-1] <= 3


def test_serial_job_processes_one_batch_at_a_time_in_order(paced: RunningEmulator) -> None:
    bulk = Bulk1(paced)
    job = bulk.create_xml_job(operation="insert", object="Account", concurrencyMode="Serial", contentType="CSV")
    assert job["concurrencyMode"] == "Serial"
    first, second = (
        xml_fields(bulk.xml("POST", f"/job/{job['id']}/batch", f"Name\n{n}a\n{n}b\n", content_type="text/csv"))["id"]
        for n in (1, 2)
    )
    most_in_progress, deadline = 0, time.monotonic() + 10
    while time.monotonic() < deadline:
        info = xml_fields(bulk.xml("GET", f"/job/{job['id']}"))
        most_in_progress = max(most_in_progress, int(info["numberBatchesInProgress"]))
        if info["numberBatchesCompleted"] == "2":
            break
        time.sleep(0.02)
    assert most_in_progress == 1
    firsts, seconds = (
        bulk.call("GET", f"/job/{job['id']}/batch/{batch}/result").text.splitlines()[1:] for batch in (first, second)
    )
    assert max(firsts) < min(seconds)  # Ids grow with creation: every record of the first batch came first


def test_xml_batch_with_parent_by_external_id_and_nil(bulk: Bulk1, api: Api) -> None:
    key, name = unique("B1ext"), unique("B1xml")
    account = api.create("Account", {"Name": name, "External_Id__c": key, "Phone": "555"})
    job = bulk.create_xml_job(operation="insert", object="Contact", contentType="XML")
    data = (
        f'<sObjects xmlns="{NS[1:-1]}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<sObject><LastName>{name}</LastName><Account><External_Id__c>{key}</External_Id__c></Account>"
        '<Email xsi:nil="true"/></sObject>'
        "<sObject><FirstName>NoLastName</FirstName></sObject></sObjects>"
    )
    batch = xml_fields(bulk.xml("POST", f"/job/{job['id']}/batch", data))
    assert bulk.wait(job["id"], batch["id"])["state"] == "Completed"
    results = bulk.xml("GET", f"/job/{job['id']}/batch/{batch['id']}/result")
    ok, failed = results.findall(f"{NS}result")
    assert [c.tag.removeprefix(NS) for c in ok] == ["id", "success", "created"]
    assert (ok.findtext(f"{NS}success"), ok.findtext(f"{NS}created")) == ("true", "true")
    assert failed.find(f"{NS}id").get(XSI_NIL) == "true"  # type: ignore[union-attr]
    error = failed.find(f"{NS}errors")
    assert error is not None and error.findtext(f"{NS}statusCode") == "REQUIRED_FIELD_MISSING"
    assert error.findtext(f"{NS}fields") == "LastName"
    contact = api.query(f"SELECT Id, AccountId FROM Contact WHERE LastName = '{name}'")["records"]
    assert contact == [{"attributes": contact[0]["attributes"], "Id": ok.findtext(f"{NS}id"), "AccountId": account}]


# ------------------------------------------------------------------------------------- JSON


def test_json_upsert_job_results_request_and_batch_list(bulk: Bulk1, api: Api) -> None:
    key, name = unique("B1json"), unique("B1json")
    job = bulk.json(
        "POST",
        "/job",
        {"operation": "upsert", "object": "Account", "contentType": "JSON", "externalIdFieldName": "External_Id__c"},
    )
    assert job["state"] == "Open" and job["externalIdFieldName"] == "External_Id__c"
    assert job["apiVersion"] == float(VERSION) and job["createdDate"].endswith("+0000")
    assert list(job) == sorted(job) and job["assignmentRuleId"] is None and job["fastPathEnabled"] is False
    records = [{"External_Id__c": key, "Name": name, "NumberOfEmployees": 12}, {"Name": "no key"}]
    batches_left = api.get("/limits").json()["DailyBulkApiBatches"]["Remaining"]
    batch = bulk.json("POST", f"/job/{job['id']}/batch", records)
    assert api.get("/limits").json()["DailyBulkApiBatches"]["Remaining"] == batches_left - 1
    assert batch["state"] == "Queued" and "stateMessage" not in batch
    assert bulk.wait(job["id"], batch["id"])["state"] == "Completed"

    ok, failed = bulk.json("GET", f"/job/{job['id']}/batch/{batch['id']}/result")
    assert ok == {"success": True, "created": True, "id": ok["id"], "errors": []}
    assert failed["success"] is False and failed["id"] is None
    assert failed["errors"] == [
        {"statusCode": "MISSING_ARGUMENT", "message": "External_Id__c not specified", "fields": []}
    ]
    assert bulk.json("GET", f"/job/{job['id']}/batch/{batch['id']}/request") == records
    listed = bulk.json("GET", f"/job/{job['id']}/batch")
    assert [b["id"] for b in listed["batchInfo"]] == [batch["id"]]
    stored = api.query(f"SELECT Id, NumberOfEmployees FROM Account WHERE External_Id__c = '{key}'")["records"]
    assert [(r["Id"], r["NumberOfEmployees"]) for r in stored] == [(ok["id"], 12)]


def test_serial_job_from_json_ordinal_and_bearer_auth(emulator: RunningEmulator) -> None:
    response = requests.post(
        f"{emulator.base_url}/services/async/{VERSION}/job",
        json={"operation": "insert", "object": "Contact", "contentType": "JSON", "concurrencyMode": 1},
        headers=emulator.auth_headers(),
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert response.json()["concurrencyMode"] == "Serial"


# ------------------------------------------------------------------------------------- query


def test_csv_query_lists_result_ids_and_serves_each(bulk: Bulk1, api: Api, emulator: RunningEmulator) -> None:
    name = unique("B1q")
    ids = [api.create("Account", {"Name": f"{name}-{n}", "NumberOfEmployees": n}) for n in range(3)]
    registry = registry_for(emulator.state)
    registry.records_per_result = 2
    try:
        job = bulk.create_xml_job(operation="query", object="Account", contentType="CSV")
        soql = f"SELECT Id, Name, NumberOfEmployees, Owner.Name FROM Account WHERE Name LIKE '{name}%' ORDER BY Name"
        batch = xml_fields(bulk.xml("POST", f"/job/{job['id']}/batch", soql, content_type="text/csv"))
        done = bulk.wait(job["id"], batch["id"])
    finally:
        registry.records_per_result = 1_000_000
    assert (done["state"], done["numberRecordsProcessed"]) == ("Completed", "3")
    result_list = bulk.xml("GET", f"/job/{job['id']}/batch/{batch['id']}/result")
    assert result_list.tag == f"{NS}result-list"
    result_ids = [r.text or "" for r in result_list]
    assert len(result_ids) == 2 and all(r.startswith("752") and len(r) == 15 for r in result_ids)
    rows = []
    for result_id in result_ids:
        response = bulk.call("GET", f"/job/{job['id']}/batch/{batch['id']}/result/{result_id}")
        assert response.status_code == 200 and response.text.startswith(
            '"Id","Name","NumberOfEmployees","Owner.Name"\n'
        )
        rows += list(csv.DictReader(io.StringIO(response.text)))
    assert [r["Id"] for r in rows] == ids and rows[0]["NumberOfEmployees"] == "0" and rows[0]["Owner.Name"]
    assert bulk.call("GET", f"/job/{job['id']}/batch/{batch['id']}/request").text == soql


def test_query_with_no_rows_answers_records_not_found(bulk: Bulk1) -> None:
    job = bulk.create_xml_job(operation="query", object="Account", contentType="CSV")
    soql = f"SELECT Id FROM Account WHERE Name = '{unique('none')}'"
    batch = xml_fields(bulk.xml("POST", f"/job/{job['id']}/batch", soql, content_type="text/csv"))
    assert bulk.wait(job["id"], batch["id"])["state"] == "Completed"
    (result_id,) = [r.text for r in bulk.xml("GET", f"/job/{job['id']}/batch/{batch['id']}/result")]
    assert bulk.call("GET", f"/job/{job['id']}/batch/{batch['id']}/result/{result_id}").text == (
        "Records not found for this query"
    )


def test_xml_query_results_are_sobject_records(bulk: Bulk1, api: Api) -> None:
    name = unique("B1qx")
    account = api.create("Account", {"Name": name, "NumberOfEmployees": 8})
    job = bulk.create_xml_job(operation="queryAll", object="Account", contentType="XML")
    soql = f"SELECT Id, Name, Phone, CreatedDate, IsDeleted FROM Account WHERE Name = '{name}'"
    batch = xml_fields(bulk.xml("POST", f"/job/{job['id']}/batch", soql))
    assert bulk.wait(job["id"], batch["id"])["state"] == "Completed"
    (result_id,) = [r.text for r in bulk.xml("GET", f"/job/{job['id']}/batch/{batch['id']}/result")]
    result = bulk.xml("GET", f"/job/{job['id']}/batch/{batch['id']}/result/{result_id}")
    assert result.tag == f"{NS}queryResult"
    (record,) = result
    fields = xml_fields(record)
    assert fields["type"] == "Account" and fields["Id"] == account and fields["IsDeleted"] == "false"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", fields["CreatedDate"])
    assert record.find(f"{NS}Phone").get(XSI_NIL) == "true"  # type: ignore[union-attr]


def test_json_query_results_nest_parents_and_use_epoch_milliseconds(bulk: Bulk1, api: Api) -> None:
    name = unique("B1qj")
    account = api.create("Account", {"Name": name})
    contact = api.create("Contact", {"LastName": name, "AccountId": account, "Birthdate": "1990-01-02"})
    job = bulk.json("POST", "/job", {"operation": "query", "object": "Contact", "contentType": "JSON"})
    soql = f"SELECT Id, Birthdate, Account.Name, Account.CreatedDate FROM Contact WHERE LastName = '{name}'"
    response = bulk.call("POST", f"/job/{job['id']}/batch", data=soql, headers={"Content-Type": "application/json"})
    batch = response.json()
    assert bulk.wait(job["id"], batch["id"])["state"] == "Completed"
    (result_id,) = bulk.json("GET", f"/job/{job['id']}/batch/{batch['id']}/result")
    (record,) = bulk.json("GET", f"/job/{job['id']}/batch/{batch['id']}/result/{result_id}")
    assert record["attributes"] == {"type": "Contact", "url": f"/services/data/v{VERSION}/sobjects/Contact/{contact}"}
    assert record["Birthdate"] == 631238400000  # 1990-01-02T00:00:00Z
    assert record["Account"]["Name"] == name and isinstance(record["Account"]["CreatedDate"], int)


def test_query_a_bulk_query_cannot_run_fails_the_batch(bulk: Bulk1) -> None:
    job = bulk.create_xml_job(operation="query", object="Account", contentType="CSV")
    batch = xml_fields(bulk.xml("POST", f"/job/{job['id']}/batch", "SELECT Nope FROM Account", content_type="text/csv"))
    done = bulk.wait(job["id"], batch["id"])
    assert done["state"] == "Failed"
    assert done["stateMessage"].startswith("InvalidBatch : Failed to process query: INVALID_FIELD: ")
    response = bulk.call("GET", f"/job/{job['id']}/batch/{batch['id']}/result")
    assert error_of(response) == (400, "InvalidBatch", f"Batch not completed: batch {batch['id']} is Failed")


# ------------------------------------------------------------------------------------- failed batches


@pytest.mark.parametrize(
    ("content_type", "data", "message"),
    [
        ("CSV", "Name,Nope__c\nx,y\n", "InvalidBatch : Field name not found : Nope__c"),
        ("XML", "<sObjects><sObject><Name>x</Name></sObjects>", "InvalidBatch : Failed to parse XML. mismatched tag"),
        ("JSON", '[{"Name": "x"', "InvalidBatch : Failed to parse JSON. "),
        ("CSV", 'Name\n"unclosed\n', "InvalidBatch : Failed to parse CSV. EOF reached before closing an opened quote"),
    ],
)
def test_unreadable_batch_fails_with_state_message(bulk: Bulk1, content_type: str, data: str, message: str) -> None:
    job = bulk.create_xml_job(operation="insert", object="Account", contentType=content_type)
    batch = bulk.document("POST", f"/job/{job['id']}/batch", data, content_type="text/plain")
    done = bulk.wait(job["id"], batch["id"])
    assert done["state"] == "Failed" and done["stateMessage"].startswith(message)
    assert str(done["numberRecordsProcessed"]) == "0"
    assert xml_fields(bulk.xml("GET", f"/job/{job['id']}"))["numberBatchesFailed"] == "1"


# ------------------------------------------------------------------------------------- job states


def test_closed_job_takes_no_batch_and_cannot_be_closed_again(bulk: Bulk1) -> None:
    job = bulk.create_xml_job(operation="insert", object="Account", contentType="CSV")
    assert xml_fields(bulk.xml("POST", f"/job/{job['id']}", job_xml(state="Closed")))["state"] == "Closed"
    response = bulk.call("POST", f"/job/{job['id']}/batch", data="Name\nx\n", headers={"Content-Type": "text/csv"})
    assert error_of(response) == (
        400,
        "InvalidJobState",
        f"Job {job['id']} is Closed: batches can be added to an Open job only",
    )
    again = bulk.call("POST", f"/job/{job['id']}", data=job_xml(state="Closed"), headers={"Content-Type": "text/xml"})
    assert error_of(again)[:2] == (400, "InvalidJobState")
    aborted = bulk.xml("POST", f"/job/{job['id']}", job_xml(state="Aborted"))
    assert xml_fields(aborted)["state"] == "Aborted"


def test_abort_leaves_queued_batches_not_processed(stalled: RunningEmulator) -> None:
    bulk = Bulk1(stalled)
    job = bulk.json("POST", "/job", {"operation": "insert", "object": "Account", "contentType": "JSON"})
    batch = bulk.json("POST", f"/job/{job['id']}/batch", [{"Name": "never"}])
    aborted = bulk.json("POST", f"/job/{job['id']}", {"state": "Aborted"})
    assert aborted["state"] == "Aborted" and aborted["numberBatchesTotal"] == 1
    assert aborted["numberBatchesQueued"] == 0
    assert bulk.json("GET", f"/job/{job['id']}/batch/{batch['id']}")["state"] == "NotProcessed"
    assert stalled.store.count("Account") == 0


# ------------------------------------------------------------------------------------- request errors


def test_bad_session_is_invalid_session_id_in_the_calls_format(emulator: RunningEmulator) -> None:
    url = f"{emulator.base_url}/services/async/{VERSION}/job"
    as_xml = requests.post(url, data=job_xml(operation="insert", object="Account"), headers={"X-SFDC-Session": "x"})
    assert error_of(as_xml) == (400, "InvalidSessionId", "Invalid session id")
    assert as_xml.headers["content-type"].startswith("application/xml")
    as_json = requests.get(url + "/750000000000000", headers={"Content-Type": "application/json"}, timeout=30)
    assert as_json.headers["content-type"].startswith("application/json")
    assert error_of(as_json) == (400, "InvalidSessionId", "Invalid session id")


def test_bad_job_info_xml_is_invalid_xml(bulk: Bulk1) -> None:
    broken = bulk.call(
        "POST", "/job", data="<jobInfo><operation>insert</jobInfo>", headers={"Content-Type": "application/xml"}
    )
    status, code, message = error_of(broken)
    assert (status, code) == (400, "InvalidXML") and "mismatched tag" in message
    doctype = '<!DOCTYPE jobInfo [<!ENTITY x "y">]><jobInfo><operation>&x;</operation></jobInfo>'
    refused = bulk.call("POST", "/job", data=doctype, headers={"Content-Type": "application/xml"})
    assert error_of(refused)[:2] == (400, "InvalidXML") and "DOCTYPE" in error_of(refused)[2]


@pytest.mark.parametrize(
    ("fields", "code", "message"),
    [
        ({"operation": "INSERT", "object": "Account"}, "InvalidJob", "Invalid operation: INSERT."),
        ({"operation": "insert", "object": "Nope__c"}, "InvalidEntity", "Unable to find object: Nope__c"),
        ({"operation": "upsert", "object": "Account"}, "InvalidJob", "External ID was blank for Account."),
        ({"operation": "insert", "object": "Account", "contentType": "ZIP_CSV"}, "InvalidJob", "contentType ZIP_CSV"),
    ],
)
def test_job_create_errors(bulk: Bulk1, fields: dict[str, str], code: str, message: str) -> None:
    response = bulk.call("POST", "/job", json=fields)
    status, exception_code, exception_message = error_of(response)
    assert (status, exception_code) == (400, code) and exception_message.startswith(message)


def test_unknown_job_batch_and_version(bulk: Bulk1, emulator: RunningEmulator) -> None:
    assert error_of(bulk.call("GET", "/job/750000000000000AAA")) == (
        400,
        "InvalidJob",
        "Invalid job id: 750000000000000AAA",
    )
    job = bulk.create_xml_job(operation="insert", object="Account", contentType="CSV")
    missing = bulk.call("GET", f"/job/{job['id']}/batch/751000000000000AAA")
    assert error_of(missing) == (400, "InvalidBatch", "Invalid batch id: 751000000000000AAA")
    old = Bulk1(emulator, version="99.0").call("GET", f"/job/{job['id']}")
    assert error_of(old) == (404, "InvalidUrl", "Unsupported API version: 99.0")
