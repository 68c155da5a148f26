"""One pooled HTTP session per client, with timeouts, retries and error mapping.

Every request the client makes goes through ``Transport.send``: it applies the timeout, retries
what ``retry.py`` says is safe (with tenacity: exponential backoff with jitter, ``Retry-After``
honoured), and turns any error response into the typed exception from ``errors.py``. TLS
verification is always on; a custom CA bundle may be given but verification cannot be turned off.
The 401 re-login is the client's job (it owns the login flow); here a 401 is just an error.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from tenacity import RetryCallState, RetryError, Retrying, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_exponential, wait_random
from urllib3.exceptions import NewConnectionError

from airflow_provider_sfpy import __version__
from airflow_provider_sfpy.client.errors import (
    SalesforceConnectionError,
    SalesforceError,
    SalesforceOutcomeUnknownError,
    error_class_for,
)
from airflow_provider_sfpy.client.request_sent import SignallingAdapter
from airflow_provider_sfpy.client.result import ApiUsage, ResponseInfo
from airflow_provider_sfpy.client.retry import (
    FailureKind,
    RetryPolicy,
    Verdict,
    is_idempotent,
    parse_retry_after,
    verdict_for_exception,
    verdict_for_status,
)

log = logging.getLogger("airflow_provider_sfpy.client")

DEFAULT_TIMEOUT: tuple[float, float] = (10.0, 120.0)
USER_AGENT = f"airflow-provider-sfpy/{__version__}"


class _RetryableAttempt(Exception):
    """Raised inside the retry loop for an attempt worth repeating; ``final`` is raised if none is left."""

    def __init__(self, final: SalesforceError, retry_after: float | None = None) -> None:
        super().__init__(str(final))
        self.final = final
        self.retry_after = retry_after


@dataclass(frozen=True)
class Call:
    """One logical request; the transport may send it several times."""

    method: str
    url: str
    params: Mapping[str, Any] | None = None
    json_body: Any = None
    data: Any = None
    #: Builds the body afresh for each attempt (a stream read by a failed attempt cannot be sent again).
    data_factory: Callable[[], Any] | None = None
    files: Any = None
    headers: Mapping[str, str] | None = None
    stream: bool = False
    idempotent: bool | None = None
    is_query: bool = False

    @property
    def display(self) -> str:
        """Method and path for logs and errors: no host, no query string (it may hold customer data)."""
        return f"{self.method} {urlsplit(self.url).path}"


def describe_error_body(response: requests.Response) -> tuple[str, str | None, list[str], list[dict[str, Any]]]:
    """Extract (message, errorCode, fields, all errors) from a Salesforce error response."""
    return describe_error_payload(response.text, response.headers.get("Content-Type", ""), response.url)


def describe_error_payload(
    text: str, content_type: str, url: str
) -> tuple[str, str | None, list[str], list[dict[str, Any]]]:
    """Extract (message, errorCode, fields, all errors) from an error body, whatever the HTTP library.

    Handles the REST list form, a single dict, the OAuth ``error``/``error_description`` form and
    non-JSON bodies (an HTML page from a proxy or load balancer), which become a short excerpt.
    """
    try:
        payload = json.loads(text) if text else None
    except ValueError:
        payload = None
    if isinstance(payload, list) and payload and isinstance(payload[0], dict):
        first = payload[0]
        fields = first.get("fields") or []
        return str(first.get("message", "")), first.get("errorCode"), list(fields), payload
    if isinstance(payload, dict):
        if "error" in payload:
            return str(payload.get("error_description", "")), str(payload["error"]), [], [payload]
        message = payload.get("message") or payload.get("errorMessage") or json.dumps(payload)[:300]
        return str(message), payload.get("errorCode"), list(payload.get("fields") or []), [payload]
    if isinstance(payload, list):  # e.g. the 300 answer to an ambiguous upsert: a list of URLs
        return f"ambiguous: {len(payload)} matches", None, [], [{"url": item} for item in payload]
    excerpt = " ".join(text[:300].split())
    host = urlsplit(url).hostname
    return (
        f"non-JSON error response ({content_type or 'unknown content type'}) from {host}, probably from a proxy "
        f"or load balancer rather than Salesforce: {excerpt!r}",
        None,
        [],
        [],
    )


def error_from_response(call: Call, response: requests.Response) -> SalesforceError:
    message, code, fields, errors = describe_error_body(response)
    cls = error_class_for(response.status_code, code, is_query=call.is_query)
    return cls(
        message,
        status=response.status_code,
        error_code=code,
        fields=fields,
        method=call.method,
        url=urlsplit(response.url).path,
        errors=errors,
    )


def response_info(call: Call, response: requests.Response) -> ResponseInfo:
    return ResponseInfo(
        status=response.status_code,
        method=call.method,
        url=response.url,
        headers=dict(response.headers),
        elapsed_seconds=response.elapsed.total_seconds(),
        api_usage=ApiUsage.from_headers(response.headers),
    )


def failure_kind(exc: requests.RequestException) -> FailureKind:
    """Classify a requests exception by whether the request can have reached the server."""
    if isinstance(exc, requests.exceptions.SSLError):
        return FailureKind.TLS
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return FailureKind.NOT_SENT
    if isinstance(exc, requests.exceptions.ConnectionError) and not isinstance(
        exc, requests.exceptions.ChunkedEncodingError
    ):
        reason = getattr(exc.args[0], "reason", None) if exc.args else None
        if isinstance(reason, NewConnectionError):
            return FailureKind.NOT_SENT
    return FailureKind.MAYBE_SENT


class Transport:
    """Sends ``Call``s over one keep-alive ``requests.Session``."""

    def __init__(
        self,
        *,
        timeout: float | tuple[float, float] | None = DEFAULT_TIMEOUT,
        proxies: Mapping[str, str] | None = None,
        ca_bundle: str | None = None,
        retry: RetryPolicy | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.timeout = timeout if timeout is not None else DEFAULT_TIMEOUT
        self.retry = retry or RetryPolicy()
        if session is None:
            session = requests.Session()
            for prefix in ("https://", "http://"):
                session.mount(prefix, SignallingAdapter())
        self.session = session
        self.session.headers["User-Agent"] = USER_AGENT
        # Never False: a CA bundle path replaces the default trust store, nothing disables checking.
        # It is also passed on every request, because requests lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE
        # override a session-level setting and an explicit ca_bundle must win over the environment.
        self.verify: str | bool = ca_bundle or True
        self.session.verify = self.verify
        self.session.trust_env = True
        if proxies:
            self.session.proxies.update(proxies)
        # Exponential growth plus random spread: works on every tenacity release Airflow 3.x allows.
        self._backoff = wait_exponential(multiplier=self.retry.initial_wait, max=self.retry.max_wait) + wait_random(
            0, self.retry.jitter
        )

    def close(self) -> None:
        self.session.close()

    def send(self, call: Call, *, token: str | None = None, check: bool = True) -> requests.Response:
        """Send with retries; return the response, or raise the mapped error.

        With ``check=False`` definite error responses (4xx) are returned instead of raised, for
        callers with their own error format (the OAuth token endpoint).
        """
        headers = dict(call.headers or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        retrying = Retrying(
            stop=stop_after_attempt(self.retry.max_attempts),
            wait=self._wait,
            retry=retry_if_exception_type(_RetryableAttempt),
            before_sleep=lambda state: self._log_retry(call, state),
            reraise=False,
        )
        try:
            for attempt in retrying:
                with attempt:
                    return self._attempt(call, headers, check)
        except RetryError as exc:
            last = exc.last_attempt.exception()
            if isinstance(last, _RetryableAttempt):
                raise last.final from None
            raise
        raise AssertionError("unreachable: tenacity returns or raises")  # pragma: no cover

    def _attempt(self, call: Call, headers: dict[str, str], check: bool) -> requests.Response:
        idempotent = is_idempotent(call.method, call.idempotent)
        started = time.monotonic()
        try:
            response = self.session.request(
                call.method,
                call.url,
                params=call.params,
                json=call.json_body,
                data=call.data_factory() if call.data_factory is not None else call.data,
                files=call.files,
                headers=headers,
                timeout=self.timeout,
                stream=call.stream,
                verify=self.verify,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise self._exception_outcome(call, exc, idempotent) from None
        log.debug("%s -> %s in %.3fs", call.display, response.status_code, time.monotonic() - started)
        if response.status_code < 300 or response.status_code == 304:
            return response
        if call.stream:
            response.content  # noqa: B018 - read the (small) error body before classifying it
        error = error_from_response(call, response)
        if response.status_code == 401:
            raise error
        verdict = verdict_for_status(response.status_code, error.error_code, idempotent)
        if verdict is Verdict.RETRY:
            raise _RetryableAttempt(error, parse_retry_after(response.headers.get("Retry-After")))
        if verdict is Verdict.UNKNOWN_OUTCOME:
            raise SalesforceOutcomeUnknownError(
                f"Salesforce answered HTTP {response.status_code} ({error.message}) to a request that is not "
                "safe to repeat; it may or may not have been applied, so it was not re-sent. Check whether "
                "the change landed (e.g. query by external id) before retrying.",
                status=response.status_code,
                error_code=error.error_code,
                method=call.method,
                url=urlsplit(call.url).path,
            )
        if not check and 400 <= response.status_code < 500:
            return response
        raise error

    def _exception_outcome(self, call: Call, exc: requests.RequestException, idempotent: bool) -> Exception:
        kind = failure_kind(exc)
        host = urlsplit(call.url).hostname
        detail = type(exc).__name__
        if kind is FailureKind.TLS:
            return SalesforceConnectionError(
                f"TLS certificate verification failed for {host}. If the server uses a private CA, pass its "
                "certificate file as ca_bundle; verification cannot be disabled.",
                method=call.method,
                url=urlsplit(call.url).path,
            )
        verdict = verdict_for_exception(kind, idempotent)
        if verdict is Verdict.UNKNOWN_OUTCOME:
            return SalesforceOutcomeUnknownError(
                f"the connection to {host} failed ({detail}) after the request was sent; it may or may not "
                "have been applied, so it was not re-sent. Check whether the change landed (e.g. query by "
                "external id) before retrying.",
                method=call.method,
                url=urlsplit(call.url).path,
            )
        final = SalesforceConnectionError(
            f"could not complete the request to {host}: {detail} ({kind.value})",
            method=call.method,
            url=urlsplit(call.url).path,
        )
        return _RetryableAttempt(final)

    def _wait(self, state: RetryCallState) -> float:
        base: float = self._backoff(state)
        outcome = state.outcome
        exc = outcome.exception() if outcome is not None else None
        hint = exc.retry_after if isinstance(exc, _RetryableAttempt) else None
        if hint is not None:
            return min(max(hint, base), self.retry.max_retry_after)
        return base

    def _log_retry(self, call: Call, state: RetryCallState) -> None:
        outcome = state.outcome
        exc = outcome.exception() if outcome is not None else None
        if isinstance(exc, _RetryableAttempt):
            final = exc.final
            reason = f"HTTP {final.status} {final.error_code or ''}".strip() if final.status else final.message
        else:
            reason = repr(exc)
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning(
            "Salesforce %s failed (%s); retry %d of %d in %.1fs",
            call.display,
            reason,
            state.attempt_number,
            self.retry.max_attempts - 1,
            wait,
        )
