"""Record-level calls: create, read, update, upsert, delete, describe and file inserts."""

from __future__ import annotations

import pytest

from airflow_provider_sfpy.client import (
    Client,
    SalesforceConfigError,
    SalesforceMalformedRequestError,
    SalesforceNotFoundError,
)


def test_insert_update_query_delete_round_trip(sf: Client) -> None:
    body, response = sf.sobjects(object_type="Account").insert({"Name": "Round Trip Ltd", "Industry": "Banking"})
    assert response.status == 201 and body["success"] is True
    record_id = body["id"]
    assert len(record_id) == 18 and record_id.startswith("001")

    body, response = sf.sobjects(object_type="Account", id=record_id).update({"Name": "Round Trip Plc"})
    assert body is None and response.status == 204

    body, _ = sf.sobjects(object_type="Account", id=record_id).query()
    assert body["Name"] == "Round Trip Plc" and body["Industry"] == "Banking"
    body, _ = sf.sobjects(object_type="Account", id=record_id).query(fields=["Name"])
    assert body["Name"] == "Round Trip Plc" and "Industry" not in body

    body, response = sf.sobjects(object_type="Account", id=record_id).delete()
    assert response.status == 204
    with pytest.raises(SalesforceNotFoundError):
        sf.sobjects(object_type="Account", id=record_id).query()


def test_upsert_creates_then_updates_by_external_id(sf: Client) -> None:
    upsert = sf.sobjects(object_type="Account", external_id="External_Id__c", id="CLIENT-UPS-1")
    body, response = upsert.upsert({"Name": "Upsert One"})
    assert response.status == 201 and body["created"] is True
    created_id = body["id"]
    body, response = upsert.upsert({"Name": "Upsert One Renamed"})
    assert response.status in (200, 204)
    if body:
        assert body["created"] is False and body["id"] == created_id
    records = sf.query("SELECT Id, Name FROM Account WHERE External_Id__c = 'CLIENT-UPS-1'").body["records"]
    assert [(r["Id"], r["Name"]) for r in records] == [(created_id, "Upsert One Renamed")]


def test_upsert_without_external_id_field_is_refused(sf: Client) -> None:
    with pytest.raises(SalesforceConfigError, match="external_id"):
        sf.sobjects(object_type="Account", id="X-1").upsert({"Name": "x"})


def test_update_without_id_is_refused_before_any_request(sf: Client) -> None:
    with pytest.raises(SalesforceConfigError, match="needs the record id"):
        sf.sobjects(object_type="Account").update({"Name": "x"})


def test_unknown_sobject_type_is_not_found(sf: Client) -> None:
    with pytest.raises(SalesforceNotFoundError) as caught:
        sf.sobjects(object_type="Acount").insert({"Name": "x"})
    assert caught.value.status == 404 and caught.value.error_code == "NOT_FOUND"
    with pytest.raises(SalesforceNotFoundError):
        sf.sobjects(object_type="Acount").describe()


def test_missing_required_field_and_unknown_field(sf: Client) -> None:
    with pytest.raises(SalesforceMalformedRequestError) as caught:
        sf.sobjects(object_type="Account").insert({"Industry": "Banking"})
    assert caught.value.error_code == "REQUIRED_FIELD_MISSING" and caught.value.fields == ["Name"]
    with pytest.raises(SalesforceMalformedRequestError) as caught:
        sf.sobjects(object_type="Account").insert({"Name": "x", "Colour__c": "red"})
    assert caught.value.error_code == "INVALID_FIELD" and "Colour__c" in str(caught.value)


def test_describe_and_describe_global(sf: Client) -> None:
    body, _ = sf.sobjects(object_type="Account").describe()
    fields = {f["name"]: f for f in body["fields"]}
    assert body["name"] == "Account" and fields["External_Id__c"]["externalId"] is True
    assert fields["Name"]["nillable"] is False
    body, _ = sf.sobjects().describe_global()
    assert body["encoding"] == "UTF-8" and body["maxBatchSize"] == 200
    assert {"Account", "Contact", "Opportunity"} <= {o["name"] for o in body["sobjects"]}


@pytest.mark.parametrize(
    ("object_type", "entity", "blob_field"),
    [
        ("Attachment", {"Name": "notes.txt", "Description": "An excellent package"}, "Body"),
        ("Document", {"Name": "notes.txt"}, "Body"),
        ("ContentVersion", {"Title": "notes", "PathOnClient": "notes.txt"}, "VersionData"),
    ],
)
def test_file_insert_and_download(sf: Client, object_type: str, entity: dict[str, str], blob_field: str) -> None:
    content = "Hello world \u2603\n".encode() * 1000
    body = dict(entity)
    if object_type == "Attachment":
        parent = sf.query("SELECT Id FROM Account LIMIT 1").body["records"][0]["Id"]
        body["ParentId"] = parent
    if object_type == "Document":
        body["FolderId"] = sf.query("SELECT Id FROM User LIMIT 1").body["records"][0]["Id"]
    result, response = sf.sobjects(object_type=object_type).insert(body, binary=("notes.txt", content, "text/plain"))
    assert response.status == 201 and result["success"] is True
    downloaded, _ = sf.sobjects(object_type=object_type, id=result["id"]).blob(blob_field)
    if isinstance(downloaded, str):
        downloaded = downloaded.encode()
    assert downloaded == content
    streamed, _ = sf.sobjects(object_type=object_type, id=result["id"]).blob(blob_field, stream=True)
    assert b"".join(streamed) == content
