"""Tooling API query and sObject describe over HTTP: the Tooling page shape (``size``,
``queryLocator``, ``entityTypeName``), paging through ``/tooling/query/{locator}``, URLs under
``/tooling/sobjects``, and errors."""

from __future__ import annotations

from typing import Any

from emulator_api import Api, unique

TOOLING = "/services/data/v62.0/tooling"


def _tooling_query(api: Api, soql: str, **kwargs: Any) -> dict[str, Any]:
    response = api.get("/tooling/query/", params={"q": soql}, **kwargs)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_tooling_query_page_has_tooling_keys_and_urls(api: Api) -> None:
    name = unique("tooling")
    account = api.create("Account", {"Name": name})
    body = _tooling_query(api, f"SELECT Id, Name, Owner.Name FROM Account WHERE Name = '{name}'")
    assert list(body) == ["size", "totalSize", "done", "queryLocator", "entityTypeName", "records"]
    assert body["size"] == body["totalSize"] == 1
    assert body["done"] is True and body["queryLocator"] is None and body["entityTypeName"] == "Account"
    (record,) = body["records"]
    assert record["attributes"] == {"type": "Account", "url": f"{TOOLING}/sobjects/Account/{account}"}
    assert record["Name"] == name
    assert record["Owner"]["attributes"]["url"].startswith(f"{TOOLING}/sobjects/User/")


def test_tooling_query_pages_through_its_own_locator(api: Api) -> None:
    name = unique("tooling-pages")
    records = [{"attributes": {"type": "Account"}, "Name": f"{name}-{n:03}"} for n in range(201)]
    for chunk in (records[:200], records[200:]):
        assert api.post("/composite/sobjects", json={"records": chunk}).status_code == 200
    soql = f"SELECT Name FROM Account WHERE Name LIKE '{name}%' ORDER BY Name"
    first = _tooling_query(api, soql, headers={"Sforce-Query-Options": "batchSize=200"})
    assert first["done"] is False and first["size"] == 201 and len(first["records"]) == 200
    assert first["nextRecordsUrl"] == f"{TOOLING}/query/{first['queryLocator']}"
    second = api.get(first["nextRecordsUrl"]).json()
    assert second["done"] is True and [r["Name"] for r in second["records"]] == [f"{name}-200"]
    data_locator = api.get("/query/", params={"q": soql}, headers={"Sforce-Query-Options": "batchSize=200"})
    foreign = api.get(f"/tooling/query/{data_locator.json()['nextRecordsUrl'].rsplit('/', 1)[1]}")
    assert foreign.status_code == 400 and api.error(foreign)["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_tooling_aggregate_and_count_queries(api: Api) -> None:
    aggregate = _tooling_query(api, "SELECT COUNT(Id) n FROM Account")
    assert aggregate["entityTypeName"] == "AggregateResult" and aggregate["records"][0]["n"] >= 1
    count = _tooling_query(api, "SELECT COUNT() FROM Account")
    assert count["totalSize"] >= 1 and count["records"] == []


def test_tooling_query_errors(api: Api) -> None:
    malformed = api.get("/tooling/query/", params={"q": "SELECT FROM Account"})
    assert malformed.status_code == 400 and api.error(malformed)["errorCode"] == "MALFORMED_QUERY"
    missing = api.get("/tooling/query/")
    assert missing.status_code == 400 and api.error(missing)["errorCode"] == "MALFORMED_QUERY"


def test_tooling_sobjects_describe_with_tooling_urls(api: Api) -> None:
    listing = api.get("/tooling/sobjects/").json()
    account = next(o for o in listing["sobjects"] if o["name"] == "Account")
    assert account["urls"]["describe"] == f"{TOOLING}/sobjects/Account/describe"
    assert listing["maxBatchSize"] == 200
    info = api.get("/tooling/sobjects/Account").json()
    assert info["objectDescribe"]["urls"]["sobject"] == f"{TOOLING}/sobjects/Account"
    describe = api.get("/tooling/sobjects/account/describe").json()
    assert describe["name"] == "Account" and any(f["name"] == "Name" for f in describe["fields"])
    assert describe["urls"]["rowTemplate"] == f"{TOOLING}/sobjects/Account/{{ID}}"
    assert api.get("/tooling/sobjects/ApexClass/describe").status_code == 404
