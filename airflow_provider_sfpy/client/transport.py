"""One pooled HTTP session per client, with timeouts, retries and error mapping.

Every request the client makes goes through ``Transport.send``: it applies the timeout, retries
what ``retry.py`` says is safe (with tenacity: exponential backoff with jitter, ``Retry-After``
honoured), and turns any error response into the typed exception from ``errors.py``. TLS
verification is always on; a custom CA bundle may be given but verification cannot be turned off.
The 401 re-login is the client's job (it owns the login flow); here a 401 is just an error. With a
``QuotaGuard`` (``max_api_usage``), every attempt of an authenticated request is checked against the
org's API usage before it is sent, and each answer's ``Sforce-Limit-Info`` updates it (``quota.py``). A
connection that could not be made is explained (host, port, reason, what to try) by
``connect_failure.py``, which also says whether waiting can cure it.

Nothing secret reaches an error text: every quoted answer passes through the transport's
``Redactor``, which learns the login form's secrets and every token sent; answers of the OAuth
endpoints are summarised, never quoted. A ``Call``'s repr leaves out its body and headers, and the
headers sent are a ``SecretHeaders`` whose repr hides the bearer token, so a traceback printer that
shows local variables shows no secret either. A streamed body whose connection breaks while it is
read raises ``SalesforceStreamCutError``; a response header the API documents as a count that is not
one raises ``SalesforceProtocolError``.

Time and size are bounded. ``timeout`` bounds each wait for a byte (connect, then every read); a
server that drips its answer a byte at a time never trips it, so each request also has a total
``deadline``: the time spent waiting for the server, from sending the request to the body's last
byte (a streamed body's reader may take as long as it likes between chunks; only the waits count).
Past it the request fails with ``SalesforceDeadlineError`` and is not retried. Error bodies are read
to at most ``MAX_ERROR_BODY_BYTES``; the rest is never downloaded.
"""

from __future__ import annotations

import http.client
import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3
from tenacity import RetryCallState, RetryError, Retrying, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_exponential, wait_random
from urllib3.exceptions import NewConnectionError

from airflow_provider_sfpy import __version__
from airflow_provider_sfpy.client.auth import SecretForm
from airflow_provider_sfpy.client.connect_failure import Cause, address_of, diagnose, exception_chain
from airflow_provider_sfpy.client.errors import (
    MAX_REDACTED_CHARS,
    Redactor,
    SalesforceConnectionError,
    SalesforceDeadlineError,
    SalesforceError,
    SalesforceOutcomeUnknownError,
    SalesforceProtocolError,
    SalesforceStreamCutError,
    error_class_for,
)
from airflow_provider_sfpy.client.quota import QuotaGuard, guarded
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
#: Seconds one request may spend waiting for the server in all (connect, send, whole body).
DEFAULT_REQUEST_DEADLINE = 900.0
#: An error answer's body is read up to this many bytes (enough for any Salesforce error list).
MAX_ERROR_BODY_BYTES = 64 * 1024
#: Bodies are read this much at a time (requests itself reads 10 KB at a time).
READ_CHUNK_BYTES = 256 * 1024
USER_AGENT = f"airflow-provider-sfpy/{__version__}"
#: Paths whose answers are OAuth answers: summarised in errors, never quoted (they may echo the login form).
OAUTH_PATH = "/services/oauth2/"
#: Response headers the API documents as counts.
COUNT_HEADERS = ("Sforce-NumberOfRecords",)
#: What reading a streamed body raises when the connection breaks after the headers arrived.
STREAM_READ_ERRORS: tuple[type[BaseException], ...] = (
    requests.RequestException,
    urllib3.exceptions.HTTPError,
    http.client.HTTPException,
    OSError,
)


class SecretHeaders(dict[str, str]):
    """Request headers whose repr hides the ``Authorization`` value (a traceback may print locals)."""

    def __repr__(self) -> str:
        shown = {key: ("***" if key.lower() in ("authorization", "cookie") else value) for key, value in self.items()}
        return f"SecretHeaders({shown!r})"

    __str__ = __repr__


class RetryableAttempt(Exception):
    """Raised inside the retry loop (of either client) for an attempt worth repeating; ``final`` is raised if
    none is left."""

    def __init__(self, final: SalesforceError, retry_after: float | None = None, *, reason: str | None = None) -> None:
        super().__init__(str(final))
        self.final = final
        self.retry_after = retry_after
        #: A short reason for the retry warning (the final error's message is longer).
        self.reason = reason


@dataclass(frozen=True)
class Call:
    """One logical request; the transport may send it several times."""

    method: str
    url: str
    params: Mapping[str, Any] | None = None
    # The body and headers are left out of the repr: a login form holds a password, headers a token.
    json_body: Any = field(default=None, repr=False)
    data: Any = field(default=None, repr=False)
    #: Builds the body afresh for each attempt (a stream read by a failed attempt cannot be sent again).
    data_factory: Callable[[], Any] | None = field(default=None, repr=False)
    files: Any = field(default=None, repr=False)
    headers: Mapping[str, str] | None = field(default=None, repr=False)
    stream: bool = False
    idempotent: bool | None = None
    is_query: bool = False
    #: Aborts work (a Bulk job): exempt from the ``max_api_usage`` guard, see ``quota.guarded``.
    stops_work: bool = False

    @property
    def display(self) -> str:
        """Method and path for logs and errors: no host, no query string (it may hold customer data)."""
        return f"{self.method} {urlsplit(self.url).path}"


def describe_error_body(
    response: requests.Response, redactor: Redactor | None = None
) -> tuple[str, str | None, list[str], list[dict[str, Any]]]:
    """Extract (message, errorCode, fields, all errors) from a Salesforce error response, secrets redacted."""
    return describe_error_payload(
        response.text, response.headers.get("Content-Type", ""), response.url, redactor=redactor
    )


def describe_error_payload(
    text: str, content_type: str, url: str, *, redactor: Redactor | None = None
) -> tuple[str, str | None, list[str], list[dict[str, Any]]]:
    """Extract (message, errorCode, fields, all errors) from an error body, whatever the HTTP library.

    Handles the REST list form, a single dict, the OAuth ``error``/``error_description`` form and
    non-JSON bodies (an HTML page from a proxy or load balancer), which become a short excerpt.
    Everything taken from the body is passed through ``redactor`` (by default one that knows no
    values but still removes anything shaped like a key, token or credential). Answers of the OAuth
    endpoints are summarised, never quoted: only Salesforce's ``error`` and ``error_description``.
    """
    redactor = redactor or Redactor()
    try:
        payload = json.loads(text) if text else None
    except ValueError:
        payload = None
    summarise = OAUTH_PATH in urlsplit(url).path
    host = urlsplit(url).hostname
    if summarise:
        if isinstance(payload, dict) and payload.get("error"):
            error = redactor.redact(str(payload["error"]))[:100]
            description = redactor.redact(str(payload.get("error_description") or ""))[:500]
            return description, error, [], [{"error": error, "error_description": description}]
        what = "an HTML page" if "html" in content_type.lower() or text.lstrip()[:1] == "<" else "a body"
        shape = "JSON without OAuth error fields" if payload is not None else f"{what} that is not JSON"
        return (
            f"the OAuth endpoint on {host} answered {shape} ({content_type or 'no content type'}, "
            f"{len(text):,} characters; not quoted, as it may echo the login form)",
            None,
            [],
            [],
        )
    if isinstance(payload, list) and payload and isinstance(payload[0], dict):
        payload = redactor.redact_value(payload)
        first = payload[0]
        fields = first.get("fields") or []
        return str(first.get("message", "")), first.get("errorCode"), list(fields), payload
    if isinstance(payload, dict):
        payload = redactor.redact_value(payload)
        if "error" in payload:
            return str(payload.get("error_description", "")), str(payload["error"]), [], [payload]
        message = payload.get("message") or payload.get("errorMessage") or json.dumps(payload)[:300]
        return str(message), payload.get("errorCode"), list(payload.get("fields") or []), [payload]
    if isinstance(payload, list):  # e.g. the 300 answer to an ambiguous upsert: a list of URLs
        payload = redactor.redact_value(payload)
        return f"ambiguous: {len(payload)} matches", None, [], [{"url": item} for item in payload]
    excerpt = " ".join(redactor.redact(text[:MAX_REDACTED_CHARS]).split())[:300]
    return (
        f"non-JSON error response ({content_type or 'unknown content type'}) from {host}, probably from a proxy "
        f"or load balancer rather than Salesforce: {excerpt!r}",
        None,
        [],
        [],
    )


def error_from_response(call: Call, response: requests.Response, redactor: Redactor | None = None) -> SalesforceError:
    message, code, fields, errors = describe_error_body(response, redactor)
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


def check_count_headers(call: Call, response: requests.Response) -> None:
    """Raise ``SalesforceProtocolError`` for a count header (``Sforce-NumberOfRecords``) that is not a count."""
    for name in COUNT_HEADERS:
        value = response.headers.get(name)
        if value is None or value.strip().isdigit():
            continue
        shown = value[:40] if value.isprintable() else "(unprintable)"
        raise SalesforceProtocolError(
            f"the answer's {name} header is {shown!r}, not a number of records; the answer cannot be "
            "checked for completeness. The server, or a proxy in front of it, broke the API's contract.",
            status=response.status_code,
            method=call.method,
            url=urlsplit(response.url).path,
        )


class StreamedResponse(requests.Response):
    """A streamed 2xx response whose body, read with ``iter_content`` (or ``content``, ``iter_lines``),
    raises ``SalesforceStreamCutError`` naming the endpoint and how far it got if the connection breaks.

    The transport turns a streamed ``requests.Response`` into one (same object, same attributes), so
    every reader of the stream gets the typed error, whoever consumes it.
    """

    sfpy_method: str = ""
    #: The request's waiting budget: seconds it may still spend waiting for the server (``None``: no limit).
    sfpy_wait_budget: float | None = None

    def iter_content(self, chunk_size: int | None = 1, decode_unicode: bool = False) -> Iterator[Any]:
        if chunk_size and chunk_size > 1 and not decode_unicode and not self._content_consumed:
            return self._typed(self._arriving(chunk_size))
        chunks = super().iter_content(chunk_size=chunk_size, decode_unicode=decode_unicode)
        return self._typed(chunks)

    def _arriving(self, chunk_size: int) -> Iterator[bytes]:
        """The body as it arrives, at most ``chunk_size`` bytes at a time (``requests`` waits until a
        whole chunk is there, so a server dripping bytes would never let the deadline be checked)."""
        read1 = getattr(self.raw, "read1", None)
        if read1 is None:  # not urllib3's response (a test double, an old urllib3)
            yield from super().iter_content(chunk_size=chunk_size)
            return
        while chunk := read1(chunk_size, decode_content=True):
            yield chunk
        self._content_consumed = True  # as requests' iter_content does

    def _typed(self, chunks: Iterator[Any]) -> Iterator[Any]:
        read = 0
        try:
            while True:
                waited_from = time.monotonic()
                chunk = next(chunks, None)
                if chunk is None:
                    return
                read += len(chunk)
                if self.sfpy_wait_budget is not None:
                    self.sfpy_wait_budget -= time.monotonic() - waited_from
                    if self.sfpy_wait_budget < 0:
                        raise SalesforceDeadlineError(
                            f"the answer's body was still arriving when the request's deadline passed (after "
                            f"{read:,} bytes): the server sends too slowly; what was read is incomplete",
                            status=self.status_code,
                            method=self.sfpy_method or None,
                            url=urlsplit(self.url).path,
                        )
                yield chunk
        except SalesforceError:
            raise
        except STREAM_READ_ERRORS as exc:
            host = urlsplit(self.url).hostname
            again = "A GET can be sent again." if self.sfpy_method == "GET" else ""
            raise SalesforceStreamCutError(
                f"the connection to {host} broke while the answer's body was being read, after {read:,} "
                f"bytes ({type(exc).__name__}); what was read is incomplete. {again}".rstrip(),
                status=self.status_code,
                method=self.sfpy_method or None,
                url=urlsplit(self.url).path,
            ) from None
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()


def response_info(call: Call, response: requests.Response) -> ResponseInfo:
    return ResponseInfo(
        status=response.status_code,
        method=call.method,
        url=response.url,
        headers=dict(response.headers),
        elapsed_seconds=response.elapsed.total_seconds(),
        api_usage=ApiUsage.from_headers(response.headers),
    )


def is_connect_failure(exc: requests.RequestException) -> bool:
    """Whether ``exc`` was raised before the request was sent: no connection, or no TLS session, was made."""
    if isinstance(exc, (requests.exceptions.SSLError, requests.exceptions.ConnectTimeout)):
        return True
    if isinstance(exc, requests.exceptions.ProxyError):
        return True  # the proxy could not be reached, or refused to open the tunnel
    if isinstance(exc, requests.exceptions.ConnectionError) and not isinstance(
        exc, requests.exceptions.ChunkedEncodingError
    ):
        reason = getattr(exc.args[0], "reason", None) if exc.args else None
        return isinstance(reason, NewConnectionError)  # refused, unreachable, DNS (NameResolutionError)
    return False


#: TLS failures that can only happen while the session is negotiated, before any request byte is written.
HANDSHAKE_ONLY_CAUSES = frozenset({Cause.TLS_CERTIFICATE, Cause.TLS_NOT_TLS, Cause.TLS_HANDSHAKE})


def sent_before_tls_failed(exc: requests.RequestException, cause: Cause) -> bool:
    """Whether a TLS error may have come after the request was written.

    urllib3 raises the same ``SSLError`` for a TLS failure while reading the answer as for one in the
    handshake, so only the causes that exist solely in a handshake prove that nothing was sent; a
    session cut off (``TLS_CUT_OFF``, an unexpected EOF) may have carried the whole request first.
    """
    return isinstance(exc, requests.exceptions.SSLError) and cause not in HANDSHAKE_ONLY_CAUSES


def dropped_reason(exc: requests.RequestException) -> str:
    """What broke a connection after the request was sent, in a few words (no URL: it may hold SOQL)."""
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return "no answer within the read timeout"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "the answer was cut off"
    for item in exception_chain(exc):
        if isinstance(item, http.client.RemoteDisconnected):
            return "the server closed the connection without answering"
        if isinstance(item, ConnectionResetError):
            return "the connection was reset"
        if isinstance(item, (http.client.IncompleteRead, urllib3.exceptions.ProtocolError)):
            return "the answer was cut off"
    return type(exc).__name__


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
        deadline: float | None = DEFAULT_REQUEST_DEADLINE,
        quota: QuotaGuard | None = None,
    ) -> None:
        self.timeout = timeout if timeout is not None else DEFAULT_TIMEOUT
        #: Checks every authenticated request against ``max_api_usage`` before it is sent (``None``: no limit).
        self.quota = quota
        #: Seconds each request may spend waiting for the server in all; ``None`` for no limit.
        self.deadline = deadline
        self.retry = retry or RetryPolicy()
        #: Every secret this transport has sent (login forms, tokens) or been told of; removed from error texts.
        self.redactor = Redactor()
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
        headers = SecretHeaders(call.headers or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
            self.redactor.add(token, rotating=True)
        del token  # not shown by a traceback printer that shows locals
        if isinstance(call.data, SecretForm):
            self.redactor.add(*call.data.secrets)
        retrying = Retrying(
            stop=stop_after_attempt(self.retry.max_attempts),
            wait=self._wait,
            retry=retry_if_exception_type(RetryableAttempt),
            before_sleep=lambda state: self._log_retry(call, state),
            reraise=False,
        )
        try:
            for attempt in retrying:
                with attempt:
                    return self._attempt(call, headers, check)
        except RetryError as exc:
            last = exc.last_attempt.exception()
            if isinstance(last, RetryableAttempt):
                raise last.final from None
            raise
        raise AssertionError("unreachable: tenacity returns or raises")  # pragma: no cover

    def _attempt(self, call: Call, headers: dict[str, str], check: bool) -> requests.Response:
        idempotent = is_idempotent(call.method, call.idempotent)
        started = time.monotonic()
        with guarded(self.quota, call.method, urlsplit(call.url).path, headers, stops_work=call.stops_work) as answer:
            try:
                # Always streamed: the body is read here, in chunks, under the deadline and the size cap.
                response = self.session.request(
                    call.method,
                    call.url,
                    params=call.params,
                    json=call.json_body,
                    data=call.data_factory() if call.data_factory is not None else call.data,
                    files=call.files,
                    headers=headers,
                    timeout=self.timeout,
                    stream=True,
                    verify=self.verify,
                    allow_redirects=False,
                )
            except requests.RequestException as exc:
                raise self._exception_outcome(call, exc, idempotent) from None
            if answer is not None:
                answer.report(response.headers)
        log.debug("%s -> %s in %.3fs", call.display, response.status_code, time.monotonic() - started)
        budget = None if self.deadline is None else self.deadline - (time.monotonic() - started)
        response.__class__ = StreamedResponse
        assert isinstance(response, StreamedResponse)
        response.sfpy_method = call.method
        response.sfpy_wait_budget = budget
        if budget is not None and budget < 0:
            response.close()
            raise self._deadline_passed(call, "before the answer's headers arrived", idempotent)
        ok = response.status_code < 300 or response.status_code == 304
        if not ok or not call.stream:
            self._read_body(call, response, idempotent, cap=None if ok else MAX_ERROR_BODY_BYTES)
        if ok:
            check_count_headers(call, response)
            return response
        error = error_from_response(call, response, self.redactor)
        if response.status_code == 401 and check:
            raise error
        verdict = verdict_for_status(response.status_code, error.error_code, idempotent)
        if verdict is Verdict.RETRY:
            raise RetryableAttempt(error, parse_retry_after(response.headers.get("Retry-After")))
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

    def _read_body(self, call: Call, response: StreamedResponse, idempotent: bool, *, cap: int | None) -> None:
        """Read the whole body (at most ``cap`` bytes) into ``response.content``, within the deadline.

        A body cut at ``cap`` is an error answer too long to be useful: the connection is dropped,
        so the rest is never downloaded, and the first ``cap`` bytes are kept for the error text.
        """
        parts: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_content(READ_CHUNK_BYTES):
                parts.append(chunk)
                size += len(chunk)
                if cap is not None and size > cap:
                    response.close()  # not consumed: the connection is closed, the rest never read
                    break
        except SalesforceDeadlineError:
            response.close()
            raise self._deadline_passed(
                call, f"while its body was arriving ({size:,} bytes read)", idempotent
            ) from None
        except SalesforceStreamCutError as exc:
            raise self._exception_outcome(
                call, requests.exceptions.ChunkedEncodingError(str(exc)), idempotent
            ) from None
        body = b"".join(parts)
        response._content = body[:cap] if cap is not None else body
        response._content_consumed = True  # as requests' own .content does

    def _deadline_passed(self, call: Call, when: str, idempotent: bool) -> SalesforceError:
        """The request took longer than its deadline: never retried (another try could take as long)."""
        what = (
            "It was not re-sent: it may or may not have been applied."
            if not idempotent
            else "It was not retried: a server this slow would only take as long again."
        )
        error_class = SalesforceDeadlineError if idempotent else SalesforceOutcomeUnknownError
        return error_class(
            f"{call.display} did not complete within its {self.deadline:,.0f} s deadline ({when}). {what} "
            "Raise the connection's request_deadline extra if answers this slow are expected.",
            method=call.method,
            url=urlsplit(call.url).path,
        )

    def _exception_outcome(self, call: Call, exc: requests.RequestException, idempotent: bool) -> Exception:
        path = urlsplit(call.url).path
        if is_connect_failure(exc):
            failure = diagnose(
                exc,
                call.url,
                timed_out=isinstance(exc, requests.exceptions.ConnectTimeout),
                via_proxy=isinstance(exc, requests.exceptions.ProxyError),
                connect_timeout=self.timeout[0] if isinstance(self.timeout, tuple) else self.timeout,
            )
            if not idempotent and sent_before_tls_failed(exc, failure.cause):
                return self._maybe_sent(call, exc, idempotent, path)
            error = SalesforceConnectionError(failure.message, method=call.method, url=path)
            if verdict_for_exception(failure.kind, idempotent) is Verdict.RETRY:
                return RetryableAttempt(error, reason=failure.summary)
            return error
        return self._maybe_sent(call, exc, idempotent, path)

    def _maybe_sent(self, call: Call, exc: requests.RequestException, idempotent: bool, path: str) -> Exception:
        """The connection broke once the request may have been written: a write is never re-sent."""
        address, reason = address_of(call.url), dropped_reason(exc)
        if verdict_for_exception(FailureKind.MAYBE_SENT, idempotent) is Verdict.UNKNOWN_OUTCOME:
            return SalesforceOutcomeUnknownError(
                f"the connection to {address} failed after the request was sent ({reason}); it may or may not "
                "have been applied, so it was not re-sent. Check whether the change landed (e.g. query by "
                "external id) before retrying.",
                method=call.method,
                url=path,
            )
        final = SalesforceConnectionError(
            f"could not complete the request to {address}: {reason} (after the request was sent)",
            method=call.method,
            url=path,
        )
        return RetryableAttempt(final, reason=f"{address}: {reason}")

    def _wait(self, state: RetryCallState) -> float:
        base: float = self._backoff(state)
        outcome = state.outcome
        exc = outcome.exception() if outcome is not None else None
        hint = exc.retry_after if isinstance(exc, RetryableAttempt) else None
        if hint is not None:
            return min(max(hint, base), self.retry.max_retry_after)
        return base

    def _log_retry(self, call: Call, state: RetryCallState) -> None:
        log_retry(call.display, state, self.retry.max_attempts)


def log_retry(display: str, state: RetryCallState, max_attempts: int) -> None:
    """The warning before a retry (both clients): what failed, why, which retry and after how long."""
    outcome = state.outcome
    exc = outcome.exception() if outcome is not None else None
    if isinstance(exc, RetryableAttempt):
        final = exc.final
        status = f"HTTP {final.status} {final.error_code or ''}".strip() if final.status else None
        reason = exc.reason or status or final.message
    else:
        reason = repr(exc)
    wait = state.next_action.sleep if state.next_action else 0.0
    log.warning(
        "Salesforce %s failed (%s); retry %d of %d in %.1fs",
        display,
        reason,
        state.attempt_number,
        max_attempts - 1,
        wait,
    )
