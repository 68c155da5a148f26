"""simple-salesforce 1.12, unchanged, calling the search, composite and Tooling resources of the
emulator: ``sf.search``, ``sf.quick_search``, parameterized search and the composite resources
through ``sf.restful`` (simple-salesforce has no method of its own for them), and
``sf.toolingexecute``. Each asserts what simple-salesforce hands its caller."""

from __future__ import annotations

import uuid
from typing import Any

import pytest


def _token() -> str:
    """A search token no other record contains (letters only, so it stays one token)."""
    return "ss" + "".join(chr(ord("a") + int(c, 16) % 26) for c in uuid.uuid4().hex[:12])


def _path(sf: Any, resource: str) -> str:
    return f"/services/data/v{sf.sf_version}/{resource}"


def test_search_returns_search_records(sf: Any) -> None:
    token = _token()
    account = sf.Account.create({"Name": f"{token} Industries", "Industry": "Energy"})["id"]
    result = sf.search(f"FIND {{{token}}} IN NAME FIELDS RETURNING Account(Id, Name, Industry)")
    assert result == {
        "searchRecords": [
            {
                "attributes": {"type": "Account", "url": _path(sf, f"sobjects/Account/{account}")},
                "Id": account,
                "Name": f"{token} Industries",
                "Industry": "Energy",
            }
        ]
    }


def test_quick_search_finds_every_object(sf: Any) -> None:
    token = _token()
    account = sf.Account.create({"Name": token})["id"]
    contact = sf.Contact.create({"LastName": "Quick", "Email": f"{token}@example.com"})["id"]
    result = sf.quick_search(token)
    assert {(r["attributes"]["type"], r["Id"]) for r in result["searchRecords"]} == {
        ("Account", account),
        ("Contact", contact),
    }


def test_search_error_is_a_malformed_request(sf: Any) -> None:
    from simple_salesforce.exceptions import SalesforceMalformedRequest

    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.search("FIND {Marie-Pier Martin}")
    content: Any = raised.value.content
    (error,) = content
    assert error["errorCode"] == "MALFORMED_SEARCH"
    assert error["message"].endswith("line 1:11 mismatched character '-' expecting '}'")


def test_parameterized_search_get(sf: Any) -> None:
    token = _token()
    for n in range(3):
        sf.Account.create({"Name": f"{token} {n}"})
    params = {"q": token, "sobject": "Account", "Account.fields": "Name", "Account.orderBy": "Name", "Account.limit": 2}
    result = sf.restful("parameterizedSearch/", params=params)
    assert [r["Name"] for r in result["searchRecords"]] == [f"{token} 0", f"{token} 1"]


def test_parameterized_search_post(sf: Any) -> None:
    token = _token()
    contact = sf.Contact.create({"LastName": token, "Phone": "+1 (212) 555-0147"})["id"]
    body = {"q": "12125550147", "in": "PHONE", "sobjects": [{"name": "Contact", "fields": ["Id", "LastName"]}]}
    result = sf.restful("parameterizedSearch/", method="POST", json=body)
    found = [r for r in result["searchRecords"] if r["Id"] == contact]
    assert found == [
        {
            "attributes": {"type": "Contact", "url": _path(sf, f"sobjects/Contact/{contact}")},
            "Id": contact,
            "LastName": token,
        }
    ]


def test_composite_with_references(sf: Any) -> None:
    name = f"SsComposite-{uuid.uuid4().hex[:10]}"
    request = {
        "allOrNone": True,
        "compositeRequest": [
            {"method": "POST", "url": _path(sf, "sobjects/Account"), "referenceId": "acct", "body": {"Name": name}},
            {
                "method": "POST",
                "url": _path(sf, "sobjects/Contact"),
                "referenceId": "cont",
                "body": {"LastName": "Ref", "AccountId": "@{acct.id}"},
            },
            {
                "method": "GET",
                "url": _path(sf, "query/?q=SELECT+AccountId+FROM+Contact+WHERE+Id='@{cont.id}'"),
                "referenceId": "check",
            },
        ],
    }
    result = sf.restful("composite", method="POST", json=request)
    created, contact, check = result["compositeResponse"]
    assert (created["httpStatusCode"], contact["httpStatusCode"], check["httpStatusCode"]) == (201, 201, 200)
    assert created["httpHeaders"]["Location"] == _path(sf, f"sobjects/Account/{created['body']['id']}")
    assert check["body"]["records"][0]["AccountId"] == created["body"]["id"]


def test_composite_batch(sf: Any) -> None:
    account = sf.Account.create({"Name": f"SsBatch-{uuid.uuid4().hex[:10]}"})["id"]
    request = {
        "batchRequests": [
            {"method": "PATCH", "url": f"v{sf.sf_version}/sobjects/Account/{account}", "richInput": {"Rating": "Hot"}},
            {"method": "GET", "url": f"v{sf.sf_version}/sobjects/Account/{account}?fields=Rating"},
        ]
    }
    result = sf.restful("composite/batch", method="POST", json=request)
    assert result["hasErrors"] is False
    assert [r["statusCode"] for r in result["results"]] == [204, 200]
    assert result["results"][1]["result"]["Rating"] == "Hot"


def test_composite_tree(sf: Any) -> None:
    name = f"SsTree-{uuid.uuid4().hex[:10]}"
    request = {
        "records": [
            {
                "attributes": {"type": "Account", "referenceId": "acct"},
                "Name": name,
                "Contacts": {"records": [{"attributes": {"type": "Contact", "referenceId": "kid"}, "LastName": "Kid"}]},
            }
        ]
    }
    result = sf.restful("composite/tree/Account", method="POST", json=request)
    assert result["hasErrors"] is False
    ids = {r["referenceId"]: r["id"] for r in result["results"]}
    assert sf.Contact.get(ids["kid"])["AccountId"] == ids["acct"]


def test_tooling_query(sf: Any) -> None:
    name = f"SsTooling-{uuid.uuid4().hex[:10]}"
    account = sf.Account.create({"Name": name})["id"]
    result = sf.toolingexecute(f"query/?q=SELECT+Id,Name+FROM+Account+WHERE+Name='{name}'")
    assert result["size"] == 1 and result["entityTypeName"] == "Account"
    assert result["records"][0]["attributes"]["url"] == _path(sf, f"tooling/sobjects/Account/{account}")


def test_tooling_sobjects(sf: Any) -> None:
    result = sf.toolingexecute("sobjects/")
    names = {o["name"] for o in result["sobjects"]}
    assert {"Account", "Contact"} <= names
    describe = sf.toolingexecute("sobjects/Account/describe/")
    assert describe["name"] == "Account"
