"""A server cursor that repeats, or runs past the query's totalSize, stops the stream with SalesforceProtocolError.

Followed blindly, a ``nextRecordsUrl`` or ``Sforce-Locator`` that comes back is fetched forever (an
export once *succeeded* with 40 copies of a 1-record result). Every cursor a stream follows is
remembered, so a repeat is caught even when it is not the link just followed, and it is never
requested again.

The misbehaving server: for REST query pages and the Bulk job list, the emulator's fault rules
answer 200 with a fixed page body (login and describe stay real); a Bulk query's ``Sforce-Locator``
is a header no fault rule can set, so those tests use a tiny hostile server on 127.0.0.1. Both stop
misbehaving after ``LOOP_BOUND`` answers, so code that follows the loop fails instead of hanging.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from airflow_provider_sfpy.client import Client, QueryStream, RetryPolicy, SalesforceError, SalesforceProtocolError
from airflow_provider_sfpy.operators.query_to_file import SalesforceQueryToFileOperator

pytestmark = pytest.mark.timeout(60)

#: How many times a misbehaving answer is given before the server goes back to behaving.
LOOP_BOUND = 50
FAST_RETRY = RetryPolicy(max_attempts=2, initial_wait=0.01, max_wait=0.02, jitter=0.0)


def account(n: int) -> dict[str, Any]:
    record_id = f"001LOOP{n:011d}"
    return {
        "attributes": {"type": "Account", "url": f"/services/data/v62.0/sobjects/Account/{record_id}"},
        "Id": record_id,
        "Name": f"Loop Co {n}",
    }


def query_page(total_size: int, records: list[dict[str, Any]], next_url: str | None) -> dict[str, Any]:
    """A query page laid out as Salesforce writes it: totalSize, done, nextRecordsUrl, then records."""
    page: dict[str, Any] = {"totalSize": total_size, "done": next_url is None}
    if next_url is not None:
        page["nextRecordsUrl"] = next_url
    page["records"] = records
    return page


def serve_pages(emulator: Any, pages: dict[str, dict[str, Any]], method: str = "GET") -> None:
    """Make the emulator answer each path pattern with its page (200, JSON), ``LOOP_BOUND`` times each."""
    emulator.add_faults(
        *(
            {
                "path": pattern,
                "method": method,
                "status": 200,
                "body": json.dumps(page),
                "content_type": "application/json;charset=UTF-8",
                "times": LOOP_BOUND,
            }
            for pattern, page in pages.items()
        )
    )


def requested(emulator: Any, path_end: str) -> int:
    return sum(1 for entry in emulator.requests_log() if entry["path"].endswith(path_end))


def cursor(emulator: Any, name: str) -> str:
    return f"/services/data/v{emulator.api_version}/query/01g{name}-2000"


def repeating_query(emulator: Any, *, total_size: int = 10) -> str:
    """Pages: the query gives cursor A, A gives B, B gives A again (a repeat that is not the last link)."""
    a, b = cursor(emulator, "LOOPA"), cursor(emulator, "LOOPB")
    serve_pages(
        emulator,
        {
            r"/query$": query_page(total_size, [account(1)], a),
            r"/query/01gLOOPA-2000$": query_page(total_size, [account(2)], b),
            r"/query/01gLOOPB-2000$": query_page(total_size, [account(3)], a),
        },
    )
    return a


def stream_of(sf: Client, *, prefetch: bool) -> QueryStream:
    first = sf.query("SELECT Id, Name FROM Account").body
    return QueryStream(sf, first, prefetch=prefetch)


# ------------------------------------------------------------------------------------------ REST query
@pytest.mark.parametrize("prefetch", [True, False], ids=["prefetch", "in-turn"])
def test_a_query_cursor_seen_before_stops_the_stream(sf: Client, emulator: Any, prefetch: bool) -> None:
    repeated = repeating_query(emulator)
    stream = stream_of(sf, prefetch=prefetch)
    received: list[str] = []
    with pytest.raises(SalesforceProtocolError) as caught:
        for page in stream.pages():
            received.extend(record["Id"] for record in page["records"])
    message = str(caught.value)
    assert message.startswith("Salesforce's query cursor is broken: page 3 gave the nextRecordsUrl ")
    assert f"{repeated} again (page 1 gave it first" in message
    assert "Stopped after 3 pages and 3 of 10 records" in message
    assert "nothing was written to the destination" in message
    assert caught.value.url == repeated
    # Every page up to the one that repeated arrived once, in order; the repeat was never requested.
    assert received == [account(n)["Id"] for n in (1, 2, 3)]
    assert stream.pages_read == 3 and stream.records_read == 3
    assert requested(emulator, "/query/01gLOOPA-2000") == 1
    assert requested(emulator, "/query/01gLOOPB-2000") == 1


@pytest.mark.parametrize("prefetch", [True, False], ids=["prefetch", "in-turn"])
def test_a_cursor_that_points_at_itself_is_followed_once(sf: Client, emulator: Any, prefetch: bool) -> None:
    loop = cursor(emulator, "SELF")
    serve_pages(
        emulator,
        {r"/query$": query_page(0, [], loop), r"/query/01gSELF-2000$": query_page(0, [account(1)], loop)},
    )
    stream = stream_of(sf, prefetch=prefetch)
    with pytest.raises(SalesforceProtocolError, match=r"page 2 gave the nextRecordsUrl .*01gSELF-2000 again"):
        list(stream.pages())
    assert stream.pages_read == 2 and stream.records_read == 1
    assert requested(emulator, "/query/01gSELF-2000") == 1


def test_query_more_returns_nothing_for_a_repeating_cursor(sf: Client, emulator: Any) -> None:
    """The issue's case: a 1-record result whose cursor never ends must not come back as 40 copies."""
    loop = cursor(emulator, "ONE")
    serve_pages(
        emulator,
        {r"/query$": query_page(1, [account(1)], loop), r"/query/01gONE-2000$": query_page(1, [account(1)], loop)},
    )
    with pytest.raises(SalesforceProtocolError, match="cursor is broken"):
        sf.query_more("SELECT Id, Name FROM Account")
    assert requested(emulator, "/query/01gONE-2000") == 1


@pytest.mark.parametrize("prefetch", [True, False], ids=["prefetch", "in-turn"])
def test_more_records_than_total_size_stops_the_stream(sf: Client, emulator: Any, prefetch: bool) -> None:
    links = [cursor(emulator, f"MORE{n}") for n in range(3)]
    serve_pages(
        emulator,
        {
            r"/query$": query_page(3, [account(1), account(2)], links[0]),
            r"/query/01gMORE0-2000$": query_page(3, [account(3), account(4)], links[1]),  # fresh link, too many
            r"/query/01gMORE1-2000$": query_page(3, [account(5)], None),
        },
    )
    stream = stream_of(sf, prefetch=prefetch)
    received: list[dict[str, Any]] = []
    with pytest.raises(SalesforceProtocolError) as caught:
        for page in stream.pages():
            received.append(page)
    assert str(caught.value).startswith(
        "Salesforce's query cursor is broken: page 2 brings the records read to 4, more than the 3 (totalSize) "
        "the query matched. Stopped after 1 page and 2 of 3 records. The stream was stopped there, that page not "
        "handed out"
    )
    assert "nothing was written to the destination" in str(caught.value)
    assert len(received) == 1 and stream.pages_read == 1  # the page that overran was not handed out


def test_a_total_size_of_zero_is_not_checked(sf: Client, emulator: Any) -> None:
    """A server that reports no totalSize (0) is not held to it; the pages are still read to the end."""
    serve_pages(
        emulator,
        {
            r"/query$": query_page(0, [account(1)], cursor(emulator, "ZERO")),
            r"/query/01gZERO-2000$": query_page(0, [account(2)], None),
        },
    )
    pages, _ = sf.query_more("SELECT Id, Name FROM Account")
    assert [record["Id"] for page in pages for record in page["records"]] == [account(1)["Id"], account(2)["Id"]]


# ------------------------------------------------------------------------------------------ Bulk job list
def test_a_repeating_job_list_cursor_stops_the_listing(sf: Client, emulator: Any) -> None:
    loop = f"/services/data/v{emulator.api_version}/jobs/ingest?queryLocator=01gJOBLOOP"
    job = {"id": "750LOOP000000000001", "object": "Account", "operation": "insert", "state": "JobComplete"}
    serve_pages(emulator, {r"/jobs/ingest$": {"done": False, "records": [job], "nextRecordsUrl": loop}})
    listed: list[dict[str, Any]] = []
    with pytest.raises(SalesforceProtocolError) as caught:
        for entry in sf.jobs.ingest.list_all():
            listed.append(entry)
    assert str(caught.value).startswith(
        f"Salesforce's Bulk ingest job list cursor is broken: page 2 gave the nextRecordsUrl {loop} again "
        "(page 1 gave it first, and it was followed then)"
    )
    assert "Stopped after 2 pages and 2 jobs. The listing was stopped rather than list any job twice." in str(
        caught.value
    )
    assert len(listed) == 2
    assert requested(emulator, "/jobs/ingest") == 2  # the first page and the cursor, once


# ------------------------------------------------------------------------------------------ Bulk query results
class HostileBulkServer(ThreadingHTTPServer):
    """Serves the API versions (a session's login check) and Bulk query results pages whose
    ``Sforce-Locator`` follows ``locators`` (``None``: the first page), ``LOOP_BOUND`` answers in all;
    after that every request gets a 404."""

    daemon_threads = True

    def __init__(self, locators: dict[str | None, str | None]) -> None:
        super().__init__(("127.0.0.1", 0), _HostileHandler)
        self.locators = locators
        self.requests: list[str | None] = []  # the locator asked for, per request

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _HostileHandler(BaseHTTPRequestHandler):
    server: HostileBulkServer

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path == "/services/data/":  # a session's check at login
            versions = [{"label": "Summer '24", "url": "/services/data/v62.0", "version": "62.0"}]
            self._send(200, json.dumps(versions).encode(), {"Content-Type": "application/json"})
            return
        asked = parse_qs(parts.query).get("locator", [None])[0]
        self.server.requests.append(asked)
        if not parts.path.endswith("/results") or len(self.server.requests) > LOOP_BOUND:
            self._send(404, b'[{"message": "gone", "errorCode": "NOT_FOUND"}]', {"Content-Type": "application/json"})
            return
        body = f"Id\n001LOOP{len(self.server.requests):011d}\n".encode()
        headers = {
            "Content-Type": "text/csv",
            "Sforce-NumberOfRecords": "1",
            "Sforce-Locator": self.server.locators.get(asked) or "null",
        }
        self._send(200, body, headers)

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in {**headers, "Content-Length": str(len(body))}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # keep the test output quiet
        pass


@pytest.fixture
def hostile_bulk() -> Iterator[HostileBulkServer]:
    server = HostileBulkServer({None: "LOC1", "LOC1": "LOC2", "LOC2": "LOC1"})
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def test_a_repeating_bulk_results_locator_stops_the_pages(hostile_bulk: HostileBulkServer) -> None:
    client = Client.from_session(hostile_bulk.url, "00Dhostile!session", version="62.0", retry=FAST_RETRY)
    contents: list[bytes] = []
    with pytest.raises(SalesforceProtocolError) as caught:
        for page in client.jobs.query.result_pages("750LOOP000000000001", max_records=1):
            contents.append(b"".join(page.chunks))
    message = str(caught.value)
    assert message.startswith(
        "Salesforce's Bulk query results cursor is broken: results page 3 of job 750LOOP000000000001 gave the "
        "Sforce-Locator 'LOC1' again (page 1 gave it first, and it was followed then)"
    )
    assert "Stopped after 3 pages and 3 records. The repeated page was not fetched" in message
    assert len(contents) == 3
    assert hostile_bulk.requests == [None, "LOC1", "LOC2"]  # LOC1 was not asked for twice


# ------------------------------------------------------------------------------------------ the export operator
@pytest.mark.parametrize("fault", ["repeated-cursor", "beyond-total-size"])
def test_the_export_leaves_no_file_when_the_cursor_breaks(
    fault: str, emulator: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    connection = emulator.airflow_connection()
    monkeypatch.setenv("AIRFLOW_CONN_SFPY_DEFAULT", json.dumps(connection))
    loop = cursor(emulator, "EXPORT")
    if fault == "repeated-cursor":  # the case: a 1-record result whose cursor never ends
        pages = {r"/query$": query_page(1, [account(1)], loop), r"/query/01gEXPORT-2000$": query_page(1, [], loop)}
    else:  # a fresh cursor each time, but more records than the query matched
        pages = {
            r"/query$": query_page(2, [account(1), account(2)], loop),
            r"/query/01gEXPORT-2000$": query_page(2, [account(1)], None),
        }
    serve_pages(emulator, pages)
    destination = tmp_path / "exports" / "accounts.csv"
    destination.parent.mkdir()
    operator = SalesforceQueryToFileOperator(
        task_id="export", soql="SELECT Id, Name FROM Account", destination=str(destination)
    )
    no_context: Any = {}  # what execute gets outside a DAG run
    with pytest.raises(SalesforceProtocolError, match="cursor is broken") as caught:
        operator.execute(context=no_context)
    assert isinstance(caught.value, SalesforceError)
    assert "nothing was written to the destination" in str(caught.value)
    assert list(destination.parent.iterdir()) == []  # neither the file nor a partial one
