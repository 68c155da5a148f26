"""One REST request sent through the emulator's own routes, in process, on behalf of a composite call.

The subrequest gets a fresh ASGI scope (its method, path, query and JSON body) that keeps the
caller's connection facts and ``Authorization`` header, and goes straight to the application's router:
the same route, the same session check and the same error rendering as the request sent on its own,
without the fault-injection and request-log layers of a real network request (those saw the composite
call itself). The router's 404/405 are rendered by the application's own HTTP error handler.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote

import anyio
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import Message, Scope

from airflow_provider_sfpy.emulator.responses import dumps
from airflow_provider_sfpy.emulator.state import get_state

#: Connection facts a subrequest shares with the call that carries it.
_INHERITED_SCOPE = (
    "asgi",
    "http_version",
    "scheme",
    "server",
    "client",
    "app",
    "state",
    "extensions",
    "starlette.exception_handlers",
)
#: Characters a URL keeps as they are; anything else (a blank, a non-ASCII letter) is percent-encoded,
#: as an HTTP client would have sent it.
_URL_SAFE = "!#$%&'()*+,/:;=?@[]~"
#: Response headers a composite result reports (Salesforce leaves out Content-Length and the like).
REPORTED_HEADERS = ("Location", "ETag", "Last-Modified")


@dataclass(frozen=True)
class SubResponse:
    """A subrequest's answer: status, the headers worth reporting, and the decoded body."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.status >= 400


async def dispatch(
    parent: Request, method: str, url: str, body: Any = None, headers: Mapping[str, str] | None = None
) -> SubResponse:
    """Send ``method url`` (a server-relative URL, query string included) with a JSON ``body``."""
    path, _, query = quote(url, safe=_URL_SAFE).partition("?")
    payload = dumps(body) if body is not None else b""
    scope: Scope = {name: parent.scope[name] for name in _INHERITED_SCOPE if name in parent.scope}
    scope.update(
        type="http",
        method=method,
        path=unquote(path),
        raw_path=path.encode(),
        root_path="",
        query_string=query.encode(),
        headers=_headers(parent, payload, headers or {}),
    )
    exchange = _Exchange(payload)
    try:
        await parent.app.router(scope, exchange.receive, exchange.send)
    except HTTPException as exc:  # the router's own 404 / 405
        handlers, _ = scope["starlette.exception_handlers"]
        response = await handlers[HTTPException](Request(scope, exchange.receive), exc)
        await response(scope, exchange.receive, exchange.send)
    return exchange.result()


@contextlib.contextmanager
def counted_as_one_call(parent: Request) -> Iterator[None]:
    """Whatever subrequests run inside count toward the org's API usage as the one call carrying them."""
    usage = get_state(parent).usage
    before = usage.used()
    try:
        yield
    finally:
        usage.consume(amount=before - usage.used())


def _headers(parent: Request, payload: bytes, extra: Mapping[str, str]) -> list[tuple[bytes, bytes]]:
    headers = {name.lower(): value for name, value in extra.items()}
    headers["authorization"] = parent.headers.get("authorization", "")
    headers["host"] = parent.headers.get("host", "")
    if payload:
        headers["content-type"] = "application/json"
        headers["content-length"] = str(len(payload))
    return [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]


class _Exchange:
    """The ASGI receive/send pair of one subrequest: the body goes in once, the response is collected."""

    def __init__(self, payload: bytes) -> None:
        self._payload: bytes | None = payload
        self._finished = anyio.Event()
        self._status = 500
        self._headers: dict[str, str] = {}
        self._chunks: list[bytes] = []

    async def receive(self) -> Message:
        if self._payload is not None:
            payload, self._payload = self._payload, None
            return {"type": "http.request", "body": payload, "more_body": False}
        await self._finished.wait()  # a streaming response listens for a disconnect until it is done
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self._status = message["status"]
            self._headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in message.get("headers", [])}
        elif message["type"] == "http.response.body":
            self._chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                self._finished.set()

    def result(self) -> SubResponse:
        data = b"".join(self._chunks)
        content_type = self._headers.get("content-type", "")
        body: Any = None
        if data:
            body = json.loads(data) if "json" in content_type else data.decode("utf-8", "replace")
        reported = {name: self._headers[name.lower()] for name in REPORTED_HEADERS if name.lower() in self._headers}
        return SubResponse(self._status, body, reported)
