"""A misspelled object is one error everywhere: ``SalesforceUnknownObjectError`` naming it and the fix.

The emulator answers as Salesforce does, differently per API: 404 ``NOT_FOUND`` for ``/sobjects/Acount``
resources, 400 ``INVALID_TYPE`` for a query (REST or Bulk), 400 ``INVALIDENTITY`` for a Bulk ingest job,
a per-record ``INVALID_TYPE`` inside sObject Collections' 200 answer. Before this change those reached the
caller as four different errors (and Collections as no error at all). Each error is also still of the
class that Salesforce's answer had before, so handlers written for those keep working.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_sfpy.client import (
    Client,
    SalesforceError,
    SalesforceMalformedQueryError,
    SalesforceMalformedRequestError,
    SalesforceNotFoundError,
    SalesforceUnknownObjectError,
)
from airflow_provider_sfpy.client.describe import field_types

TYPO = "Acount"
MISSING_ACCOUNT_ID = "001000000000000AAA"


def object_calls(record_id: str) -> dict[str, tuple[Callable[[Client], object], type[SalesforceError]]]:
    """Every client call naming an object type, with ``TYPO`` for it, and the class its error had before."""
    return {
        "describe": (lambda sf: sf.sobjects(object_type=TYPO).describe(), SalesforceNotFoundError),
        "describe-of-query-to-file": (lambda sf: field_types(sf, TYPO, ["Name"]), SalesforceNotFoundError),
        "insert": (lambda sf: sf.sobjects(object_type=TYPO).insert({"Name": "x"}), SalesforceNotFoundError),
        "get-record": (lambda sf: sf.sobjects(object_type=TYPO, id=record_id).query(), SalesforceNotFoundError),
        "update": (
            lambda sf: sf.sobjects(object_type=TYPO, id=record_id).update({"Name": "x"}),
            SalesforceNotFoundError,
        ),
        "delete": (lambda sf: sf.sobjects(object_type=TYPO, id=record_id).delete(), SalesforceNotFoundError),
        "upsert": (
            lambda sf: sf.sobjects(object_type=TYPO, external_id="Ext__c", id="E-1").upsert({"Name": "x"}),
            SalesforceNotFoundError,
        ),
        "query": (lambda sf: sf.query(f"SELECT Id FROM {TYPO}"), SalesforceMalformedQueryError),
        "query-records": (
            lambda sf: list(sf.query_records(f"SELECT Id, Name FROM {TYPO} WHERE Name != null")),
            SalesforceMalformedQueryError,
        ),
        "collections-create": (
            lambda sf: sf.collections.create([{"Name": "a"}, {"Name": "b"}], object_type=TYPO),
            SalesforceMalformedRequestError,
        ),
        "collections-update": (
            lambda sf: sf.collections.update([{"Id": record_id, "Name": "x"}], object_type=TYPO, all_or_none=True),
            SalesforceMalformedRequestError,
        ),
        "collections-upsert": (
            lambda sf: sf.collections.upsert([{"Ext__c": "E-1"}], object_type=TYPO, external_id_field="Ext__c"),
            SalesforceNotFoundError,
        ),
        "collections-retrieve": (
            lambda sf: sf.collections.retrieve(TYPO, [record_id], ["Id"]),
            SalesforceNotFoundError,
        ),
        "bulk-ingest-job": (
            lambda sf: sf.jobs.ingest.create({"object": TYPO, "operation": "insert"}),
            SalesforceMalformedRequestError,
        ),
        "bulk-query-job": (lambda sf: sf.jobs.query.create(f"SELECT Id FROM {TYPO}"), SalesforceMalformedRequestError),
    }


CALLS = list(object_calls(""))


@pytest.fixture(scope="module")
def account_id(emulator: Any) -> str:
    client: Client = emulator.password_client()
    record_id: str = client.sobjects(object_type="Account").insert({"Name": "Unknown-object tests"}).body["id"]
    return record_id


@pytest.mark.parametrize("call", CALLS)
def test_an_unknown_object_is_one_error_with_one_message(call: str, sf: Client, account_id: str) -> None:
    run, previous_class = object_calls(account_id)[call]
    with pytest.raises(SalesforceUnknownObjectError) as caught:
        run(sf)
    error = caught.value
    assert error.object_type == TYPO
    assert isinstance(error, SalesforceNotFoundError) and isinstance(error, previous_class)
    text = str(error)
    assert f"unknown object '{TYPO}'" in text and "the org has no sObject type of that name" in text, text
    assert "custom objects end in __c" in text and "permission sets" in text
    assert error.status is not None and error.error_code in ("NOT_FOUND", "INVALID_TYPE", "INVALIDENTITY"), text


def test_a_query_says_where_the_object_is_named(sf: Client) -> None:
    with pytest.raises(SalesforceUnknownObjectError) as caught:
        sf.query(f"SELECT Id FROM {TYPO}")
    assert f"unknown object '{TYPO}' (at row 1, column 16 of the query)" in str(caught.value)


def test_a_missing_record_is_still_not_found_and_the_object_is_checked_once(sf: Client, emulator: Any) -> None:
    emulator.clear_requests_log()
    for _ in range(3):
        with pytest.raises(SalesforceNotFoundError) as caught:
            sf.sobjects(object_type="Account", id=MISSING_ACCOUNT_ID).query()
        assert not isinstance(caught.value, SalesforceUnknownObjectError)
        assert caught.value.error_code == "NOT_FOUND" and "The requested resource does not exist" in str(caught.value)
    paths = [entry["path"] for entry in emulator.requests_log()]
    assert sum(path.endswith("/sobjects/Account") for path in paths) == 1, paths  # the existence check: once
    assert sum(path.endswith(f"/sobjects/Account/{MISSING_ACCOUNT_ID}") for path in paths) == 3


def test_collections_with_one_record_of_an_unknown_type_keep_the_others_results(sf: Client) -> None:
    records = [{"attributes": {"type": "Account"}, "Name": "Kept"}, {"attributes": {"type": TYPO}, "Name": "Lost"}]
    results = sf.collections.create(records).body
    assert results[0]["success"] is True and results[1]["success"] is False
    assert results[1]["errors"][0]["statusCode"] == "INVALID_TYPE"
