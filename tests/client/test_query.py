"""SOQL through the client: single pages, every page, streaming, deleted rows, and query errors."""

from __future__ import annotations

import random
import secrets
import threading
import time
from typing import Any

import pytest
import requests

from airflow_provider_sfpy.client import (
    Client,
    QueryStream,
    SalesforceConfigError,
    SalesforceError,
    SalesforceMalformedQueryError,
    SalesforceUnsafeUrlError,
)
from airflow_provider_sfpy.client.query import next_link_from_head
from airflow_provider_sfpy.emulator import defaults
from airflow_provider_sfpy.emulator.process import EmulatorProcess
from airflow_provider_sfpy.emulator.testing import AdminClient


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
        sf.query("SELECT Id FROM Account WHRE Name = 'x'")
    err = caught.value
    assert err.status == 400 and err.error_code == "MALFORMED_QUERY"
    assert "ERROR at Row:1:Column:24" in str(err)


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


# ----------------------------------------------------------------- the prefetching stream


def _three_pages(sf: Client, prefix: str) -> str:
    """401 new Accounts (3 pages of 200) and the query that reads them in name order."""
    _create_accounts(sf, prefix, 401)
    return f"SELECT Id, Name FROM Account WHERE Name LIKE '{prefix}%' ORDER BY Name"


def _page_requests(emulator: Any) -> list[dict[str, Any]]:
    return [e for e in emulator.requests_log() if e["method"] == "GET" and "/query/" in e["path"]]


def test_next_link_is_read_from_the_head_of_a_page_without_decoding_it() -> None:
    body = b'{"totalSize":401,"done":false,"nextRecordsUrl":"/services/data/v64.0/query/01gA-200","records":[{"Id"'
    assert next_link_from_head(body) == (True, "/services/data/v64.0/query/01gA-200")
    pretty = b'{\n  "totalSize" : 3,\n  "done" : false,\n  "nextRecordsUrl" : "\\/q\\/01gB-2",\n  "records" : []}'
    assert next_link_from_head(pretty) == (True, "/q/01gB-2")
    assert next_link_from_head(b'{"totalSize":1,"done":true,"records":[{"Id":"001"}]}') == (True, None)


@pytest.mark.parametrize(
    "body",
    [
        b'{"records":[],"totalSize":1,"done":false,"nextRecordsUrl":"/q/01gC-2"}',  # records first
        b'{"totalSize":1,"done":false,"records":[]}',  # no link although not done
        b'{"totalSize":1,"done":"no","nextRecordsUrl":"/q/x","records":[]}',  # not a boolean
        b'{"totalSize":1,"done":false,"nextRecordsUrl":"/q/x" "records":[]}',  # not JSON
        b"[]",
        b"",
    ],
)
def test_an_unexpected_page_layout_is_left_to_the_full_decode(body: bytes) -> None:
    assert next_link_from_head(body) == (False, None)


def test_next_page_is_on_the_wire_before_the_current_one_is_handed_over() -> None:
    """While the consumer holds the GIL (decoding, writing), Salesforce is already building the next page.

    The emulator runs in its own process here: the shared one is a thread of this process and
    could not even read a request while the consumer holds the GIL.
    """
    admin_token = secrets.token_urlsafe(16)
    with EmulatorProcess(["--no-sample-data", "--generate", "Account=401"], admin_token=admin_token) as process:
        client = Client(
            defaults.DEFAULT_USERNAME,
            defaults.DEFAULT_PASSWORD + defaults.DEFAULT_SECURITY_TOKEN,
            defaults.DEFAULT_CLIENT_ID,
            defaults.DEFAULT_CLIENT_SECRET,
            login_url=process.base_url,
        )
        admin = AdminClient(process.base_url, admin_token=admin_token)
        hog_input = [random.random() for _ in range(1_500_000)]
        pages = client.query_more("SELECT Id, Name FROM Account", batch_size=200, stream=True).body.pages()
        next(pages)
        next(pages)  # page 2: handed over only once page 3's request has been sent
        handed_over = time.time()
        sorted(hog_input)  # one C call that keeps the GIL, as msgspec's decode or csv's writerows do
        hog_ended = time.time()
        assert [len(p["records"]) for p in pages] == [1]
        third = [e for e in admin.requests_log() if "/query/" in e["path"]][1]
        admin.close()
    assert third["time"] < handed_over + (hog_ended - handed_over) / 2, (handed_over, hog_ended, third["time"])


def test_stream_without_the_send_signal_still_walks_every_page(make_client: Any) -> None:
    """A caller's own requests.Session gets no send signal: pages are handed over as each fetch returns."""
    client = make_client(session=requests.Session())
    client.login()
    soql = _three_pages(client, "Ahead Own Session Co")
    stream = client.query_more(soql, batch_size=200, stream=True).body
    names = [r["Name"] for r in stream.records()]
    assert names == sorted(names) and len(names) == 401 and stream.pages_read == 3


def test_stopping_early_ends_the_prefetch_thread(sf: Client, emulator: Any) -> None:
    soql = _three_pages(sf, "Ahead Stop Co")
    emulator.clear_requests_log()
    pages = sf.query_more(soql, batch_size=200, stream=True).body.pages()
    next(pages)
    pages.close()
    assert not [t for t in threading.enumerate() if t.name == "sfpy-prefetch"]
    assert len(_page_requests(emulator)) <= 2


def test_error_on_a_later_page_comes_after_the_good_pages(sf: Client, emulator: Any) -> None:
    soql = _three_pages(sf, "Ahead Error Co")
    emulator.add_faults(
        {"path": r"/query/[^/]+-400$", "status": 400, "error_code": "INVALID_QUERY_LOCATOR", "message": "gone"}
    )
    pages = sf.query_more(soql, batch_size=200, stream=True).body.pages()
    assert len(next(pages)["records"]) == 200
    assert len(next(pages)["records"]) == 200
    with pytest.raises(SalesforceError, match="gone") as caught:
        next(pages)
    assert caught.value.error_code == "INVALID_QUERY_LOCATOR"
    assert not [t for t in threading.enumerate() if t.name == "sfpy-prefetch"]
