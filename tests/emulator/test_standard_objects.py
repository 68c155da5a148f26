"""The standard objects beyond Account/Contact/Opportunity: describe metadata, required fields, the
fields Salesforce derives on save, relationships both ways, files, the org's own records and the
sample data, over real HTTP."""

from __future__ import annotations

import base64
import sqlite3
from pathlib import Path

from emulator_api import Api, unique

from airflow_provider_sfpy.emulator.data.org_fixtures import ADMIN_PROFILE_ID, STANDARD_PRICE_BOOK_ID
from airflow_provider_sfpy.emulator.sample_data import ensure_admin, load_sample_data
from airflow_provider_sfpy.emulator.schema import SCHEMA
from airflow_provider_sfpy.emulator.store import DB_FILENAME, Store

NEW_OBJECTS = {
    "Lead": "00Q",
    "Case": "500",
    "Task": "00T",
    "Event": "00U",
    "Campaign": "701",
    "CampaignMember": "00v",
    "Organization": "00D",
    "RecordType": "012",
    "Profile": "00e",
    "Product2": "01t",
    "Pricebook2": "01s",
    "PricebookEntry": "01u",
    "OpportunityLineItem": "00k",
    "ContentDocument": "069",
    "ContentDocumentLink": "06A",
}


def _fields(api: Api, sobject: str) -> dict[str, dict]:
    return {f["name"]: f for f in api.get(f"/sobjects/{sobject}/describe").json()["fields"]}


def _children(api: Api, sobject: str) -> dict[str, set[tuple[str, str]]]:
    """relationshipName -> {(childSObject, field)} of an object's describe."""
    found: dict[str, set[tuple[str, str]]] = {}
    for child in api.get(f"/sobjects/{sobject}/describe").json()["childRelationships"]:
        if child["relationshipName"]:
            found.setdefault(child["relationshipName"], set()).add((child["childSObject"], child["field"]))
    return found


# ------------------------------------------------------------------------------------------ describe


def test_describe_global_lists_the_standard_objects_with_their_key_prefixes(api: Api) -> None:
    listed = {o["name"]: o for o in api.get("/sobjects").json()["sobjects"]}
    assert {name: listed[name]["keyPrefix"] for name in NEW_OBJECTS} == NEW_OBJECTS
    organization = listed["Organization"]
    assert (organization["createable"], organization["updateable"], organization["deletable"]) == (False, False, False)
    assert listed["ContentDocument"]["createable"] is False and listed["ContentDocument"]["deletable"] is True
    assert listed["Lead"]["createable"] and listed["Lead"]["mergeable"] and listed["Lead"]["replicateable"]


def test_lead_describe_has_required_fields_picklists_and_an_email_lookup(api: Api) -> None:
    fields = _fields(api, "Lead")
    required = {n for n, f in fields.items() if f["createable"] and not f["nillable"] and not f["defaultedOnCreate"]}
    assert required == {"LastName", "Company"}
    status = fields["Status"]
    assert status["type"] == "picklist" and not status["nillable"] and status["defaultedOnCreate"]
    assert [(p["value"], p["defaultValue"]) for p in status["picklistValues"]][:2] == [
        ("Open - Not Contacted", True),
        ("Working - Contacted", False),
    ]
    email = fields["Email"]
    assert (email["type"], email["idLookup"], email["unique"], email["caseSensitive"]) == ("email", True, False, False)
    assert fields["Name"]["createable"] is False and fields["Name"]["extraTypeInfo"] == "personname"
    assert fields["ConvertedAccountId"]["referenceTo"] == ["Account"] and not fields["ConvertedAccountId"]["createable"]


def test_relationships_are_described_from_both_ends(api: Api) -> None:
    task = _fields(api, "Task")
    assert task["WhoId"]["referenceTo"] == ["Contact", "Lead"] and task["WhoId"]["relationshipName"] == "Who"
    assert task["WhoId"]["polymorphicForeignKey"] and task["Subject"]["type"] == "combobox"
    account = _children(api, "Account")
    assert ("Case", "AccountId") in account["Cases"] and ("Contact", "AccountId") in account["Contacts"]
    assert ("Task", "WhatId") in account["Tasks"] and ("Event", "WhatId") in account["Events"]
    assert _children(api, "Lead")["CampaignMembers"] == {("CampaignMember", "LeadId")}
    assert _children(api, "Campaign")["ChildCampaigns"] == {("Campaign", "ParentId")}
    assert _children(api, "Product2")["PricebookEntries"] == {("PricebookEntry", "Product2Id")}
    assert _children(api, "Opportunity")["OpportunityLineItems"] == {("OpportunityLineItem", "OpportunityId")}
    assert _children(api, "ContentDocument").keys() >= {"ContentVersions", "ContentDocumentLinks"}
    assert _children(api, "Profile")["Users"] == {("User", "ProfileId")}
    cascades = {
        (c["childSObject"], c["field"]): c["cascadeDelete"]
        for c in api.get("/sobjects/Opportunity/describe").json()["childRelationships"]
    }
    assert cascades[("OpportunityLineItem", "OpportunityId")] is True


def test_case_number_is_an_auto_number_name_field(api: Api) -> None:
    case_number = _fields(api, "Case")["CaseNumber"]
    assert case_number["autoNumber"] and case_number["nameField"] and case_number["idLookup"]
    assert case_number["createable"] is False


# ------------------------------------------------------------------------------------------ the org


def test_organization_is_one_read_only_row_with_the_org_id(api: Api) -> None:
    body = api.query("SELECT Id, Name, IsSandbox, OrganizationType FROM Organization")
    assert body["totalSize"] == 1
    organization = body["records"][0]
    assert organization["Id"] == api.emulator.state.store.org_id and organization["IsSandbox"] is False
    assert organization["OrganizationType"] == "Developer Edition"
    refused = api.post("/sobjects/Organization", json={})
    assert refused.status_code == 400
    assert api.error(refused)["errorCode"] == "INVALID_TYPE_FOR_OPERATION"
    assert api.patch(f"/sobjects/Organization/{organization['Id']}", json={}).status_code == 400
    assert api.delete(f"/sobjects/Organization/{organization['Id']}").status_code == 400
    assert api.query("SELECT COUNT() FROM Organization")["totalSize"] == 1


def test_users_need_a_profile_and_the_admin_has_the_system_administrator_one(api: Api) -> None:
    admin = api.emulator.state.admin_user_id
    record = api.query(f"SELECT Profile.Name, UserType FROM User WHERE Id = '{admin}'")["records"][0]
    assert record["Profile"]["Name"] == "System Administrator" and record["UserType"] == "Standard"
    assert api.get(f"/sobjects/User/{admin}").json()["ProfileId"] == ADMIN_PROFILE_ID
    missing = api.post("/sobjects/User", json={"Username": f"{unique('u')}@x.example", "LastName": "X"})
    assert api.error(missing)["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert {"ProfileId", "Email", "Alias", "TimeZoneSidKey"} <= set(api.error(missing)["fields"])


# ------------------------------------------------------------------------------------------ DML and derived fields


def test_lead_create_requires_company_and_derives_name_and_status(api: Api) -> None:
    missing = api.post("/sobjects/Lead", json={"LastName": "Nobody"})
    assert missing.status_code == 400
    assert api.error(missing) == {
        "errorCode": "REQUIRED_FIELD_MISSING",
        "message": "Required fields are missing: [Company]",
        "fields": ["Company"],
    }
    lead_id = api.create("Lead", {"FirstName": "Ada", "LastName": "Lovelace", "Company": "Analytical Engines"})
    lead = api.get(f"/sobjects/Lead/{lead_id}").json()
    assert (lead["Name"], lead["Status"], lead["IsConverted"]) == ("Ada Lovelace", "Open - Not Contacted", False)


def test_cases_are_numbered_and_closing_one_stamps_it(api: Api) -> None:
    first = api.create("Case", {"Subject": unique("case")})
    second = api.create("Case", {"Subject": unique("case"), "ParentId": first})
    numbers = [api.get(f"/sobjects/Case/{i}").json()["CaseNumber"] for i in (first, second)]
    assert all(len(n) == 8 and n.isdigit() for n in numbers) and int(numbers[1]) == int(numbers[0]) + 1
    case = api.get(f"/sobjects/Case/{first}").json()
    assert (case["Status"], case["Priority"], case["IsClosed"], case["ClosedDate"]) == ("New", "Medium", False, None)
    assert api.patch(f"/sobjects/Case/{first}", json={"Status": "Closed"}).status_code == 204
    closed = api.get(f"/sobjects/Case/{first}").json()
    assert closed["IsClosed"] is True and closed["ClosedDate"].endswith("+0000")
    child = api.query(f"SELECT Parent.CaseNumber FROM Case WHERE Id = '{second}'")["records"][0]
    assert child["Parent"]["CaseNumber"] == numbers[0]


def test_tasks_link_people_and_records_and_close_on_completion(api: Api) -> None:
    account = api.create("Account", {"Name": unique("Task account")})
    lead = api.create("Lead", {"LastName": "Who", "Company": "What"})
    task_id = api.create("Task", {"Subject": "Call", "WhoId": lead, "WhatId": account, "Priority": "High"})
    task = api.get(f"/sobjects/Task/{task_id}").json()
    assert (task["Status"], task["IsClosed"], task["IsHighPriority"], task["AccountId"]) == (
        "Not Started",
        False,
        True,
        account,
    )
    assert api.patch(f"/sobjects/Task/{task_id}", json={"Status": "Completed"}).status_code == 204
    done = api.get(f"/sobjects/Task/{task_id}").json()
    assert done["IsClosed"] is True and done["CompletedDateTime"] is not None
    record = api.query(f"SELECT Who.Name, What.Name FROM Task WHERE Id = '{task_id}'")["records"][0]
    assert record["Who"]["Name"] == "Who" and record["What"]["Name"].startswith("Task account")
    wrong = api.post("/sobjects/Task", json={"Subject": "Call", "WhoId": account})
    assert api.error(wrong)["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"


def test_event_end_follows_from_start_and_duration(api: Api) -> None:
    event_id = api.create(
        "Event", {"Subject": "Meeting", "StartDateTime": "2030-01-02T09:30:00.000+0000", "DurationInMinutes": 45}
    )
    event = api.get(f"/sobjects/Event/{event_id}").json()
    assert event["ActivityDateTime"] == "2030-01-02T09:30:00.000+0000"
    assert (event["EndDateTime"], event["ActivityDate"], event["ShowAs"]) == (
        "2030-01-02T10:15:00.000+0000",
        "2030-01-02",
        "Busy",
    )


def test_products_price_books_and_line_items(api: Api) -> None:
    standard = api.query("SELECT Id, IsStandard FROM Pricebook2 WHERE IsStandard = true")["records"]
    assert [(b["Id"], b["IsStandard"]) for b in standard] == [(STANDARD_PRICE_BOOK_ID, True)]
    product = api.create("Product2", {"Name": unique("Widget"), "IsActive": True})
    entry = api.create(
        "PricebookEntry", {"Pricebook2Id": STANDARD_PRICE_BOOK_ID, "Product2Id": product, "UnitPrice": 20}
    )
    priced = api.query(f"SELECT UnitPrice, Product2.Name FROM PricebookEntry WHERE Id = '{entry}'")["records"][0]
    assert priced["UnitPrice"] == 20.0 and priced["Product2"]["Name"].startswith("Widget")
    opportunity = api.query("SELECT Id FROM Opportunity LIMIT 1")["records"][0]["Id"]
    item = api.create(
        "OpportunityLineItem",
        {"OpportunityId": opportunity, "PricebookEntryId": entry, "Quantity": 3, "UnitPrice": 20, "Discount": 10},
    )
    line = api.get(f"/sobjects/OpportunityLineItem/{item}").json()
    assert (line["Subtotal"], line["TotalPrice"]) == (60.0, 54.0)
    moved = api.patch(f"/sobjects/OpportunityLineItem/{item}", json={"OpportunityId": opportunity})
    assert api.error(moved)["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    assert api.delete(f"/sobjects/Product2/{product}").status_code == 204
    assert api.get(f"/sobjects/PricebookEntry/{entry}").status_code == 404


def test_deleting_a_campaign_takes_its_members_along(api: Api) -> None:
    campaign = api.create("Campaign", {"Name": unique("Campaign")})
    lead = api.create("Lead", {"LastName": "Member", "Company": "Co"})
    member = api.create("CampaignMember", {"CampaignId": campaign, "LeadId": lead, "Status": "Responded"})
    assert api.get(f"/sobjects/CampaignMember/{member}").json()["HasResponded"] is True
    assert api.delete(f"/sobjects/Campaign/{campaign}").status_code == 204
    assert api.error(api.get(f"/sobjects/CampaignMember/{member}"))["errorCode"] == "ENTITY_IS_DELETED"
    assert api.get(f"/sobjects/Lead/{lead}").status_code == 200


# ------------------------------------------------------------------------------------------ files


def test_a_content_version_creates_its_document_and_links(api: Api) -> None:
    account = api.query("SELECT Id FROM Account LIMIT 1")["records"][0]["Id"]
    data = base64.b64encode(b"first").decode()
    version_id = api.create(
        "ContentVersion",
        {"Title": "report", "PathOnClient": "report.pdf", "VersionData": data, "FirstPublishLocationId": account},
    )
    version = api.get(f"/sobjects/ContentVersion/{version_id}").json()
    document_id = version["ContentDocumentId"]
    document = api.get(f"/sobjects/ContentDocument/{document_id}").json()
    assert (document["Title"], document["FileType"], document["LatestPublishedVersionId"]) == (
        "report",
        "PDF",
        version_id,
    )
    links = api.query(
        f"SELECT LinkedEntityId, ShareType FROM ContentDocumentLink WHERE ContentDocumentId = '{document_id}'"
    )
    assert {(r["LinkedEntityId"], r["ShareType"]) for r in links["records"]} == {
        (account, "V"),
        (api.emulator.state.admin_user_id, "I"),
    }
    second_id = api.create(
        "ContentVersion",
        {"Title": "report v2", "PathOnClient": "report.pdf", "ContentDocumentId": document_id, "VersionData": data},
    )
    soql = f"SELECT Id, VersionNumber, IsLatest FROM ContentVersion WHERE ContentDocumentId = '{document_id}'"
    versions = api.query(soql + " ORDER BY VersionNumber")["records"]
    assert [(v["Id"], v["VersionNumber"], v["IsLatest"]) for v in versions] == [
        (version_id, "1", False),
        (second_id, "2", True),
    ]
    assert api.get(f"/sobjects/ContentDocument/{document_id}").json()["Title"] == "report v2"
    assert api.post("/sobjects/ContentDocument", json={"Title": "x"}).status_code == 400
    assert api.delete(f"/sobjects/ContentDocument/{document_id}").status_code == 204
    assert api.query(f"SELECT COUNT() FROM ContentVersion WHERE ContentDocumentId = '{document_id}'")["totalSize"] == 0


# ------------------------------------------------------------------------------------------ sample data and storage


def test_sample_org_has_a_few_of_each_common_object() -> None:
    store = Store()
    load_sample_data(store, ensure_admin(store, "demo@sfpy.example"))
    counts = {name: store.count(name) for name in SCHEMA}
    assert counts["Organization"] == 1 and counts["Pricebook2"] == 1 and counts["Profile"] == 2
    for name in ("Lead", "Case", "Task", "Event", "Campaign", "CampaignMember", "Product2", "PricebookEntry"):
        assert 3 <= counts[name] <= 10, name
    assert counts["Account"] == 25 and counts["Contact"] == 50 and counts["Opportunity"] == 40  # as before
    closed = [store.get(SCHEMA["Case"], i) for i in store.live_ids("Case")]
    assert {c["CaseNumber"] for c in closed} == {f"{1001 + n:08d}" for n in range(len(closed))}
    assert any(c["IsClosed"] for c in closed) and any(not c["IsClosed"] for c in closed)


def test_a_store_kept_by_an_older_emulator_gains_new_fields_and_the_org(tmp_path: Path) -> None:
    old = Store.open(tmp_path)
    admin = ensure_admin(old, "demo@sfpy.example")
    old.close()
    with sqlite3.connect(tmp_path / DB_FILENAME) as db:  # as an emulator without these wrote it
        db.execute('ALTER TABLE "User" DROP COLUMN "Department"')
        db.execute('DELETE FROM "Organization"')
    reopened = Store.open(tmp_path)
    assert ensure_admin(reopened, "demo@sfpy.example") == admin
    assert reopened.get(SCHEMA["User"], admin)["Department"] is None  # the column is back
    assert reopened.live_ids("Organization") == [reopened.org_id]
    reopened.close()


def test_a_sandbox_org_says_so() -> None:
    store = Store()
    ensure_admin(store, "demo@sfpy.example", sandbox=True)
    assert store.get(SCHEMA["Organization"], store.org_id)["IsSandbox"] == 1
