"""OAuth 2.0 login flows: what each sends to ``/services/oauth2/token`` and what it needs first.

Each flow is a small immutable object that knows (a) which settings it requires, checked before
any HTTP call so a half-configured connection fails with the missing field named, and (b) the form
it posts. Secrets are held in fields excluded from ``repr`` so a flow can be logged or shown in a
traceback without leaking them, and the form is a ``SecretForm`` whose repr shows only field names.
Posting the form is the transport's job; reading the token endpoint's answer (``token_from_response``)
is shared by the sync and async clients, and never quotes that answer: a token endpoint, or a proxy in
front of it, may echo the form it was sent, password and client secret included. A refusal says what
to check (``login_hints.py``). PyJWT and cryptography are imported only when a JWT assertion is signed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, NoReturn

from airflow_provider_sfpy.client.errors import (
    Redactor,
    SalesforceAuthError,
    SalesforceConfigError,
    SalesforceError,
)
from airflow_provider_sfpy.client.login_hints import login_hint

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


class SecretForm(dict[str, str]):
    """A login form: a plain dict to ``requests`` and ``httpx``, but its repr shows only the field names.

    ``secrets`` are the flow's secrets (and the values of the form's secret fields), for the
    transport to redact from any answer that echoes them.
    """

    secrets: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"<login form: {', '.join(self)} (values hidden)>"

    __str__ = __repr__


#: Form fields whose values are secrets.
SECRET_FORM_FIELDS = frozenset({"password", "client_secret", "refresh_token", "assertion", "client_assertion"})


def secret_form(fields: dict[str, str], secrets: Iterable[str | None]) -> SecretForm:
    form = SecretForm(fields)
    found = [*(v for k, v in fields.items() if k in SECRET_FORM_FIELDS), *secrets]
    form.secrets = tuple(dict.fromkeys(s for s in found if s))
    return form


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

    def secrets(self) -> list[str]:
        """Every secret this flow holds or has sent, for redacting answers that may echo them."""
        return []

    def token_form(self, login_url: str) -> SecretForm:
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

    def secrets(self) -> list[str]:
        joined = (self.password or "") + (self.security_token or "")
        return [s for s in (joined, self.password, self.security_token, self.client_secret) if s]

    def token_form(self, login_url: str) -> SecretForm:
        fields = {
            "grant_type": "password",
            "username": self.username or "",
            "password": (self.password or "") + (self.security_token or ""),
            "client_id": self.client_id or "",
            "client_secret": self.client_secret or "",
        }
        return secret_form(fields, self.secrets())


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
    #: The assertions signed last (newest last), redacted from answers like the key itself.
    _signed: list[str] = field(default_factory=list, repr=False, compare=False)
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
        # Imported here, not with the module: PyJWT loads cryptography (megabytes of native code), which
        # a worker using any other flow never needs.
        import jwt

        try:
            signed = jwt.encode(claims, key, algorithm="RS256")
        except (ValueError, TypeError, jwt.exceptions.PyJWTError):
            del key  # not shown by a traceback printer that shows locals
            # The underlying message may quote key material; say what is wrong without it.
            raise SalesforceConfigError(
                "the JWT bearer flow's private key is not a usable RSA private key in PEM format "
                "(expected text starting with '-----BEGIN PRIVATE KEY-----' or '-----BEGIN RSA PRIVATE KEY-----')"
            ) from None
        self._signed.append(signed)
        del self._signed[:-4]
        return signed

    def secrets(self) -> list[str]:
        try:
            key = self._key_text()
        except SalesforceConfigError:
            key = ""
        return [s for s in (key, *self._signed) if s]

    def token_form(self, login_url: str) -> SecretForm:
        assertion = self.assertion(login_url)
        return secret_form({"grant_type": JWT_BEARER_GRANT, "assertion": assertion}, self.secrets())


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

    def secrets(self) -> list[str]:
        return [self.client_secret] if self.client_secret else []

    def token_form(self, login_url: str) -> SecretForm:
        fields = {
            "grant_type": "client_credentials",
            "client_id": self.client_id or "",
            "client_secret": self.client_secret or "",
        }
        return secret_form(fields, self.secrets())


@dataclass(frozen=True)
class RefreshTokenFlow(AuthFlow):
    """Refresh token flow: trade a long-lived refresh token for a new access token."""

    refresh_token: str | None = field(repr=False)
    client_id: str | None
    client_secret: str | None = field(default=None, repr=False)
    name: ClassVar[str] = "refresh token"

    def _required(self) -> list[tuple[str, object]]:
        return [("refresh_token", self.refresh_token), ("client_id", self.client_id)]

    def secrets(self) -> list[str]:
        return [s for s in (self.refresh_token, self.client_secret) if s]

    def token_form(self, login_url: str) -> SecretForm:
        fields = {
            "grant_type": "refresh_token",
            "refresh_token": self.refresh_token or "",
            "client_id": self.client_id or "",
        }
        if self.client_secret:
            fields["client_secret"] = self.client_secret
        return secret_form(fields, self.secrets())


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

    def secrets(self) -> list[str]:
        return [self.access_token] if self.access_token else []

    def token_form(self, login_url: str) -> SecretForm:
        raise SalesforceConfigError("a session login has no token request; it uses the given access token")


def _answer_kind(text: str, content_type: str) -> str:
    """What a body that is not the expected JSON is, in words; never its content."""
    stripped = text.lstrip()[:200].lower()
    size = f"{len(text.encode('utf-8', 'replace')):,} bytes"
    if not stripped:
        return "an empty body, not JSON"
    if "html" in content_type.lower() or stripped.startswith(("<!doctype html", "<html")) or "<body" in stripped:
        return f"an HTML page ({size}), not JSON — is the login URL right?"
    return f"a body that is not JSON ({content_type or 'no content type'}, {size})"


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return f"a JSON list ({len(value)} items), not the token object"
    if value is None:
        return "JSON null, not the token object"
    return f"a JSON {type(value).__name__}, not the token object"


def token_from_response(
    flow: AuthFlow, login_url: str, status: int, text: str, content_type: str, url: str
) -> tuple[Token, dict[str, Any]]:
    """The session in a token endpoint's answer; a refusal or an unusable answer as a SalesforceAuthError.

    Shared by the sync and async clients so both name the flow and Salesforce's error the same way
    and both check the returned instance URL (https, or http only to loopback). Also returns the
    token response itself, for callers that hand its non-secret parts back to the user.

    The answer is summarised, never quoted: its status, Salesforce's ``error`` and its
    ``error_description`` with the flow's secrets redacted, or what kind of body came instead (an
    HTML page, not JSON, ...), and what to check.
    """
    redactor = Redactor(flow.secrets())
    try:
        payload: Any = json.loads(text) if text.strip() else None
        parsed = True
    except ValueError:
        payload, parsed = None, False
    kind = _answer_kind(text, content_type) if not parsed or payload is None else _json_kind(payload)
    del text  # the raw answer may echo the form: keep it out of the locals a traceback printer shows

    def refuse(what: str, *, error: str | None = None, description: str = "") -> NoReturn:
        raise SalesforceAuthError(
            f"{flow.name} login at {login_url} {what}{'' if what.endswith('?') else '.'} "
            f"{login_hint(flow.name, error, description)}",
            flow=flow.name,
            error=error,
            status=status,
        )

    if isinstance(payload, dict) and payload.get("error"):
        error = redactor.redact(str(payload["error"]))[:100]
        description = redactor.redact(str(payload.get("error_description") or "")).strip()[:500]
        payload = None
        refused = f"was refused: {error}: {description}" if description else f"was refused: {error}"
        refuse(refused, error=error, description=description)
    if status != 200:
        payload = None
        refuse(f"was refused without an OAuth error: the token endpoint answered {kind}")
    if not isinstance(payload, dict):
        payload = None
        refuse(f"failed: instead of a token, the token endpoint answered {kind}")
    missing = [
        key for key in ("access_token", "instance_url") if not isinstance(payload.get(key), str) or not payload[key]
    ]
    if missing:
        payload = None
        refuse(f"failed: the token endpoint's answer has no {' and no '.join(missing)}")
    try:
        payload["instance_url"] = _instance_url(str(payload["instance_url"]))
    except SalesforceError as exc:
        payload = None
        if isinstance(exc, SalesforceConfigError):
            raise SalesforceConfigError(redactor.redact(exc.message)) from None
        refuse(f"failed: the token endpoint's answer has an unusable instance_url ({redactor.redact(exc.message)})")
    return Token.from_response(payload), payload


def _instance_url(value: str) -> str:
    from airflow_provider_sfpy.client.urls import normalize_base_url

    what = "instance_url returned by the token endpoint"
    try:
        return normalize_base_url(value, what=what)
    except SalesforceError:
        raise
    except ValueError as exc:  # e.g. urllib's "Port out of range": not a URL we can use
        raise SalesforceError(f"it is not a valid URL: {exc}") from None
