"""Fault injection and the request log: how tests make the emulator misbehave like production does.

Rules are added at runtime through the admin API (``/__emulator__/faults``) and applied by a pure
ASGI middleware that sits outside everything else, because some faults cannot be expressed as a
response at all: ``drop: "before"`` closes the connection without reading the request, ``"after"``
lets the request take effect and then closes the connection without a response (the "did my POST
land?" case), and ``"partial"`` sends the headers and half of the body before closing. Other rules
answer with an error status (optionally only *after* the request was applied), add latency, or
expire every session.

The request log records every non-admin request with the status actually sent, which is how tests
assert "this POST was sent exactly once" or "the client retried three times".

The admin API is guarded here too, since it can break every client and reads every client's queries:
it answers only an emulator started with an admin token (``--admin-token``, ``EmulatorConfig.admin_token``;
``start_emulator()`` makes a random one), and only requests that carry it (``Authorization: Bearer
<token>`` or ``X-Emulator-Admin-Token: <token>``); otherwise 401, or 403 when no token was set.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

ADMIN_PREFIX = "/__emulator__/"
ADMIN_TOKEN_HEADER = "X-Emulator-Admin-Token"
ADMIN_DISABLED = (
    "the emulator's admin API is disabled: no admin token was set; start the emulator with --admin-token "
    "(EmulatorConfig.admin_token; start_emulator() sets a random one) to use the admin API"
)
ADMIN_UNAUTHORIZED = (
    "the emulator's admin API needs the admin token the emulator was started with (--admin-token), as "
    f"'Authorization: Bearer <token>' or '{ADMIN_TOKEN_HEADER}: <token>'"
)
DROP_MODES = ("before", "after", "partial")
DEFAULT_ERROR_CODES = {
    400: "UNABLE_TO_LOCK_ROW",
    401: "INVALID_SESSION_ID",
    403: "REQUEST_LIMIT_EXCEEDED",
    404: "NOT_FOUND",
    429: "REQUEST_LIMIT_EXCEEDED",
    500: "UNKNOWN_EXCEPTION",
    502: "SERVER_UNAVAILABLE",
    503: "SERVER_UNAVAILABLE",
    504: "SERVER_UNAVAILABLE",
}
DEFAULT_MESSAGES = {
    "UNABLE_TO_LOCK_ROW": "unable to obtain exclusive access to this record or 1 records",
    "INVALID_SESSION_ID": "Session expired or invalid",
    "REQUEST_LIMIT_EXCEEDED": "TotalRequests Limit exceeded.",
    "NOT_FOUND": "The requested resource does not exist",
    "UNKNOWN_EXCEPTION": (
        "An unexpected error occurred. Please include this ErrorId if you contact support: "
        "1234567890-12345 (-1234567890)"
    ),
    "SERVER_UNAVAILABLE": "Server temporarily unavailable. Please try again later.",
}
RULE_KEYS = frozenset(
    {
        "path", "method", "status", "error_code", "message", "retry_after", "body", "content_type",
        "latency", "drop", "after_processing", "expire_sessions", "rate", "seed", "skip", "times",
    }
)  # fmt: skip


class RuleError(ValueError):
    """A fault rule that cannot be used (unknown key, bad value)."""


@dataclass
class FaultRule:
    """One fault; every condition is optional, an empty rule fires on every request."""

    spec: dict[str, Any]
    path: re.Pattern[str] | None = None
    method: str | None = None
    status: int | None = None
    latency: float = 0.0
    drop: str | None = None
    after_processing: bool = False
    expire_sessions: bool = False
    rate: float | None = None
    skip: int = 0
    times: int | None = None
    seen: int = 0
    fired: int = 0
    rng: random.Random = field(default_factory=lambda: random.Random(0))

    @classmethod
    def from_json(cls, spec: object) -> FaultRule:
        if not isinstance(spec, dict):
            raise RuleError("a fault rule must be a JSON object")
        unknown = set(spec) - RULE_KEYS
        if unknown:
            raise RuleError(f"unknown fault rule keys: {', '.join(sorted(unknown))}")
        try:
            rule = cls(
                spec=dict(spec),
                path=re.compile(spec["path"]) if spec.get("path") else None,
                method=str(spec["method"]).upper() if spec.get("method") else None,
                status=int(spec["status"]) if spec.get("status") is not None else None,
                latency=float(spec.get("latency") or 0.0),
                drop=spec.get("drop"),
                after_processing=bool(spec.get("after_processing", False)),
                expire_sessions=bool(spec.get("expire_sessions", False)),
                rate=float(spec["rate"]) if spec.get("rate") is not None else None,
                skip=int(spec.get("skip") or 0),
                times=int(spec["times"]) if spec.get("times") is not None else None,
                rng=random.Random(spec.get("seed", 0)),
            )
        except (TypeError, ValueError, re.error) as exc:
            raise RuleError(f"invalid fault rule {spec!r}: {exc}") from exc
        if rule.drop is not None and rule.drop not in DROP_MODES:
            raise RuleError(f"drop must be one of {', '.join(DROP_MODES)}")
        if rule.after_processing and rule.status is None:
            raise RuleError("after_processing needs a status")
        if rule.rate is not None and not 0.0 <= rule.rate <= 1.0:
            raise RuleError("rate must be between 0 and 1")
        return rule

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (self.path is None or bool(self.path.search(path)))

    def decide(self) -> bool:
        """Called for a matching request: should the fault fire this time? (updates the counters)"""
        self.seen += 1
        if self.seen <= self.skip:
            return False
        if self.times is not None and self.fired >= self.times:
            return False
        if self.rate is not None and self.rng.random() >= self.rate:
            return False
        self.fired += 1
        return True

    def error_body(self, path: str) -> tuple[bytes, str]:
        """The body of the error response and its content type."""
        if self.spec.get("body") is not None:
            return str(self.spec["body"]).encode(), str(self.spec.get("content_type") or "text/html;charset=UTF-8")
        status = self.status or 500
        code = self.spec.get("error_code") or DEFAULT_ERROR_CODES.get(status, "UNKNOWN_EXCEPTION")
        message = self.spec.get("message") or DEFAULT_MESSAGES.get(code, f"HTTP {status}")
        if path.startswith("/services/oauth2/"):
            payload: object = {"error": code, "error_description": message}
        else:
            payload = [{"message": message, "errorCode": code}]
        return json.dumps(payload).encode(), str(self.spec.get("content_type") or "application/json;charset=UTF-8")

    def to_json(self, index: int) -> dict[str, Any]:
        return {"index": index, **self.spec, "seen": self.seen, "fired": self.fired}


class FaultRegistry:
    """The active rules, in order; the first rule that fires for a request wins."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []

    def add(self, specs: list[object]) -> list[dict[str, Any]]:
        rules = [FaultRule.from_json(spec) for spec in specs]  # all or nothing
        with self._lock:
            self._rules.extend(rules)
        return self.list()

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [rule.to_json(i) for i, rule in enumerate(self._rules)]

    def pick(self, method: str, path: str) -> tuple[int, FaultRule] | None:
        with self._lock:
            for index, rule in enumerate(self._rules):
                if rule.matches(method, path) and rule.decide():
                    return index, rule
        return None


class RequestLog:
    """Every request the emulator received (admin API excepted), oldest first.

    Entries are appended when a request arrives and completed (``status``, ``drop``) as it is answered.
    """

    def __init__(self, max_entries: int = 100_000) -> None:
        self._lock = threading.Lock()
        self._entries: list[dict[str, Any]] = []
        self._max = max_entries

    def append(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._entries.append(entry)
            if len(self._entries) > self._max:
                del self._entries[: len(self._entries) - self._max]

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(e) for e in self._entries]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def _abort_connection(send: Send) -> bool:
    """Close the client connection at once, without a response.

    ASGI has no message for this, so it reaches for the server's transport: uvicorn passes its
    per-request cycle's bound ``send``, whose owner holds the asyncio transport. Marking the cycle
    disconnected stops uvicorn from then writing its own 500 into the closed socket.
    """
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        return False
    cycle.disconnected = True  # type: ignore[union-attr]
    transport.abort()
    return True


async def _broken_response(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    """Fallback for servers without a reachable transport: promise more body than is sent and stop,
    which makes the server close the connection mid-response."""
    headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
    headers.append((b"content-length", str(len(body) + 1).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": True})


@dataclass
class _Captured:
    status: int = 500
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytearray = field(default_factory=bytearray)


def admin_token_of(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The admin token a request carries (``X-Emulator-Admin-Token``, else ``Authorization: Bearer``)."""
    bearer = None
    for name, value in headers:
        lowered = name.lower()
        if lowered == ADMIN_TOKEN_HEADER.lower().encode():
            return value.decode("latin-1").strip()
        if lowered == b"authorization":
            scheme, _, credentials = value.decode("latin-1").strip().partition(" ")
            if scheme.lower() == "bearer":
                bearer = credentials.strip()
    return bearer


async def _send_json(send: Send, status: int, payload: object, headers: list[tuple[bytes, bytes]]) -> None:
    body = json.dumps(payload).encode()
    headers = [
        (b"content-type", b"application/json;charset=UTF-8"),
        (b"content-length", str(len(body)).encode()),
        *headers,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class FaultInjectionMiddleware:
    """Outermost ASGI layer: applies fault rules and logs requests; the admin API passes untouched
    (never faulted, never logged), once its token is checked."""

    def __init__(
        self,
        app: ASGIApp,
        faults: FaultRegistry,
        log: RequestLog,
        expire_sessions: Callable[[], object],
        admin_token: str | None = None,
    ) -> None:
        self.app = app
        self.faults = faults
        self.log = log
        self.expire_sessions = expire_sessions
        self._admin_token = admin_token.encode() if admin_token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"].startswith(ADMIN_PREFIX):
            if self._admin_allowed(scope):
                await self.app(scope, receive, send)
            else:
                await self._refuse_admin(send)
            return
        entry: dict[str, Any] = {
            "method": scope["method"],
            "path": scope["path"],
            "query": scope.get("query_string", b"").decode("latin-1"),
            "status": None,
            "fault": None,
            "drop": None,
            "time": time.time(),
        }
        # Logged on arrival (status filled in when it is sent): a client that gave up waiting can
        # still see that its request reached the server.
        self.log.append(entry)
        hit = self.faults.pick(scope["method"], scope["path"])
        if hit is None:
            await self.app(scope, receive, self._recording(send, entry))
        else:
            entry["fault"] = hit[0]
            await self._apply(hit[1], scope, receive, send, entry)

    def _admin_allowed(self, scope: Scope) -> bool:
        """The admin API is enabled and the request carries its token."""
        if self._admin_token is None:
            return False
        given = admin_token_of(scope.get("headers", []))
        return given is not None and hmac.compare_digest(given.encode("latin-1"), self._admin_token)

    async def _refuse_admin(self, send: Send) -> None:
        if self._admin_token is None:
            await _send_json(send, 403, {"error": ADMIN_DISABLED, "errorCode": "ADMIN_API_DISABLED"}, [])
        else:
            challenge = [(b"www-authenticate", b'Bearer realm="sfpy-emulator admin API"')]
            await _send_json(send, 401, {"error": ADMIN_UNAUTHORIZED, "errorCode": "ADMIN_TOKEN_REQUIRED"}, challenge)

    @staticmethod
    def _recording(send: Send, entry: dict[str, Any]) -> Send:
        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                entry["status"] = message["status"]
            await send(message)

        return recording_send

    async def _apply(self, rule: FaultRule, scope: Scope, receive: Receive, send: Send, entry: dict[str, Any]) -> None:
        if rule.latency:
            await asyncio.sleep(rule.latency)
        if rule.expire_sessions:
            self.expire_sessions()
        if rule.drop == "before":
            await self._drop(send, entry, "before")
            return
        if rule.drop is None and not rule.after_processing:
            if rule.status is not None:
                await self._send_error(rule, scope, send, entry)
            else:  # latency / expire_sessions only: then handle the request normally
                await self.app(scope, receive, self._recording(send, entry))
            return
        captured = await self._run_captured(scope, receive)
        if rule.drop == "after":
            await self._drop(send, entry, "after")
        elif rule.drop == "partial" and captured.body:
            await self._send_partial(send, captured, entry)
        elif rule.drop == "partial":
            await self._drop(send, entry, "after")
        else:
            await self._send_error(rule, scope, send, entry)

    async def _run_captured(self, scope: Scope, receive: Receive) -> _Captured:
        captured = _Captured()

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured.status = message["status"]
                captured.headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                captured.body += message.get("body", b"")

        await self.app(scope, receive, capture)
        return captured

    async def _send_error(self, rule: FaultRule, scope: Scope, send: Send, entry: dict[str, Any]) -> None:
        status = rule.status or 500
        body, content_type = rule.error_body(scope["path"])
        headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
        if rule.spec.get("retry_after") is not None:
            headers.append((b"retry-after", str(rule.spec["retry_after"]).encode()))
        entry["status"] = status
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _drop(self, send: Send, entry: dict[str, Any], mode: str) -> None:
        entry["drop"] = mode
        if not _abort_connection(send):
            await _broken_response(send, 500, [], b"")

    async def _send_partial(self, send: Send, captured: _Captured, entry: dict[str, Any]) -> None:
        entry["drop"] = "partial"
        entry["status"] = captured.status
        half = bytes(captured.body[: len(captured.body) // 2])
        await send({"type": "http.response.start", "status": captured.status, "headers": captured.headers})
        await send({"type": "http.response.body", "body": half, "more_body": True})
        if not _abort_connection(send):
            return  # returning mid-body makes the server close the connection
