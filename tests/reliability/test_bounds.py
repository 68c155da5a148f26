"""Bounded time and size: a server that drips its answer, or sends a huge error body, cannot hold a task.

The read timeout bounds each wait for a byte, so a server sending one byte every 50 ms never trips
it; the request deadline (connection extra ``request_deadline``) bounds the whole exchange, sync and
async, and for streamed bodies counts only the time spent waiting for the server. Error bodies are
read to at most 64 KB and the connection dropped: the server's socket sees how much was taken.
A small server on 127.0.0.1 plays the slow and the wasteful answers; every loop in it is bounded.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest
from reliability_support import FAST_RETRY, serving

from airflow_provider_sfpy.client import Client, SalesforceDeadlineError, SalesforceError
from airflow_provider_sfpy.client.aio import AsyncClient
from airflow_provider_sfpy.client.auth import SessionFlow
from airflow_provider_sfpy.client.errors import SalesforceConfigError
from airflow_provider_sfpy.client.transport import MAX_ERROR_BODY_BYTES

DRIP_BYTES = 400  # one every DRIP_SECONDS: 20 s in all, far past every deadline below
DRIP_SECONDS = 0.05
HUGE_BODY_BYTES = 100 * 1024 * 1024
BLOCK = 64 * 1024


class SlowServer(ThreadingHTTPServer):
    """``/services/data/`` lists a version; ``.../limits`` drips JSON; ``.../results`` drips a CSV stream;
    ``.../sobjects/Account/describe`` answers 400 with a 100 MB body. ``sent`` counts the huge body's bytes."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), SlowHandler)
        self.stop = threading.Event()
        self.sent = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class SlowHandler(BaseHTTPRequestHandler):
    server: SlowServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        try:
            if path == "/services/data/":
                body = b'[{"version": "62.0", "url": "/services/data/v62.0"}]'
                self._head(200, "application/json", len(body))
                self.wfile.write(body)
            elif path.endswith("/limits"):
                self._drip("application/json", b"{" + b" " * (DRIP_BYTES - 2) + b"}")
            elif path.endswith("/results"):
                self._drip("text/csv", b"Id\n" + b"1" * (DRIP_BYTES - 4) + b"\n")
            elif path.endswith("/describe"):
                self._huge_error()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client hung up, as it should

    def _head(self, status: int, content_type: str, length: int) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(length))
        if content_type == "text/csv":
            self.send_header("Sforce-NumberOfRecords", "1")
            self.send_header("Sforce-Locator", "null")
        self.end_headers()

    def _drip(self, content_type: str, body: bytes) -> None:
        self._head(200, content_type, len(body))
        for index in range(len(body)):
            if self.server.stop.is_set():
                return
            self.wfile.write(body[index : index + 1])
            self.wfile.flush()
            time.sleep(DRIP_SECONDS)

    def _huge_error(self) -> None:
        prefix = b'[{"errorCode": "INVALID_FIELD", "message": "'
        self._head(400, "application/json", HUGE_BODY_BYTES)
        self.wfile.write(prefix)
        self.server.sent = len(prefix)
        filler = b"x" * BLOCK
        while self.server.sent < HUGE_BODY_BYTES and not self.server.stop.is_set():
            self.wfile.write(filler)
            self.server.sent += len(filler)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def slow() -> Iterator[SlowServer]:
    server = SlowServer()
    with serving(server, on_stop=server.stop.set):
        yield server


def client_of(server: SlowServer, **kwargs: Any) -> Client:
    return Client.from_session(server.url, "00Dslow!session", version="62.0", retry=FAST_RETRY, **kwargs)


def test_a_dripping_answer_fails_at_the_deadline_not_when_the_server_pleases(slow: SlowServer) -> None:
    client = client_of(slow, timeout=(2, 2), request_deadline=1.0)
    started = time.monotonic()
    with pytest.raises(SalesforceDeadlineError) as caught:
        client.limits()
    assert time.monotonic() - started < 4  # the deadline, plus one read timeout at most; the drip takes 20 s
    assert "did not complete within its 1 s deadline" in str(caught.value)
    assert "request_deadline" in str(caught.value)


def test_a_dripping_stream_fails_once_its_waits_pass_the_deadline(slow: SlowServer) -> None:
    client = client_of(slow, timeout=(2, 2), request_deadline=1.0)
    page = client.jobs.query.result_page("750SLOW0000000001")
    started = time.monotonic()
    with pytest.raises(SalesforceDeadlineError, match="still arriving when the request's deadline passed"):
        b"".join(page.chunks)
    assert time.monotonic() - started < 4


def test_a_streams_reader_may_take_its_time_between_chunks(slow: SlowServer) -> None:
    """Only waiting for the server counts: a slow consumer of a healthy stream is not cut off."""
    client = client_of(slow, timeout=(2, 2), request_deadline=30.0)
    page = client.jobs.query.result_page("750SLOW0000000002")
    received = 0
    for chunk in page.chunks:
        received += len(chunk)
        if received >= 20:
            break
    assert received >= 20


def test_the_async_client_has_the_same_deadline(slow: SlowServer) -> None:
    async def call() -> None:
        flow = SessionFlow(instance_url=slow.url, access_token="00Dslow!session")
        client = AsyncClient(login_url=slow.url, auth=flow, version="62.0", timeout=(2, 2), request_deadline=1.0)
        try:
            await client.login()
            await client.get(client.data_path("limits"))
        finally:
            await client.aclose()

    started = time.monotonic()
    with pytest.raises(SalesforceDeadlineError, match="did not complete within its 1 s deadline"):
        asyncio.run(call())
    assert time.monotonic() - started < 4


def test_a_huge_error_body_is_read_to_64_kb_and_no_further(slow: SlowServer) -> None:
    client = client_of(slow)
    started = time.monotonic()
    with pytest.raises(SalesforceError) as caught:
        client.sobjects(object_type="Account").describe()
    elapsed = time.monotonic() - started
    assert caught.value.status == 400
    time.sleep(0.3)  # let the server notice the closed connection
    assert slow.sent < 16 * 1024 * 1024, f"the server sent {slow.sent:,} bytes of a 100 MB error body"
    assert elapsed < 5
    assert len(str(caught.value)) < 2 * MAX_ERROR_BODY_BYTES


def test_the_async_client_reads_a_huge_error_body_to_64_kb(slow: SlowServer) -> None:
    async def call() -> None:
        flow = SessionFlow(instance_url=slow.url, access_token="00Dslow!session")
        client = AsyncClient(login_url=slow.url, auth=flow, version="62.0")
        try:
            await client.login()
            await client.get(client.data_path("sobjects/Account/describe"))
        finally:
            await client.aclose()

    with pytest.raises(SalesforceError):
        asyncio.run(call())
    time.sleep(0.3)
    assert slow.sent < 16 * 1024 * 1024, f"the server sent {slow.sent:,} bytes of a 100 MB error body"


@pytest.mark.parametrize(("raw", "expected"), [(None, 900.0), ("60", 60.0), (0, None), ("0", None)])
def test_the_deadline_comes_from_the_connection(raw: Any, expected: float | None, emulator: Any) -> None:
    extra = {} if raw is None else {"request_deadline": raw}
    settings = connection_settings(emulator, extra)
    assert settings.request_deadline() == expected
    assert settings.build_client().transport.deadline == expected


@pytest.mark.parametrize("raw", ["soon", "-5"])
def test_a_bad_deadline_is_a_config_error_naming_it(raw: str, emulator: Any) -> None:
    with pytest.raises(SalesforceConfigError, match="request_deadline"):
        connection_settings(emulator, {"request_deadline": raw}).request_deadline()


def connection_settings(emulator: Any, extra: dict[str, Any]) -> Any:
    from airflow_provider_sfpy.hooks.settings import ConnectionSettings

    fields = emulator.airflow_connection(**extra)
    return ConnectionSettings.from_fields(
        host=fields["host"], login=fields["login"], password=fields["password"], extras=fields["extra"]
    )
