"""An async client (httpx) for waiting work: triggers poll many Bulk jobs from one event loop.

It covers what a waiter needs — log in with any flow, GET a resource, re-login on an expired session
— with the same retry decisions (``retry.py``), the same error classes and the same URL safety as
the sync client. It sends no write requests except the OAuth token request itself and, when a task is
killed, the PATCH that aborts its Bulk jobs.

``max_api_usage`` guards it as it does the sync client (``quota.py``), with one difference: it does not
read ``/limits`` at login, since a trigger's first request, a status poll, costs what that would; the
first answer's ``Sforce-Limit-Info`` is where its checks start.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from typing import Any

import httpx
from tenacity import AsyncRetrying, RetryError, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_exponential, wait_random

from airflow_provider_sfpy.client.auth import AuthFlow, SecretForm, SessionFlow, Token, token_from_response
from airflow_provider_sfpy.client.body import decode_json_answer
from airflow_provider_sfpy.client.client import MAX_RELOGINS_PER_CALL, session_refused_again
from airflow_provider_sfpy.client.connect_failure import address_of, diagnose
from airflow_provider_sfpy.client.errors import (
    Redactor,
    SalesforceConnectionError,
    SalesforceDeadlineError,
    SalesforceSessionExpiredError,
    error_class_for,
)
from airflow_provider_sfpy.client.quota import MaxApiUsage, guarded, quota_guard
from airflow_provider_sfpy.client.retry import (
    RetryPolicy,
    Verdict,
    parse_retry_after,
    verdict_for_exception,
    verdict_for_status,
)
from airflow_provider_sfpy.client.transport import (
    DEFAULT_REQUEST_DEADLINE,
    MAX_ERROR_BODY_BYTES,
    USER_AGENT,
    RetryableAttempt,
    SecretHeaders,
    describe_error_payload,
    log_retry,
)
from airflow_provider_sfpy.client.urls import normalize_base_url, resolve_server_link
from airflow_provider_sfpy.client.versions import normalize_version, pick_highest_version

log = logging.getLogger("airflow_provider_sfpy.client")

#: The client whose login is running in this task: requests that login makes itself (the API versions)
#: must not wait for the login lock it holds.
_LOGGING_IN: ContextVar[AsyncClient | None] = ContextVar("sfpy_async_logging_in", default=None)


#: What httpx raises when no connection (or no TLS session, or no proxy tunnel) could be made: nothing was sent.
CONNECT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.ProxyError)


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
        request_deadline: float | None = DEFAULT_REQUEST_DEADLINE,
        max_api_usage: MaxApiUsage | float | str | None = None,
    ) -> None:
        """``http``: an HTTP client shared with other clients of the same connection (one connection
        pool and TLS context for many triggers); it is not closed by ``aclose``, whose ``close_callbacks``
        let its owner know when this client is done with it. Without it, the client makes its own.
        ``max_api_usage``: as the sync client's (``quota.py``)."""
        self.login_url = normalize_base_url(login_url)
        self.auth = auth
        self.version = normalize_version(version) if version else None
        self.retry = retry or RetryPolicy()
        #: Seconds each request may take in all, body included (``None``: no limit).
        self.request_deadline = request_deadline
        #: Checks every authenticated request against ``max_api_usage`` before it is sent (``None``: no limit).
        self.quota = quota_guard(max_api_usage)
        self._owns_http = http is None
        self._http = http or make_http_client(timeout=timeout, ca_bundle=ca_bundle, proxies=proxies)
        self._token: Token | None = None
        #: Called with every new access token (the Airflow hook registers them with the log masker).
        self.token_listeners: list[Callable[[str], None]] = []
        #: Awaited by ``aclose`` (the owner of a shared HTTP client counts its users with them).
        self.close_callbacks: list[Callable[[], Awaitable[None]]] = []
        #: Coroutines needing a (new) session at once share one login.
        self._login_lock = asyncio.Lock()

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

    def _redactor(self, data: Any, headers: Mapping[str, str]) -> Redactor:
        """What to remove from an error text: the flow's secrets, the form and the token just sent."""
        secrets: list[str | None] = [*self.auth.secrets(), *(data.secrets if isinstance(data, SecretForm) else ())]
        secrets.append(headers.get("Authorization", "").removeprefix("Bearer "))
        secrets.append(self._token.access_token if self._token is not None else None)
        return Redactor(secrets)

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
        """GET a path on the instance (decoded JSON); logs in again if the session expired."""
        response = await self._send_with_session("GET", path, params=params)
        return response.json() if response.content else None

    async def patch(self, path: str, body: Mapping[str, Any]) -> Any:
        """PATCH JSON (used only to abort jobs when a user kills the task: idempotent)."""
        response = await self._send_with_session("PATCH", path, json_body=body)
        return response.json() if response.content else None

    async def _send_with_session(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None, json_body: Any = None
    ) -> httpx.Response:
        """Send on the instance with the session, logging in first if there is none.

        INVALID_SESSION_ID gets a fresh login and the request once more, as in the sync client: at most
        ``MAX_RELOGINS_PER_CALL`` of them, then ``SalesforceSessionExpiredError`` says the session was
        refused again right after logging in anew. (A 401 never reached the server's data, so sending
        again is safe even for the abort PATCH.)
        """
        token = await self._current_token()
        relogins = 0
        while True:
            url = resolve_server_link(token.instance_url, path)
            try:
                return await self._send(method, url, params=params, json_body=json_body)
            except SalesforceSessionExpiredError as exc:
                if not self.auth.can_relogin or _LOGGING_IN.get() is self:
                    raise
                if relogins >= MAX_RELOGINS_PER_CALL:
                    raise session_refused_again(exc, relogins) from exc
                relogins += 1
                token = await self._relogin(token, again=relogins > 1)

    async def _current_token(self) -> Token:
        """The session's token; the first caller logs in, callers arriving meanwhile wait for that login."""
        if self._token is not None:
            return self._token
        return await self._relogin(None)

    async def _relogin(self, stale: Token | None, *, again: bool = False) -> Token:
        """Log in unless another coroutine already did since ``stale`` was the session; the session after."""
        async with self._login_lock:
            if self._token is stale or self._token is None:
                if stale is not None:
                    log.log(
                        logging.WARNING if again else logging.INFO,
                        "Salesforce %s; logging in again with the %s flow",
                        "refused the session right after a fresh login (INVALID_SESSION_ID)"
                        if again
                        else "session expired (INVALID_SESSION_ID)",
                        self.auth.name,
                    )
                marker = _LOGGING_IN.set(self)
                try:
                    await self.login()
                finally:
                    _LOGGING_IN.reset(marker)
            assert self._token is not None
            return self._token

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
        headers = SecretHeaders({"Accept": "application/json"})  # its repr hides the token
        if self._token is not None and data is None:
            headers["Authorization"] = f"Bearer {self._token.access_token}"
        backoff = wait_exponential(multiplier=self.retry.initial_wait, max=self.retry.max_wait) + wait_random(
            0, self.retry.jitter
        )

        def wait(state: Any) -> float:
            exc = state.outcome.exception() if state.outcome else None
            base: float = backoff(state)
            hint = exc.retry_after if isinstance(exc, RetryableAttempt) else None
            return min(max(hint, base), self.retry.max_retry_after) if hint is not None else base

        display = f"{method} {httpx.URL(url).path}"
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.retry.max_attempts),
            wait=wait,
            retry=retry_if_exception_type(RetryableAttempt),
            before_sleep=lambda state: log_retry(display, state, self.retry.max_attempts),
            reraise=False,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._attempt(method, url, params, data, json_body, headers, check)
        except RetryError as exc:
            last = exc.last_attempt.exception()
            if isinstance(last, RetryableAttempt):
                raise last.final from None
            raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def _request_within_deadline(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        data: Any,
        json_body: Any,
        headers: dict[str, str],
    ) -> httpx.Response:
        """The response with its body read (an error body to at most ``MAX_ERROR_BODY_BYTES``), all of it
        within ``request_deadline``: a server dripping its answer cannot hold a trigger for ever."""
        try:
            async with asyncio.timeout(self.request_deadline):
                request = self._http.stream(method, url, params=params, data=data, json=json_body, headers=headers)
                async with request as response:
                    cap = None if response.status_code < 300 else MAX_ERROR_BODY_BYTES
                    body = bytearray()
                    async for chunk in response.aiter_bytes():
                        body.extend(chunk)
                        if cap is not None and len(body) > cap:
                            break  # leaving the block closes the connection: the rest is never read
                    response._content = bytes(body[:cap] if cap is not None else body)
                    return response
        except TimeoutError:
            raise SalesforceDeadlineError(
                f"{method} {httpx.URL(url).path} did not complete within its {self.request_deadline:,.0f} s deadline "
                "(the server answers too slowly). It was not retried: a server this slow would only take as long "
                "again. Raise the connection's request_deadline extra if answers this slow are expected.",
                method=method,
                url=httpx.URL(url).path,
            ) from None

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
            # The only PATCH is a Bulk job's abort (``patch``): it stops work, so the quota guard lets it through.
            with guarded(self.quota, method, path, headers, stops_work=method == "PATCH") as answer:
                response = await self._request_within_deadline(method, url, params, data, json_body, headers)
                if answer is not None:
                    answer.report(response.headers)
        except CONNECT_ERRORS as exc:
            failure = diagnose(
                exc,
                url,
                timed_out=isinstance(exc, httpx.ConnectTimeout),
                via_proxy=isinstance(exc, httpx.ProxyError),
                connect_timeout=self._http.timeout.connect,
            )
            not_connected = SalesforceConnectionError(failure.message, method=method, url=path)
            # Only GETs, the token request and the abort PATCH go through here: all safe to repeat.
            if verdict_for_exception(failure.kind, idempotent=True) is Verdict.RETRY:
                raise RetryableAttempt(not_connected, reason=failure.summary) from None
            raise not_connected from None
        except httpx.HTTPError as exc:
            what = "no answer within the read timeout" if isinstance(exc, httpx.ReadTimeout) else type(exc).__name__
            final = SalesforceConnectionError(
                f"could not complete the request to {address_of(url)}: {what} (after the request was sent)",
                method=method,
                url=path,
            )
            raise RetryableAttempt(final) from None
        if response.status_code < 300:
            if check and response.content:  # a data answer: JSON, or a typed error naming the endpoint
                decode_json_answer(
                    response.content,
                    content_type=response.headers.get("Content-Type", ""),
                    status=response.status_code,
                    method=method,
                    path=path,
                )
            return response
        message, code, fields, errors = describe_error_payload(
            response.text, response.headers.get("Content-Type", ""), url, redactor=self._redactor(data, headers)
        )
        cls = error_class_for(response.status_code, code, is_query=False)
        error = cls(
            message, status=response.status_code, error_code=code, fields=fields, method=method, url=path, errors=errors
        )
        if response.status_code == 401 and check:  # from the token endpoint (check=False) it is a refusal
            raise error
        if verdict_for_status(response.status_code, code, idempotent=True) is Verdict.RETRY:
            raise RetryableAttempt(error, parse_retry_after(response.headers.get("Retry-After")))
        if not check and 400 <= response.status_code < 500:
            return response
        raise error
