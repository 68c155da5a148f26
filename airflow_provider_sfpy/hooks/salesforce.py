"""``SalesforcePyHook``: the ``sfpy`` connection turned into a logged-in client.

The hook owns the token: ``get_conn()`` logs in once and the same client (and its token) serves
the hook's lifetime; when Salesforce expires the session the client logs in again by itself. All
secrets of the connection (the text of a ``private_key_file`` and a proxy URL's password included),
and every access token it obtains, are registered with Airflow's log masker so they never show in
task logs; the client also removes them from every error text it raises.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import weakref
from typing import Any

import httpx
from airflow.sdk import BaseHook

from airflow_provider_sfpy.client import Client, RetryPolicy, SalesforceError
from airflow_provider_sfpy.client.aio import AsyncClient
from airflow_provider_sfpy.client.errors import redact
from airflow_provider_sfpy.hooks.connection_fields import CONN_FIELDS, CONN_TYPE, UI_FIELD_BEHAVIOUR
from airflow_provider_sfpy.hooks.masking import mask
from airflow_provider_sfpy.hooks.settings import (
    SECRET_EXTRAS,
    ConnectionSettings,
    build_async_client,
    build_http_client,
    read_extra,
)

# (conn id, settings) -> (token, API version) shared by the async clients of one process (the triggerer).
_SHARED_ASYNC_SESSIONS: dict[tuple[str, ...], tuple[Any, str]] = {}
_LOGIN_LOCKS: dict[tuple[Any, ...], asyncio.Lock] = {}


def _read_settings(conn: Any) -> ConnectionSettings:
    """The connection's settings, with their secrets registered for masking.

    Airflow's ``Connection`` shows its password in its repr, so no frame of a traceback raised from
    here keeps it as a local variable (some traceback printers show locals): a configuration error is
    raised afresh, without the frames that held the connection's fields.
    """
    try:
        settings = ConnectionSettings.from_fields(
            host=conn.host, login=conn.login, password=conn.password, extras=conn.extra_dejson, port=conn.port
        )
    except SalesforceError as exc:
        del conn
        raise exc.with_traceback(None) from None
    for secret in settings.secrets():
        mask(secret)
    return settings


def _session_key(conn_id: str, settings: ConnectionSettings) -> tuple[str, ...]:
    """Which async clients may share a session: same connection id and same fields (a digest, not the secrets)."""
    fields = [repr(settings), settings.password or "", sorted((str(k), str(v)) for k, v in settings.extras.items())]
    return (conn_id, hashlib.sha256(json.dumps(fields).encode()).hexdigest())


def _remember(key: tuple[str, ...], client: AsyncClient) -> None:
    if client.session is not None:
        _SHARED_ASYNC_SESSIONS[key] = client.session


class _SharedHttpClient:
    """One httpx client per connection and event loop, closed when the last async client using it closes.

    Per loop, because an httpx client's pool belongs to the loop it was first used in; kept in a
    ``WeakKeyDictionary`` so a finished loop's entries go with it.
    """

    _by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, ...], _SharedHttpClient]] = (
        weakref.WeakKeyDictionary()
    )

    def __init__(self, key: tuple[str, ...], client: httpx.AsyncClient, loop: asyncio.AbstractEventLoop) -> None:
        self.key, self.client, self.loop, self.users = key, client, loop, 0

    @classmethod
    def borrow(cls, key: tuple[str, ...], settings: ConnectionSettings) -> _SharedHttpClient:
        loop = asyncio.get_running_loop()
        clients = cls._by_loop.setdefault(loop, {})
        shared = clients.get(key)
        if shared is None:
            shared = clients[key] = cls(key, build_http_client(settings), loop)
        shared.users += 1
        return shared

    async def release(self) -> None:
        self.users -= 1
        if self.users > 0:
            return
        clients = self._by_loop.get(self.loop, {})
        if clients.get(self.key) is self:
            del clients[self.key]
        await self.client.aclose()


class SalesforcePyHook(BaseHook):
    """Connect to Salesforce through an ``sfpy`` connection.

    Example::

        hook = SalesforcePyHook(sfpy_conn_id="sfpy_default")
        client = hook.get_conn()
        body, _ = client.query("SELECT Id, Name FROM Account LIMIT 5")

    :param sfpy_conn_id: the Airflow connection (type ``sfpy``).
    :param retry: retry policy for the client (default: 5 attempts, exponential backoff).
    """

    conn_name_attr = "sfpy_conn_id"
    default_conn_name = "sfpy_default"
    conn_type = CONN_TYPE
    hook_name = "Salesforce (sfpy)"

    def __init__(self, sfpy_conn_id: str = default_conn_name, *, retry: RetryPolicy | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.sfpy_conn_id = sfpy_conn_id
        self.retry = retry
        self._client: Client | None = None

    def settings(self) -> ConnectionSettings:
        """The connection's settings, validated, with its secrets registered for masking."""
        return _read_settings(self.get_connection(self.sfpy_conn_id))

    def get_conn(self) -> Client:
        """A logged-in client, created once per hook."""
        if self._client is None:
            settings = self.settings()
            client = settings.build_client(retry=self.retry)
            client.token_listeners.append(mask)  # every token, including those of automatic re-logins
            client.login()
            self.log.info(
                "Connected to Salesforce %s with the %s flow (API v%s)",
                client.instance_url,
                client.auth.name,
                client.version,
            )
            self._client = client
        return self._client

    @classmethod
    async def aget_async_client(cls, sfpy_conn_id: str, *, retry: RetryPolicy | None = None) -> AsyncClient:
        """A logged-in async client for a trigger, reading the connection with Airflow's async API."""
        # The connection is never a local here: its repr shows the password (see _read_settings).
        settings = _read_settings(await cls.aget_connection(sfpy_conn_id))
        # Triggers of one connection in one triggerer share a session: a thousand waits then cost one
        # login and one masked token, not a thousand (each registered secret slows Airflow's log masker).
        key = _session_key(sfpy_conn_id, settings)
        # ... and, within one event loop, one HTTP client: one TLS context and connection pool, not one each.
        http = _SharedHttpClient.borrow(key, settings)
        client = build_async_client(settings, retry=retry, http=http.client)
        client.close_callbacks.append(http.release)
        client.token_listeners.append(mask)
        # One login at a time per connection and event loop, so triggers starting together still share it.
        lock = _LOGIN_LOCKS.setdefault((id(asyncio.get_running_loop()), *key), asyncio.Lock())
        try:
            async with lock:
                shared = _SHARED_ASYNC_SESSIONS.get(key)
                if shared is not None:
                    client.reuse_session(*shared)
                else:
                    await client.login()
        except BaseException:
            await client.aclose()  # the caller never gets the client, so give the shared HTTP client back here
            raise
        client.token_listeners.append(lambda _token: _remember(key, client))
        _remember(key, client)
        return client

    def test_connection(self) -> tuple[bool, str]:
        """Log in and read the org's limits; say what failed if anything does. Never raises.

        The message is shown in Airflow's UI: every secret of the connection and every token is
        removed from it, whatever raised it.
        """
        secrets: list[str] = []
        client: Client | None = None
        try:
            secrets = self._raw_secrets()
            settings = self.settings()
            secrets.extend(settings.secrets())
            client = settings.build_client(retry=RetryPolicy(max_attempts=2, initial_wait=0.2, max_wait=1.0))
            client.login()
            mask(client.session_id)
            secrets.append(client.session_id)
            _, response = client.limits()
            usage = f", API usage {response.api_usage.used}/{response.api_usage.max}" if response.api_usage else ""
            return True, redact(
                f"Connected to {client.instance_url} with the {settings.auth_type} flow as "
                f"{settings.username or 'the connected app user'} (API v{client.version}{usage}).",
                secrets,
            )
        except SalesforceError as exc:
            message = f"Salesforce connection failed: {exc}"
        except Exception as exc:  # the UI shows the message: an unexpected error must not escape as a traceback
            message = f"Salesforce connection failed: {type(exc).__name__}: {exc}"
        finally:
            if client is not None:
                client.close()
        return False, redact(message, secrets)

    def _raw_secrets(self) -> list[str]:
        """The connection's secret fields as stored, for redacting texts before its settings are validated."""
        try:
            conn = self.get_connection(self.sfpy_conn_id)
            extras = conn.extra_dejson
        except Exception:  # a connection that cannot be read has nothing to redact yet
            return []
        values = [conn.password, *(read_extra(extras, name) for name in SECRET_EXTRAS)]
        return [str(v) for v in values if v]

    # Airflow < 3.2 builds the form from these; 3.2+ reads conn-fields from provider info instead.
    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        try:
            from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget, BS3TextFieldWidget
            from flask_babel import lazy_gettext
            from wtforms import PasswordField, StringField
        except ImportError:  # no legacy form libraries: the UI uses conn-fields from provider info
            return {}

        widgets: dict[str, Any] = {}
        for name, spec in CONN_FIELDS.items():
            secret = spec["schema"].get("format") == "password"
            field_cls = PasswordField if secret else StringField
            widget = BS3PasswordFieldWidget() if secret else BS3TextFieldWidget()
            widgets[name] = field_cls(lazy_gettext(spec["label"]), widget=widget, description=spec["description"])
        return widgets

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        return {
            "hidden_fields": UI_FIELD_BEHAVIOUR["hidden-fields"],
            "relabeling": UI_FIELD_BEHAVIOUR["relabeling"],
            "placeholders": UI_FIELD_BEHAVIOUR["placeholders"],
        }
