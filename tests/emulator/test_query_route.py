"""/query and /queryAll over HTTP: paging by locator, batch sizes, COUNT(), deleted rows, errors."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from emulator_api import Api

from airflow_provider_sfpy.emulator.testing import RunningEmulator, start_emulator

ACCOUNTS = 4500


@pytest.fixture(scope="module")
def paged() -> Iterator[RunningEmulator]:
    """An org with only generated Accounts, so counts are exact."""
    with start_emulator(sample_data=False, generate={"Account": ACCOUNTS, "Contact": 300}) as running:
        yield running


def _walk(api: Api, first: dict[str, Any], **kwargs: Any) -> list[dict[str, Any]]:
    pages = [first]
    while not pages[-1]["done"]:
        response = api.get(pages[-1]["nextRecordsUrl"], **kwargs)
        assert response.status_code == 200, response.text
        pages.append(response.json())
    return pages


def test_default_batch_is_2000_and_the_chain_visits_every_row_once(paged: RunningEmulator) -> None:
    api = Api(paged)
    first = api.query("SELECT Id, Name FROM Account")
    assert first["totalSize"] == ACCOUNTS and first["done"] is False
    assert len(first["records"]) == 2000
    assert list(first) == ["totalSize", "done", "nextRecordsUrl", "records"]
    assert str(first["nextRecordsUrl"]).startswith("/services/data/v62.0/query/01g")
    assert str(first["nextRecordsUrl"]).endswith("-2000")
    pages = _walk(api, first)
    assert [len(p["records"]) for p in pages] == [2000, 2000, 500]
    assert all(p["totalSize"] == ACCOUNTS for p in pages)
    assert "nextRecordsUrl" not in pages[-1]
    ids = [r["Id"] for p in pages for r in p["records"]]
    assert len(ids) == len(set(ids)) == ACCOUNTS
    assert set(ids) == set(paged.store.live_ids("Account"))
    record = pages[0]["records"][0]
    assert record["attributes"]["type"] == "Account"


@pytest.mark.parametrize(("requested", "effective"), [(500, 500), (50, 200), (10_000, 2000), ("junk", 2000)])
def test_batch_size_header_is_clamped(paged: RunningEmulator, requested: object, effective: int) -> None:
    api = Api(paged)
    headers = {"Sforce-Query-Options": f"batchSize={requested}"}
    first = api.query("SELECT Id FROM Account", headers=headers)
    assert len(first["records"]) == effective
    pages = _walk(api, first, headers=headers)
    assert sum(len(p["records"]) for p in pages) == ACCOUNTS


def test_a_page_can_be_fetched_again(paged: RunningEmulator) -> None:
    api = Api(paged)
    first = api.query("SELECT Id FROM Account ORDER BY Name")
    url = str(first["nextRecordsUrl"])
    assert api.get(url).json() == api.get(url).json()


def test_query_all_uses_its_own_resource_in_next_records_url(paged: RunningEmulator) -> None:
    api = Api(paged)
    first = api.get("/queryAll", params={"q": "SELECT Id FROM Account"}).json()
    assert "/queryAll/01g" in first["nextRecordsUrl"]
    assert sum(len(p["records"]) for p in _walk(api, first)) == ACCOUNTS


def test_count(paged: RunningEmulator) -> None:
    api = Api(paged)
    assert api.query("SELECT COUNT() FROM Account") == {"totalSize": ACCOUNTS, "done": True, "records": []}
    assert api.query("SELECT COUNT() FROM Contact WHERE AccountId = null")["totalSize"] == 30


def test_query_all_sees_deleted_rows(api: Api) -> None:
    record_id = api.create("Account", {"Name": "Soon deleted"})
    api.delete(f"/sobjects/Account/{record_id}")
    soql = f"SELECT Id, IsDeleted FROM Account WHERE Id = '{record_id}'"
    assert api.query(soql)["totalSize"] == 0
    all_rows = api.get("/queryAll/", params={"q": soql}).json()
    assert all_rows["totalSize"] == 1
    assert all_rows["records"][0]["IsDeleted"] is True


def test_parent_fields_are_nested(api: Api) -> None:
    body = api.query("SELECT Name, Account.Name FROM Contact WHERE Account.Name = 'Acme Corporation' LIMIT 1")
    assert body["records"][0]["Account"]["Name"] == "Acme Corporation"
    assert body["records"][0]["Account"]["attributes"]["type"] == "Account"


def test_soql_errors_are_400_with_salesforce_codes(api: Api) -> None:
    response = api.get("/query", params={"q": "SELECT Nope FROM Account"})
    assert response.status_code == 400
    assert api.error(response)["errorCode"] == "INVALID_FIELD"
    response = api.get("/query", params={"q": "SELEC Id FROM Account"})
    assert response.status_code == 400
    assert api.error(response)["errorCode"] == "MALFORMED_QUERY"
    response = api.get("/query", params={"q": "SELECT Id FROM Nope"})
    assert api.error(response)["errorCode"] == "INVALID_TYPE"


def test_missing_query_string(api: Api) -> None:
    for params in ({}, {"q": "  "}):
        response = api.get("/query", params=params)
        assert response.status_code == 400
        assert api.error(response) == {"errorCode": "MALFORMED_QUERY", "message": "A query string has to be specified"}


@pytest.mark.parametrize("locator", ["01gXXXXXXXXXXXXXXX-2000", "nonsense", "01g-abc"])
def test_unknown_locator(api: Api, locator: str) -> None:
    response = api.get(f"/query/{locator}")
    assert response.status_code == 400
    assert api.error(response) == {"errorCode": "INVALID_QUERY_LOCATOR", "message": "invalid query locator"}


def test_expired_cursor_is_an_invalid_locator() -> None:
    with start_emulator(sample_data=False, generate={"Account": 300}, cursor_timeout=0.2) as running:
        api = Api(running)
        first = api.query("SELECT Id FROM Account", headers={"Sforce-Query-Options": "batchSize=200"})
        time.sleep(0.3)
        response = api.get(first["nextRecordsUrl"])
        assert response.status_code == 400
        assert api.error(response)["errorCode"] == "INVALID_QUERY_LOCATOR"
        assert running.store.open_cursor_count() == 0


def test_records_survive_json_round_trip_with_awkward_text(paged: RunningEmulator) -> None:
    api = Api(paged)
    records = api.query("SELECT Name, Description FROM Account WHERE Description != null LIMIT 50")["records"]
    assert any("\n" in r["Description"] for r in records)
    assert any("," in r["Name"] or '"' in r["Name"] for r in api.query("SELECT Name FROM Account LIMIT 500")["records"])
