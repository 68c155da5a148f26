"""sObject Collections writes of many records, exactly once across failures and task retries.

A write of more than 200 records takes several requests. When one of them fails for good after
earlier ones succeeded, the error (and the operator's ``partial_outcome`` XCom) must say which
records are in Salesforce, with their ids, and which are not; and a retry of the task (Airflow 3.3's
task state store, played here by ``MemoryTaskStateStore`` shared by two ``execute`` calls) must send
only what no earlier try got an answer for. Without a store (Airflow 3.1/3.2) an insert that failed
after writing must not be retried blindly. Everything goes over HTTP to the session's emulator, with
faults injected; an independent client counts what exists.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from reliability_support import (
    FAST_RETRY,
    FakeTI,
    MemoryTaskStateStore,
    requests_to,
    task_context,
    with_fast_retries,
    writes,
)

from airflow_provider_sfpy.client import (
    Client,
    SalesforceConnectionError,
    SalesforceOutcomeUnknownError,
    SalesforceServerError,
)
from airflow_provider_sfpy.operators.sobject import SalesforceSObjectOperator
from airflow_provider_sfpy.operators.task_state import AirflowFailException

COLLECTIONS = r"/composite/sobjects$"
UPSERT_PATH = r"/composite/sobjects/Account/External_Id__c$"
STATE_KEY = "sfpy_collections"  # the operator's key in the task state store
#: 503 on every collections call after the first: the retry budget runs out on the 2nd of 3 calls.
FOREVER_503_FROM_CALL_2 = {"status": 503, "skip": 1}


def dml(conn_id: str, **kwargs: Any) -> SalesforceSObjectOperator:
    operator = SalesforceSObjectOperator(task_id="dml", sfpy_conn_id=conn_id, **kwargs)
    result: SalesforceSObjectOperator = with_fast_retries(operator)
    return result


def execute(operator: SalesforceSObjectOperator, store: MemoryTaskStateStore | None, ti: FakeTI | None = None) -> Any:
    """One try of the task: ``store`` is the task instance's state store (``None``: Airflow before 3.3)."""
    context = task_context(ti) if store is None else task_context(ti, task_state_store=store)
    return operator.execute(context=context)


def contacts(label: str, count: int = 450) -> list[dict[str, Any]]:
    return [{"LastName": f"{label} {n:03d}"} for n in range(count)]


def contact_names_by_id(checker: Client, label: str) -> dict[str, str]:
    soql = f"SELECT Id, LastName FROM Contact WHERE LastName LIKE '{label} %'"
    return {r["Id"]: r["LastName"] for r in checker.query_records(soql)}


def posts(emulator: Any) -> list[dict[str, Any]]:
    return requests_to(emulator.requests_log(), "/composite/sobjects", "POST")


def test_insert_failing_for_good_on_the_second_call_reports_it_and_the_retry_sends_only_the_rest(
    emulator: Any, sfpy_conn: str, checker: Client
) -> None:
    label = f"ExactlyOnce {uuid.uuid4().hex[:8]}"
    records = contacts(label)
    store, ti = MemoryTaskStateStore(), FakeTI()
    emulator.add_faults({"path": COLLECTIONS, "method": "POST", **FOREVER_503_FROM_CALL_2})

    with pytest.raises(SalesforceServerError) as caught:  # the client's own error, so Airflow retries it
        execute(dml(sfpy_conn, operation="insert", object_type="Contact", records=records), store, ti)
    error = caught.value
    assert error.settled_count == 200 and error.results is not None and len(error.results) == 200
    assert all(r["success"] and r["id"] for r in error.results)
    assert error.failed_range == (200, 399) and error.unsent_range == (400, 449) and error.unknown_range is None
    assert "records 200-399 (0-based) were not applied" in str(error)
    assert "Records 0-199 were answered before: 200 succeeded and are in Salesforce" in str(error)
    assert "Records 400-449 were not sent" in str(error)
    first_ids = [r["id"] for r in error.results]
    outcome = ti.pushed["partial_outcome"]
    assert outcome["ids"] == first_ids and outcome["answered"] == [0, 199] and outcome["succeeded"] == 200
    assert outcome["failed"] == [200, 399] and outcome["not_sent"] == [400, 449] and outcome["unknown"] is None
    assert len(contact_names_by_id(checker, label)) == 200
    recorded = store.get(STATE_KEY)
    assert recorded["settled"] == 200 and recorded["sending"] is None and recorded["ids"] == first_ids

    emulator.clear_faults()
    emulator.clear_requests_log()
    result = execute(dml(sfpy_conn, operation="insert", object_type="Contact", records=records), store, FakeTI())

    assert result["success_count"] == 450 and result["failure_count"] == 0
    assert result["ids"][:200] == first_ids
    assert len(posts(emulator)) == 2  # records 200-399 and 400-449; records 0-199 were not sent again
    by_id = contact_names_by_id(checker, label)
    assert len(by_id) == 450  # exactly once: not 650
    assert [by_id[record_id] for record_id in result["ids"]] == [r["LastName"] for r in records]  # input order


def test_an_insert_call_whose_answer_was_lost_is_never_sent_again(
    emulator: Any, sfpy_conn: str, checker: Client
) -> None:
    label = f"ExactlyOnceLost {uuid.uuid4().hex[:8]}"
    records = contacts(label)
    store, ti = MemoryTaskStateStore(), FakeTI()
    emulator.add_faults({"path": COLLECTIONS, "method": "POST", "skip": 1, "times": 1, "drop": "after"})

    with pytest.raises(AirflowFailException) as caught:  # no retry: a retry could not send it either
        execute(dml(sfpy_conn, operation="insert", object_type="Contact", records=records), store, ti)
    assert isinstance(caught.value.__cause__, SalesforceOutcomeUnknownError)
    assert caught.value.__cause__.unknown_range == (200, 399)
    assert "records 200-399 (0-based) were sent but the answer was lost" in str(caught.value)
    outcome = ti.pushed["partial_outcome"]
    assert outcome["unknown"] == [200, 399] and outcome["not_sent"] == [400, 449] and len(outcome["ids"]) == 200
    assert store.get(STATE_KEY)["sending"] == [200, 399]

    emulator.clear_requests_log()
    retry_ti = FakeTI()
    with pytest.raises(AirflowFailException, match=r"records 200-399 .*answer was lost") as refused:
        execute(dml(sfpy_conn, operation="insert", object_type="Contact", records=records), store, retry_ti)
    first_ids = outcome["ids"]
    assert all(record_id in str(refused.value) for record_id in first_ids[:20])  # ids a person can check
    assert retry_ti.pushed["partial_outcome"]["ids"] == first_ids
    assert writes(emulator.requests_log()) == []  # sent nothing
    assert len(contact_names_by_id(checker, label)) == 400  # the lost call had landed; nothing doubled


class KilledAfterRecording(MemoryTaskStateStore):
    """A store whose ``kill_at``-th write is recorded and then the worker dies (before the request it announces)."""

    def __init__(self, kill_at: int) -> None:
        super().__init__()
        self.kill_at = kill_at

    def set(self, key: str, value: Any, *, retention: Any = None) -> None:
        super().set(key, value, retention=retention)
        if len(self.writes) == self.kill_at:
            raise SystemExit("worker killed")


def test_an_insert_killed_mid_call_is_not_sent_again_by_the_retry(emulator: Any, sfpy_conn: str) -> None:
    label = f"ExactlyOnceKilled {uuid.uuid4().hex[:8]}"
    records = contacts(label)
    store = KilledAfterRecording(kill_at=2)  # 1st write: sending 0-199; 2nd: sending 200-399, then killed
    with pytest.raises(SystemExit):
        execute(dml(sfpy_conn, operation="insert", object_type="Contact", records=records), store)
    emulator.clear_requests_log()
    with pytest.raises(AirflowFailException, match="records 200-399"):
        execute(dml(sfpy_conn, operation="insert", object_type="Contact", records=records), store)
    assert writes(emulator.requests_log()) == []


def existing_accounts(checker: Client, label: str, count: int = 450) -> list[str]:
    created = checker.collections.create(
        [{"Name": f"{label} {n:03d}"} for n in range(count)], object_type="Account"
    ).body
    return [r["id"] for r in created]


@pytest.mark.parametrize("killed", [False, True], ids=["503-for-good", "killed-mid-call"])
@pytest.mark.parametrize("operation", ["update", "upsert"])
def test_update_and_upsert_retries_send_only_the_unsettled_calls(
    operation: str, killed: bool, emulator: Any, sfpy_conn: str, checker: Client
) -> None:
    label = f"ExactlyOnce{operation.title()} {uuid.uuid4().hex[:8]}"
    if operation == "update":
        ids = existing_accounts(checker, label)
        records = [{"Id": record_id, "Rating": "Cold"} for record_id in ids]
        kwargs: dict[str, Any] = {"operation": "update", "object_type": "Account", "records": records}
        path = COLLECTIONS
    else:
        records = [{"External_Id__c": f"{label}-{n}", "Name": f"{label} {n:03d}"} for n in range(450)]
        kwargs = {"operation": "upsert", "object_type": "Account", "external_id_field": "External_Id__c"}
        kwargs["records"] = records
        path = UPSERT_PATH
    if killed:  # the 2nd request is recorded as being sent, then the worker dies: its fate is unknown
        store: MemoryTaskStateStore = KilledAfterRecording(kill_at=2)
        with pytest.raises(SystemExit):
            execute(dml(sfpy_conn, **kwargs), store)
        assert store.get(STATE_KEY)["sending"] == [200, 399]
    else:
        store = MemoryTaskStateStore()
        emulator.add_faults({"path": path, "method": "PATCH", **FOREVER_503_FROM_CALL_2})
        with pytest.raises(SalesforceServerError) as caught:
            execute(dml(sfpy_conn, **kwargs), store)
        assert caught.value.failed_range == (200, 399) and caught.value.settled_count == 200
        assert "sending them again is safe" in str(caught.value)
        emulator.clear_faults()
    first_ids = store.get(STATE_KEY)["ids"] if operation == "upsert" else None
    emulator.clear_requests_log()

    result = execute(dml(sfpy_conn, **kwargs), store)

    assert result["success_count"] == 450
    assert len(requests_to(emulator.requests_log(), "/composite/sobjects", "PATCH")) == 2  # 200-399, 400-449
    if operation == "update":
        assert result["ids"] == ids
        rows = list(checker.query_records(f"SELECT Rating FROM Account WHERE Name LIKE '{label} %'"))
        assert len(rows) == 450 and {r["Rating"] for r in rows} == {"Cold"}
    else:
        assert result["created"] == [True] * 450
        rows = list(checker.query_records(f"SELECT Id, Name FROM Account WHERE External_Id__c LIKE '{label}-%'"))
        by_id = {r["Id"]: r["Name"] for r in rows}
        assert len(by_id) == 450 and [by_id[i] for i in result["ids"]] == [r["Name"] for r in records]
        assert result["ids"][:200] == first_ids


def test_a_retry_given_other_records_is_refused(emulator: Any, sfpy_conn: str, checker: Client) -> None:
    label = f"ExactlyOnceOther {uuid.uuid4().hex[:8]}"
    records = contacts(label)
    store = MemoryTaskStateStore()
    emulator.add_faults({"path": COLLECTIONS, "method": "POST", **FOREVER_503_FROM_CALL_2})
    with pytest.raises(SalesforceServerError):
        execute(dml(sfpy_conn, operation="insert", object_type="Contact", records=records), store)
    emulator.clear_faults()
    emulator.clear_requests_log()
    changed = [dict(r) for r in records]
    changed[300]["LastName"] = f"{label} changed"  # an upstream XCom changed between the tries
    with pytest.raises(AirflowFailException, match="another input"):
        execute(dml(sfpy_conn, operation="insert", object_type="Contact", records=changed), store)
    with pytest.raises(AirflowFailException, match="another input"):
        execute(dml(sfpy_conn, operation="insert", object_type="Contact", records=records[:449]), store)
    assert writes(emulator.requests_log()) == []
    assert len(contact_names_by_id(checker, label)) == 200


def test_without_a_store_an_insert_that_wrote_records_is_not_retried(
    emulator: Any, sfpy_conn: str, checker: Client
) -> None:
    label = f"ExactlyOnceNoStore {uuid.uuid4().hex[:8]}"
    records = contacts(label)
    ti = FakeTI()
    emulator.add_faults({"path": COLLECTIONS, "method": "POST", **FOREVER_503_FROM_CALL_2})
    with pytest.raises(AirflowFailException) as caught:
        execute(dml(sfpy_conn, operation="insert", object_type="Contact", records=records), None, ti)
    text = str(caught.value)
    assert isinstance(caught.value.__cause__, SalesforceServerError)
    assert "records 200-399 (0-based) were not applied" in text and "Not retried: 200 of records 0-199" in text
    assert "retry_after_load=True" in text
    assert ti.pushed["partial_outcome"]["failed"] == [200, 399] and len(ti.pushed["partial_outcome"]["ids"]) == 200

    emulator.clear_faults()
    emulator.add_faults({"path": COLLECTIONS, "method": "POST", **FOREVER_503_FROM_CALL_2})
    with pytest.raises(SalesforceServerError) as allowed:  # the user accepted the risk: Airflow may retry
        execute(dml(sfpy_conn, operation="insert", object_type="Contact", records=records, retry_after_load=True), None)
    assert allowed.value.settled_count == 200
    assert len(contact_names_by_id(checker, label)) == 400


def test_without_a_store_a_failure_before_anything_was_written_is_retried_as_usual(
    emulator: Any, sfpy_conn: str, checker: Client
) -> None:
    label = f"ExactlyOnceNothing {uuid.uuid4().hex[:8]}"
    emulator.add_faults({"path": COLLECTIONS, "method": "POST", "status": 503})
    with pytest.raises(SalesforceServerError) as caught:
        execute(dml(sfpy_conn, operation="insert", object_type="Contact", records=contacts(label)), None)
    assert caught.value.settled_count == 0 and caught.value.failed_range == (0, 199)
    assert caught.value.unsent_range == (200, 449)
    assert contact_names_by_id(checker, label) == {}


def test_a_delete_failing_part_way_reports_what_was_deleted_and_the_retry_deletes_the_rest(
    emulator: Any, sfpy_conn: str, checker: Client
) -> None:
    label = f"ExactlyOnceDel {uuid.uuid4().hex[:8]}"
    ids = existing_accounts(checker, label)
    emulator.add_faults({"path": COLLECTIONS, "method": "DELETE", **FOREVER_503_FROM_CALL_2})
    client = emulator.password_client(retry=FAST_RETRY)
    with pytest.raises(SalesforceServerError) as caught:
        client.collections.delete(ids)
    assert caught.value.settled_count == 200 and [r["id"] for r in caught.value.results or []] == ids[:200]
    assert caught.value.failed_range == (200, 399) and caught.value.unsent_range == (400, 449)

    store, ti = MemoryTaskStateStore(), FakeTI()
    emulator.clear_faults()
    emulator.add_faults({"path": COLLECTIONS, "method": "DELETE", **FOREVER_503_FROM_CALL_2})
    with pytest.raises(SalesforceServerError):  # the first try deletes 0-199 again (ENTITY_IS_DELETED: fine)
        execute(dml(sfpy_conn, operation="delete", record_ids=ids), store, ti)
    assert ti.pushed["partial_outcome"]["failed"] == [200, 399]
    emulator.clear_faults()
    emulator.clear_requests_log()
    result = execute(dml(sfpy_conn, operation="delete", record_ids=ids), store)
    assert result["success_count"] == 450 and result["ids"] == ids
    assert len(requests_to(emulator.requests_log(), "/composite/sobjects", "DELETE")) == 2
    assert checker.query(f"SELECT COUNT() FROM Account WHERE Name LIKE '{label} %'").body["totalSize"] == 0


def test_a_clear_after_success_sends_nothing_and_returns_the_same_result(emulator: Any, sfpy_conn: str) -> None:
    label = f"ExactlyOnceClear {uuid.uuid4().hex[:8]}"
    records = contacts(label, 250)
    records[7] = {"FirstName": "no last name"}  # answered with an error: recorded, and reported again
    store = MemoryTaskStateStore()
    kwargs = {"operation": "insert", "object_type": "Contact", "records": records, "fail_on_error": False}
    first = execute(dml(sfpy_conn, **kwargs), store)
    emulator.clear_requests_log()
    again = execute(dml(sfpy_conn, **kwargs), store)
    assert writes(emulator.requests_log()) == []
    assert again["ids"] == first["ids"] and again["success_count"] == 249 and again["failure_count"] == 1
    (failure,) = again["failures"]
    assert failure["index"] == 7 and failure["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"


def test_past_the_size_limit_only_the_progress_is_recorded_and_nothing_is_sent_twice(
    emulator: Any, sfpy_conn: str, checker: Client
) -> None:
    label = f"ExactlyOnceBig {uuid.uuid4().hex[:8]}"
    records = contacts(label)
    store = MemoryTaskStateStore()
    operator = dml(sfpy_conn, operation="insert", object_type="Contact", records=records)
    operator.state_max_bytes = 5_000  # the ids of one 200-record call fit (~4.2 KB), not two
    emulator.add_faults({"path": COLLECTIONS, "method": "POST", "status": 503, "skip": 2})
    with pytest.raises(SalesforceServerError):
        execute(operator, store)
    recorded = store.get(STATE_KEY)
    assert len(json.dumps(recorded)) <= 5_000
    assert recorded["settled"] == 400 and recorded["recorded"] == 200
    emulator.clear_faults()
    emulator.clear_requests_log()

    result = execute(operator, store)

    assert len(posts(emulator)) == 1  # only records 400-449
    assert all(result["ids"][:200]) and result["ids"][200:400] == [None] * 200 and all(result["ids"][400:])
    assert result["not_recorded"] == [200, 399] and result["success_count"] == 250 and result["failure_count"] == 0
    assert len(contact_names_by_id(checker, label)) == 450


def test_a_connection_lost_for_good_on_an_update_is_a_definite_failure_of_that_call(
    emulator: Any, sfpy_conn: str, checker: Client
) -> None:
    """Idempotent calls are retried even after a dropped connection; when that outlasts the retries,
    the call is reported as failed (safe to send again) and the retry sends it again."""
    label = f"ExactlyOnceDrop {uuid.uuid4().hex[:8]}"
    ids = existing_accounts(checker, label, 250)
    records = [{"Id": record_id, "Rating": "Warm"} for record_id in ids]
    store = MemoryTaskStateStore()
    emulator.add_faults({"path": COLLECTIONS, "method": "PATCH", "drop": "before", "skip": 1})
    with pytest.raises(SalesforceConnectionError) as caught:
        execute(dml(sfpy_conn, operation="update", object_type="Account", records=records), store)
    assert caught.value.failed_range == (200, 249) and caught.value.unsent_range is None
    emulator.clear_faults()
    emulator.clear_requests_log()
    result = execute(dml(sfpy_conn, operation="update", object_type="Account", records=records), store)
    assert result["success_count"] == 250
    assert len(requests_to(emulator.requests_log(), "/composite/sobjects", "PATCH")) == 1
