"""An async client (httpx) for waiting work: triggers poll many Bulk jobs from one event loop.

It covers what a waiter needs — log in with any flow, GET a resource, re-login on an expired session
— with the same retry decisions (``retry.py``), the same error classes and the same URL safety as
the sync client. It sends no write requests except the OAuth token request itself.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx
from tenacity import AsyncRetrying, RetryError, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_exponential, wait_random

from airflow_provider_sfpy.client.auth import AuthFlow, SessionFlow, Token, token_from_response
from airflow_provider_sfpy.client.errors import (
    SalesforceConnectionError,
    SalesforceError,
    SalesforceSessionExpiredError,
    error_class_for,
)
from airflow_provider_sfpy.client.retry import RetryPolicy, Verdict, parse_retry_after, verdict_for_status
from airflow_provider_sfpy.client.transport import USER_AGENT, describe_error_payload
from airflow_provider_sfpy.client.urls import normalize_base_url, resolve_server_link
from airflow_provider_sfpy.client.versions import normalize_version, pick_highest_version

log = logging.getLogger("airflow_provider_sfpy.client")


def _is_tls_failure(exc: BaseException) -> bool:
    """Whether a connect error comes from certificate verification (retrying cannot help)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class _Retry(Exception):
    def __init__(self, final: SalesforceError, retry_after: float | None = None) -> None:
        super().__init__(str(final))
        self.final = final
        self.retry_after = retry_after


def make_http_client(
    *,
    timeout: float | tuple[float, float] | None = None,
    ca_bundle: str | None = None,
    proxies: Mapping[str, str] | None = None,
) -> httpx.AsyncClient:
    """The httpx client under an ``AsyncClient``: TLS always verified, no redirects, our timeouts.

    Waiting for a free pooled connection has no time limit of its own (the read timeout still bounds
    every request): a thousand triggers sharing one client poll in bursts, and a burst must queue, not fail.
    """
    connect, read = timeout if isinstance(timeout, tuple) else (10.0, float(timeout or 120.0))
    proxy = (proxies or {}).get("https") or (proxies or {}).get("http")
    return httpx.AsyncClient(
        verify=ca_bundle or True,
        timeout=httpx.Timeout(read, connect=connect, pool=None),
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=100),
        proxy=proxy,
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
    )


class AsyncClient:
    """``async with AsyncClient(login_url=..., auth=flow) as client: body = await client.get(path)``."""

    def __init__(
        self,
        *,
        login_url: str,
        auth: AuthFlow,
        version: str | None = None,
        timeout: float | tuple[float, float] | None = None,
        ca_bundle: str | None = None,
        proxies: Mapping[str, str] | None = None,
        retry: RetryPolicy | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        """``http``: an HTTP client shared with other clients of the same connection (one connection
        pool and TLS context for many triggers); it is not closed by ``aclose``, whose ``close_callbacks``
        let its owner know when this client is done with it. Without it, the client makes its own."""
        self.login_url = normalize_base_url(login_url)
        self.auth = auth
        self.version = normalize_version(version) if version else None
        self.retry = retry or RetryPolicy()
        self._owns_http = http is None
        self._http = http or make_http_client(timeout=timeout, ca_bundle=ca_bundle, proxies=proxies)
        self._token: Token | None = None
        #: Called with every new access token (the Airflow hook registers them with the log masker).
        self.token_listeners: list[Callable[[str], None]] = []
        #: Awaited by ``aclose`` (the owner of a shared HTTP client counts its users with them).
        self.close_callbacks: list[Callable[[], Awaitable[None]]] = []

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()
        callbacks, self.close_callbacks = self.close_callbacks, []
        for callback in callbacks:
            await callback()

    def __repr__(self) -> str:
        return f"AsyncClient(login_url={self.login_url!r}, flow={self.auth.name!r}, version={self.version!r})"

    @property
    def session(self) -> tuple[Token, str] | None:
        """The current token and API version, for sharing with other clients of the same connection."""
        return (self._token, self.version) if self._token is not None and self.version else None

    def reuse_session(self, token: Token, version: str) -> None:
        """Start from a session another client of the same connection already holds (no login request)."""
        self._token, self.version = token, version

    async def login(self) -> None:
        self.auth.check()
        if isinstance(self.auth, SessionFlow):
            self._token = self.auth.token()
        else:
            url = f"{self.login_url}/services/oauth2/token"
            response = await self._send("POST", url, data=self.auth.token_form(self.login_url), check=False)
            self._token, _ = token_from_response(
                self.auth,
                self.login_url,
                response.status_code,
                response.text,
                response.headers.get("Content-Type", ""),
                url,
            )
            for listener in self.token_listeners:
                listener(self._token.access_token)
        if self.version is None:
            versions = await self.get("/services/data/")
            self.version = pick_highest_version(versions)

    def data_path(self, suffix: str) -> str:
        return f"/services/data/v{self.version}/{suffix.lstrip('/')}"

    async def get(self, path: str, *, params: Mapping[str, Any] | None = None) -> Any:
        """GET a path on the instance (decoded JSON); one re-login if the session expired."""
        if self._token is None:
            await self.login()
        assert self._token is not None
        try:
            response = await self._send("GET", resolve_server_link(self._token.instance_url, path), params=params)
        except SalesforceSessionExpiredError:
            if not self.auth.can_relogin:
                raise
            await self.login()
            response = await self._send("GET", resolve_server_link(self._token.instance_url, path), params=params)
        return response.json() if response.content else None

    async def patch(self, path: str, body: Mapping[str, Any]) -> Any:
        """PATCH JSON (used only to abort jobs when a user kills the task: idempotent)."""
        if self._token is None:
            await self.login()
        assert self._token is not None
        response = await self._send("PATCH", resolve_server_link(self._token.instance_url, path), json_body=body)
        return response.json() if response.content else None

    async def _send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        data: Any = None,
        json_body: Any = None,
        check: bool = True,
    ) -> httpx.Response:
        headers = {"Accept": "application/json"}
        if self._token is not None and data is None:
            headers["Authorization"] = f"Bearer {self._token.access_token}"
        backoff = wait_exponential(multiplier=self.retry.initial_wait, max=self.retry.max_wait) + wait_random(
            0, self.retry.jitter
        )

        def wait(state: Any) -> float:
            exc = state.outcome.exception() if state.outcome else None
            base: float = backoff(state)
            hint = exc.retry_after if isinstance(exc, _Retry) else None
            return min(max(hint, base), self.retry.max_retry_after) if hint is not None else base

        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.retry.max_attempts),
            wait=wait,
            retry=retry_if_exception_type(_Retry),
            reraise=False,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._attempt(method, url, params, data, json_body, headers, check)
        except RetryError as exc:
            last = exc.last_attempt.exception()
            if isinstance(last, _Retry):
                raise last.final from None
            raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def _attempt(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        data: Any,
        json_body: Any,
        headers: dict[str, str],
        check: bool,
    ) -> httpx.Response:
        path = httpx.URL(url).path
        try:
            response = await self._http.request(method, url, params=params, data=data, json=json_body, headers=headers)
        except httpx.ConnectError as exc:
            if _is_tls_failure(exc):
                raise SalesforceConnectionError(
                    f"TLS certificate verification failed for {httpx.URL(url).host}. If the server uses a private "
                    "CA, pass its certificate file as ca_bundle; verification cannot be disabled.",
                    method=method,
                    url=path,
                ) from None
            final = SalesforceConnectionError(
                f"could not complete the request: {type(exc).__name__}", method=method, url=path
            )
            raise _Retry(final) from None
        except httpx.HTTPError as exc:
            # Only GETs, the token request and the abort PATCH go through here: all safe to repeat.
            final = SalesforceConnectionError(
                f"could not complete the request: {type(exc).__name__}", method=method, url=path
            )
            raise _Retry(final) from None
        if response.status_code < 300:
            return response
        message, code, fields, errors = describe_error_payload(
            response.text, response.headers.get("Content-Type", ""), url
        )
        cls = error_class_for(response.status_code, code, is_query=False)
        error = cls(
            message, status=response.status_code, error_code=code, fields=fields, method=method, url=path, errors=errors
        )
        if response.status_code == 401:
            raise error
        if verdict_for_status(response.status_code, code, idempotent=True) is Verdict.RETRY:
            log.warning("Salesforce %s %s answered %s; retrying", method, path, response.status_code)
            raise _Retry(error, parse_retry_after(response.headers.get("Retry-After")))
        if not check and 400 <= response.status_code < 500:
            return response
        raise error
