"""Apex, Apex REST, approvals, Chatter and Wave operators against the emulator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowException

from airflow_provider_sfpy.client import Client
from airflow_provider_sfpy.client.chatter import message_segments
from airflow_provider_sfpy.operators.apex import SalesforceApexOperator, SalesforceApexRestOperator
from airflow_provider_sfpy.operators.approval import SalesforceApprovalOperator
from airflow_provider_sfpy.operators.chatter import SalesforceChatterPostOperator
from airflow_provider_sfpy.operators.wave import SalesforceWaveDatasetOperator, SalesforceWaveQueryOperator


def execute(operator: Any) -> Any:
    return operator.execute(context={})


# ------------------------------------------------------------------ Apex
def test_apex_runs_dml(sfpy_conn: str, checker: Client) -> None:
    result = execute(
        SalesforceApexOperator(task_id="a", apex="Account a = new Account(Name = 'From Apex Op');\ninsert a;")
    )
    assert result["success"] is True
    assert checker.query("SELECT COUNT() FROM Account WHERE Name = 'From Apex Op'").body["totalSize"] == 1


def test_apex_compile_problem_fails_with_line_and_column(sfpy_conn: str) -> None:
    with pytest.raises(AirflowException, match=r"did not compile: line 2, column \d+"):
        execute(SalesforceApexOperator(task_id="a", apex="Integer i = 1;\nSystem.debug(undefinedThing);"))


def test_apex_runtime_exception_fails_with_message(sfpy_conn: str) -> None:
    with pytest.raises(AirflowException, match="Divide by 0"):
        execute(SalesforceApexOperator(task_id="a", apex="Integer i = 1 / 0;"))


def test_apex_rest_call(sfpy_conn: str) -> None:
    body = execute(SalesforceApexRestOperator(task_id="r", path="AccountSummary", query_params={"industry": "Banking"}))
    assert body["industry"] == "Banking" and body["accounts"] >= 1


# ------------------------------------------------------------------ approvals
def test_submit_then_approve(sfpy_conn: str, checker: Client) -> None:
    account_id = (
        checker.sobjects(object_type="Account").insert({"Name": "Needs Approval", "AnnualRevenue": 5}).body["id"]
    )
    submitted = execute(
        SalesforceApprovalOperator(
            task_id="s",
            action="Submit",
            context_ids=account_id,
            process_definition="Account_Approval",
            comments="please",
        )
    )
    assert submitted["statuses"] == ["Pending"] and len(submitted["new_workitem_ids"]) == 1
    approved = execute(
        SalesforceApprovalOperator(task_id="a", action="approve", context_ids=submitted["new_workitem_ids"])
    )
    assert approved["statuses"] == ["Approved"]


def test_approval_for_a_missing_record_fails(sfpy_conn: str) -> None:
    with pytest.raises(Exception, match=r"(?i)fail|invalid|not"):
        execute(
            SalesforceApprovalOperator(
                task_id="s", action="Submit", context_ids="001000000000000AAA", process_definition="Account_Approval"
            )
        )


# ------------------------------------------------------------------ Chatter
def test_message_segments_with_inline_mentions() -> None:
    assert message_segments("Hi @[005000000000001AAA], done", ["005000000000002AAA"]) == [
        {"type": "Text", "text": "Hi "},
        {"type": "Mention", "id": "005000000000001AAA"},
        {"type": "Text", "text": ", done"},
        {"type": "Text", "text": " "},
        {"type": "Mention", "id": "005000000000002AAA"},
    ]


def test_chatter_post_and_comment(sfpy_conn: str, checker: Client) -> None:
    account_id = checker.query("SELECT Id FROM Account LIMIT 1").body["records"][0]["Id"]
    user_id = checker.query("SELECT Id FROM User LIMIT 1").body["records"][0]["Id"]
    post_id = execute(SalesforceChatterPostOperator(task_id="p", subject_id=account_id, text=f"Load done @[{user_id}]"))
    assert post_id.startswith("0D5")
    comment_id = execute(SalesforceChatterPostOperator(task_id="c", feed_element_id=post_id, text="thanks"))
    assert comment_id.startswith("0D7")


def test_chatter_body_over_the_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="at most 10,000"):
        SalesforceChatterPostOperator(task_id="p", subject_id="me", text="x" * 10_001)


def test_chatter_needs_exactly_one_target() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        SalesforceChatterPostOperator(task_id="p", text="hi")


# ------------------------------------------------------------------ Wave
SAQL = (
    'q = load "opportunities";\n'
    "q = group q by 'Account.Industry';\n"
    "q = foreach q generate 'Account.Industry' as 'Account.Industry', count() as 'count';\n"
    "q = order q by 'Account.Industry' asc;"
)


def test_wave_query_resolves_the_dataset_and_counts(sfpy_conn: str, checker: Client) -> None:
    records = execute(SalesforceWaveQueryOperator(task_id="w", saql=SAQL))
    opportunities = list(checker.query_records("SELECT Account.Industry FROM Opportunity"))
    expected: dict[str, int] = {}
    for o in opportunities:
        industry = (o["Account"] or {}).get("Industry")
        expected[industry] = expected.get(industry, 0) + 1
    got = {r["Account.Industry"]: r["count"] for r in records}
    assert {k: v for k, v in got.items() if k} == {k: v for k, v in expected.items() if k}


def test_wave_result_to_file(sfpy_conn: str, tmp_path: Path) -> None:
    result = execute(SalesforceWaveQueryOperator(task_id="w", saql=SAQL, destination=str(tmp_path / "w.jsonl")))
    lines = (tmp_path / "w.jsonl").read_text().splitlines()
    assert result["rows"] == len(lines) > 0 and "count" in json.loads(lines[0])


def test_wave_result_over_the_xcom_cap(sfpy_conn: str) -> None:
    with pytest.raises(AirflowException, match="exceeds max_xcom_bytes"):
        execute(SalesforceWaveQueryOperator(task_id="w", saql=SAQL, max_xcom_bytes=10))


def test_wave_unknown_dataset(sfpy_conn: str) -> None:
    from airflow_provider_sfpy.client import SalesforceNotFoundError

    with pytest.raises(SalesforceNotFoundError):
        execute(SalesforceWaveQueryOperator(task_id="w", saql='q = load "no_such_dataset";'))


def test_wave_dataset_lookup(sfpy_conn: str) -> None:
    info = execute(SalesforceWaveDatasetOperator(task_id="d", dataset="opportunities"))
    assert info["id"].startswith("0Fb") and info["load"] == f"{info['id']}/{info['currentVersionId']}"
