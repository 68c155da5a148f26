"""sObject resources over HTTP: describe, CRUD, validation errors, upsert, blobs and multipart."""

from __future__ import annotations

import base64
import datetime
import json
from typing import Any

import jwt
import pytest
import requests
from emulator_api import Api, unique

from airflow_provider_sfpy.emulator.schema import SCHEMA
from airflow_provider_sfpy.emulator.testing import RunningEmulator

NOT_FOUND = {"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}


# ------------------------------------------------------------------------------------------ describe


def test_describe_global(api: Api) -> None:
    body = api.get("/sobjects").json()
    assert body["encoding"] == "UTF-8" and body["maxBatchSize"] == 200
    by_name = {o["name"]: o for o in body["sobjects"]}
    assert set(by_name) == set(SCHEMA)
    account = by_name["Account"]
    assert account["keyPrefix"] == "001" and account["labelPlural"] == "Accounts"
    assert account["urls"] == {
        "rowTemplate": "/services/data/v62.0/sobjects/Account/{ID}",
        "defaultValues": "/services/data/v62.0/sobjects/Account/defaultValues?recordTypeId&fields",
        "describe": "/services/data/v62.0/sobjects/Account/describe",
        "sobject": "/services/data/v62.0/sobjects/Account",
    }
    for flag in ("createable", "updateable", "deletable", "queryable", "retrieveable", "searchable", "layoutable"):
        assert isinstance(account[flag], bool)
    assert by_name["User"]["deletable"] is False


def test_basic_info_resolves_names_case_insensitively(api: Api) -> None:
    body = api.get("/sobjects/account").json()
    assert body["objectDescribe"]["name"] == "Account"
    assert body["recentItems"] == []


def test_full_describe(api: Api) -> None:
    body = api.get("/sobjects/Opportunity/describe/").json()
    assert body["name"] == "Opportunity" and body["keyPrefix"] == "006"
    fields = {f["name"]: f for f in body["fields"]}
    assert [f["name"] for f in body["fields"]] == [f.name for f in SCHEMA["Opportunity"].fields]
    assert fields["Id"]["type"] == "id" and fields["Id"]["soapType"] == "tns:ID"
    assert fields["Amount"]["type"] == "currency" and fields["Amount"]["soapType"] == "xsd:double"
    assert fields["CloseDate"]["soapType"] == "xsd:date" and not fields["CloseDate"]["nillable"]
    assert fields["IsWon"]["createable"] is False and fields["IsWon"]["updateable"] is False
    assert fields["AccountId"]["referenceTo"] == ["Account"] and fields["AccountId"]["relationshipName"] == "Account"
    stages = [p["value"] for p in fields["StageName"]["picklistValues"]]
    assert "Closed Won" in stages
    assert set(fields["StageName"]["picklistValues"][0]) >= {"value", "label", "active", "defaultValue"}
    for key in ("length", "precision", "scale", "externalId", "idLookup", "unique", "calculated", "autoNumber",
                "filterable", "sortable", "custom", "defaultedOnCreate", "label"):  # fmt: skip
        assert key in fields["Name"]
    assert body["recordTypeInfos"] == []
    account = api.get("/sobjects/Account/describe").json()
    children = {(c["childSObject"], c["field"]): c for c in account["childRelationships"]}
    assert children[("Contact", "AccountId")]["relationshipName"] == "Contacts"
    external = {f["name"]: f for f in account["fields"]}["External_Id__c"]
    assert external["externalId"] and external["idLookup"] and external["custom"]


def test_unknown_object_is_not_found(api: Api) -> None:
    for method, path in (("GET", "/sobjects/Nope"), ("GET", "/sobjects/Nope/describe"), ("POST", "/sobjects/Nope")):
        response = api.request(method, path, json={})
        assert response.status_code == 404
        assert response.json() == [NOT_FOUND]


# ------------------------------------------------------------------------------------------ CRUD


def test_create_read_update_delete(api: Api) -> None:
    created = api.post("/sobjects/Account/", json={"Name": "CRUD Co", "Industry": "Banking", "AnnualRevenue": 12.5})
    assert created.status_code == 201
    body = created.json()
    assert body == {"id": body["id"], "success": True, "errors": []}
    record_id = body["id"]
    assert record_id.startswith("001") and len(record_id) == 18
    assert created.headers["Location"] == f"/services/data/v62.0/sobjects/Account/{record_id}"

    record = api.get(f"/sobjects/Account/{record_id}").json()
    assert record["attributes"] == {"type": "Account", "url": f"/services/data/v62.0/sobjects/Account/{record_id}"}
    assert record["Name"] == "CRUD Co" and record["AnnualRevenue"] == 12.5 and record["IsDeleted"] is False
    assert record["Active__c"] is True and record["Description"] is None
    admin = api.emulator.state.admin_user_id
    assert record["OwnerId"] == record["CreatedById"] == record["LastModifiedById"] == admin
    assert record["CreatedDate"].endswith("+0000") and record["SystemModstamp"] == record["LastModifiedDate"]
    assert list(record)[1:] == [f.name for f in SCHEMA["Account"].fields]

    assert api.get(f"/sobjects/Account/{record_id[:15]}").json()["Id"] == record_id
    assert api.get(f"/sobjects/Account/{record_id.lower()}").json()["Id"] == record_id

    updated = api.patch(f"/sobjects/Account/{record_id}", json={"name": "CRUD Corp", "Industry": None})
    assert updated.status_code == 204 and updated.content == b""
    after = api.get(f"/sobjects/Account/{record_id}").json()
    assert after["Name"] == "CRUD Corp" and after["Industry"] is None
    assert after["LastModifiedDate"] >= record["LastModifiedDate"]

    assert api.delete(f"/sobjects/Account/{record_id}").status_code == 204
    again = api.delete(f"/sobjects/Account/{record_id}")
    assert again.status_code == 404
    assert api.error(again) == {"errorCode": "ENTITY_IS_DELETED", "message": "entity is deleted"}
    assert api.get(f"/sobjects/Account/{record_id}").status_code == 404
    assert api.patch(f"/sobjects/Account/{record_id}", json={"Name": "x"}).status_code == 404


def test_fields_parameter_selects_fields(api: Api) -> None:
    record_id = api.create("Account", {"Name": "Fields Inc", "Phone": "123"})
    record = api.get(f"/sobjects/Account/{record_id}", params={"fields": "Name,phone"}).json()
    assert set(record) == {"attributes", "Name", "Phone"}
    bad = api.get(f"/sobjects/Account/{record_id}", params={"fields": "Name,Foo"})
    assert bad.status_code == 400
    assert api.error(bad)["errorCode"] == "INVALID_FIELD"
    assert api.error(bad)["message"].startswith("No such column 'Foo' on entity 'Account'.")


def test_unknown_and_malformed_ids(api: Api) -> None:
    missing_id = api.emulator.store.new_ids(SCHEMA["Account"], 1)[0]
    assert api.get(f"/sobjects/Account/{missing_id}").json() == [NOT_FOUND]
    malformed = api.get("/sobjects/Account/not-an-id")
    assert malformed.status_code == 404
    assert api.error(malformed) == {
        "errorCode": "NOT_FOUND",
        "message": "Provided external ID field does not exist or is not accessible: not-an-id",
    }
    contact_id = api.emulator.store.live_ids("Contact")[0]
    assert api.get(f"/sobjects/Account/{contact_id}").status_code == 404


def test_post_to_id_creates_like_an_upsert(api: Api) -> None:
    response = api.post("/sobjects/Account/Id", json={"Name": "Posted by Id"})
    assert response.status_code == 201
    assert response.json()["created"] is True


def test_users_cannot_be_deleted(api: Api) -> None:
    user_id = api.emulator.store.live_ids("User")[1]
    response = api.delete(f"/sobjects/User/{user_id}")
    assert response.status_code == 400
    assert api.error(response)["errorCode"] == "INVALID_TYPE_FOR_OPERATION"


def test_deleting_an_account_deletes_its_contacts(api: Api) -> None:
    account_id = api.create("Account", {"Name": "Parent To Delete"})
    contact_id = api.create("Contact", {"LastName": "Child", "AccountId": account_id})
    assert api.delete(f"/sobjects/Account/{account_id}").status_code == 204
    assert api.error(api.get(f"/sobjects/Contact/{contact_id}"))["errorCode"] == "ENTITY_IS_DELETED"


# ------------------------------------------------------------------------------------------ validation

ERROR_CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "Account",
        {"Name": "x", "Foo": 1},
        {"errorCode": "INVALID_FIELD", "message": "No such column 'Foo' on sobject of type Account"},
    ),
    (
        "Account",
        {"Industry": "Banking"},
        {"errorCode": "REQUIRED_FIELD_MISSING", "message": "Required fields are missing: [Name]", "fields": ["Name"]},
    ),
    (
        "Opportunity",
        {"Name": "x"},
        {
            "errorCode": "REQUIRED_FIELD_MISSING",
            "message": "Required fields are missing: [StageName, CloseDate]",
            "fields": ["StageName", "CloseDate"],
        },
    ),
    (
        "Opportunity",
        {"Name": "x", "StageName": "Prospecting", "CloseDate": "2024-01-01", "IsWon": True},
        {
            "errorCode": "INVALID_FIELD_FOR_INSERT_UPDATE",
            "message": "Unable to create/update fields: IsWon. Please check the security settings of this field and "
            "verify that it is read/write for your profile or permission set.",
            "fields": ["IsWon"],
        },
    ),
    (
        "Account",
        {"Name": "x", "NumberOfEmployees": "abc"},
        {
            "errorCode": "JSON_PARSER_ERROR",
            "message": "Cannot deserialize instance of int from VALUE_STRING value abc or request may be missing "
            "a required field at [line:1, column:40]",
        },
    ),
    (
        "Opportunity",
        {"Name": "x", "StageName": "Prospecting", "CloseDate": "31/12/2024"},
        {
            "errorCode": "JSON_PARSER_ERROR",
            "message": "Cannot deserialize instance of date from VALUE_STRING value 31/12/2024 or request may be "
            "missing a required field at [line:1, column:67]",
        },
    ),
    (
        "Account",
        {"Name": "x" * 256},
        {
            "errorCode": "STRING_TOO_LONG",
            "message": f"Account Name: data value too large: {'x' * 256} (max length=255)",
            "fields": ["Name"],
        },
    ),
    (
        "Contact",
        {"LastName": "x", "AccountId": "garbage"},
        {
            "errorCode": "MALFORMED_ID",
            "message": "Account ID: id value of incorrect type: garbage",
            "fields": ["AccountId"],
        },
    ),
    (
        "Contact",
        {"LastName": "x", "Email": "not-an-email"},
        {
            "errorCode": "INVALID_EMAIL_ADDRESS",
            "message": "Email: invalid email address: not-an-email",
            "fields": ["Email"],
        },
    ),
]


@pytest.mark.parametrize(("sobject", "record", "error"), ERROR_CASES)
def test_validation_errors(api: Api, sobject: str, record: dict[str, Any], error: dict[str, Any]) -> None:
    response = api.post(f"/sobjects/{sobject}", data=json.dumps(record), headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert api.error(response) == error


def test_reference_to_wrong_type_missing_and_deleted_records(api: Api) -> None:
    contact_id = api.emulator.store.live_ids("Contact")[0]
    wrong = api.post("/sobjects/Contact", json={"LastName": "x", "AccountId": contact_id})
    assert api.error(wrong)["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    missing = api.emulator.store.new_ids(SCHEMA["Account"], 1)[0]
    absent = api.post("/sobjects/Contact", json={"LastName": "x", "AccountId": missing})
    assert api.error(absent) == {
        "errorCode": "INVALID_CROSS_REFERENCE_KEY",
        "message": "invalid cross reference id",
        "fields": ["AccountId"],
    }
    gone = api.create("Account", {"Name": "Gone"})
    api.delete(f"/sobjects/Account/{gone}")
    deleted = api.post("/sobjects/Contact", json={"LastName": "x", "AccountId": gone[:15]})
    assert api.error(deleted)["errorCode"] == "ENTITY_IS_DELETED"


def test_duplicate_external_id(api: Api) -> None:
    ext = unique("DUP")
    api.create("Account", {"Name": "Dup 1", "External_Id__c": ext})
    response = api.post("/sobjects/Account", json={"Name": "Dup 2", "External_Id__c": ext})
    assert response.status_code == 400
    error = api.error(response)
    assert error["errorCode"] == "DUPLICATE_VALUE"
    assert error["message"].startswith("duplicate value found: External_Id__c duplicates value on record with id: 001")


@pytest.mark.parametrize(
    ("body", "start"),
    [
        ('{"Name": "x",}', "Unexpected character ('}' (code 125))"),
        ('{"Name": ', "Unexpected end-of-input"),
        ("", "No content to map due to end-of-input"),
        ('[{"Name": "x"}]', "Cannot deserialize instance of Account from START_ARRAY value ["),
    ],
)
def test_malformed_json(api: Api, body: str, start: str) -> None:
    response = api.post("/sobjects/Account", data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert api.error(response)["errorCode"] == "JSON_PARSER_ERROR"
    assert api.error(response)["message"].startswith(start)


def test_update_cannot_null_a_required_field_or_write_read_only_fields(api: Api) -> None:
    record_id = api.create("Account", {"Name": "Keep my name"})
    nulled = api.patch(f"/sobjects/Account/{record_id}", json={"Name": None})
    assert api.error(nulled)["errorCode"] == "REQUIRED_FIELD_MISSING"
    read_only = api.patch(f"/sobjects/Account/{record_id}", json={"CreatedDate": "2020-01-01T00:00:00Z"})
    assert api.error(read_only)["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"


def test_id_in_a_create_body_is_not_writable(api: Api) -> None:
    existing = api.emulator.store.live_ids("Account")[0]
    response = api.post("/sobjects/Account", json={"Name": "x", "Id": existing})
    assert api.error(response)["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    assert api.error(response)["fields"] == ["Id"]


def test_values_are_normalised(api: Api) -> None:
    record_id = api.create(
        "Contact",
        {"LastName": "Types", "HasOptedOutOfEmail": "true", "Birthdate": "1990-02-03", "Title": 42, "Phone": ""},
    )
    record = api.get(f"/sobjects/Contact/{record_id}").json()
    account_id = api.create("Account", {"Name": "Empty numbers", "AnnualRevenue": "", "NumberOfEmployees": "12"})
    account = api.get(f"/sobjects/Account/{account_id}").json()
    assert account["AnnualRevenue"] is None and account["NumberOfEmployees"] == 12
    assert record["HasOptedOutOfEmail"] is True
    assert record["Birthdate"] == "1990-02-03"
    assert record["Title"] == "42"
    assert record["Phone"] is None


# ------------------------------------------------------------------------------------------ computed fields


def test_computed_fields(api: Api) -> None:
    contact_id = api.create("Contact", {"FirstName": "Ada", "LastName": "Lovelace"})
    assert api.get(f"/sobjects/Contact/{contact_id}").json()["Name"] == "Ada Lovelace"
    api.patch(f"/sobjects/Contact/{contact_id}", json={"LastName": "King"})
    assert api.get(f"/sobjects/Contact/{contact_id}").json()["Name"] == "Ada King"

    close = datetime.date.today().isoformat()
    opportunity_id = api.create("Opportunity", {"Name": "Deal", "StageName": "Prospecting", "CloseDate": close})
    opportunity = api.get(f"/sobjects/Opportunity/{opportunity_id}").json()
    assert (opportunity["IsClosed"], opportunity["IsWon"], opportunity["Probability"]) == (False, False, 10.0)
    api.patch(f"/sobjects/Opportunity/{opportunity_id}", json={"StageName": "Closed Won"})
    opportunity = api.get(f"/sobjects/Opportunity/{opportunity_id}").json()
    assert (opportunity["IsClosed"], opportunity["IsWon"], opportunity["Probability"]) == (True, True, 100.0)


# ------------------------------------------------------------------------------------------ external ids


def test_upsert_creates_then_updates(api: Api) -> None:
    ext = unique("UPS")
    created = api.patch(f"/sobjects/Account/External_Id__c/{ext}", json={"Name": "Upserted"})
    assert created.status_code == 201
    body = created.json()
    assert body == {"id": body["id"], "success": True, "errors": [], "created": True}
    updated = api.patch(f"/sobjects/Account/external_id__c/{ext}", json={"Rating": "Hot"})
    assert updated.status_code == 200
    assert updated.json() == {"id": body["id"], "success": True, "errors": [], "created": False}
    record = api.get(f"/sobjects/Account/External_Id__c/{ext}").json()
    assert (record["Id"], record["Name"], record["Rating"], record["External_Id__c"]) == (
        body["id"],
        "Upserted",
        "Hot",
        ext,
    )


def test_upsert_before_api_46_has_no_created_flag(api: Api) -> None:
    api.version = "45.0"
    ext = unique("UPS-OLD")
    created = api.patch(f"/sobjects/Account/External_Id__c/{ext}", json={"Name": "Old API"})
    assert created.status_code == 201 and "created" not in created.json()
    assert api.patch(f"/sobjects/Account/External_Id__c/{ext}", json={"Rating": "Warm"}).status_code == 204


def test_upsert_update_only_and_not_an_external_id(api: Api) -> None:
    only = api.patch("/sobjects/Account/External_Id__c/NEVER", params={"updateOnly": "true"}, json={"Name": "x"})
    assert only.status_code == 404
    not_external = api.patch("/sobjects/Account/Name/Acme", json={"Rating": "Hot"})
    assert not_external.status_code == 404
    assert api.error(not_external) == {
        "errorCode": "NOT_FOUND",
        "message": "Provided external ID field does not exist or is not accessible: Name",
    }


def test_ambiguous_external_id_answers_300(api: Api) -> None:
    store = api.emulator.store
    admin = api.emulator.state.admin_user_id
    ext = unique("TWIN")
    twins = store.insert_records(SCHEMA["Account"], [{"Name": "Twin", "External_Id__c": ext}] * 2, admin)
    urls = [f"/services/data/v62.0/sobjects/Account/{t}" for t in twins]
    for method in ("GET", "PATCH", "DELETE"):
        response = api.request(method, f"/sobjects/Account/External_Id__c/{ext}", json={"Rating": "Hot"})
        assert response.status_code == 300, method
        assert response.json() == urls


def test_get_and_delete_by_external_id(api: Api) -> None:
    record = api.get("/sobjects/Account/External_Id__c/EXT-0001").json()
    assert record["Name"] == "Acme Corporation"
    assert api.get("/sobjects/Account/External_Id__c/EXT-NOPE").json() == [NOT_FOUND]
    assert api.get(f"/sobjects/Account/Id/{record['Id']}").json()["Id"] == record["Id"]
    ext = unique("DEL")
    api.create("Account", {"Name": "Delete me by ext", "External_Id__c": f"{ext}/1"})
    assert api.delete(f"/sobjects/Account/External_Id__c/{ext}%2F1").status_code == 204
    assert api.get(f"/sobjects/Account/External_Id__c/{ext}%2F1").status_code == 404


# ------------------------------------------------------------------------------------------ blobs


def test_attachment_with_base64_body_and_blob_download(api: Api) -> None:
    parent = api.emulator.store.live_ids("Account")[0]
    payload = b"\x00\x01binary\xffdata"
    record_id = api.create(
        "Attachment",
        {
            "ParentId": parent,
            "Name": "b.bin",
            "ContentType": "application/x-test",
            "Body": base64.b64encode(payload).decode(),
        },
    )
    record = api.get(f"/sobjects/Attachment/{record_id}").json()
    assert record["Body"] == f"/services/data/v62.0/sobjects/Attachment/{record_id}/Body"
    assert record["BodyLength"] == len(payload)
    blob = api.get(record["Body"])
    assert blob.status_code == 200 and blob.content == payload
    assert blob.headers["content-type"] == "application/x-test"


def _multipart(entity_name: str, entity: dict[str, Any], blob_name: str, data: bytes) -> dict[str, Any]:
    return {
        entity_name: (None, json.dumps(entity), "application/json"),
        blob_name: ("file.pdf", data, "application/octet-stream"),
    }


@pytest.mark.parametrize("entity_name", ["entity_content", "entity_contentversion"])
def test_multipart_content_version(api: Api, entity_name: str) -> None:
    data = b"%PDF-1.4 fake pdf " * 1000
    entity = {"Title": "Report", "PathOnClient": "Report.PDF"}
    response = api.post("/sobjects/ContentVersion", files=_multipart(entity_name, entity, "VersionData", data))
    assert response.status_code == 201, response.text
    record_id = response.json()["id"]
    record = api.get(f"/sobjects/ContentVersion/{record_id}").json()
    assert record["ContentSize"] == len(data)
    assert record["FileExtension"] == "pdf"
    assert record["ContentDocumentId"].startswith("069")
    assert api.get(f"/sobjects/ContentVersion/{record_id}/VersionData").content == data


def test_multipart_attachment_and_document(api: Api) -> None:
    parent = api.emulator.store.live_ids("Account")[0]
    entity = {"ParentId": parent, "Name": "notes.txt", "ContentType": "text/plain"}
    response = api.post("/sobjects/Attachment/", files=_multipart("entity_attachment", entity, "Body", b"hello"))
    assert response.status_code == 201, response.text
    assert api.get(f"/sobjects/Attachment/{response.json()['id']}/Body").text == "hello"
    folder = api.emulator.state.admin_user_id
    document = {"FolderId": folder, "Name": "doc.csv", "ContentType": "text/csv"}
    response = api.post("/sobjects/Document", files=_multipart("entity_document", document, "Body", b"a,b\n1,2\n"))
    assert response.status_code == 201, response.text
    assert api.get(f"/sobjects/Document/{response.json()['id']}").json()["BodyLength"] == 8


def test_multipart_without_entity_part_is_rejected(api: Api) -> None:
    response = api.post("/sobjects/Attachment", files={"Body": ("x.txt", b"x", "text/plain")})
    assert response.status_code == 400


def test_blob_of_a_record_without_a_body_is_not_found(api: Api) -> None:
    record_id = api.create("ContentVersion", {"Title": "empty", "PathOnClient": "empty.txt"})
    assert api.get(f"/sobjects/ContentVersion/{record_id}/VersionData").status_code == 404


def test_session_for_another_user_stamps_that_user(emulator: RunningEmulator) -> None:
    assert emulator.jwt_private_key_pem is not None
    assertion = jwt.encode(
        {"iss": emulator.client_id, "sub": "ben.oconnor@sfpy.example", "aud": emulator.base_url, "exp": 2**31},
        emulator.jwt_private_key_pem,
        algorithm="RS256",
    )
    token = requests.post(
        emulator.token_url,
        data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion},
        timeout=30,
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    created = requests.post(emulator.data_url("/sobjects/Account"), json={"Name": "Ben's"}, headers=headers, timeout=30)
    record = requests.get(emulator.data_url(f"/sobjects/Account/{created.json()['id']}"), headers=headers, timeout=30)
    ben = emulator.store.user_by_username("ben.oconnor@sfpy.example")
    assert ben is not None
    assert record.json()["OwnerId"] == record.json()["CreatedById"] == ben["Id"]
