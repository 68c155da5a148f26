"""simple-salesforce 1.12, unchanged, on the sObjects its users touch beyond Account: Get Updated and
Get Deleted (``sf.Account.updated/deleted``), a Lead's life, the Organization's ``IsSandbox``
(``sf.is_sandbox()``) and an ambiguous upsert, each read back exactly as simple-salesforce hands it
to its caller."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, cast

import pytest
from simple_salesforce.exceptions import SalesforceMoreThanOneRecord, SalesforceResourceNotFound


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _window() -> tuple[datetime, datetime]:
    """The last five minutes and the next two, zone-aware (simple-salesforce formats the offset)."""
    now = datetime.now(timezone.utc)
    return now - timedelta(minutes=5), now + timedelta(minutes=2)


def test_account_updated_lists_a_new_account(sf: Any) -> None:
    record_id = sf.Account.create({"Name": _unique("SsUpdated")})["id"]
    result = sf.Account.updated(*_window())
    assert record_id in result["ids"]
    assert result["latestDateCovered"].endswith(":00.000+0000")


def test_account_deleted_lists_a_deleted_account(sf: Any) -> None:
    record_id = sf.Account.create({"Name": _unique("SsDeleted")})["id"]
    assert sf.Account.delete(record_id) == 204
    result = sf.Account.deleted(*_window())
    deleted = {entry["id"]: entry["deletedDate"] for entry in result["deletedRecords"]}
    assert record_id in deleted and deleted[record_id].endswith("+0000")
    assert set(result) == {"deletedRecords", "earliestDateAvailable", "latestDateCovered"}


def test_lead_create_get_update_delete(sf: Any) -> None:
    created = sf.Lead.create({"FirstName": "Grace", "LastName": _unique("Hopper"), "Company": "Navy"})
    assert created["success"] is True and created["id"].startswith("00Q")
    lead = sf.Lead.get(created["id"])
    assert lead["Company"] == "Navy" and lead["Status"] == "Open - Not Contacted"
    assert lead["Name"] == f"Grace {lead['LastName']}"
    assert sf.Lead.update(created["id"], {"Status": "Working - Contacted"}) == 204
    assert sf.Lead.get(created["id"])["Status"] == "Working - Contacted"
    assert sf.Lead.delete(created["id"]) == 204
    with pytest.raises(SalesforceResourceNotFound):
        sf.Lead.get(created["id"])


def test_organization_is_sandbox(sf: Any) -> None:
    result = sf.query("SELECT Id, IsSandbox FROM Organization")
    assert result["totalSize"] == 1 and result["records"][0]["IsSandbox"] is False
    assert sf.is_sandbox() is False


def test_contact_upsert_matching_two_contacts_raises_more_than_one_record(sf: Any) -> None:
    email = f"{_unique('ss-twin')}@example.com"
    ids = [sf.Contact.create({"LastName": "Twin", "Email": address})["id"] for address in (email, email.upper())]
    with pytest.raises(SalesforceMoreThanOneRecord) as raised:
        sf.Contact.upsert(f"Email/{email}", {"Title": "Boss"})
    assert raised.value.status == 300
    urls = cast(list[str], raised.value.content)  # the 300 answer's body, as simple-salesforce keeps it
    assert [url.rsplit("/", 1)[1] for url in urls] == ids
