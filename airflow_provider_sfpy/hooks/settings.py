"""From an Airflow connection's fields to a configured client — no Airflow imports, so it is testable alone.

Extras may be stored under short keys (``client_id``) or the prefixed form old connection forms
write (``extra__sfpy__client_id``); both are read, short keys first. Every auth type's required
fields are checked here, before any HTTP call, so a half-filled connection fails naming what is
missing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

from airflow_provider_sfpy.client import Client, RetryPolicy
from airflow_provider_sfpy.client.aio import AsyncClient, make_http_client
from airflow_provider_sfpy.client.auth import (
    AuthFlow,
    ClientCredentialsFlow,
    JwtBearerFlow,
    PasswordFlow,
    RefreshTokenFlow,
    SessionFlow,
)
from airflow_provider_sfpy.client.errors import SalesforceConfigError
from airflow_provider_sfpy.client.quota import MaxApiUsage
from airflow_provider_sfpy.client.transport import DEFAULT_REQUEST_DEADLINE
from airflow_provider_sfpy.client.urls import DEFAULT_LOGIN_URL
from airflow_provider_sfpy.hooks.connection_fields import AUTH_TYPES, CONN_TYPE

SECRET_EXTRAS = ("client_secret", "security_token", "private_key", "refresh_token", "access_token")


def read_extra(extras: Mapping[str, Any], name: str) -> Any:
    """An extra by its short name or its ``extra__sfpy__`` prefixed name; blank strings count as unset."""
    for key in (name, f"extra__{CONN_TYPE}__{name}"):
        value = extras.get(key)
        if value is not None and not (isinstance(value, str) and not value.strip()):
            return value.strip() if isinstance(value, str) and name != "private_key" else value
    return None


@dataclass(frozen=True)
class ConnectionSettings:
    """Everything the hook needs from a connection, validated."""

    auth_type: str
    login_url: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    extras: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_fields(
        cls,
        *,
        host: str | None,
        login: str | None,
        password: str | None,
        extras: Mapping[str, Any] | None,
        port: int | None = None,
    ) -> ConnectionSettings:
        extras = dict(extras or {})
        auth_type = (read_extra(extras, "auth_type") or _infer_auth_type(login, password, extras)).lower()
        if auth_type not in AUTH_TYPES:
            raise SalesforceConfigError(
                f"connection extra auth_type={auth_type!r} is not one of {', '.join(AUTH_TYPES)}"
            )
        login_url = _with_port((host or "").strip(), port) or DEFAULT_LOGIN_URL
        _check_port(login_url, "connection host")
        return cls(
            auth_type=auth_type,
            login_url=login_url,
            username=(login or "").strip() or None,
            password=password or None,
            extras=extras,
        )

    def extra(self, name: str) -> Any:
        return read_extra(self.extras, name)

    def secrets(self) -> list[str]:
        """Every secret value in the connection, for Airflow's log masker.

        Besides the password and the secret extras: the text of ``private_key_file`` (when it can be
        read) and the password of any proxy URL in ``proxies``.
        """
        values = [self.password, *(self.extra(name) for name in SECRET_EXTRAS)]
        values.append(self._key_file_text())
        values.extend(self._proxy_passwords())
        return list(dict.fromkeys(str(v) for v in values if v))

    def _key_file_text(self) -> str | None:
        path = self.extra("private_key_file")
        if not path:
            return None
        try:
            return Path(str(path)).read_text()
        except (OSError, UnicodeDecodeError, ValueError):
            return None  # the JWT flow says why it cannot read it when it is used

    def _proxy_passwords(self) -> list[str]:
        raw = self.extra("proxies")
        if raw is None:
            return []
        try:
            proxies = raw if isinstance(raw, dict) else json.loads(raw)
        except ValueError:
            proxies = {}
        urls = [str(v) for v in proxies.values()] if isinstance(proxies, dict) else []
        if not isinstance(raw, dict):
            urls.append(str(raw))  # unparsable: whatever looks like a URL's password in the raw text
        found: list[str] = []
        for url in urls:
            for candidate in url.replace('"', " ").replace(",", " ").split():
                try:
                    password = urlsplit(candidate).password
                except ValueError:
                    continue
                if password:
                    found.extend({password, unquote(password)})
        return found

    def auth_flow(self) -> AuthFlow:
        flow: AuthFlow
        if self.auth_type == "password":
            flow = PasswordFlow(
                username=self.username,
                password=self.password,
                client_id=self.extra("client_id"),
                client_secret=self.extra("client_secret"),
                security_token=self.extra("security_token"),
            )
        elif self.auth_type == "jwt":
            flow = JwtBearerFlow(
                username=self.username,
                client_id=self.extra("client_id"),
                private_key=self.extra("private_key"),
                private_key_file=self.extra("private_key_file"),
                audience=self.extra("audience"),
            )
        elif self.auth_type == "client_credentials":
            flow = ClientCredentialsFlow(client_id=self.extra("client_id"), client_secret=self.extra("client_secret"))
        elif self.auth_type == "refresh_token":
            flow = RefreshTokenFlow(
                refresh_token=self.extra("refresh_token"),
                client_id=self.extra("client_id"),
                client_secret=self.extra("client_secret"),
            )
        else:
            instance_url = self.extra("instance_url")
            if instance_url:
                _check_port(str(instance_url), "connection extra instance_url")
            flow = SessionFlow(
                instance_url=instance_url or (self.login_url if self.login_url != DEFAULT_LOGIN_URL else None),
                access_token=self.extra("access_token") or self.password,
            )
        flow.check()
        return flow

    def timeout(self) -> tuple[float, float] | None:
        raw = self.extra("timeout")
        if raw is None:
            return None
        try:
            seconds = float(raw)
        except (TypeError, ValueError):
            raise SalesforceConfigError(f"connection extra timeout={raw!r} must be a number of seconds") from None
        if seconds <= 0:
            raise SalesforceConfigError(f"connection extra timeout={raw!r} must be positive")
        return (min(10.0, seconds), seconds)

    def request_deadline(self) -> float | None:
        """Extra ``request_deadline``: seconds one request may take in all, body included (default 900;
        ``0`` for no limit). ``timeout`` bounds each wait for a byte; this bounds a server that drips."""
        raw = self.extra("request_deadline")
        if raw is None:
            return DEFAULT_REQUEST_DEADLINE
        try:
            seconds = float(raw)
        except (TypeError, ValueError):
            raise SalesforceConfigError(
                f"connection extra request_deadline={raw!r} must be a number of seconds (0 for no limit)"
            ) from None
        if seconds < 0:
            raise SalesforceConfigError(f"connection extra request_deadline={raw!r} must be 0 (no limit) or more")
        return seconds or None

    def max_api_usage(self) -> MaxApiUsage | None:
        """Extra ``max_api_usage``: stop before the org's daily API usage passes it, a fraction of the org's
        allocation (``0.8``) or a number of requests (``12000``); unset: no limit (see ``client/quota.py``)."""
        return MaxApiUsage.parse(self.extra("max_api_usage"), setting="connection extra max_api_usage")

    def proxies(self) -> dict[str, str] | None:
        raw = self.extra("proxies")
        if raw is None or isinstance(raw, dict):
            return raw
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = None
        del raw  # may hold a proxy password: not a local of the frame an error is raised from
        if parsed is None:
            raise SalesforceConfigError('connection extra proxies must be JSON like {"https": "http://proxy:3128"}')
        if not isinstance(parsed, dict):
            del parsed
            raise SalesforceConfigError('connection extra proxies must be a JSON object like {"https": "..."}')
        return {str(k): str(v) for k, v in parsed.items()}

    def build_client(self, retry: RetryPolicy | None = None) -> Client:
        """A configured, not yet logged-in client, which redacts every connection secret from its error texts."""
        flow = self.auth_flow()
        login_url = self.login_url
        if isinstance(flow, SessionFlow):
            login_url = flow.instance_url or login_url
        version = self.extra("version")
        client = Client(
            login_url=login_url,
            auth=flow,
            version=str(version) if version is not None else None,
            timeout=self.timeout(),
            proxies=self.proxies(),
            ca_bundle=self.extra("ca_bundle"),
            retry=retry,
            request_deadline=self.request_deadline(),
            max_api_usage=self.max_api_usage(),
        )
        client.transport.redactor.add(*self.secrets())
        return client


def build_http_client(settings: ConnectionSettings) -> httpx.AsyncClient:
    """An HTTP client with the connection's TLS, timeout and proxy settings, to share between async clients."""
    return make_http_client(
        timeout=settings.timeout(), ca_bundle=settings.extra("ca_bundle"), proxies=settings.proxies()
    )


def build_async_client(
    settings: ConnectionSettings, retry: RetryPolicy | None = None, *, http: httpx.AsyncClient | None = None
) -> AsyncClient:
    """The async (httpx) client for the same connection, for triggers (``http``: a shared HTTP client)."""
    flow = settings.auth_flow()
    login_url = flow.instance_url or settings.login_url if isinstance(flow, SessionFlow) else settings.login_url
    version = settings.extra("version")
    return AsyncClient(
        login_url=str(login_url),
        auth=flow,
        version=str(version) if version is not None else None,
        timeout=settings.timeout(),
        ca_bundle=settings.extra("ca_bundle"),
        proxies=settings.proxies(),
        retry=retry,
        http=http,
        request_deadline=settings.request_deadline(),
        max_api_usage=settings.max_api_usage(),
    )


def _with_port(host: str, port: int | None) -> str:
    """Connections parsed from a URI keep the port apart from the host; put it back."""
    if not host or not port:
        return host
    authority = host.split("://", 1)[-1].split("/", 1)[0]
    if ":" in authority.rsplit("]", 1)[-1]:
        return host  # the host already names a port
    try:
        number = int(port)
    except (TypeError, ValueError):
        number = -1
    if not 0 < number < 65536:
        raise SalesforceConfigError(
            f"connection port {port!r} is not a TCP port (1-65535); fix or clear the Port field"
        )
    port = number
    if "://" in host:
        scheme, rest = host.split("://", 1)
        name, _, path = rest.partition("/")
        return f"{scheme}://{name}:{port}" + (f"/{path}" if path else "")
    return f"{host}:{port}"


def _check_port(url: str, setting: str) -> None:
    """Raise SalesforceConfigError naming ``setting`` if the port in ``url`` is not a TCP port."""
    raw = url.strip()
    try:
        port = urlsplit(raw if "://" in raw else f"https://{raw}").port
    except ValueError:
        port = -1
    if port is not None and not 0 < port < 65536:
        authority = urlsplit(raw if "://" in raw else f"https://{raw}").netloc.rsplit("@", 1)[-1]
        raise SalesforceConfigError(
            f"{setting} {authority!r} names a port that is not a TCP port (1-65535); "
            "give a host such as login.salesforce.com or https://host[:port]"
        )


def _infer_auth_type(login: str | None, password: str | None, extras: Mapping[str, Any]) -> str:
    """Guess the flow from the filled fields, for connections that don't say."""
    if read_extra(extras, "private_key") or read_extra(extras, "private_key_file"):
        return "jwt"
    if read_extra(extras, "refresh_token"):
        return "refresh_token"
    if read_extra(extras, "access_token"):
        return "session"
    if not login and read_extra(extras, "client_id") and read_extra(extras, "client_secret"):
        return "client_credentials"
    return "password"
