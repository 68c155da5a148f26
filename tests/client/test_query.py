"""SOQL through the client: single pages, every page, streaming, deleted rows, and query errors."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_sfpy.client import (
    Client,
    QueryStream,
    SalesforceConfigError,
    SalesforceMalformedQueryError,
    SalesforceUnsafeUrlError,
)


def test_query_returns_records_with_nested_parents(sf: Client) -> None:
    body, response = sf.query("SELECT Id, Name, Account.Name FROM Contact WHERE Account.Name != null LIMIT 5")
    assert response.status == 200 and response.api_usage is not None
    assert body["done"] is True and len(body["records"]) == 5
    record = body["records"][0]
    assert record["attributes"]["type"] == "Contact"
    assert isinstance(record["Account"]["Name"], str)


def _create_accounts(sf: Client, prefix: str, count: int) -> list[str]:
    ids = []
    for n in range(count):
        body, _ = sf.sobjects(object_type="Account").insert({"Name": f"{prefix} {n:04d}"})
        ids.append(body["id"])
    return ids


def test_query_more_walks_every_page_without_repeats(sf: Client) -> None:
    ids = _create_accounts(sf, "Paging Co", 450)
    soql = "SELECT Id, Name FROM Account WHERE Name LIKE 'Paging Co%' ORDER BY Name"
    pages, response = sf.query_more(soql, batch_size=200)
    assert response.status == 200
    assert [len(p["records"]) for p in pages] == [200, 200, 50]
    assert pages[0]["totalSize"] == 450 and pages[-1]["done"] is True
    seen = [r["Id"] for page in pages for r in page["records"]]
    assert sorted(seen) == sorted(ids)


def test_streaming_query_holds_one_page_at_a_time(sf: Client) -> None:
    _create_accounts(sf, "Stream Co", 401)
    result = sf.query_more("SELECT Id FROM Account WHERE Name LIKE 'Stream Co%'", batch_size=200, stream=True)
    stream = result.body
    assert isinstance(stream, QueryStream) and stream.total_size == 401
    pages = stream.pages()
    first = next(pages)
    assert stream.pages_read == 1 and len(first["records"]) == 200
    rest = list(pages)
    assert stream.pages_read == 3 and stream.records_read == 401 and len(rest) == 2
    with pytest.raises(RuntimeError, match="already consumed"):
        next(iter(stream))


def test_query_records_yields_each_record(sf: Client) -> None:
    _create_accounts(sf, "Records Co", 230)
    names = [
        r["Name"] for r in sf.query_records("SELECT Name FROM Account WHERE Name LIKE 'Records Co%'", batch_size=200)
    ]
    assert len(names) == 230 and len(set(names)) == 230


def test_query_all_includes_deleted_rows(sf: Client) -> None:
    (record_id,) = _create_accounts(sf, "Deleted Co", 1)
    sf.sobjects(object_type="Account", id=record_id).delete()
    soql = f"SELECT Id, IsDeleted FROM Account WHERE Id = '{record_id}'"
    assert sf.query(soql).body["totalSize"] == 0
    body, _ = sf.query_all(soql)
    assert body["records"][0]["IsDeleted"] is True


def test_syntax_error_carries_salesforce_message_with_row_and_column(sf: Client) -> None:
    with pytest.raises(SalesforceMalformedQueryError) as caught:
        sf.query("SELECT Id FORM Account")
    err = caught.value
    assert err.status == 400 and err.error_code == "MALFORMED_QUERY"
    assert "ERROR at Row:1:Column:11" in str(err)


def test_unknown_field_names_the_field(sf: Client) -> None:
    with pytest.raises(SalesforceMalformedQueryError) as caught:
        sf.query("SELECT Nme FROM Account")
    assert caught.value.error_code == "INVALID_FIELD"
    assert "No such column 'Nme' on entity 'Account'" in str(caught.value)
    assert "ERROR at Row:1:Column:8" in str(caught.value)


def test_unknown_object_in_query(sf: Client) -> None:
    with pytest.raises(SalesforceMalformedQueryError) as caught:
        sf.query("SELECT Id FROM Acount")
    assert caught.value.error_code == "INVALID_TYPE"


def test_batch_size_outside_salesforce_range_is_refused(sf: Client) -> None:
    with pytest.raises(SalesforceConfigError, match="between 200 and 2000"):
        sf.query("SELECT Id FROM Account", batch_size=50)


@pytest.mark.parametrize(
    "link",
    [
        "https://evil.example.com/services/data/v64.0/query/01gX-2000",
        "//evil.example.com/services/data/v64.0/query/01gX-2000",
        "http://127.0.0.2:1/services/data/v64.0/query/01gX-2000",
    ],
)
def test_next_records_url_to_another_host_is_refused_without_a_request(sf: Client, emulator: Any, link: str) -> None:
    emulator.clear_requests_log()
    with pytest.raises(SalesforceUnsafeUrlError, match="another host"):
        sf.query_next(link)
    assert emulator.requests_log() == []


def test_stream_refuses_a_foreign_next_page(sf: Client) -> None:
    first_page = {"totalSize": 3, "done": False, "nextRecordsUrl": "https://evil.example.com/x", "records": [{}]}
    stream = QueryStream(sf, first_page)
    with pytest.raises(SalesforceUnsafeUrlError):
        list(stream.records())


def test_same_host_absolute_link_is_followed(sf: Client) -> None:
    body, _ = sf.query("SELECT Id FROM Account", batch_size=200)
    if body["done"]:
        pytest.skip("sample data fits one page")
    absolute = sf.instance_url + body["nextRecordsUrl"]
    assert sf.query_next(absolute).response.status == 200


def test_limits_and_search_shape(sf: Client) -> None:
    body, response = sf.limits()
    assert body["DailyApiRequests"]["Max"] >= body["DailyApiRequests"]["Remaining"]
    assert response.api_usage is not None and response.api_usage.max == body["DailyApiRequests"]["Max"]
