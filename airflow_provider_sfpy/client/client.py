"""The Salesforce client: SalesforcePy's API shape on a transport that retries and raises.

``Client`` owns the login flow, the session token and the API version, and builds every REST call
from them. Calls return ``Result(body, response)`` like SalesforcePy; errors raise the typed family
in ``errors.py``. A 401 INVALID_SESSION_ID triggers a fresh login and the call continues, which
is what keeps a long paginated query alive across a session timeout. A session refused again right
after a fresh login gets one more (``MAX_RELOGINS_PER_CALL``), then the call fails with
``SalesforceSessionExpiredError``: a revoked or IP-restricted session is not retried for ever.

With ``max_api_usage`` set, no request is sent that would take the org's daily API usage past it
(``quota.py``); login then reads the org's usage from ``GET /limits`` once, so that the first request
is checked too.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any, cast
from urllib.parse import quote

import requests

from airflow_provider_sfpy.client.auth import (
    AuthFlow,
    ClientCredentialsFlow,
    JwtBearerFlow,
    PasswordFlow,
    RefreshTokenFlow,
    SessionFlow,
    Token,
    token_from_response,
)
from airflow_provider_sfpy.client.body import decode_body
from airflow_provider_sfpy.client.bulk2 import Jobs
from airflow_provider_sfpy.client.chatter import Chatter
from airflow_provider_sfpy.client.collections import Collections
from airflow_provider_sfpy.client.errors import (
    SalesforceConfigError,
    SalesforceError,
    SalesforceLimitExceededError,
    SalesforceMalformedRequestError,
    SalesforceNotFoundError,
    SalesforceRefusedError,
    SalesforceSessionExpiredError,
)
from airflow_provider_sfpy.client.query import QueryStream
from airflow_provider_sfpy.client.quota import MaxApiUsage, QuotaGuard, quota_guard, usage_from_limits
from airflow_provider_sfpy.client.result import Result
from airflow_provider_sfpy.client.retry import RetryPolicy
from airflow_provider_sfpy.client.sobjects import SObjects
from airflow_provider_sfpy.client.transport import (
    DEFAULT_REQUEST_DEADLINE,
    DEFAULT_TIMEOUT,
    Call,
    Transport,
    response_info,
)
from airflow_provider_sfpy.client.unknown_object import ObjectChecker
from airflow_provider_sfpy.client.urls import DEFAULT_LOGIN_URL, normalize_base_url, resolve_server_link
from airflow_provider_sfpy.client.versions import normalize_version, pick_highest_version
from airflow_provider_sfpy.client.wave import Wave

log = logging.getLogger("airflow_provider_sfpy.client")

# Keys of the token response that are secrets and never returned to callers.
_SECRET_TOKEN_KEYS = frozenset({"access_token", "refresh_token", "signature"})

#: Fresh logins one call may make when Salesforce answers INVALID_SESSION_ID: the first cures an
#: expired session; the second covers a session revoked just as it was issued (an admin resetting
#: sessions). A third refusal means the org refuses this session as such, and the call fails.
MAX_RELOGINS_PER_CALL = 2


def session_refused_again(error: SalesforceError, relogins: int) -> SalesforceSessionExpiredError:
    """The error for a call whose session was refused even after ``relogins`` fresh logins."""
    return SalesforceSessionExpiredError(
        f"Salesforce refused the session again right after logging in anew ({relogins} fresh logins in "
        "this call, each answered INVALID_SESSION_ID). The session is revoked or not accepted from here, "
        "e.g. an admin revoking the connected app's sessions, or a session locked to another IP address "
        f"(check the connected app's IP relaxation and session policies). Last answer: {error.message}",
        **error.answer_details(),
    )


class Client:
    """A Salesforce REST client.

    Example::

        from airflow_provider_sfpy import client as sfpy

        client = sfpy.client("user@example.com", "password", "consumer-key", "consumer-secret",
                             login_url="login.salesforce.com")
        client.login()
        body, response = client.query("SELECT Id, Name FROM Account LIMIT 10")

    Other flows: ``Client.with_jwt(...)``, ``Client.with_client_credentials(...)``,
    ``Client.with_refresh_token(...)``, ``Client.from_session(...)``.
    """

    def __init__(
        self,
        username: str | None = None,
        password: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        *,
        login_url: str = DEFAULT_LOGIN_URL,
        version: str | float | None = None,
        timeout: float | tuple[float, float] | None = DEFAULT_TIMEOUT,
        proxies: Mapping[str, str] | None = None,
        security_token: str | None = None,
        ca_bundle: str | None = None,
        auth: AuthFlow | None = None,
        retry: RetryPolicy | None = None,
        session: requests.Session | None = None,
        request_deadline: float | None = DEFAULT_REQUEST_DEADLINE,
        max_api_usage: MaxApiUsage | float | str | None = None,
    ) -> None:
        """``max_api_usage``: stop before the org's daily API usage passes this, a fraction of the org's
        allocation (``0.8``) or a number of requests (``12000``); ``None``: no limit. See ``quota.py``."""
        self.login_url = normalize_base_url(login_url)
        self.auth: AuthFlow = auth or PasswordFlow(
            username=username,
            password=password,
            client_id=client_id,
            client_secret=client_secret,
            security_token=security_token,
        )
        self.version: str | None = normalize_version(version) if version is not None else None
        self.transport = Transport(
            timeout=timeout,
            proxies=proxies,
            ca_bundle=ca_bundle,
            retry=retry,
            session=session,
            deadline=request_deadline,
            quota=quota_guard(max_api_usage),
        )
        self._token: Token | None = None
        self._login_lock = threading.Lock()
        #: Called with every new access token (the Airflow hook registers them with the log masker).
        self.token_listeners: list[Callable[[str], None]] = []
        self.chatter = Chatter(self)
        self.wave = Wave(self)
        self.jobs = Jobs(self)
        self.collections = Collections(self)
        #: Tells "no such object" answers apart, however the API words them.
        self._objects = ObjectChecker(self._object_exists)

    # ----------------------------------------------------------------- other login flows
    @classmethod
    def from_session(
        cls, instance_url: str, session_id: str, version: str | float | None = None, **kwargs: Any
    ) -> Client:
        """Use an existing session (e.g. from another tool); it cannot be renewed when it expires."""
        instance = normalize_base_url(instance_url, what="instance_url")
        return cls(
            login_url=instance,
            version=version,
            auth=SessionFlow(instance_url=instance, access_token=session_id),
            **kwargs,
        )

    @classmethod
    def with_jwt(
        cls,
        *,
        username: str,
        client_id: str,
        private_key: str | None = None,
        private_key_file: str | None = None,
        login_url: str = DEFAULT_LOGIN_URL,
        audience: str | None = None,
        **kwargs: Any,
    ) -> Client:
        """OAuth 2.0 JWT bearer flow with the connected app's certificate key (no password involved)."""
        flow = JwtBearerFlow(
            username=username,
            client_id=client_id,
            private_key=private_key,
            private_key_file=private_key_file,
            audience=audience,
        )
        return cls(login_url=login_url, auth=flow, **kwargs)

    @classmethod
    def with_client_credentials(cls, *, client_id: str, client_secret: str, login_url: str, **kwargs: Any) -> Client:
        """Client credentials flow; ``login_url`` must be the org's My Domain host."""
        return cls(login_url=login_url, auth=ClientCredentialsFlow(client_id, client_secret), **kwargs)

    @classmethod
    def with_refresh_token(
        cls,
        *,
        refresh_token: str,
        client_id: str,
        client_secret: str | None = None,
        login_url: str = DEFAULT_LOGIN_URL,
        **kwargs: Any,
    ) -> Client:
        """Refresh token flow: a stored refresh token buys a new session whenever one is needed."""
        flow = RefreshTokenFlow(refresh_token=refresh_token, client_id=client_id, client_secret=client_secret)
        return cls(login_url=login_url, auth=flow, **kwargs)

    # ----------------------------------------------------------------- session
    def __repr__(self) -> str:
        instance = self._token.instance_url if self._token else None
        return (
            f"Client(login_url={self.login_url!r}, flow={self.auth.name!r}, "
            f"instance_url={instance!r}, version={self.version!r})"
        )

    @property
    def is_logged_in(self) -> bool:
        return self._token is not None

    @property
    def quota(self) -> QuotaGuard | None:
        """The ``max_api_usage`` guard, with the org's API usage as last reported (``None``: no limit set)."""
        return self.transport.quota

    @property
    def instance_url(self) -> str:
        return self._require_token().instance_url

    @property
    def session_id(self) -> str:
        """The current access token, for tools that need it (kept out of repr, logs and errors)."""
        return self._require_token().access_token

    def _require_token(self) -> Token:
        """The current token, logging in first if there is none.

        Threads making their first call at once log in once: each re-checks under the login lock,
        and a token is published only once its login is complete (API version included).
        """
        token = self._token
        if token is None:
            with self._login_lock:
                if self._token is None:
                    self._login_locked()
                token = self._token
        assert token is not None
        return token

    def login(self) -> Result:
        """Log in with the configured flow; returns the token response without its secrets."""
        with self._login_lock:
            return self._login_locked()

    def _login_locked(self) -> Result:
        self.auth.check()
        if isinstance(self.auth, SessionFlow):
            token = self.auth.token()
            body: dict[str, Any] = {"instance_url": token.instance_url}
            info = None
        else:
            call = Call(
                "POST",
                f"{self.login_url}/services/oauth2/token",
                data=self.auth.token_form(self.login_url),
                headers={"Accept": "application/json"},
                idempotent=True,
            )
            response = self.transport.send(call, check=False)
            token, payload = token_from_response(
                self.auth,
                self.login_url,
                response.status_code,
                response.text,
                response.headers.get("Content-Type", ""),
                response.url,
            )
            for listener in self.token_listeners:
                listener(token.access_token)
            body = {k: v for k, v in payload.items() if k not in _SECRET_TOKEN_KEYS}
            info = response_info(call, response)
        if self.version is None:
            self.version = pick_highest_version(self._versions_body(token))
        if self.quota is not None and self.quota.usage is None:
            self._read_api_usage(token, self.quota)
        # Published last: a thread that sees a token also sees the API version it goes with.
        self._token = token
        if info is None:
            return self.versions()
        return Result(body, info)

    def _versions_body(self, token: Token) -> list[dict[str, Any]]:
        """``GET /services/data/`` with a token not yet published (called under the login lock)."""
        call = Call("GET", resolve_server_link(token.instance_url, "/services/data/"))
        body = decode_body(self.transport.send(call, token=token.access_token))
        if not isinstance(body, list):
            raise SalesforceError("GET /services/data/ did not return a list of API versions")
        return body

    def _read_api_usage(self, token: Token, quota: QuotaGuard) -> None:
        """``GET /limits`` with a token not yet published, so the quota guard knows the org's usage before
        the first request (its header, or else its body, reports it). A user without the "View Setup and
        Configuration" permission is refused: the first request's answer then tells instead."""
        call = Call("GET", resolve_server_link(token.instance_url, f"/services/data/v{self.version}/limits"))
        try:
            response = self.transport.send(call, token=token.access_token)
        except SalesforceLimitExceededError:
            raise
        except (SalesforceRefusedError, SalesforceNotFoundError) as exc:
            log.warning(
                "max_api_usage is set, but the org's API usage could not be read before the first request "
                "(%s); it is checked from the first answer on",
                exc,
            )
            return
        if quota.usage is None:
            usage = usage_from_limits(decode_body(response))
            if usage is not None:
                quota.observe(usage)

    def versions(self) -> Result:
        """``GET /services/data/``: the API versions this instance serves."""
        return self.request("GET", "/services/data/")

    def logout(self) -> Result:
        """Revoke the access token (``POST /services/oauth2/revoke``) and forget it."""
        token = self._require_token()
        call = Call("POST", f"{token.instance_url}/services/oauth2/revoke", data={"token": token.access_token})
        response = self.transport.send(call)
        self._token = None
        return Result(None, response_info(call, response))

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------- raw requests
    def data_path(self, suffix: str) -> str:
        """``/services/data/vXX.X/<suffix>`` for the negotiated version."""
        if self.version is None:
            self._require_token()
        return f"/services/data/v{self.version}/{suffix.lstrip('/')}"

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Any = None,
        files: Any = None,
        headers: Mapping[str, str] | None = None,
        stream: bool = False,
        idempotent: bool | None = None,
        is_query: bool = False,
        raw: bool = False,
        stops_work: bool = False,
    ) -> Result:
        """Send ``method path`` on the instance (a path, or a same-host link the server gave us).

        The body is decoded by content type: JSON to Python, CSV/text to ``str``, anything else to
        ``bytes``; 204 gives ``None``. With ``stream=True`` the body is an iterator of byte chunks
        and the caller must consume it. With ``raw=True`` the body is the ``requests.Response``.
        """
        data_factory = _body_factory(data)

        def make_call(instance_url: str) -> Call:
            return Call(
                method.upper(),
                resolve_server_link(instance_url, path),
                params=params,
                json_body=json,
                data=None if data_factory is not None else data,
                data_factory=data_factory,
                files=files,
                headers=headers,
                stream=stream,
                idempotent=idempotent,
                is_query=is_query,
                stops_work=stops_work,
            )

        token = self._require_token()
        relogins = 0
        while True:
            call = make_call(token.instance_url)
            try:
                response = self.transport.send(call, token=token.access_token)
                break
            except SalesforceSessionExpiredError as exc:
                if not self.auth.can_relogin:
                    raise
                if relogins >= MAX_RELOGINS_PER_CALL:
                    raise session_refused_again(exc, relogins) from exc
                relogins += 1
                self._relogin(token, again=relogins > 1)
                token = self._require_token()
            except (SalesforceNotFoundError, SalesforceMalformedRequestError) as exc:
                explained = self._objects.explain(exc)
                if explained is exc:
                    raise
                raise explained from None
        info = response_info(call, response)
        if raw:
            return Result(response, info)
        if stream:
            return Result(response.iter_content(chunk_size=1 << 16), info)
        return Result(decode_body(response), info)

    def _object_exists(self, object_type: str) -> bool | None:
        """Whether the org has ``object_type`` for this user (``GET /sobjects/<name>``); ``None`` if it cannot tell."""
        try:
            self.request("GET", self.data_path(f"sobjects/{quote(object_type, safe='')}"))
        except SalesforceNotFoundError:
            return False
        except SalesforceError:
            return None
        return True

    def _relogin(self, expired: Token, *, again: bool = False) -> None:
        """Log in again unless another thread already did since ``expired`` was issued."""
        with self._login_lock:
            if self._token is expired or self._token is None:
                if again:
                    log.warning(
                        "Salesforce refused the session right after a fresh login (INVALID_SESSION_ID); "
                        "logging in once more with the %s flow",
                        self.auth.name,
                    )
                else:
                    log.info(
                        "Salesforce session expired (INVALID_SESSION_ID); logging in again with the %s flow",
                        self.auth.name,
                    )
                self._login_locked()

    # ----------------------------------------------------------------- queries
    def query(self, soql: str, *, include_deleted: bool = False, batch_size: int | None = None) -> Result:
        """One page of a SOQL query (``queryAll`` with ``include_deleted``)."""
        resource = "queryAll" if include_deleted else "query"
        return self.request(
            "GET",
            self.data_path(resource),
            params={"q": soql},
            headers=_batch_header(batch_size),
            is_query=True,
        )

    def query_all(self, soql: str, *, batch_size: int | None = None) -> Result:
        """First page of a query that also returns deleted and archived records."""
        return self.query(soql, include_deleted=True, batch_size=batch_size)

    def query_next(self, next_records_url: str, *, batch_size: int | None = None, raw: bool = False) -> Result:
        """The page behind a ``nextRecordsUrl`` (followed only on the instance host).

        With ``raw=True`` the body is the ``requests.Response``, its bytes read but not decoded.
        """
        return self.request("GET", next_records_url, headers=_batch_header(batch_size), is_query=True, raw=raw)

    def query_more(
        self, soql: str, *, include_deleted: bool = False, batch_size: int | None = None, stream: bool = False
    ) -> Result:
        """Every page of a query, as SalesforcePy: ``body`` is the list of page bodies.

        With ``stream=True`` the body is a ``QueryStream`` that fetches page by page and holds one
        page at a time; iterate ``.pages()`` or ``.records()``. Pages are fetched in a loop, never
        by recursion, so a million-row query is no deeper than a ten-row one.
        """
        first = self.query(soql, include_deleted=include_deleted, batch_size=batch_size)
        query_stream = QueryStream(self, first.body, batch_size=batch_size)
        if stream:
            return Result(query_stream, first.response)
        pages = list(query_stream.pages())
        return Result(pages, query_stream.last_response or first.response)

    def query_records(
        self, soql: str, *, include_deleted: bool = False, batch_size: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every record of a query, one page in memory at a time."""
        stream: QueryStream = self.query_more(
            soql, include_deleted=include_deleted, batch_size=batch_size, stream=True
        ).body
        return stream.records()

    def search(self, sosl: str) -> Result:
        """SOSL search (``GET /search?q=``)."""
        return self.request("GET", self.data_path("search"), params={"q": sosl}, is_query=True)

    def limits(self) -> Result:
        """The org's limits (``GET /limits``): ``{"DailyApiRequests": {"Max", "Remaining"}, ...}``."""
        return self.request("GET", self.data_path("limits"))

    # ----------------------------------------------------------------- sObjects and friends
    def sobjects(
        self,
        object_type: str | None = None,
        id: str | None = None,
        external_id: str | None = None,
        binary_field: str | None = None,
    ) -> SObjects:
        """Record-level calls: ``client.sobjects(object_type="Account", id=...).update({...})``."""
        return SObjects(self, object_type=object_type, record_id=id, external_id=external_id, binary_field=binary_field)

    def execute_anonymous(self, apex_body: str) -> Result:
        """Run anonymous Apex (``GET /tooling/executeAnonymous/``); compile/run status in the body.

        A GET, but not a read: the Apex may write. It is never re-sent once it may have run.
        """
        return self.request(
            "GET", self.data_path("tooling/executeAnonymous/"), params={"anonymousBody": apex_body}, idempotent=False
        )

    def approvals(self, request_body: Mapping[str, Any] | None = None) -> Result:
        """List approval processes (no body) or submit/approve/reject (``{"requests": [...]}``)."""
        if request_body is None:
            return self.request("GET", self.data_path("process/approvals/"))
        return self.request("POST", self.data_path("process/approvals/"), json=request_body)

    def apexrest(
        self,
        path: str,
        method: str = "GET",
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
    ) -> Result:
        """Call an Apex REST endpoint (``/services/apexrest/<path>``)."""
        safe_path = "/".join(quote(part, safe="") for part in path.strip("/").split("/"))
        return self.request(method, f"/services/apexrest/{safe_path}", params=params, json=body)


def _body_factory(data: Any) -> Callable[[], Any] | None:
    """A way to produce the request body again for a retry or a re-login.

    A callable is used as is (it builds a fresh body each time); a seekable file is rewound to where
    it started. Anything else (bytes, dicts) can simply be sent again.
    """
    if callable(data):
        return cast("Callable[[], Any]", data)
    if hasattr(data, "read") and hasattr(data, "seek") and hasattr(data, "tell"):
        start = data.tell()

        def rewound() -> Any:
            data.seek(start)
            return data

        return rewound
    return None


def _batch_header(batch_size: int | None) -> dict[str, str] | None:
    if batch_size is None:
        return None
    if not 200 <= batch_size <= 2000:
        raise SalesforceConfigError(f"batch_size must be between 200 and 2000 (Salesforce's range), got {batch_size}")
    return {"Sforce-Query-Options": f"batchSize={batch_size}"}


def client(
    username: str | None = None,
    password: str | None = None,
    client_id: str | None = None,
    client_secret: str | None = None,
    **kwargs: Any,
) -> Client:
    """SalesforcePy's entry point: ``client(username, password, client_id, client_secret, login_url=...)``."""
    return Client(username, password, client_id, client_secret, **kwargs)
