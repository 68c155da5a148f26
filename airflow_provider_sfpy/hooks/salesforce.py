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
import re
import weakref
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

import httpx
from airflow.sdk import BaseHook

from airflow_provider_sfpy.client import Client, QueryStream, RetryPolicy, SalesforceConfigError, SalesforceError
from airflow_provider_sfpy.client.aio import AsyncClient
from airflow_provider_sfpy.client.auth import Token
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

if TYPE_CHECKING:  # the Pub/Sub client (grpc, fastavro) is imported only where it is used
    from airflow_provider_sfpy.client.pubsub import PubSubClient, PubSubCredentials

#: Salesforce's Pub/Sub API endpoint (connection extra ``pubsub_url`` overrides it).
DEFAULT_PUBSUB_URL = "grpcs://api.pubsub.salesforce.com:7443"

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


async def _log_in_once(client: AsyncClient, key: tuple[str, ...], *, refused: Token | None = None) -> None:
    """Give ``client`` the connection's shared session, or log it in when there is none (or only ``refused``).

    One login at a time per connection and event loop, so triggers starting together (or all finding
    their token expired together) share one login instead of making one each.
    """
    lock = _LOGIN_LOCKS.setdefault((id(asyncio.get_running_loop()), *key), asyncio.Lock())
    async with lock:
        shared = _SHARED_ASYNC_SESSIONS.get(key)
        if shared is not None and shared[0] is not refused:
            client.reuse_session(*shared)
        else:
            await client.login()


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

    Code written for ``apache-airflow-providers-salesforce``'s ``SalesforceHook`` finds its helpers
    here under the same names: ``make_query``, ``describe_object``, ``get_available_fields`` and
    ``get_object_from_salesforce`` (see docs/migrating.md).

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
        try:
            await _log_in_once(client, key)
        except BaseException:
            await client.aclose()  # the caller never gets the client, so give the shared HTTP client back here
            raise
        client.token_listeners.append(lambda _token: _remember(key, client))
        _remember(key, client)
        return client

    @classmethod
    @asynccontextmanager
    async def apubsub_client(cls, sfpy_conn_id: str) -> AsyncIterator[PubSubClient]:
        """A Pub/Sub API client of the connection, for a trigger; closed when the ``async with`` ends.

        It logs in through ``aget_async_client`` (so the triggers of one connection share one login)
        and is handed the credentials by a callback: the access token, the instance URL and the org id
        (from the token's identity URL, or ``/services/oauth2/userinfo`` when the flow gives none).
        When the Pub/Sub API refuses the token (expired), the callback logs in again, once for every
        trigger of the connection. Connection extra ``pubsub_url`` names the endpoint
        (``DEFAULT_PUBSUB_URL``); the ``ca_bundle`` extra is trusted for it as for REST.
        """
        from airflow_provider_sfpy.client.pubsub import PubSubClient  # grpc and fastavro: only here

        settings = _read_settings(await cls.aget_connection(sfpy_conn_id))
        target, tls = pubsub_endpoint(settings.extra("pubsub_url"))
        root_certificates = _read_ca_bundle(settings.extra("ca_bundle")) if tls else None
        rest = await cls.aget_async_client(sfpy_conn_id)
        key = _session_key(sfpy_conn_id, settings)
        credentials = _PubSubLogin(rest, key)
        client = PubSubClient(target, tls=tls, root_certificates=root_certificates, credentials=credentials)
        try:
            yield client
        finally:
            try:
                await client.aclose()
            finally:
                await rest.aclose()

    # ------------------------------------------------------------------ the official provider's helpers
    # Named and shaped as apache-airflow-providers-salesforce's SalesforceHook, so migrated code runs
    # unchanged; each is a few lines over the client, which is what new code should call instead.

    def make_query(
        self, query: str, include_deleted: bool = False, query_params: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Every record of a SOQL query at once: ``{"totalSize", "done": True, "records": [...]}``.

        For migration: the shape the official ``SalesforceHook.make_query`` returns (simple-salesforce's
        ``query_all``), every page read. It holds the whole result in memory, so for large results
        prefer streaming: ``get_conn().query_records(soql)`` yields one page's records at a time, and
        ``SalesforceQueryToFileOperator`` (REST) or ``SalesforceBulkQueryOperator`` (Bulk API 2.0)
        write a file of any size.

        Two differences from the official hook. ``totalSize`` is Salesforce's own count, so
        ``SELECT COUNT() FROM Account`` reports the count (the official hook counts the records it
        received, none, and says 0). The official hook hands ``query_params`` to ``requests``; the
        only per-query setting with a meaning here is the page size, given as ``{"batch_size": 500}``
        or ``{"headers": {"Sforce-Query-Options": "batchSize=500"}}``. Anything else is refused
        (``SalesforceConfigError``) rather than ignored: timeouts and proxies are the connection's
        ``timeout``, ``request_deadline`` and ``proxies`` extras.

        :param query: the SOQL query.
        :param include_deleted: use ``queryAll`` (deleted and archived records too).
        :param query_params: the page size, as above.
        """
        batch_size = _query_batch_size(query_params)
        stream: QueryStream = (
            self.get_conn().query_more(query, include_deleted=include_deleted, batch_size=batch_size, stream=True).body
        )
        records = list(stream.records())
        self.log.info(
            "Query read %d records in %d pages (totalSize %d)", len(records), stream.pages_read, stream.total_size
        )
        return {"totalSize": stream.total_size, "done": True, "records": records}

    def describe_object(self, obj: str) -> dict[str, Any]:
        """The object's describe (``GET /sobjects/<obj>/describe``): its fields, relationships and metadata.

        For migration: what the official ``SalesforceHook.describe_object`` returns. New code can call
        ``get_conn().sobjects(object_type=obj).describe()``, which also gives the response (API usage).
        An unknown object raises ``SalesforceNotFoundError``.
        """
        body, _ = self.get_conn().sobjects(object_type=obj).describe()
        return cast("dict[str, Any]", body)

    def get_available_fields(self, obj: str) -> list[str]:
        """The API names of the object's fields, in describe order (for migration, as the official hook)."""
        return [str(field["name"]) for field in self.describe_object(obj)["fields"]]

    def get_object_from_salesforce(self, obj: str, fields: Iterable[str]) -> dict[str, Any]:
        """Every record of ``obj`` with ``fields``: ``make_query("SELECT <fields> FROM <obj>")``.

        For migration, as the official hook, with one difference: the object and field names are
        checked to be SOQL names (``Name``, ``Owner.Name``, ``ns__Field__c``) before they are put into
        the query, so a value from elsewhere cannot change what the query does; anything else raises
        ``SalesforceConfigError``. For large objects prefer ``SalesforceBulkQueryOperator``.
        """
        names = list(fields)
        if not names:
            raise SalesforceConfigError(f"get_object_from_salesforce({obj!r}, ...) needs at least one field")
        if not isinstance(obj, str) or not _SOQL_NAME.fullmatch(obj):
            raise SalesforceConfigError(f"{obj!r} is not an sObject name such as 'Account' or 'Invoice__c'")
        wrong = [name for name in names if not isinstance(name, str) or not _SOQL_FIELD_PATH.fullmatch(name)]
        if wrong:
            raise SalesforceConfigError(
                f"not SOQL field names: {', '.join(map(repr, wrong))} (give names such as 'Name' or 'Owner.Name')"
            )
        self.log.info("Querying %d fields of every %s", len(names), obj)
        return self.make_query(f"SELECT {', '.join(names)} FROM {obj}")

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
            known = client.quota.usage if client.quota is not None else None
            if known is None:  # no max_api_usage, or /limits refused at login: ask once
                _, response = client.limits()
                known = response.api_usage
            usage = f", API usage {known.used}/{known.max}" if known else ""
            if known and client.quota is not None:
                usage += f", max_api_usage stops at {client.quota.max_usage.allowed(known.max):,}"
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


def pubsub_endpoint(url: str | None) -> tuple[str, bool]:
    """``(host:port, tls)`` of a ``pubsub_url``: ``grpcs://`` is TLS, ``grpc://`` plaintext (loopback only)."""
    from airflow_provider_sfpy.client.urls import is_loopback_host

    raw = (url or DEFAULT_PUBSUB_URL).strip()
    parts = urlsplit(raw if "://" in raw else f"grpcs://{raw}")
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme not in ("grpc", "grpcs") or not parts.hostname or port is None or parts.path.strip("/"):
        raise SalesforceConfigError(
            f"connection extra pubsub_url={raw!r} is not grpcs://host:port (TLS, e.g. {DEFAULT_PUBSUB_URL}) "
            "or grpc://host:port (no TLS, a local emulator)"
        )
    if parts.scheme == "grpc" and not is_loopback_host(parts.hostname):
        raise SalesforceConfigError(
            f"connection extra pubsub_url={raw!r} uses plaintext gRPC to a non-loopback host; access tokens would "
            "travel unencrypted. Use grpcs://"
        )
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{host}:{port}", parts.scheme == "grpcs"


def _read_ca_bundle(path: str | None) -> bytes | None:
    if not path:
        return None
    try:
        with open(path, "rb") as bundle:
            return bundle.read()
    except OSError as exc:
        raise SalesforceConfigError(f"connection extra ca_bundle {path!r} cannot be read: {exc.strerror}") from None


_IDENTITY_PATH = re.compile(r"/id/(?P<org>00D\w+)/(?P<user>005\w+)/?$")
#: (conn id, settings digest) -> (org id, user id): asked once per connection and process.
_ORG_IDS: dict[tuple[str, ...], tuple[str, str | None]] = {}


class _PubSubLogin:
    """The Pub/Sub credentials callback of one trigger: the connection's shared session, renewed once when refused."""

    def __init__(self, rest: AsyncClient, key: tuple[str, ...]) -> None:
        self.rest, self.key = rest, key

    def __repr__(self) -> str:
        return f"_PubSubLogin(conn_id={self.key[0]!r})"

    async def __call__(self, refresh: bool) -> PubSubCredentials:
        from airflow_provider_sfpy.client.pubsub import PubSubCredentials

        token = await self._token(refresh)
        org_id, user_id = await self._identity(token)
        return PubSubCredentials(
            access_token=token.access_token, instance_url=token.instance_url, tenant_id=org_id, user_id=user_id
        )

    async def _token(self, refresh: bool) -> Token:
        session = self.rest.session
        if session is None or refresh:
            # another trigger of the connection may have renewed the session already
            await _log_in_once(self.rest, self.key, refused=session[0] if session is not None else None)
            session = self.rest.session
        assert session is not None
        return session[0]

    async def _identity(self, token: Token) -> tuple[str, str | None]:
        known = _ORG_IDS.get(self.key)
        if known is None:
            found = _IDENTITY_PATH.search(urlsplit(token.id_url or "").path)
            if found:
                known = (found["org"], found["user"])
            else:  # a session flow's token comes without an identity URL
                info = await self.rest.get("/services/oauth2/userinfo")
                known = (str(info["organization_id"]), info.get("user_id"))
            _ORG_IDS[self.key] = known
        return known


#: An sObject or field API name (``Account``, ``ns__Invoice__c``), and a dotted relationship path (``Owner.Name``).
_SOQL_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_SOQL_FIELD_PATH = re.compile(r"[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)*")
_BATCH_SIZE_OPTION = re.compile(r"\s*batchSize\s*=\s*(\d+)\s*", re.IGNORECASE)
_QUERY_OPTIONS_HEADER = "sforce-query-options"


def _query_batch_size(query_params: Mapping[str, Any] | None) -> int | None:
    """The page size asked for in ``make_query``'s ``query_params``; what cannot be honoured is refused.

    The official hook passes ``query_params`` to ``requests`` as keyword arguments, so the one
    setting with a Salesforce meaning is the ``Sforce-Query-Options: batchSize=N`` header (200 to
    2,000 records; https://developer.salesforce.com/docs/platform/api-rest/guide/headers-queryoptions.html).
    """
    params = dict(query_params or {})
    batch_size = params.pop("batch_size", None)
    headers = dict(params.pop("headers", None) or {})
    for name in [name for name in headers if str(name).lower() == _QUERY_OPTIONS_HEADER]:
        option = _BATCH_SIZE_OPTION.fullmatch(str(headers.pop(name)))
        if option is None:
            raise SalesforceConfigError(f"the {name} header takes 'batchSize=N' (N from 200 to 2000)")
        batch_size = int(option.group(1))
    refused = [*map(str, params), *(f"headers[{name!r}]" for name in headers)]
    if refused:
        raise SalesforceConfigError(
            f"make_query's query_params cannot carry {', '.join(refused)}: the only per-query setting is the page "
            "size, {'batch_size': 500} or {'headers': {'Sforce-Query-Options': 'batchSize=500'}}. Timeouts and "
            "proxies are the connection's timeout, request_deadline and proxies extras."
        )
    if batch_size is not None and (not isinstance(batch_size, int) or isinstance(batch_size, bool)):
        raise SalesforceConfigError(f"the page size must be a whole number from 200 to 2000, not {batch_size!r}")
    return batch_size
