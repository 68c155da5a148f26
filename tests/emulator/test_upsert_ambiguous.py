"""An upsert key that matches several records: ``Contact.Email`` is an idLookup field, neither unique
nor case-sensitive, so two contacts whose emails differ only in case make ``/sobjects/Contact/Email/x``
ambiguous. The single-record resource answers ``300 Multiple Choices`` with the records' URLs; sObject
Collections upsert fails that record alone; the client raises its typed error."""

from __future__ import annotations

import pytest
from emulator_api import Api, unique

from airflow_provider_sfpy.client import Client
from airflow_provider_sfpy.client.errors import SalesforceMultipleChoicesError
from airflow_provider_sfpy.emulator.testing import RunningEmulator


@pytest.fixture
def twins(api: Api) -> tuple[str, list[str]]:
    """An email (lower case) and the two contacts that have it, in upper and lower case."""
    email = f"{unique('twin')}@example.com"
    ids = [
        api.create("Contact", {"LastName": "Twin One", "Email": email.upper()}),
        api.create("Contact", {"LastName": "Twin Two", "Email": email}),
    ]
    return email, ids


def test_ambiguous_email_answers_300_with_the_matching_record_urls(api: Api, twins: tuple[str, list[str]]) -> None:
    email, ids = twins
    urls = [f"/services/data/v{api.version}/sobjects/Contact/{record_id}" for record_id in ids]
    for method in ("PATCH", "GET", "DELETE"):
        response = api.request(method, f"/sobjects/Contact/Email/{email}", json={"Title": "Boss"})
        assert response.status_code == 300, method
        assert response.json() == urls
    assert {api.get(f"/sobjects/Contact/{i}").json()["Title"] for i in ids} == {None}  # nothing was written


def test_one_match_in_another_case_is_updated(api: Api) -> None:
    email = f"{unique('single')}@example.com"
    contact = api.create("Contact", {"LastName": "Single", "Email": email})
    response = api.patch(f"/sobjects/Contact/Email/{email.upper()}", json={"Title": "Updated"})
    assert response.status_code == 200
    assert response.json() == {"id": contact, "success": True, "errors": [], "created": False}
    assert api.get(f"/sobjects/Contact/{contact}").json()["Title"] == "Updated"
    created = api.patch(f"/sobjects/Contact/Email/{unique('new')}@example.com", json={"LastName": "New"})
    assert created.status_code == 201 and created.json()["created"] is True


def test_case_sensitive_unique_external_id_does_not_match_another_case(api: Api) -> None:
    value = unique("CaseSensitive")
    first = api.patch(f"/sobjects/Account/External_Id__c/{value}", json={"Name": "Upper"})
    second = api.patch(f"/sobjects/Account/External_Id__c/{value.lower()}", json={"Name": "Lower"})
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["id"] != second.json()["id"]


def test_collections_upsert_fails_only_the_ambiguous_record(api: Api, twins: tuple[str, list[str]]) -> None:
    email, ids = twins
    fresh = f"{unique('fresh')}@example.com"
    body = {
        "allOrNone": False,
        "records": [
            {"attributes": {"type": "Contact"}, "Email": email, "Title": "Ambiguous"},
            {"attributes": {"type": "Contact"}, "Email": fresh, "LastName": "Fresh"},
        ],
    }
    response = api.patch("/composite/sobjects/Contact/Email", json=body)
    assert response.status_code == 200
    ambiguous, created = response.json()
    assert ambiguous == {
        "success": False,
        "errors": [
            {
                "statusCode": "DUPLICATE_EXTERNAL_ID",
                "message": f"Email: more than one record found for external id field: [{ids[0]}, {ids[1]}]",
                "fields": ["Email"],
            }
        ],
    }
    assert created["success"] is True and created["created"] is True


def test_the_client_raises_its_multiple_choices_error(emulator: RunningEmulator, twins: tuple[str, list[str]]) -> None:
    email, ids = twins
    client = Client(
        emulator.username,
        emulator.password,
        emulator.client_id,
        emulator.client_secret,
        login_url=emulator.base_url,
    )
    client.login()
    with pytest.raises(SalesforceMultipleChoicesError) as raised:
        client.sobjects(object_type="Contact", external_id="Email", id=email).upsert({"Title": "Boss"})
    error = raised.value
    assert error.status == 300
    assert [e["url"].rsplit("/", 1)[1] for e in error.errors] == ids
