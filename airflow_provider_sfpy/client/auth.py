"""OAuth 2.0 login flows: what each sends to ``/services/oauth2/token`` and what it needs first.

Each flow is a small immutable object that knows (a) which settings it requires, checked before
any HTTP call so a half-configured connection fails with the missing field named, and (b) the form
it posts. Secrets are held in fields excluded from ``repr`` so a flow can be logged or shown in a
traceback without leaking them. Posting the form and mapping errors is the transport's job.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import jwt

from airflow_provider_sfpy.client.errors import SalesforceConfigError

JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# Salesforce rejects assertions whose exp is more than 3 minutes away.
JWT_LIFETIME_SECONDS = 170


@dataclass(frozen=True)
class Token:
    """A session: the bearer token and the instance it is valid for."""

    access_token: str = field(repr=False)
    instance_url: str
    id_url: str | None = None
    issued_at: float = field(default_factory=time.time)
    refresh_token: str | None = field(default=None, repr=False)
    scope: str | None = None

    @classmethod
    def from_response(cls, body: dict[str, Any]) -> Token:
        issued_ms = body.get("issued_at")
        try:
            issued = int(issued_ms) / 1000.0 if issued_ms else time.time()
        except (TypeError, ValueError):
            issued = time.time()
        return cls(
            access_token=str(body["access_token"]),
            instance_url=str(body["instance_url"]),
            id_url=body.get("id"),
            issued_at=issued,
            refresh_token=body.get("refresh_token"),
            scope=body.get("scope"),
        )


class AuthFlow:
    """Base of the login flows. ``name`` appears in error messages (never a secret)."""

    name: ClassVar[str] = "login"
    #: Whether the client can log in again on its own when the session expires.
    can_relogin: ClassVar[bool] = True

    def check(self) -> None:
        """Raise SalesforceConfigError naming every missing setting; no network."""
        missing = [label for label, value in self._required() if not value]
        if missing:
            raise SalesforceConfigError(
                f"the {self.name} flow needs {', '.join(missing)}; set "
                f"{'it' if len(missing) == 1 else 'them'} on the client or the Airflow connection"
            )

    def _required(self) -> list[tuple[str, object]]:
        return []

    def token_form(self, login_url: str) -> dict[str, str]:
        """The form posted to ``{login_url}/services/oauth2/token``."""
        raise NotImplementedError


@dataclass(frozen=True)
class PasswordFlow(AuthFlow):
    """Username-password flow (``grant_type=password``); password and security token are concatenated."""

    username: str | None
    password: str | None = field(repr=False)
    client_id: str | None
    client_secret: str | None = field(repr=False)
    security_token: str | None = field(default=None, repr=False)
    name: ClassVar[str] = "password"

    def _required(self) -> list[tuple[str, object]]:
        return [
            ("username", self.username),
            ("password", self.password),
            ("client_id", self.client_id),
            ("client_secret", self.client_secret),
        ]

    def token_form(self, login_url: str) -> dict[str, str]:
        return {
            "grant_type": "password",
            "username": self.username or "",
            "password": (self.password or "") + (self.security_token or ""),
            "client_id": self.client_id or "",
            "client_secret": self.client_secret or "",
        }


@dataclass(frozen=True)
class JwtBearerFlow(AuthFlow):
    """OAuth 2.0 JWT bearer flow: an RS256 assertion signed with the connected app's private key.

    ``audience`` defaults to the login URL (``https://login.salesforce.com``, ``https://test...``
    for sandboxes, or the emulator's URL). The key is PEM text or a path to a PEM file.
    """

    username: str | None
    client_id: str | None
    private_key: str | None = field(default=None, repr=False)
    private_key_file: str | None = None
    audience: str | None = None
    name: ClassVar[str] = "JWT bearer"

    def _required(self) -> list[tuple[str, object]]:
        return [
            ("username", self.username),
            ("client_id (the connected app's consumer key)", self.client_id),
            ("private_key or private_key_file", self.private_key or self.private_key_file),
        ]

    def _key_text(self) -> str:
        if self.private_key:
            return self.private_key
        path = Path(self.private_key_file or "")
        try:
            return path.read_text()
        except OSError as exc:
            raise SalesforceConfigError(
                f"the JWT bearer flow cannot read private_key_file {str(path)!r}: {exc.strerror}"
            ) from None

    def assertion(self, login_url: str) -> str:
        """A freshly signed assertion; each login signs a new one (they expire within 3 minutes)."""
        now = int(time.time())
        claims = {
            "iss": self.client_id,
            "sub": self.username,
            "aud": self.audience or login_url,
            "exp": now + JWT_LIFETIME_SECONDS,
        }
        key = self._key_text()
        try:
            return jwt.encode(claims, key, algorithm="RS256")
        except (ValueError, TypeError, jwt.exceptions.PyJWTError):
            # The underlying message may quote key material; say what is wrong without it.
            raise SalesforceConfigError(
                "the JWT bearer flow's private key is not a usable RSA private key in PEM format "
                "(expected text starting with '-----BEGIN PRIVATE KEY-----' or '-----BEGIN RSA PRIVATE KEY-----')"
            ) from None

    def token_form(self, login_url: str) -> dict[str, str]:
        return {"grant_type": JWT_BEARER_GRANT, "assertion": self.assertion(login_url)}


@dataclass(frozen=True)
class ClientCredentialsFlow(AuthFlow):
    """Client credentials flow: the connected app's id and secret act for its configured run-as user.

    Salesforce only serves this flow on the org's My Domain host, so ``login_url`` must be it.
    """

    client_id: str | None
    client_secret: str | None = field(repr=False)
    name: ClassVar[str] = "client credentials"

    def _required(self) -> list[tuple[str, object]]:
        return [("client_id", self.client_id), ("client_secret", self.client_secret)]

    def token_form(self, login_url: str) -> dict[str, str]:
        return {
            "grant_type": "client_credentials",
            "client_id": self.client_id or "",
            "client_secret": self.client_secret or "",
        }


@dataclass(frozen=True)
class RefreshTokenFlow(AuthFlow):
    """Refresh token flow: trade a long-lived refresh token for a new access token."""

    refresh_token: str | None = field(repr=False)
    client_id: str | None
    client_secret: str | None = field(default=None, repr=False)
    name: ClassVar[str] = "refresh token"

    def _required(self) -> list[tuple[str, object]]:
        return [("refresh_token", self.refresh_token), ("client_id", self.client_id)]

    def token_form(self, login_url: str) -> dict[str, str]:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": self.refresh_token or "",
            "client_id": self.client_id or "",
        }
        if self.client_secret:
            form["client_secret"] = self.client_secret
        return form


@dataclass(frozen=True)
class SessionFlow(AuthFlow):
    """An existing session (access token + instance URL); nothing to post, cannot log in again."""

    instance_url: str | None
    access_token: str | None = field(repr=False)
    name: ClassVar[str] = "session"
    can_relogin: ClassVar[bool] = False

    def _required(self) -> list[tuple[str, object]]:
        return [("instance_url", self.instance_url), ("access_token (session id)", self.access_token)]

    def token(self) -> Token:
        self.check()
        return Token(access_token=self.access_token or "", instance_url=self.instance_url or "")

    def token_form(self, login_url: str) -> dict[str, str]:
        raise SalesforceConfigError("a session login has no token request; it uses the given access token")


def token_from_response(
    flow: AuthFlow, login_url: str, status: int, text: str, content_type: str, url: str
) -> tuple[Token, dict[str, Any]]:
    """The session in a token endpoint's answer, or the flow's refusal as a SalesforceAuthError.

    Shared by the sync and async clients so both name the flow and Salesforce's error the same way
    and both check the returned instance URL (https, or http only to loopback). Also returns the
    token response itself, for callers that hand its non-secret parts back to the user.
    """
    from airflow_provider_sfpy.client.errors import SalesforceAuthError
    from airflow_provider_sfpy.client.transport import describe_error_payload
    from airflow_provider_sfpy.client.urls import normalize_base_url

    if status != 200:
        message, error, _, _ = describe_error_payload(text, content_type, url)
        raise SalesforceAuthError(
            f"{flow.name} login at {login_url} was refused: {error or 'error'}: {message}",
            flow=flow.name,
            error=error,
            status=status,
        )
    payload: dict[str, Any] = json.loads(text)
    payload["instance_url"] = normalize_base_url(
        str(payload.get("instance_url", "")), what="instance_url returned by the token endpoint"
    )
    return Token.from_response(payload), payload
