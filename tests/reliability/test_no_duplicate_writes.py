"""Creates under injected failures: each record lands exactly once, or the task fails saying its fate is unknown.

A create is re-sent only when Salesforce cannot have applied it (503, 429, UNABLE_TO_LOCK_ROW). After a
read timeout, a dropped connection or a 500/502/504 the record may exist, so the product must stop with
``SalesforceOutcomeUnknownError`` instead of sending it again (the operator, with no task state store to
resume from, fails with ``AirflowFailException`` so that Airflow does not retry it either). Idempotent
writes (upsert by external id, update) may be repeated safely, and are. The emulator's request log
proves how many times each write was sent; its data proves how many records exist. Only the
read-timeout cases use a connection with a short read timeout (``sfpy_slow``), so that a busy machine
cannot turn an ordinary request into a timeout.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from reliability_support import connection_fields, requests_to, settle, task_context, with_fast_retries

from airflow_provider_sfpy.client import Client, SalesforceOutcomeUnknownError
from airflow_provider_sfpy.operators.sobject import SalesforceFileInsertOperator, SalesforceSObjectOperator
from airflow_provider_sfpy.operators.task_state import AirflowFailException

COLLECTIONS = r"/composite/sobjects$"
READ_TIMEOUT = 1.5
SLOW_CONN = "sfpy_slow"

# name -> (fault rule, outcome): "ok" = retried and created once; "landed"/"not-landed" = outcome unknown,
# sent once, and the record does / does not exist; "either" = outcome unknown, sent once, at most one record
# (a read timeout fires while the emulator is still delaying the request: it may then drop or apply it).
PROXY_PAGE = {"content_type": "text/html", "body": "<html><h1>502 Bad Gateway</h1></html>"}
CREATE_FAULTS: dict[str, tuple[dict[str, Any], str]] = {
    "503-retried": ({"status": 503}, "ok"),
    "429-retried": ({"status": 429, "retry_after": 0}, "ok"),
    "unable-to-lock-row-retried": ({"status": 400, "error_code": "UNABLE_TO_LOCK_ROW"}, "ok"),
    "dropped-before-reading": ({"drop": "before"}, "not-landed"),
    "500-before-processing": ({"status": 500}, "not-landed"),
    "dropped-after-commit": ({"drop": "after"}, "landed"),
    "response-cut-in-half": ({"drop": "partial"}, "landed"),
    "500-after-commit": ({"status": 500, "after_processing": True}, "landed"),
    "proxy-502-page-after-commit": ({"status": 502, "after_processing": True, **PROXY_PAGE}, "landed"),
    "504-unknown-exception-after-commit": (
        {"status": 504, "after_processing": True, "error_code": "UNKNOWN_EXCEPTION"},
        "landed",
    ),
    "read-timeout": ({"latency": READ_TIMEOUT + 0.5}, "either"),
}


@pytest.fixture
def slow_conn(emulator: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """``sfpy_slow``: the session's emulator with a 1.5 s read timeout."""
    fields = connection_fields(emulator, timeout=READ_TIMEOUT)
    monkeypatch.setenv(f"AIRFLOW_CONN_{SLOW_CONN.upper()}", json.dumps(fields))
    return SLOW_CONN


def count(checker: Client, soql_where: str, object_type: str = "Account") -> int:
    return int(checker.query(f"SELECT COUNT() FROM {object_type} WHERE {soql_where}").body["totalSize"])


def dml(conn_id: str, **kwargs: Any) -> dict[str, Any]:
    operator = SalesforceSObjectOperator(task_id="dml", sfpy_conn_id=conn_id, **kwargs)
    result: dict[str, Any] = with_fast_retries(operator).execute(context=task_context())
    return result


@pytest.mark.parametrize("name", list(CREATE_FAULTS))
def test_single_record_insert_lands_once_or_fails_as_unknown(
    name: str, emulator: Any, sfpy_conn: str, slow_conn: str, checker: Client
) -> None:
    rule, outcome = CREATE_FAULTS[name]
    conn = slow_conn if "latency" in rule else sfpy_conn
    label = f"NoDup {name} {uuid.uuid4().hex[:8]}"
    emulator.add_faults({"path": COLLECTIONS, "method": "POST", "times": 1, **rule})
    if outcome == "ok":
        result = dml(conn, operation="insert", object_type="Account", records={"Name": label})
        assert result["success_count"] == 1 and result["ids"][0]
    else:
        with pytest.raises(AirflowFailException, match="not re-sent") as caught:
            dml(conn, operation="insert", object_type="Account", records={"Name": label})
        assert isinstance(caught.value.__cause__, SalesforceOutcomeUnknownError)
        assert "may or may not have been applied" in str(caught.value)
    log = settle(emulator)  # the timed-out request finishes on the server before we count
    posts = requests_to(log, "/composite/sobjects", "POST")
    assert len(posts) == (2 if outcome == "ok" else 1)
    expected = {"ok": {1}, "landed": {1}, "not-landed": {0}, "either": {0, 1}}[outcome]
    assert count(checker, f"Name = '{label}'") in expected


@pytest.mark.parametrize("status", [502, 504])
def test_a_gateway_error_after_commit_is_not_resent_whatever_its_error_code(
    status: int, emulator: Any, sfpy_conn: str, checker: Client
) -> None:
    label = f"NoDup {status} {uuid.uuid4().hex[:8]}"
    emulator.add_faults(
        {"path": COLLECTIONS, "method": "POST", "times": 1, "status": status, "after_processing": True}
    )  # the emulator's default body for 502/504: [{"errorCode": "SERVER_UNAVAILABLE", ...}]
    with contextlib.suppress(AirflowFailException):  # fine, as long as it was sent once
        dml(sfpy_conn, operation="insert", object_type="Account", records={"Name": label})
    assert len(requests_to(emulator.requests_log(), "/composite/sobjects", "POST")) == 1
    assert count(checker, f"Name = '{label}'") == 1


# name -> (rule, whether the uncertain chunk may have landed / must have landed)
UNCERTAIN_CHUNK_FAULTS: dict[str, tuple[dict[str, Any], set[int]]] = {
    "500-after-commit": ({"status": 500, "after_processing": True}, {400}),
    "dropped-after-commit": ({"drop": "after"}, {400}),
    "read-timeout": ({"latency": READ_TIMEOUT + 0.5}, {200, 400}),
}


@pytest.mark.parametrize("name", list(UNCERTAIN_CHUNK_FAULTS))
def test_many_records_an_uncertain_chunk_stops_the_load_and_nothing_is_sent_twice(
    name: str, emulator: Any, sfpy_conn: str, slow_conn: str, checker: Client
) -> None:
    label = f"NoDupMany {uuid.uuid4().hex[:8]}"
    records = [{"Name": f"{label} {n:03d}"} for n in range(450)]  # 3 calls: 200 + 200 + 50
    rule, landed_counts = UNCERTAIN_CHUNK_FAULTS[name]
    emulator.add_faults({"path": COLLECTIONS, "method": "POST", "skip": 1, "times": 1, **rule})
    with pytest.raises(AirflowFailException) as caught:
        dml(slow_conn if "latency" in rule else sfpy_conn, operation="insert", object_type="Account", records=records)
    assert isinstance(caught.value.__cause__, SalesforceOutcomeUnknownError)
    log = settle(emulator)
    assert len(requests_to(log, "/composite/sobjects", "POST")) == 2  # the third call was never sent
    landed = sorted(r["Name"] for r in checker.query_records(f"SELECT Name FROM Account WHERE Name LIKE '{label} %'"))
    assert len(landed) in landed_counts
    assert landed == [r["Name"] for r in records[: len(landed)]]  # each at most once; 400-449 never sent


def test_many_records_the_failure_says_which_records_fate_is_unknown(emulator: Any, sfpy_conn: str) -> None:
    label = f"NoDupWhich {uuid.uuid4().hex[:8]}"
    records = [{"Name": f"{label} {n:03d}"} for n in range(450)]
    emulator.add_faults({"path": COLLECTIONS, "method": "POST", "skip": 1, "times": 1, "drop": "after"})
    with pytest.raises(Exception) as caught:  # the type is up to the fix; the text is the point
        dml(sfpy_conn, operation="insert", object_type="Account", records=records)
    text = str(caught.value)
    assert ("200" in text and "399" in text) or ("201" in text and "400" in text), text


def test_collections_503_on_a_chunk_is_retried_and_every_record_lands_once(
    emulator: Any, sfpy_conn: str, checker: Client
) -> None:
    label = f"NoDup503 {uuid.uuid4().hex[:8]}"
    records = [{"Name": f"{label} {n:03d}"} for n in range(450)]
    emulator.add_faults({"path": COLLECTIONS, "method": "POST", "status": 503, "skip": 1, "times": 2})
    result = dml(sfpy_conn, operation="insert", object_type="Account", records=records)
    assert result["success_count"] == 450 and len(set(result["ids"])) == 450
    assert len(requests_to(emulator.requests_log(), "/composite/sobjects", "POST")) == 5
    assert count(checker, f"Name LIKE '{label} %'") == 450


@pytest.mark.parametrize("fault", [{"drop": "after"}, {"status": 500, "after_processing": True}], ids=["drop", "500"])
def test_upsert_by_external_id_is_safely_repeated(
    fault: dict[str, Any], emulator: Any, sfpy_conn: str, checker: Client
) -> None:
    prefix = f"NODUP-{uuid.uuid4().hex[:8]}"
    records = [{"External_Id__c": f"{prefix}-{n}", "Name": f"Upsert {prefix} {n}"} for n in range(3)]
    emulator.add_faults(
        {"path": r"/composite/sobjects/Account/External_Id__c$", "method": "PATCH", "times": 1, **fault}
    )
    result = dml(
        sfpy_conn, operation="upsert", object_type="Account", external_id_field="External_Id__c", records=records
    )
    assert result["success_count"] == 3
    assert len(requests_to(emulator.requests_log(), "/composite/sobjects/Account", "PATCH")) == 2  # re-sent: safe
    for record in records:
        assert count(checker, f"External_Id__c = '{record['External_Id__c']}'") == 1


def test_update_is_safely_repeated(emulator: Any, sfpy_conn: str, checker: Client) -> None:
    ids = checker.collections.create([{"Name": f"NoDupUpd {n}"} for n in range(2)], object_type="Account").body
    emulator.add_faults({"path": COLLECTIONS, "method": "PATCH", "drop": "after", "times": 1})
    result = dml(
        sfpy_conn,
        operation="update",
        object_type="Account",
        records=[{"Id": r["id"], "Rating": "Cold"} for r in ids],
    )
    assert result["success_count"] == 2
    in_list = ", ".join(f"'{r['id']}'" for r in ids)
    assert {r["Rating"] for r in checker.query_records(f"SELECT Rating FROM Account WHERE Id IN ({in_list})")} == {
        "Cold"
    }


FILE_FAULTS: dict[str, dict[str, Any]] = {
    "dropped-after-commit": {"drop": "after"},
    "500-after-commit": {"status": 500, "after_processing": True},
    "read-timeout": {"latency": READ_TIMEOUT + 0.5},
}
CONTENT = bytes(range(256)) * 1024  # 256 KiB


def file_insert(conn_id: str, source: Path, title: str) -> str:
    operator = SalesforceFileInsertOperator(
        task_id="upload",
        object_type="ContentVersion",
        source=source.as_uri(),
        fields={"Title": title, "PathOnClient": source.name},
        sfpy_conn_id=conn_id,
    )
    return str(with_fast_retries(operator).execute(context=task_context()))


@pytest.mark.parametrize("name", list(FILE_FAULTS))
def test_file_insert_that_may_have_landed_is_not_resent(
    name: str, emulator: Any, sfpy_conn: str, slow_conn: str, checker: Client, tmp_path: Path
) -> None:
    source = tmp_path / "report.bin"
    source.write_bytes(CONTENT)
    title = f"NoDupFile {name} {uuid.uuid4().hex[:8]}"
    emulator.add_faults({"path": r"/sobjects/ContentVersion$", "method": "POST", "times": 1, **FILE_FAULTS[name]})
    with pytest.raises(AirflowFailException) as caught:
        file_insert(slow_conn if "latency" in FILE_FAULTS[name] else sfpy_conn, source, title)
    assert isinstance(caught.value.__cause__, SalesforceOutcomeUnknownError)
    log = settle(emulator)
    assert len(requests_to(log, "/sobjects/ContentVersion", "POST")) == 1
    assert count(checker, f"Title = '{title}'", "ContentVersion") == 1


@pytest.mark.parametrize(
    "fault", [{"status": 503}, {"expire_sessions": True}], ids=["503-before-processing", "session-expired"]
)
def test_file_insert_retried_after_a_safe_failure_uploads_the_whole_file_once(
    fault: dict[str, Any], emulator: Any, slow_conn: str, checker: Client, tmp_path: Path
) -> None:
    source = tmp_path / "report.bin"
    source.write_bytes(CONTENT)
    title = f"NoDupFileRetry {uuid.uuid4().hex[:8]}"
    emulator.add_faults({"path": r"/sobjects/ContentVersion$", "method": "POST", "times": 1, **fault})
    record_id = file_insert(slow_conn, source, title)
    assert count(checker, f"Title = '{title}'", "ContentVersion") == 1
    content, _ = checker.sobjects(object_type="ContentVersion", id=record_id).blob("VersionData")
    assert content == CONTENT


def test_delete_repeated_after_a_dropped_response_still_succeeds(
    emulator: Any, sfpy_conn: str, checker: Client
) -> None:
    created = checker.collections.create([{"Name": f"NoDupDel {n}"} for n in range(2)], object_type="Account").body
    ids = [r["id"] for r in created]
    emulator.add_faults({"path": COLLECTIONS, "method": "DELETE", "drop": "after", "times": 1})
    result = dml(sfpy_conn, operation="delete", record_ids=ids)
    assert result["success_count"] == 2
    assert len(requests_to(emulator.requests_log(), "/composite/sobjects", "DELETE")) == 2
    in_list = ", ".join(f"'{i}'" for i in ids)
    assert count(checker, f"Id IN ({in_list})") == 0
