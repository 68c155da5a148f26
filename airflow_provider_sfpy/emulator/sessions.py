"""Issued access tokens and refresh-token state: what ``Authorization: Bearer`` is checked against.

Tokens look like Salesforce's (``<org id 15>!AQ<random>``) so clients that sniff or log them behave
as in production. Sessions time out after the idle period (2 hours by default, like an org's default
session timeout); ``expire_all`` is the fault-injection hook that invalidates every token at once,
as when an admin resets sessions, so clients have to log in again.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from airflow_provider_sfpy.emulator.defaults import SESSION_TIMEOUT_SECONDS

MAX_SESSIONS_BEFORE_SWEEP = 10_000


@dataclass
class Session:
    token: str
    user_id: str
    username: str
    issued_at: float
    last_used: float
    refresh_token: str | None = None
    scopes: tuple[str, ...] = field(default=("api", "refresh_token", "id"))


class SessionRegistry:
    """Thread-safe registry of live access tokens and revoked refresh tokens."""

    def __init__(
        self,
        org_id: str,
        *,
        timeout: float = SESSION_TIMEOUT_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._org_id15 = org_id[:15]
        self._timeout = timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._sessions: dict[str, Session] = {}
        self._revoked_refresh_tokens: set[str] = set()

    def issue(self, user_id: str, username: str, refresh_token: str | None = None) -> Session:
        token = f"{self._org_id15}!AQ{secrets.token_urlsafe(72).replace('-', '.')}"
        now = self._clock()
        session = Session(token, user_id, username, now, now, refresh_token)
        with self._lock:
            if len(self._sessions) >= MAX_SESSIONS_BEFORE_SWEEP:
                self._sweep(now)
            self._sessions[token] = session
        return session

    def _sweep(self, now: float) -> None:
        """Forget idle sessions (long-lived emulators see many logins; expired ones are never reused)."""
        for key in [k for k, s in self._sessions.items() if now - s.last_used > self._timeout]:
            del self._sessions[key]

    def resolve(self, token: str) -> Session | None:
        """The live session of ``token`` (touching its idle timer), or ``None``."""
        now = self._clock()
        with self._lock:
            session = self._sessions.get(token)
            if session is None:
                return None
            if now - session.last_used > self._timeout:
                del self._sessions[token]
                return None
            session.last_used = now
            return session

    def refresh_token_valid(self, refresh_token: str) -> bool:
        with self._lock:
            return refresh_token not in self._revoked_refresh_tokens

    def revoke(self, token: str, known_refresh_tokens: set[str]) -> bool:
        """Revoke an access token, or a refresh token together with the sessions it produced."""
        with self._lock:
            if self._sessions.pop(token, None) is not None:
                return True
            if token in known_refresh_tokens and token not in self._revoked_refresh_tokens:
                self._revoked_refresh_tokens.add(token)
                for key in [k for k, s in self._sessions.items() if s.refresh_token == token]:
                    del self._sessions[key]
                return True
            return False

    def expire_all(self) -> int:
        """Invalidate every issued access token; returns how many there were."""
        with self._lock:
            count = len(self._sessions)
            self._sessions.clear()
            return count
