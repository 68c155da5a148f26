"""sObject Collections over HTTP: create/update/upsert/delete/retrieve, per-record errors that match
single-record writes, and allOrNone rollback that really leaves nothing behind."""

from __future__ import annotations

from typing import Any

import pytest
from emulator_api import Api, unique

from airflow_provider_sfpy.emulator import ids

COLLECTIONS = "/composite/sobjects"
ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and the request was using AllOrNone header",
    "fields": [],
}
#: A well-formed Account Id no record has.
MISSING_ACCOUNT_ID = ids.make_id("001", 62**9 - 1)


def _account(name: str, **fields: Any) -> dict[str, Any]:
    return {"attributes": {"type": "Account"}, "Name": name, **fields}


def _names(api: Api, prefix: str) -> list[str]:
    result = api.query(f"SELECT Name FROM Account WHERE Name LIKE '{prefix}%' ORDER BY Name")
    return [r["Name"] for r in result["records"]]


def _send(api: Api, method: str, path: str = COLLECTIONS, **kwargs: Any) -> list[dict[str, Any]]:
    response = api.request(method, path, **kwargs)
    assert response.status_code == 200, response.text
    body: list[dict[str, Any]] = response.json()
    return body


def test_create_mixed_types_in_order(api: Api) -> None:
    prefix = unique("coll-create")
    records = [
        _account(f"{prefix}-1", Industry="Banking", Rating="Warm"),
        {"attributes": {"type": "Contact"}, "LastName": f"{prefix}-contact"},
        _account(f"{prefix}-2"),
    ]
    results = _send(api, "POST", json={"allOrNone": False, "records": records})
    assert [r["success"] for r in results] == [True, True, True]
    assert [r["id"][:3] for r in results] == ["001", "003", "001"]
    assert all(r == {"id": r["id"], "success": True, "errors": []} for r in results)
    assert _names(api, prefix) == [f"{prefix}-1", f"{prefix}-2"]
    assert api.get(f"/sobjects/Account/{results[0]['id']}").json()["Industry"] == "Banking"


def test_failed_record_reports_the_single_create_error_and_others_commit(api: Api) -> None:
    prefix = unique("coll-partial")
    single = api.post("/sobjects/Account/", json={"Industry": "Banking"})
    assert single.status_code == 400
    expected = api.error(single)
    results = _send(api, "POST", json={"records": [_account(f"{prefix}-ok"), {"attributes": {"type": "Account"}}]})
    assert results[0]["success"] is True
    assert results[1] == {
        "success": False,
        "errors": [{"statusCode": expected["errorCode"], "message": expected["message"], "fields": expected["fields"]}],
    }
    assert results[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert _names(api, prefix) == [f"{prefix}-ok"]


def test_all_or_none_create_rolls_everything_back(api: Api) -> None:
    prefix = unique("coll-rollback")
    records = [
        _account(f"{prefix}-1"),
        {"attributes": {"type": "Contact"}, "LastName": f"{prefix}-contact"},
        _account(f"{prefix}-2", NumberOfEmployees="many"),
        _account(f"{prefix}-3"),
    ]
    results = _send(api, "POST", json={"allOrNone": True, "records": records})
    assert results[0] == {"success": False, "errors": [ROLLED_BACK]}
    assert results[1] == {"success": False, "errors": [ROLLED_BACK]}
    assert results[2]["success"] is False and results[2]["errors"][0]["statusCode"] == "JSON_PARSER_ERROR"
    assert results[3] == {"success": False, "errors": [ROLLED_BACK]}
    assert _names(api, prefix) == []
    contacts = api.query(f"SELECT Id FROM Contact WHERE LastName = '{prefix}-contact'")
    assert contacts["totalSize"] == 0


def test_create_rejects_ids_and_missing_or_unknown_types(api: Api) -> None:
    records = [
        _account(unique("coll-id"), Id=MISSING_ACCOUNT_ID),
        {"Name": "no attributes"},
        {"attributes": {"type": "Nope__c"}, "Name": "x"},
    ]
    errors = [r["errors"][0] for r in _send(api, "POST", json={"records": records})]
    assert errors[0] == {
        "statusCode": "INVALID_FIELD_FOR_INSERT_UPDATE",
        "message": "cannot specify Id in an insert call",
        "fields": ["Id"],
    }
    assert errors[1] == {"statusCode": "INVALID_TYPE", "message": "Must send a concrete entity type.", "fields": []}
    assert errors[2]["statusCode"] == "INVALID_TYPE"


def test_more_than_200_records_is_a_request_error(api: Api) -> None:
    records = [_account(f"too-many-{i}") for i in range(201)]
    response = api.post(COLLECTIONS, json={"records": records})
    assert response.status_code == 400
    assert response.json() == [
        {
            "message": "record limit reached. cannot submit more than 200 records into this call",
            "errorCode": "EXCEEDED_ID_LIMIT",
        }
    ]
    response = api.delete(COLLECTIONS, params={"ids": ",".join([MISSING_ACCOUNT_ID] * 201)})
    assert api.error(response)["errorCode"] == "EXCEEDED_ID_LIMIT"


def test_malformed_body_is_a_json_parser_error(api: Api) -> None:
    response = api.post(COLLECTIONS, data='{"records": [', headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert api.error(response)["errorCode"] == "JSON_PARSER_ERROR"
    assert api.error(api.post(COLLECTIONS, json=[]))["errorCode"] == "JSON_PARSER_ERROR"


def test_update_by_id_and_its_errors(api: Api) -> None:
    prefix = unique("coll-update")
    first, second = (api.create("Account", {"Name": f"{prefix}-{i}"}) for i in (1, 2))
    records = [
        {"attributes": {"type": "Account"}, "id": first, "Rating": "Hot"},
        {"attributes": {"type": "Account"}, "Id": second, "Rating": "Cold"},
        {"attributes": {"type": "Account"}, "Rating": "Warm"},
        {"attributes": {"type": "Account"}, "id": "001RM000003oLrB000", "Rating": "Warm"},
        {"attributes": {"type": "Account"}, "id": MISSING_ACCOUNT_ID, "Rating": "Warm"},
    ]
    results = _send(api, "PATCH", json={"allOrNone": False, "records": records})
    assert results[:2] == [
        {"id": first, "success": True, "errors": []},
        {"id": second, "success": True, "errors": []},
    ]
    assert results[2] == {
        "success": False,
        "errors": [{"statusCode": "MISSING_ARGUMENT", "message": "Id not specified in an update call", "fields": []}],
    }
    assert results[3] == {
        "success": False,
        "errors": [{"statusCode": "MALFORMED_ID", "message": "malformed id 001RM000003oLrB000", "fields": []}],
    }
    assert results[4]["id"] == MISSING_ACCOUNT_ID
    assert results[4]["errors"][0]["statusCode"] == "INVALID_CROSS_REFERENCE_KEY"
    ratings = api.query(f"SELECT Name, Rating FROM Account WHERE Name LIKE '{prefix}%' ORDER BY Name")["records"]
    assert [r["Rating"] for r in ratings] == ["Hot", "Cold"]


def test_all_or_none_update_leaves_values_unchanged(api: Api) -> None:
    prefix = unique("coll-update-aon")
    record_id = api.create("Account", {"Name": f"{prefix}-1", "Rating": "Cold"})
    records = [
        {"attributes": {"type": "Account"}, "id": record_id, "Rating": "Hot"},
        {"attributes": {"type": "Account"}, "id": record_id, "Name": None},
    ]
    results = _send(api, "PATCH", json={"allOrNone": True, "records": records})
    assert results[0] == {"id": record_id, "success": False, "errors": [ROLLED_BACK]}
    assert results[1]["id"] == record_id
    assert results[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert api.get(f"/sobjects/Account/{record_id}", params={"fields": "Rating"}).json()["Rating"] == "Cold"


def test_upsert_by_external_id_reports_created(api: Api) -> None:
    existing_ext, new_ext = unique("EXT"), unique("EXT")
    existing = api.create("Account", {"Name": "before", "External_Id__c": existing_ext})
    records = [
        {"attributes": {"type": "Account"}, "External_Id__c": existing_ext, "Name": "after"},
        {"attributes": {"type": "Account"}, "External_Id__c": new_ext, "Name": "brand new"},
        {"attributes": {"type": "Account"}, "Name": "no external id"},
    ]
    results = _send(api, "PATCH", f"{COLLECTIONS}/Account/External_Id__c", json={"records": records})
    assert results[0] == {"id": existing, "success": True, "errors": [], "created": False}
    assert results[1]["success"] is True and results[1]["created"] is True
    assert results[2]["errors"][0]["statusCode"] == "MISSING_ARGUMENT"
    rows = api.query(f"SELECT Id, Name FROM Account WHERE External_Id__c IN ('{existing_ext}', '{new_ext}')")
    assert {r["Id"]: r["Name"] for r in rows["records"]} == {existing: "after", results[1]["id"]: "brand new"}


def test_upsert_needs_an_external_id_field_and_api_46(api: Api) -> None:
    body = {"records": [{"attributes": {"type": "Account"}, "Name": "x", "AccountNumber": "1"}]}
    response = api.patch(f"{COLLECTIONS}/Account/AccountNumber", json=body)
    assert response.status_code == 404
    assert (
        api.error(response)["message"]
        == "Provided external ID field does not exist or is not accessible: AccountNumber"
    )
    old = api.patch(f"/services/data/v45.0{COLLECTIONS}/Account/External_Id__c", json=body)
    assert old.status_code == 404


def test_delete_with_partial_failure(api: Api) -> None:
    prefix = unique("coll-delete")
    first, second = (api.create("Account", {"Name": f"{prefix}-{i}"}) for i in (1, 2))
    results = _send(api, "DELETE", params={"ids": f"{first},bogus,{second}", "allOrNone": "false"})
    assert results == [
        {"id": first, "success": True, "errors": []},
        {"success": False, "errors": [{"statusCode": "MALFORMED_ID", "message": "malformed id bogus", "fields": []}]},
        {"id": second, "success": True, "errors": []},
    ]
    assert _names(api, prefix) == []
    again = _send(api, "DELETE", params={"ids": first})
    assert again == [
        {
            "id": first,
            "success": False,
            "errors": [{"statusCode": "ENTITY_IS_DELETED", "message": "entity is deleted", "fields": []}],
        }
    ]


def test_all_or_none_delete_keeps_records_and_their_children(api: Api) -> None:
    prefix = unique("coll-delete-aon")
    account = api.create("Account", {"Name": f"{prefix}-1"})
    contact = api.create("Contact", {"LastName": f"{prefix}-c", "AccountId": account})
    results = _send(api, "DELETE", params={"ids": f"{account},{MISSING_ACCOUNT_ID}", "allOrNone": "true"})
    assert results[0] == {"id": account, "success": False, "errors": [ROLLED_BACK]}
    assert results[1]["errors"][0]["statusCode"] == "INVALID_CROSS_REFERENCE_KEY"
    assert api.get(f"/sobjects/Account/{account}").status_code == 200
    assert api.get(f"/sobjects/Contact/{contact}").status_code == 200


def test_retrieve_by_get_and_post(api: Api) -> None:
    prefix = unique("coll-retrieve")
    first = api.create("Account", {"Name": f"{prefix}-1", "Industry": "Energy", "Rating": "Hot"})
    contact = api.create("Contact", {"LastName": f"{prefix}-c"})
    asked = [first, "not-an-id", contact, MISSING_ACCOUNT_ID]
    response = api.get(f"{COLLECTIONS}/Account", params={"ids": ",".join(asked), "fields": "name,Industry"})
    assert response.status_code == 200
    records = response.json()
    assert records[1:] == [None, None, None]
    assert list(records[0]) == ["attributes", "Name", "Industry", "Id"]
    assert records[0] == {
        "attributes": {"type": "Account", "url": f"/services/data/v62.0/sobjects/Account/{first}"},
        "Name": f"{prefix}-1",
        "Industry": "Energy",
        "Id": first,
    }
    posted = api.post(f"{COLLECTIONS}/Account", json={"ids": asked, "fields": ["Name", "Industry"]})
    assert posted.status_code == 200
    assert posted.json() == records


def test_retrieve_errors(api: Api) -> None:
    bad_field = api.get(f"{COLLECTIONS}/Account", params={"ids": MISSING_ACCOUNT_ID, "fields": "Name,Nope"})
    assert bad_field.status_code == 400
    assert api.error(bad_field)["errorCode"] == "INVALID_FIELD"
    assert api.get(f"{COLLECTIONS}/Account", params={"ids": MISSING_ACCOUNT_ID}).status_code == 400
    assert api.get(f"{COLLECTIONS}/Nope__c", params={"ids": "x", "fields": "Id"}).status_code == 404


@pytest.mark.parametrize("method", ["POST", "PATCH", "DELETE"])
def test_collections_need_api_42(api: Api, method: str) -> None:
    response = api.request(method, f"/services/data/v41.0{COLLECTIONS}", json={"records": []})
    assert response.status_code == 404
    assert api.error(response)["errorCode"] == "NOT_FOUND"
