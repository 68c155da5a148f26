"""No error text carries a secret, even when the server echoes back everything it was sent.

A token endpoint (or a proxy in front of it) that echoes the posted form, and an API that echoes the
request (its ``Authorization`` header included) and the last login form, answer every way an error
can come back: OAuth errors, HTML pages, 5xx after retries, 200s that are not a token, data errors in
each of Salesforce's error shapes, answers that are not JSON. For every login flow, through the sync
client, the async client, ``hook.test_connection()`` and data calls, each failure's text, repr,
attributes and ``traceback.TracebackException.from_exception(exc, capture_locals=True)`` output
(every frame's local variables, as some traceback printers show them) are searched for every secret:
the password, security token, client secret, refresh token, private key (whole and line by line), the
JWT assertions and access tokens the server saw, raw and URL-encoded. The emulator never echoes, so a
small hostile server on 127.0.0.1 plays the part.

The hook also registers what is secret beyond the connection's fields with Airflow's masker: the text
of ``private_key_file`` and a proxy URL's password.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import traceback
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit

import pytest
from reliability_support import FAST_RETRY, serving

from airflow_provider_sfpy.client import (
    Client,
    ClientCredentialsFlow,
    JwtBearerFlow,
    PasswordFlow,
    RefreshTokenFlow,
    SalesforceError,
)
from airflow_provider_sfpy.client.aio import AsyncClient
from airflow_provider_sfpy.client.auth import AuthFlow
from airflow_provider_sfpy.client.transport import Call
from airflow_provider_sfpy.hooks.salesforce import SalesforcePyHook

API_VERSION = "62.0"


def private_key_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return pem.decode()


@dataclasses.dataclass(frozen=True)
class Secrets:
    """One set of credentials, each with characters that change when form- or URL-encoded."""

    password: str = dataclasses.field(default_factory=lambda: f"Pw+{uuid.uuid4().hex[:12]}&/!")
    security_token: str = dataclasses.field(default_factory=lambda: f"ST{uuid.uuid4().hex[:16]}")
    client_secret: str = dataclasses.field(default_factory=lambda: f"CS{uuid.uuid4().hex}")
    refresh_token: str = dataclasses.field(default_factory=lambda: f"5Aep861.{uuid.uuid4().hex}=")
    private_key: str = dataclasses.field(default_factory=private_key_pem)

    def named(self) -> dict[str, str]:
        found = {
            "password": self.password,
            "security_token": self.security_token,
            "password+security_token": self.password + self.security_token,
            "client_secret": self.client_secret,
            "refresh_token": self.refresh_token,
            "private key": self.private_key.strip(),
        }
        lines = [line.strip() for line in self.private_key.splitlines() if len(line.strip()) > 8 and "---" not in line]
        found.update({f"private key line {n}": line for n, line in enumerate(lines)})
        return found


# ------------------------------------------------------------------------------------------ the echoing server
class EchoServer(ThreadingHTTPServer):
    """A Salesforce look-alike that echoes what it was sent into every answer.

    ``token_mode`` chooses the token endpoint's answer, ``data_mode`` the answer of every data call
    (``GET /services/data/`` always lists the API versions). It records the forms posted and the
    access tokens it issued (not shaped like Salesforce session ids, so only knowing them hides them).
    """

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), EchoHandler)
        self.token_mode = "ok"
        self.data_mode = "ok"
        self.forms: list[str] = []
        self.issued: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def minted(self) -> dict[str, str]:
        """Access tokens issued and JWT assertions received."""
        found = {f"access token {n}": token for n, token in enumerate(self.issued)}
        for n, form in enumerate(self.forms):
            assertion = dict(parse_qsl(form)).get("assertion")
            if assertion:
                found[f"assertion {n}"] = assertion
        return found


def echo_of(raw: str, authorization: str, last_form: str) -> str:
    """What an echoing server sends back: the raw body, its decoded fields, the bearer header, the last form."""
    decoded = " ".join(f"{k}: {v}" for k, v in parse_qsl(raw)) if "=" in raw else raw
    login = " ".join(f"{k}={v}" for k, v in parse_qsl(last_form))
    return f"you sent <{raw}> ({decoded}) with Authorization <{authorization}>; last login {login} / {last_form}"


TOKEN_MODES = (
    "json-400",
    "json-401-invalid-client",
    "html-400",
    "html-500",
    "json-502",
    "html-200",
    "text-200",
    "json-200-error",
    "json-200-no-token",
    "json-200-list",
    "plain-http-instance",
)
#: Token answers whose error_description the error shows (redacted); every other one is only described.
QUOTED_TOKEN_MODES = ("json-400", "json-401-invalid-client", "json-200-error")
DATA_MODES = ("json-400", "dict-404", "list-300", "html-500", "html-200", "truncated-200", "json-401")
#: Answers whose text the error quotes (redacted): Salesforce's own error shapes and an error page.
QUOTED_DATA_MODES = ("json-400", "dict-404", "html-500", "json-401")


class EchoHandler(BaseHTTPRequestHandler):
    server: EchoServer

    def do_POST(self) -> None:
        self._answer()

    def do_GET(self) -> None:
        self._answer()

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8", "replace")
        path = urlsplit(self.path).path
        authorization = self.headers.get("Authorization", "")
        if path == "/services/oauth2/token":
            self.server.forms.append(raw)
            self._token(raw)
            return
        echo = echo_of(raw, authorization, self.server.forms[-1] if self.server.forms else "")
        if path == "/services/data/":
            self._json(200, [{"label": "x", "url": f"/services/data/v{API_VERSION}", "version": API_VERSION}])
            return
        mode = self.server.data_mode
        if mode == "json-400":
            self._json(400, [{"message": echo, "errorCode": "INVALID_FIELD", "fields": [echo]}])
        elif mode == "dict-404":
            self._json(404, {"detail": echo})
        elif mode == "list-300":
            self._json(300, [f"/services/data/v{API_VERSION}/sobjects/Account/{quote(echo)}", echo])
        elif mode == "html-500":
            self._send(500, f"<html><body><h1>Oops</h1><pre>{echo}</pre></body></html>", "text/html")
        elif mode == "html-200":
            self._send(200, f"<html><body><pre>{echo}</pre></body></html>", "text/html")
        elif mode == "truncated-200":
            self._send(200, json.dumps({"totalSize": 1, "done": True, "echo": echo})[:-20], "application/json")
        elif mode == "json-401":
            self._json(401, [{"message": echo, "errorCode": "INVALID_SESSION_ID"}])
        else:
            self._json(200, {"totalSize": 0, "done": True, "records": []})

    def _token(self, raw: str) -> None:
        echo = echo_of(raw, self.headers.get("Authorization", ""), raw)
        mode = self.server.token_mode
        if mode == "ok":
            token = f"tok-{uuid.uuid4().hex}{uuid.uuid4().hex}"
            self.server.issued.append(token)
            self._json(200, {"access_token": token, "instance_url": self.server.url, "token_type": "Bearer"})
        elif mode == "json-400":
            self._json(400, {"error": "invalid_grant", "error_description": f"authentication failure: {echo}"})
        elif mode == "json-401-invalid-client":
            self._json(401, {"error": "invalid_client", "error_description": echo})
        elif mode == "html-400":
            self._send(400, f"<html><body><p>Bad request</p><pre>{echo}</pre></body></html>", "text/html")
        elif mode == "html-500":
            self._send(500, f"<html><body><p>Internal error</p><pre>{echo}</pre></body></html>", "text/html")
        elif mode == "json-502":
            self._json(502, {"message": echo, "errorCode": "BAD_GATEWAY", "echo": echo})
        elif mode == "html-200":
            self._send(200, f"<!DOCTYPE html><html><body><form>{echo}</form></body></html>", "text/html")
        elif mode == "text-200":
            self._send(200, echo, "text/plain")
        elif mode == "json-200-error":
            self._json(200, {"error": "invalid_grant", "error_description": echo})
        elif mode == "json-200-no-token":
            self._json(200, {"instance_url": self.server.url, "message": echo, "id": echo})
        elif mode == "json-200-list":
            self._json(200, [echo, {"error_description": echo}])
        else:  # plain-http-instance: an instance URL (echo in its path) that the client must refuse
            self._json(
                200, {"access_token": "tok-never-used", "instance_url": f"http://sfpy-evil.invalid/{quote(echo)}"}
            )

    def _json(self, status: int, payload: Any) -> None:
        self._send(status, json.dumps(payload), "application/json")

    def _send(self, status: int, body: str, content_type: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def echo_server() -> Iterator[EchoServer]:
    server = EchoServer()
    with serving(server):
        yield server


@pytest.fixture(scope="module")
def secrets() -> Secrets:
    return Secrets()


# ------------------------------------------------------------------------------------------ flows and scanning
FLOWS = ("password", "jwt", "client_credentials", "refresh_token")


def flow_of(name: str, secrets: Secrets) -> AuthFlow:
    if name == "password":
        return PasswordFlow(
            "user@example.com", secrets.password, "consumer-key", secrets.client_secret, secrets.security_token
        )
    if name == "jwt":
        return JwtBearerFlow(username="user@example.com", client_id="consumer-key", private_key=secrets.private_key)
    if name == "client_credentials":
        return ClientCredentialsFlow("consumer-key", secrets.client_secret)
    return RefreshTokenFlow(secrets.refresh_token, "consumer-key", secrets.client_secret)


def caught(call: Callable[[], Any]) -> BaseException:
    """What ``call`` raised (this frame holds no secret, so its locals prove nothing false)."""
    try:
        call()
    except Exception as exc:
        return exc
    raise AssertionError("no error was raised")


def texts_of(exc: BaseException) -> dict[str, str]:
    """Everything about a failure that a log, a UI or a traceback printer may show."""
    shown = traceback.TracebackException.from_exception(exc, capture_locals=True)
    return {
        "str": str(exc),
        "repr": repr(exc),
        "attributes": json.dumps(vars(exc), default=repr),
        "args": repr(exc.args),
        "traceback with locals": "".join(shown.format()),
    }


def leaks(texts: dict[str, str], secrets: dict[str, str]) -> list[str]:
    found = []
    for where, text in texts.items():
        for name, value in secrets.items():
            for form, encoded in (("raw", value), ("url-encoded", quote_plus(value)), ("quoted", quote(value))):
                if encoded in text:
                    found.append(f"{name} ({form}) in {where}")
    return sorted(set(found))


def assert_no_secret(exc: BaseException, secrets: Secrets, server: EchoServer, *, quoted: bool = False) -> None:
    """No secret in anything shown about ``exc``; with ``quoted``, the echo is shown, its secrets redacted."""
    texts = texts_of(exc)
    assert " = " in texts["traceback with locals"]  # locals are shown, so an empty search proves something
    found = leaks(texts, {**secrets.named(), **server.minted()})
    assert not found, found
    if quoted:
        assert "you sent" in texts["str"] and "***" in texts["str"], texts["str"]


# ------------------------------------------------------------------------------------------ login
@pytest.mark.parametrize("mode", TOKEN_MODES)
@pytest.mark.parametrize("flow", FLOWS)
def test_a_sync_login_against_an_echoing_token_endpoint_leaks_nothing(
    flow: str, mode: str, echo_server: EchoServer, secrets: Secrets
) -> None:
    echo_server.token_mode = mode
    client = Client(login_url=echo_server.url, auth=flow_of(flow, secrets), retry=FAST_RETRY)
    error = caught(client.login)
    assert isinstance(error, SalesforceError), repr(error)
    assert echo_server.forms  # the form was posted, so there was something to echo
    assert_no_secret(error, secrets, echo_server, quoted=mode in QUOTED_TOKEN_MODES)


@pytest.mark.parametrize("mode", TOKEN_MODES)
@pytest.mark.parametrize("flow", FLOWS)
def test_an_async_login_against_an_echoing_token_endpoint_leaks_nothing(
    flow: str, mode: str, echo_server: EchoServer, secrets: Secrets
) -> None:
    echo_server.token_mode = mode
    auth = flow_of(flow, secrets)

    async def login() -> None:
        async with AsyncClient(login_url=echo_server.url, auth=auth, retry=FAST_RETRY) as client:
            await client.login()

    error = caught(lambda: asyncio.run(login()))
    assert isinstance(error, SalesforceError), repr(error)
    assert echo_server.forms
    assert_no_secret(error, secrets, echo_server, quoted=mode in QUOTED_TOKEN_MODES)


def hook_connection(server: EchoServer, flow: str, secrets: Secrets, key_file: Path | None = None) -> dict[str, Any]:
    proxy = {"no_proxy_used": "http://proxyuser:Pr0xy-Pa55-word@127.0.0.1:9"}
    base: dict[str, Any] = {"conn_type": "sfpy", "host": server.url}
    if flow == "password":
        extra = {"client_id": "consumer-key", "client_secret": secrets.client_secret}
        extra.update(security_token=secrets.security_token, proxies=json.dumps(proxy))
        return {**base, "login": "user@example.com", "password": secrets.password, "extra": extra}
    if flow == "jwt":
        key = {"private_key_file": str(key_file)} if key_file else {"private_key": secrets.private_key}
        return {**base, "login": "user@example.com", "extra": {"auth_type": "jwt", "client_id": "consumer-key", **key}}
    if flow == "client_credentials":
        extra = {"auth_type": "client_credentials", "client_id": "consumer-key", "client_secret": secrets.client_secret}
        return {**base, "extra": extra}
    extra = {"auth_type": "refresh_token", "client_id": "consumer-key", "refresh_token": secrets.refresh_token}
    return {**base, "extra": {**extra, "client_secret": secrets.client_secret}}


@pytest.mark.parametrize("mode", TOKEN_MODES)
@pytest.mark.parametrize("flow", FLOWS)
def test_test_connection_against_an_echoing_token_endpoint_says_no_and_leaks_nothing(
    flow: str, mode: str, echo_server: EchoServer, secrets: Secrets, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    echo_server.token_mode = mode
    key_file = tmp_path / "sf.key"
    key_file.write_text(secrets.private_key)
    fields = hook_connection(echo_server, flow, secrets, key_file if flow == "jwt" else None)
    monkeypatch.setenv("AIRFLOW_CONN_SFPY_ECHO", json.dumps(fields))
    ok, message = SalesforcePyHook(sfpy_conn_id="sfpy_echo").test_connection()
    assert not ok and message.startswith("Salesforce connection failed")
    found = leaks({"test_connection message": message}, {**secrets.named(), **echo_server.minted()})
    assert not found, found


@pytest.mark.parametrize("mode", ["json-400", "html-500", "html-200", "plain-http-instance"])
@pytest.mark.parametrize("flow", ["password", "refresh_token"])
def test_logins_through_the_hook_leak_nothing(
    flow: str, mode: str, echo_server: EchoServer, secrets: Secrets, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The task's ``get_conn()`` and the trigger's ``aget_async_client()``: Airflow's ``Connection`` shows
    its password in its repr, so no frame a login error passes through may hold it."""
    echo_server.token_mode = mode
    monkeypatch.setenv("AIRFLOW_CONN_SFPY_ECHO", json.dumps(hook_connection(echo_server, flow, secrets)))
    for call in (
        SalesforcePyHook(sfpy_conn_id="sfpy_echo", retry=FAST_RETRY).get_conn,
        lambda: asyncio.run(SalesforcePyHook.aget_async_client("sfpy_echo", retry=FAST_RETRY)),
    ):
        error = caught(call)
        assert isinstance(error, SalesforceError), repr(error)
        assert_no_secret(error, secrets, echo_server, quoted=mode in QUOTED_TOKEN_MODES)


@pytest.mark.parametrize(
    "broken",
    [
        {"host": "http://127.0.0.1", "port": 99999},
        {"extra": {"auth_type": "kerberos"}},
        {"extra": {"proxies": "http://proxyuser:Pr0xy-Pa55-word@127.0.0.1:9"}},
    ],
    ids=["impossible-port", "unknown-auth-type", "proxies-not-json"],
)
def test_a_connection_refused_before_login_leaks_nothing(
    broken: dict[str, Any], echo_server: EchoServer, secrets: Secrets, monkeypatch: pytest.MonkeyPatch
) -> None:
    fields = hook_connection(echo_server, "password", secrets)
    fields = {**fields, **broken, "extra": {**fields["extra"], **broken.get("extra", {})}}
    monkeypatch.setenv("AIRFLOW_CONN_SFPY_BROKEN", json.dumps(fields))
    for call in (
        SalesforcePyHook(sfpy_conn_id="sfpy_broken").get_conn,
        lambda: asyncio.run(SalesforcePyHook.aget_async_client("sfpy_broken")),
    ):
        error = caught(call)
        assert isinstance(error, SalesforceError), repr(error)
        assert_no_secret(error, secrets, echo_server)
        assert "Pr0xy-Pa55-word" not in texts_of(error)["traceback with locals"]
    assert not echo_server.forms  # refused before anything was sent


# ------------------------------------------------------------------------------------------ data calls
@pytest.mark.parametrize("mode", DATA_MODES)
@pytest.mark.parametrize("flow", ["password", "jwt"])
def test_data_calls_against_an_echoing_api_leak_nothing(
    flow: str, mode: str, echo_server: EchoServer, secrets: Secrets
) -> None:
    client = Client(login_url=echo_server.url, auth=flow_of(flow, secrets), retry=FAST_RETRY)
    client.login()
    echo_server.data_mode = mode
    calls: list[Callable[[], Any]] = [
        lambda: client.query("SELECT Id FROM Account"),
        lambda: client.sobjects(object_type="Account").insert({"Name": "Echo"}),
        client.limits,
    ]
    if mode not in ("html-200", "truncated-200"):  # a streamed 200 is bytes, whatever they are
        results = client.data_path("jobs/ingest/750x/successfulResults/")
        calls.append(lambda: client.request("GET", results, stream=True))
    for call in calls:
        error = caught(call)
        assert isinstance(error, SalesforceError), repr(error)
        assert_no_secret(error, secrets, echo_server, quoted=mode in QUOTED_DATA_MODES)
    assert echo_server.issued


@pytest.mark.parametrize("mode", DATA_MODES)
def test_async_data_calls_against_an_echoing_api_leak_nothing(
    mode: str, echo_server: EchoServer, secrets: Secrets
) -> None:
    auth = flow_of("password", secrets)

    async def poll() -> None:
        async with AsyncClient(login_url=echo_server.url, auth=auth, retry=FAST_RETRY) as client:
            await client.login()
            echo_server.data_mode = mode
            await client.get(client.data_path("jobs/ingest/750000000000001AAA"))

    error = caught(lambda: asyncio.run(poll()))
    assert isinstance(error, SalesforceError), repr(error)
    assert_no_secret(error, secrets, echo_server, quoted=mode in QUOTED_DATA_MODES)


@pytest.mark.parametrize("mode", DATA_MODES)
def test_data_calls_through_the_hook_leak_nothing(
    mode: str, echo_server: EchoServer, secrets: Secrets, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_SFPY_ECHO", json.dumps(hook_connection(echo_server, "password", secrets)))
    client = SalesforcePyHook(sfpy_conn_id="sfpy_echo", retry=FAST_RETRY).get_conn()
    echo_server.data_mode = mode
    error = caught(lambda: client.query("SELECT Id FROM Account"))
    assert isinstance(error, SalesforceError), repr(error)
    assert_no_secret(error, secrets, echo_server, quoted=mode in QUOTED_DATA_MODES)
    assert "Pr0xy-Pa55-word" not in texts_of(error)["traceback with locals"]


# ------------------------------------------------------------------------------------------ reprs and the masker
def test_a_calls_repr_shows_no_body_and_no_headers(secrets: Secrets) -> None:
    form = PasswordFlow("u", secrets.password, "id", secrets.client_secret, secrets.security_token).token_form("x")
    call = Call(
        "POST",
        "https://login.salesforce.com/services/oauth2/token",
        data=form,
        json_body={"refresh_token": secrets.refresh_token},
        files={"key": secrets.private_key},
        headers={"Authorization": f"Bearer {secrets.refresh_token}"},
    )
    shown = {"Call repr": repr(call), "form repr": repr(form), "form str": str(form)}
    assert "POST" in shown["Call repr"] and "password" in shown["form repr"]
    assert not leaks(shown, secrets.named()), leaks(shown, secrets.named())


def test_the_hook_masks_the_key_files_text_and_a_proxy_password(
    echo_server: EchoServer, secrets: Secrets, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from airflow.sdk._shared.secrets_masker import redact

    key_file = tmp_path / "sf.key"
    key_file.write_text(secrets.private_key)
    proxy_password = f"Pr0xy{uuid.uuid4().hex[:10]}"
    fields = hook_connection(echo_server, "jwt", secrets, key_file)
    fields["extra"]["proxies"] = json.dumps({"https": f"http://proxyuser:{proxy_password}@127.0.0.1:3128"})
    monkeypatch.setenv("AIRFLOW_CONN_SFPY_MASKED_FILE", json.dumps(fields))
    SalesforcePyHook(sfpy_conn_id="sfpy_masked_file").settings()
    key_lines = [v for k, v in secrets.named().items() if k.startswith("private key")]
    for secret in [*key_lines, proxy_password]:
        assert secret not in str(redact(f"value: {secret} (end)")), secret[:12]
