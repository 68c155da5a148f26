"""SalesforceSObjectOperator and SalesforceFileInsertOperator against the emulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowException

from airflow_provider_sfpy.client import Client
from airflow_provider_sfpy.operators.sobject import SalesforceFileInsertOperator, SalesforceSObjectOperator


def run(**kwargs: Any) -> Any:
    operator = SalesforceSObjectOperator(task_id="dml", **kwargs)
    return operator.execute(context={})  # type: ignore[arg-type]


def names(checker: Client, pattern: str) -> list[str]:
    soql = f"SELECT Name FROM Account WHERE Name LIKE '{pattern}' ORDER BY Name"
    return [r["Name"] for r in checker.query_records(soql)]


def test_insert_many_in_200_record_calls(sfpy_conn: str, checker: Client, emulator: Any) -> None:
    records = [{"Name": f"Bulk DML {n:04d}"} for n in range(450)]
    result = run(operation="insert", object_type="Account", records=records)
    assert result["success_count"] == 450 and result["failure_count"] == 0
    assert len(result["ids"]) == 450 and all(result["ids"])
    assert names(checker, "Bulk DML %") == [r["Name"] for r in records]
    posts = [e for e in emulator.requests_log() if e["method"] == "POST" and "composite/sobjects" in e["path"]]
    assert len(posts) == 3


def test_update_and_delete(sfpy_conn: str, checker: Client) -> None:
    ids = run(operation="insert", object_type="Account", records=[{"Name": "Upd A"}, {"Name": "Upd B"}])["ids"]
    run(operation="update", object_type="Account", records=[{"Id": i, "Rating": "Warm"} for i in ids])
    ratings = {
        r["Rating"] for r in checker.query_records(f"SELECT Rating FROM Account WHERE Id IN ('{ids[0]}', '{ids[1]}')")
    }
    assert ratings == {"Warm"}
    result = run(operation="delete", record_ids=",".join(ids))
    assert result["success_count"] == 2
    assert names(checker, "Upd %") == []


def test_upsert_by_external_id_reports_created(sfpy_conn: str, checker: Client) -> None:
    records = [{"External_Id__c": "OPUP-1", "Name": "Op Upsert 1"}, {"External_Id__c": "OPUP-2", "Name": "Op Upsert 2"}]
    first = run(operation="upsert", object_type="Account", external_id_field="External_Id__c", records=records)
    assert first["created"] == [True, True]
    records[0]["Name"] = "Op Upsert 1 renamed"
    second = run(operation="upsert", object_type="Account", external_id_field="External_Id__c", records=records)
    assert second["created"] == [False, False] and second["ids"] == first["ids"]
    assert names(checker, "Op Upsert%") == ["Op Upsert 1 renamed", "Op Upsert 2"]


def test_record_failures_fail_the_task_with_reasons(sfpy_conn: str, checker: Client) -> None:
    records = [{"Name": "Partial Good"}, {"Industry": "Banking"}]
    with pytest.raises(AirflowException, match=r"1 record\(s\) failed to insert:\n  record 1: REQUIRED_FIELD_MISSING"):
        run(operation="insert", object_type="Account", records=records)
    assert names(checker, "Partial Good") == ["Partial Good"]  # without all_or_none the good one stays


def test_all_or_none_rolls_back_the_call(sfpy_conn: str, checker: Client) -> None:
    with pytest.raises(AirflowException):
        run(
            operation="insert",
            object_type="Account",
            records=[{"Name": "Atomic Good"}, {"Industry": "x"}],
            all_or_none=True,
        )
    assert names(checker, "Atomic Good") == []


def test_fail_on_error_false_returns_the_failures(sfpy_conn: str) -> None:
    result = run(
        operation="insert",
        object_type="Account",
        records=[{"Name": "Soft Good"}, {"Industry": "x"}],
        fail_on_error=False,
    )
    assert result["success_count"] == 1 and result["failure_count"] == 1
    (failure,) = result["failures"]
    assert failure["index"] == 1 and failure["record"] == {"Industry": "x"}
    assert failure["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert result["ids"][1] is None


def test_records_as_json_text(sfpy_conn: str, checker: Client) -> None:
    run(operation="insert", object_type="Account", records='[{"Name": "From JSON Text"}]')
    assert names(checker, "From JSON Text") == ["From JSON Text"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"operation": "merge", "object_type": "Account", "records": []}, "operation must be one of"),
        ({"operation": "upsert", "object_type": "Account", "records": [{"Name": "x"}]}, "external_id_field"),
        ({"operation": "delete"}, "delete needs record_ids"),
        ({"operation": "insert", "records": [{"Name": "x"}]}, "needs object_type"),
        ({"operation": "insert", "object_type": "Account"}, "needs records"),
        ({"operation": "insert", "object_type": "Account", "records": "not json"}, "not JSON"),
        ({"operation": "insert", "object_type": "Account", "records": [1, 2]}, r"records\[0\] is int"),
    ],
)
def test_bad_arguments(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SalesforceSObjectOperator(task_id="bad", **kwargs)


def test_update_without_id_is_refused(sfpy_conn: str) -> None:
    from airflow_provider_sfpy.client import SalesforceConfigError

    with pytest.raises(SalesforceConfigError, match="has no Id"):
        run(operation="update", object_type="Account", records=[{"Name": "no id"}])


def test_file_insert_streams_from_object_storage(sfpy_conn: str, checker: Client, tmp_path: Path) -> None:
    content = bytes(range(256)) * 4096  # 1 MiB of binary
    source = tmp_path / "report.bin"
    source.write_bytes(content)
    operator = SalesforceFileInsertOperator(
        task_id="upload",
        object_type="ContentVersion",
        source=source.as_uri(),
        fields={"Title": "Report", "PathOnClient": "report.bin"},
    )
    record_id = operator.execute(context={})  # type: ignore[arg-type]
    downloaded, _ = checker.sobjects(object_type="ContentVersion", id=record_id).blob("VersionData")
    assert downloaded == content


def test_file_insert_missing_source(sfpy_conn: str, tmp_path: Path) -> None:
    operator = SalesforceFileInsertOperator(
        task_id="upload", object_type="Attachment", source=str(tmp_path / "nope.txt"), fields={}
    )
    with pytest.raises(AirflowException, match="does not exist"):
        operator.execute(context={})  # type: ignore[arg-type]
