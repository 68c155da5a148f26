"""One write call per task instance: Chatter posts, approvals, anonymous Apex and Apex REST writes.

A retry or a clear of these tasks must not post, submit or run twice. A try and its retry share one
``MemoryTaskStateStore`` (Airflow 3.3's task state store); the emulator's request log counts the
writes that reached it, and its data shows what was applied.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowException
from reliability_support import MemoryTaskStateStore, requests_to, task_context, with_fast_retries

from airflow_provider_sfpy.client import Client, SalesforceOutcomeUnknownError
from airflow_provider_sfpy.operators.apex import SalesforceApexOperator, SalesforceApexRestOperator
from airflow_provider_sfpy.operators.approval import SalesforceApprovalOperator
from airflow_provider_sfpy.operators.chatter import SalesforceChatterPostOperator
from airflow_provider_sfpy.operators.task_state import SEND_ONCE_KEY, AirflowFailException

FEED_ELEMENTS = r"/chatter/feed-elements$"


def run(operator: Any, store: MemoryTaskStateStore | None) -> Any:
    context = task_context() if store is None else task_context(task_state_store=store)
    return with_fast_retries(operator).execute(context=context)


def a_post(account_id: str) -> SalesforceChatterPostOperator:
    return SalesforceChatterPostOperator(task_id="post", subject_id=account_id, text=f"Loaded {uuid.uuid4().hex}")


@pytest.fixture
def account_id(checker: Client) -> str:
    return str(checker.query("SELECT Id FROM Account LIMIT 1").body["records"][0]["Id"])


def posts_sent(emulator: Any) -> int:
    import re

    return len([e for e in emulator.requests_log() if e["method"] == "POST" and re.search(FEED_ELEMENTS, e["path"])])


def test_a_retry_after_a_successful_post_returns_it_without_posting_again(
    sfpy_conn: str, emulator: Any, account_id: str
) -> None:
    """The worker died after the post but before Airflow heard of the success: the retry must not post again."""
    store = MemoryTaskStateStore()
    operator = a_post(account_id)
    first = run(operator, store)
    again = run(a_post(account_id), store)
    assert again == first
    assert posts_sent(emulator) == 1


def test_a_post_whose_answer_was_lost_is_not_sent_again_by_the_retry(
    sfpy_conn: str, emulator: Any, account_id: str
) -> None:
    store = MemoryTaskStateStore()
    emulator.add_faults({"path": FEED_ELEMENTS, "method": "POST", "drop": "after", "times": 1})
    with pytest.raises(SalesforceOutcomeUnknownError):
        run(a_post(account_id), store)
    with pytest.raises(AirflowFailException, match="never learned whether Salesforce applied it"):
        run(a_post(account_id), store)
    assert posts_sent(emulator) == 1


def test_a_post_refused_for_certain_is_sent_again_by_the_retry(sfpy_conn: str, emulator: Any, account_id: str) -> None:
    store = MemoryTaskStateStore()
    emulator.add_faults({"path": FEED_ELEMENTS, "method": "POST", "status": 400, "error_code": "INVALID_INPUT"})
    with pytest.raises(Exception, match="INVALID_INPUT"):
        run(a_post(account_id), store)
    assert store.get(SEND_ONCE_KEY) is None
    emulator.clear_faults()
    assert run(a_post(account_id), store).startswith("0D5")


def test_without_a_store_a_lost_answer_is_not_retried(sfpy_conn: str, emulator: Any, account_id: str) -> None:
    emulator.add_faults({"path": FEED_ELEMENTS, "method": "POST", "drop": "after", "times": 1})
    with pytest.raises(AirflowFailException, match=r"Not retried: the Chatter post had already reached Salesforce"):
        run(a_post(account_id), None)


def test_anonymous_apex_whose_answer_was_lost_runs_once(sfpy_conn: str, emulator: Any, checker: Client) -> None:
    name = f"Apex Once {uuid.uuid4().hex[:8]}"
    apex = f"insert new Account(Name = '{name}');"
    emulator.add_faults({"path": r"/executeAnonymous/$", "method": "GET", "drop": "after", "times": 1})
    store = MemoryTaskStateStore()
    with pytest.raises(SalesforceOutcomeUnknownError):
        run(SalesforceApexOperator(task_id="apex", apex=apex), store)
    with pytest.raises(AirflowFailException):
        run(SalesforceApexOperator(task_id="apex", apex=apex), store)
    assert checker.query(f"SELECT COUNT() FROM Account WHERE Name = '{name}'").body["totalSize"] == 1
    assert len(requests_to(emulator.requests_log(), "/executeAnonymous/")) == 1


def test_apex_that_threw_is_run_again_by_the_retry(sfpy_conn: str, emulator: Any) -> None:
    store = MemoryTaskStateStore()
    with pytest.raises(AirflowException, match="Divide by 0"):
        run(SalesforceApexOperator(task_id="apex", apex="Integer i = 1 / 0;"), store)
    with pytest.raises(AirflowException, match="Divide by 0"):
        run(SalesforceApexOperator(task_id="apex", apex="Integer i = 1 / 0;"), store)
    assert len(requests_to(emulator.requests_log(), "/executeAnonymous/")) == 2  # rolled back: safe to run again


def test_an_approval_submitted_by_an_earlier_try_is_not_submitted_again(
    sfpy_conn: str, emulator: Any, checker: Client
) -> None:
    record = checker.sobjects(object_type="Account").insert({"Name": "Approve Once", "AnnualRevenue": 5}).body["id"]

    def submit() -> SalesforceApprovalOperator:
        return SalesforceApprovalOperator(
            task_id="submit", action="Submit", context_ids=record, process_definition="Account_Approval"
        )

    store = MemoryTaskStateStore()
    first = run(submit(), store)
    again = run(submit(), store)  # without the record, Salesforce would refuse: ALREADY_IN_PROCESS
    assert again == first
    assert len(requests_to(emulator.requests_log(), "/process/approvals/", "POST")) == 1


def test_an_apex_rest_read_is_never_recorded(sfpy_conn: str, emulator: Any) -> None:
    store = MemoryTaskStateStore()
    for _ in range(2):
        run(SalesforceApexRestOperator(task_id="r", path="AccountSummary", query_params={"industry": "Banking"}), store)
    assert store.values == {}
    assert len(requests_to(emulator.requests_log(), "/apexrest/AccountSummary", "GET")) == 2


def test_a_file_inserted_by_an_earlier_try_is_not_uploaded_again(
    sfpy_conn: str, emulator: Any, checker: Client, tmp_path: Any
) -> None:
    from airflow_provider_sfpy.operators.sobject import SalesforceFileInsertOperator

    source = tmp_path / "report.txt"
    source.write_text("nightly report")
    title = f"Once {uuid.uuid4().hex[:8]}"

    def upload() -> SalesforceFileInsertOperator:
        return SalesforceFileInsertOperator(
            task_id="upload",
            object_type="ContentVersion",
            source=source.as_uri(),
            fields={"Title": title, "PathOnClient": source.name},
        )

    store = MemoryTaskStateStore()
    first = run(upload(), store)
    assert run(upload(), store) == first
    assert len(requests_to(emulator.requests_log(), "/sobjects/ContentVersion", "POST")) == 1
    assert checker.query(f"SELECT COUNT() FROM ContentVersion WHERE Title = '{title}'").body["totalSize"] == 1
