"""A page whose ``nextRecordsUrl`` is not in the head of its body (records first, as a proxy that
re-serialises JSON writes it) still reaches the consumer's typed decoder, and the stream stays whole.

The proxy is real: a local HTTP server in front of the emulator that re-serialises each query page
with ``records`` first.
"""

from __future__ import annotations

import gc
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from airflow_provider_sfpy.client import Client
from airflow_provider_sfpy.client.query import next_link_from_body, next_link_from_head
from airflow_provider_sfpy.formats.typed_records import typed_page_decoder

FORWARDED_HEADERS = ("Authorization", "Sforce-Query-Options", "Accept")


def records_first_proxy(target: str) -> ThreadingHTTPServer:
    """A proxy to ``target`` that re-serialises JSON bodies holding ``records`` with the records first."""
    session = requests.Session()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            headers = {name: self.headers[name] for name in FORWARDED_HEADERS if self.headers.get(name)}
            upstream = session.get(target + self.path, headers=headers, timeout=60)
            body, content_type = upstream.content, upstream.headers.get("Content-Type", "")
            if "json" in content_type:
                page = upstream.json()
                if isinstance(page, dict) and "records" in page:
                    body = json.dumps({"records": page.pop("records"), **page}).encode()
            self.send_response(upstream.status_code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return ThreadingHTTPServer(("127.0.0.1", 0), Handler)


@pytest.fixture
def proxied(emulator: Any) -> Iterator[Client]:
    """A client whose instance URL is the records-first proxy in front of the emulator."""
    server = records_first_proxy(emulator.base_url)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    token = emulator.login()["access_token"]
    try:
        yield Client.from_session(f"http://127.0.0.1:{server.server_port}", token, version=emulator.api_version)
    finally:
        server.shutdown()
        server.server_close()


def test_the_link_is_found_after_the_records_without_building_them() -> None:
    body = json.dumps({"records": [{"Id": "1"}], "totalSize": 5, "done": False, "nextRecordsUrl": "/q/01g-2"}).encode()
    assert next_link_from_head(body) == (False, None)
    assert next_link_from_body(body) == (True, "/q/01g-2")
    assert next_link_from_body(b'{"records": [], "done": true}') == (True, None)
    assert next_link_from_body(b"<html>maintenance</html>")[0] is False  # decoded the usual way, which explains


def test_pages_with_the_link_after_the_records_keep_the_typed_decoder(proxied: Client, sf: Client) -> None:
    sf.collections.create(
        [{"Name": f"Reordered {n:03d}", "AnnualRevenue": n * 1.5} for n in range(450)], object_type="Account"
    )
    soql = "SELECT Name, AnnualRevenue, Owner.Name FROM Account WHERE Name LIKE 'Reordered %' ORDER BY Name"
    stream = proxied.query_more(soql, batch_size=200, stream=True).body
    pages = stream.pages()
    first = next(pages)
    assert next(iter(first)) == "records"  # the proxy really put the records first
    typed = typed_page_decoder(["Name", "AnnualRevenue", "Owner.Name"], first["records"])
    assert typed is not None
    stream.decode_pages_with(typed.decode)
    later = list(pages)
    assert len(later) == 2 and stream.records_read == 450
    records = [record for page in later for record in page["records"]]
    assert all(type(record) is typed.record_type and not gc.is_tracked(record) for record in records)
    expected = [(r["Name"], r["AnnualRevenue"], r["Owner"]["Name"]) for r in sf.query_records(soql)][200:]
    assert [tuple(typed.row(record)) for record in records] == expected
