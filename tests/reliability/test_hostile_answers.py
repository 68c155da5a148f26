"""Answers no healthy Salesforce sends get a typed error that says what came back and what to check.

- The token endpoint: an HTML page, an OAuth error in a 200, a list, a token without ``access_token``
  or ``instance_url``, truncated or empty JSON, an instance URL with an impossible port, and a 401
  ``invalid_client`` each raise ``SalesforceAuthError`` (never ``JSONDecodeError``, ``KeyError``,
  ``AttributeError``, ``ValueError`` or ``SalesforceSessionExpiredError``), from the sync and the async
  client, and ``hook.test_connection()`` returns ``(False, message)`` for them instead of raising.
- A connection whose port is not a TCP port is a ``SalesforceConfigError`` naming the setting.
- Data answers: truncated JSON and an HTML page where the REST API answers JSON raise
  ``SalesforceProtocolError`` naming the endpoint (method and path), from the sync client, its query
  stream and the async client; a file download may still be HTML. A non-numeric
  ``Sforce-NumberOfRecords`` is a ``SalesforceProtocolError`` too.
- A streamed body whose connection breaks while it is read (cut mid-way, or stalled past the read
  timeout) raises ``SalesforceStreamCutError``: a ``SalesforceConnectionError`` naming the endpoint,
  still a ``requests.RequestException`` for code that caught that before.

The emulator's fault rules produce most answers; a small server on 127.0.0.1 sends the header and the
stalled stream the emulator cannot.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from reliability_support import FAST_RETRY, connection_fields, serving

from airflow_provider_sfpy.client import (
    Client,
    PasswordFlow,
    SalesforceAuthError,
    SalesforceConfigError,
    SalesforceConnectionError,
    SalesforceError,
    SalesforceProtocolError,
)
from airflow_provider_sfpy.client.aio import AsyncClient
from airflow_provider_sfpy.client.bulk2 import wait_for_jobs
from airflow_provider_sfpy.client.errors import SalesforceStreamCutError
from airflow_provider_sfpy.hooks.salesforce import SalesforcePyHook

TOKEN_PATH = r"/services/oauth2/token$"
LOGIN_PAGE = "<!DOCTYPE html><html><head><title>Login | Salesforce</title></head><body><form></form></body></html>"


def token_answer(status: int, body: Any, content_type: str = "application/json") -> dict[str, Any]:
    text = body if isinstance(body, str) else json.dumps(body)
    return {"path": TOKEN_PATH, "status": status, "body": text, "content_type": content_type}


def valid_token(instance_url: str) -> dict[str, Any]:
    return {"access_token": "00D000000000001!AQhostile", "instance_url": instance_url, "token_type": "Bearer"}


# (id, fault rule, what the error must say)
TOKEN_CASES: list[tuple[str, Any, tuple[str, ...]]] = [
    ("html-200", lambda e: token_answer(200, LOGIN_PAGE, "text/html"), ("an HTML page", "login URL", "security_token")),
    (
        "oauth-error-in-a-200",
        lambda e: token_answer(200, {"error": "invalid_grant", "error_description": "authentication failure"}),
        ("was refused: invalid_grant: authentication failure", "security_token"),
    ),
    ("json-list", lambda e: token_answer(200, []), ("a JSON list", "instead of a token")),
    ("json-string", lambda e: token_answer(200, '"hello"'), ("a JSON str", "not the token object")),
    (
        "no-access-token",
        lambda e: token_answer(200, {"instance_url": e.base_url, "token_type": "Bearer"}),
        ("has no access_token",),
    ),
    (
        "no-instance-url",
        lambda e: token_answer(200, {"access_token": "00D000000000001!AQx"}),
        ("has no instance_url",),
    ),
    ("empty-object", lambda e: token_answer(200, {}), ("has no access_token and no instance_url",)),
    (
        "truncated-json",
        lambda e: token_answer(200, json.dumps(valid_token(e.base_url))[:30]),
        ("a body that is not JSON", "instead of a token"),
    ),
    ("empty-body", lambda e: token_answer(200, "", "application/json"), ("an empty body",)),
    (
        "impossible-port",
        lambda e: token_answer(200, valid_token("https://127.0.0.1:99999")),
        ("unusable instance_url", "not a valid URL"),
    ),
    (
        "401-invalid-client",
        lambda e: token_answer(401, {"error": "invalid_client", "error_description": "invalid client credentials"}),
        ("was refused: invalid_client: invalid client credentials", "client_id and client_secret"),
    ),
    (
        "html-404",
        lambda e: token_answer(404, LOGIN_PAGE, "text/html"),
        ("was refused without an OAuth error", "an HTML page", "(HTTP 404)"),
    ),
]
TOKEN_IDS = [case[0] for case in TOKEN_CASES]


def password_flow(emulator: Any) -> PasswordFlow:
    return PasswordFlow(emulator.username, emulator.password, emulator.client_id, emulator.client_secret)


def async_login(emulator: Any) -> None:
    async def login() -> None:
        async with AsyncClient(login_url=emulator.base_url, auth=password_flow(emulator), retry=FAST_RETRY) as client:
            await client.login()

    asyncio.run(login())


def token_posts(emulator: Any) -> int:
    return sum(1 for e in emulator.requests_log() if e["path"] == "/services/oauth2/token")


# ------------------------------------------------------------------------------------------ token endpoint
@pytest.mark.parametrize(("case", "fault", "says"), TOKEN_CASES, ids=TOKEN_IDS)
def test_a_malformed_token_answer_is_an_auth_error_saying_what_came_and_what_to_check(
    case: str, fault: Any, says: tuple[str, ...], emulator: Any
) -> None:
    emulator.add_faults(fault(emulator))
    with pytest.raises(SalesforceAuthError) as sync_error:
        emulator.password_client(retry=FAST_RETRY).login()
    with pytest.raises(SalesforceAuthError) as async_error:
        async_login(emulator)
    for error in (sync_error.value, async_error.value):
        text = str(error)
        assert error.flow == "password" and text.count("password login at ") == 1, text
        for expected in says:
            assert expected in text, (expected, text)
        assert "{" not in text and "<" not in text, text  # described, never quoted
    assert token_posts(emulator) == 2  # one each: a refusal is not retried


def test_invalid_client_from_the_token_endpoint_is_not_a_session_expiry(emulator: Any) -> None:
    emulator.add_faults(token_answer(401, {"error": "invalid_client", "error_description": "invalid client"}))
    with pytest.raises(SalesforceAuthError) as caught:
        emulator.password_client(retry=FAST_RETRY).login()
    assert caught.value.error == "invalid_client" and caught.value.status == 401
    with pytest.raises(SalesforceAuthError) as async_caught:
        async_login(emulator)
    assert async_caught.value.error == "invalid_client" and async_caught.value.status == 401


@pytest.mark.parametrize(("case", "fault", "says"), TOKEN_CASES, ids=TOKEN_IDS)
def test_test_connection_reports_a_malformed_token_answer_instead_of_raising(
    case: str, fault: Any, says: tuple[str, ...], emulator: Any, sfpy_conn: str
) -> None:
    emulator.add_faults(fault(emulator))
    ok, message = SalesforcePyHook(sfpy_conn_id=sfpy_conn).test_connection()
    assert not ok and message.startswith("Salesforce connection failed: "), message
    assert says[0] in message, message


def test_test_connection_never_raises(emulator: Any, sfpy_conn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_provider_sfpy.hooks.settings import ConnectionSettings

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("something nobody expected")

    monkeypatch.setattr(ConnectionSettings, "build_client", broken)
    ok, message = SalesforcePyHook(sfpy_conn_id=sfpy_conn).test_connection()
    assert not ok and "RuntimeError: something nobody expected" in message
    ok, message = SalesforcePyHook(sfpy_conn_id="sfpy_no_such_connection").test_connection()
    assert not ok and "sfpy_no_such_connection" in message


# ------------------------------------------------------------------------------------------ impossible ports
@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"port": 99999}, "connection port 99999"),
        ({"port": 0, "host": "http://127.0.0.1:70000"}, "connection host"),
        ({"host": "http://127.0.0.1:port"}, "connection host"),
    ],
    ids=["port-field", "port-in-host", "non-numeric-port-in-host"],
)
def test_an_impossible_port_is_a_config_error_naming_the_setting(
    fields: dict[str, Any], named: str, emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    connection = {**connection_fields(emulator), "host": "http://127.0.0.1", **fields}
    monkeypatch.setenv("AIRFLOW_CONN_SFPY_PORT", json.dumps(connection))
    with pytest.raises(SalesforceConfigError, match=named):
        SalesforcePyHook(sfpy_conn_id="sfpy_port").get_conn()
    with pytest.raises(SalesforceConfigError, match=named):
        asyncio.run(SalesforcePyHook.aget_async_client("sfpy_port"))
    ok, message = SalesforcePyHook(sfpy_conn_id="sfpy_port").test_connection()
    assert not ok and named in message


# ------------------------------------------------------------------------------------------ data answers
def data_answer(path: str, body: str, content_type: str) -> dict[str, Any]:
    return {"path": path, "method": "GET", "status": 200, "body": body, "content_type": content_type}


TRUNCATED = json.dumps({"totalSize": 2, "done": True, "records": [{"Id": "001000000000001AAA"}]})[:-12]
HTML_PAGE = "<html><head><title>Down for maintenance</title></head><body>Back soon</body></html>"
DATA_CASES = [
    ("truncated-json", TRUNCATED, "application/json;charset=UTF-8", "is not valid JSON"),
    ("html-as-json", HTML_PAGE, "application/json", "it is an HTML page"),
    ("html-page", HTML_PAGE, "text/html", "it is an HTML page"),
]
DATA_IDS = [case[0] for case in DATA_CASES]


@pytest.mark.parametrize(("case", "body", "content_type", "says"), DATA_CASES, ids=DATA_IDS)
def test_a_malformed_data_answer_is_a_protocol_error_naming_the_endpoint(
    case: str, body: str, content_type: str, says: str, emulator: Any, checker: Client
) -> None:
    query_path = checker.data_path("query")
    limits_path = checker.data_path("limits")
    emulator.add_faults(data_answer(r"/query$", body, content_type), data_answer(r"/limits$", body, content_type))
    with pytest.raises(SalesforceProtocolError) as on_query:
        checker.query("SELECT Id FROM Account")
    with pytest.raises(SalesforceProtocolError) as on_limits:
        checker.limits()
    for error, path in ((on_query.value, query_path), (on_limits.value, limits_path)):
        assert (error.method, error.url, error.status) == ("GET", path, 200)
        assert str(error).startswith(f"GET {path}: the answer (HTTP 200, {content_type}"), str(error)
        assert says in str(error) and "Back soon" not in str(error) and "001000000000001AAA" not in str(error)


@pytest.mark.parametrize(("case", "body", "content_type", "says"), DATA_CASES, ids=DATA_IDS)
def test_a_malformed_next_page_stops_the_query_stream_with_a_protocol_error(
    case: str, body: str, content_type: str, says: str, emulator: Any, checker: Client
) -> None:
    next_url = checker.data_path("query/01gHOSTILE-2000")
    first = {"totalSize": 4000, "done": False, "nextRecordsUrl": next_url, "records": [{"Id": "001000000000001AAA"}]}
    emulator.add_faults(
        data_answer(r"/query$", json.dumps(first), "application/json"),
        data_answer(r"/query/01gHOSTILE-2000$", body, content_type),
    )
    with pytest.raises(SalesforceProtocolError) as caught:
        list(checker.query_records("SELECT Id FROM Account"))
    assert caught.value.url == next_url and says in str(caught.value)


@pytest.mark.parametrize(("case", "body", "content_type", "says"), DATA_CASES, ids=DATA_IDS)
def test_a_malformed_data_answer_to_the_async_client_is_a_protocol_error(
    case: str, body: str, content_type: str, says: str, emulator: Any
) -> None:
    async def poll() -> None:
        async with AsyncClient(login_url=emulator.base_url, auth=password_flow(emulator), retry=FAST_RETRY) as client:
            await client.login()
            emulator.add_faults(data_answer(r"/limits$", body, content_type))
            await client.get(client.data_path("limits"))

    with pytest.raises(SalesforceProtocolError) as caught:
        asyncio.run(poll())
    assert caught.value.method == "GET" and caught.value.url.endswith("/limits") and says in str(caught.value)


def test_a_file_download_may_still_be_an_html_page(emulator: Any, checker: Client) -> None:
    emulator.add_faults(data_answer(r"/Attachment/00P000000000001AAA/Body$", HTML_PAGE, "text/html"))
    body, _ = checker.request("GET", checker.data_path("sobjects/Attachment/00P000000000001AAA/Body"))
    assert body == HTML_PAGE


# ------------------------------------------------------------------------------------------ headers and streams
class HostileServer(ThreadingHTTPServer):
    """Lists API versions; ``/jobs/query/<id>/results`` answers a non-numeric ``Sforce-NumberOfRecords``;
    ``.../successfulResults/`` sends its headers and a first chunk, then stalls past the read timeout."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), HostileHandler)
        self.release = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class HostileHandler(BaseHTTPRequestHandler):
    server: HostileServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == "/services/data/":
            self._send(
                200, b'[{"version": "62.0", "url": "/services/data/v62.0"}]', {"Content-Type": "application/json"}
            )
        elif path.endswith("/results"):
            headers = {"Content-Type": "text/csv", "Sforce-NumberOfRecords": "lots", "Sforce-Locator": "null"}
            self._send(200, b'"Id"\n"001000000000001AAA"\n', headers)
        elif path.endswith("/successfulResults/"):
            self.send_response(200)
            self.send_header("Content-Type", "text/csv")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            first = b'"sf__Id","sf__Created"\n'
            self.wfile.write(b"%x\r\n%s\r\n" % (len(first), first))
            self.wfile.flush()
            self.server.release.wait(5)  # the client gives up long before
        else:
            self._send(404, b'[{"message": "no", "errorCode": "NOT_FOUND"}]', {"Content-Type": "application/json"})

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in {**headers, "Content-Length": str(len(body))}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    server = HostileServer()
    with serving(server, on_stop=server.release.set):
        yield server


def test_a_non_numeric_record_count_header_is_a_protocol_error(hostile: HostileServer) -> None:
    client = Client.from_session(hostile.url, "00Dhostile!session", version="62.0", retry=FAST_RETRY)
    with pytest.raises(SalesforceProtocolError) as caught:
        client.jobs.query.result_page("750HOSTILE000000001")
    path = "/services/data/v62.0/jobs/query/750HOSTILE000000001/results"
    assert (caught.value.method, caught.value.url) == ("GET", path)
    assert str(caught.value).startswith(f"GET {path}: the answer's Sforce-NumberOfRecords header is 'lots'")


def test_a_stalled_stream_is_a_typed_connection_error(hostile: HostileServer) -> None:
    client = Client.from_session(hostile.url, "00Dhostile!session", version="62.0", retry=FAST_RETRY, timeout=(2, 0.3))
    chunks, _ = client.jobs.ingest.results("750HOSTILE000000002", "successful")
    started = time.monotonic()
    with pytest.raises(SalesforceStreamCutError) as caught:
        b"".join(chunks)
    assert time.monotonic() - started < 3
    path = "/services/data/v62.0/jobs/ingest/750HOSTILE000000002/successfulResults/"
    assert (caught.value.method, caught.value.url) == ("GET", path)
    assert "broke while the answer's body was being read, after 23 bytes" in str(caught.value)


def finished_ingest_job(checker: Client, rows: int = 300) -> str:
    job_id: str = checker.jobs.ingest.create({"object": "Account", "operation": "insert"}).body["id"]
    csv_text = "Name\n" + "".join(f"Hostile Answers {n:04d}\n" for n in range(rows))
    checker.jobs.ingest.batches(job_id, csv_text)
    checker.jobs.ingest.close(job_id)
    wait_for_jobs(checker.jobs.ingest, [job_id], poll_interval=0.05, timeout=30)
    return job_id


def test_a_bulk_result_download_cut_mid_stream_is_a_typed_connection_error(emulator: Any, checker: Client) -> None:
    job_id = finished_ingest_job(checker)
    emulator.add_faults({"path": r"/successfulResults/$", "method": "GET", "drop": "partial", "times": 1})
    chunks, _ = checker.jobs.ingest.results(job_id, "successful")
    with pytest.raises(SalesforceStreamCutError) as caught:
        b"".join(chunks)
    error = caught.value
    assert isinstance(error, SalesforceConnectionError) and isinstance(error, SalesforceError)
    assert isinstance(error, requests.RequestException)  # what callers of earlier releases caught
    assert (error.method, error.url) == ("GET", checker.data_path(f"jobs/ingest/{job_id}/successfulResults/"))
    again, _ = checker.jobs.ingest.results(job_id, "successful")
    assert b"".join(again).count(b"\n") == 301  # the GET is safe to send again


def test_a_blob_download_cut_mid_stream_is_a_typed_connection_error(emulator: Any, checker: Client) -> None:
    import base64

    created = checker.sobjects(object_type="Account").insert({"Name": "Hostile Answers blob"}).body
    body = base64.b64encode(b"x" * 200_000).decode()
    attachment = {"ParentId": created["id"], "Name": "big.bin", "Body": body}
    attachment_id = checker.sobjects(object_type="Attachment").insert(attachment).body["id"]
    emulator.add_faults({"path": r"/Attachment/[^/]+/Body$", "method": "GET", "drop": "partial", "times": 1})
    chunks, _ = checker.sobjects(object_type="Attachment", id=attachment_id).blob("Body", stream=True)
    with pytest.raises(SalesforceStreamCutError):
        b"".join(chunks)
