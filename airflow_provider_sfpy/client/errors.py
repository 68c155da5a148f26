"""The typed error family the client raises instead of returning error bodies.

SalesforcePy hands back ``(error_body, response)`` and leaves callers to notice; every failure here
is an exception whose class says what kind of failure it is (so a DAG can catch "not found" but let
"session expired" propagate) and whose text says what to do. Salesforce's REST error body is a list
of ``{"message", "errorCode", "fields"}``; the first entry becomes ``error_code``/``message`` and
all of them stay in ``errors``.

No exception text may ever contain a secret: messages are built only from Salesforce's error
payloads, HTTP methods, paths and the caller's non-secret settings, and whatever a server sent back
passes through a ``Redactor`` first (a server, or a proxy in front of it, may echo what it was sent).
"""

from __future__ import annotations

import html
import json
import re
import threading
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import quote, quote_plus

import requests


class SalesforceError(Exception):
    """Base of every error the client raises.

    ``status`` is the HTTP status (``None`` when no response was received), ``error_code`` is
    Salesforce's ``errorCode`` (e.g. ``MALFORMED_QUERY``), ``fields`` the fields it names.

    When a write of many records (sObject Collections, 200 records a request) fails part way, the
    error also says how far it got; on other errors these stay ``None``/0. ``results`` are the
    per-record results of the records answered so far (records ``0 .. settled_count - 1``, in input
    order, ids included). Ranges are inclusive, 0-based ``(first, last)``: ``unknown_range`` is the
    request whose answer was lost (a create: its records may or may not exist; the error is then a
    ``SalesforceOutcomeUnknownError``), ``failed_range`` the request that failed for certain (a
    create: Salesforce refused it, nothing of it was applied; an update, upsert or delete: it may be
    sent again safely), ``unsent_range`` the records after it, never sent.
    """

    results: list[dict[str, Any]] | None = None
    settled_count: int = 0
    unknown_range: tuple[int, int] | None = None
    failed_range: tuple[int, int] | None = None
    unsent_range: tuple[int, int] | None = None

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_code: str | None = None,
        fields: Sequence[str] = (),
        method: str | None = None,
        url: str | None = None,
        errors: Sequence[dict[str, Any]] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.error_code = error_code
        self.fields = list(fields)
        self.method = method
        self.url = url
        self.errors = list(errors)

    def answer_details(self) -> dict[str, Any]:
        """This error's answer (status, errorCode, fields, errors) and request, as keyword arguments for
        another error that explains the same answer in other words."""
        return {
            "status": self.status,
            "error_code": self.error_code,
            "fields": self.fields,
            "method": self.method,
            "url": self.url,
            "errors": self.errors,
        }

    def __str__(self) -> str:
        where = f"{self.method} {self.url}: " if self.method and self.url else ""
        code = f"{self.error_code}: " if self.error_code else ""
        status = f" (HTTP {self.status})" if self.status is not None else ""
        fields = f" [fields: {', '.join(self.fields)}]" if self.fields else ""
        return f"{where}{code}{self.message}{fields}{status}"


class SalesforceConfigError(SalesforceError, ValueError):
    """The client was configured in a way that cannot work; raised before any HTTP request."""


class SalesforceUnsafeUrlError(SalesforceError):
    """A URL would send our token somewhere it must not go (another host, plain HTTP)."""


class SalesforceAuthError(SalesforceError):
    """An OAuth flow was refused (``invalid_grant``, ``invalid_client``, ...).

    ``flow`` names the login flow, ``error``/``error_description`` are Salesforce's OAuth fields.
    """

    def __init__(self, message: str, *, flow: str, error: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, error_code=error, **kwargs)
        self.flow = flow
        self.error = error

    def __str__(self) -> str:
        # The message quotes Salesforce's error ("was refused: invalid_grant: ..."): not prefixed with it again.
        status = f" (HTTP {self.status})" if self.status is not None else ""
        return f"{self.message}{status}"


class SalesforceSessionExpiredError(SalesforceError):
    """401 INVALID_SESSION_ID that a fresh login did not cure (or the flow cannot log in again)."""


class SalesforceMalformedRequestError(SalesforceError):
    """400: the request itself is wrong (unknown field, missing required field, bad JSON, ...)."""


class SalesforceMalformedQueryError(SalesforceMalformedRequestError):
    """400 on a SOQL/SOSL query: syntax error, unknown field or object. The message has row/column."""


class SalesforceNotFoundError(SalesforceError):
    """404: the object, record or resource does not exist (or was deleted)."""


class SalesforceUnknownObjectError(SalesforceNotFoundError):
    """The org has no sObject type of that name that the user can reach: a typo, a custom object's missing
    ``__c``, or no access. ``object_type`` names it.

    Salesforce says so differently per API (404 ``NOT_FOUND`` for ``/sobjects/<name>``, 400 ``INVALID_TYPE``
    in a SOQL query, 400 ``INVALIDENTITY`` for a Bulk job, a per-record ``INVALID_TYPE`` in sObject
    Collections); the client raises this error with one message for all of them, and keeps what
    Salesforce answered in ``status``, ``error_code`` and ``errors``. Where Salesforce answered 400, the
    error is also of the class that answer had (``SalesforceMalformedQueryError`` for a query,
    ``SalesforceMalformedRequestError`` otherwise: see the two subclasses), so existing handlers still catch it.
    """

    def __init__(self, message: str, *, object_type: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.object_type = object_type

    def __str__(self) -> str:
        where = f"{self.method} {self.url}: " if self.method and self.url else ""
        code = f": {self.error_code}" if self.error_code else ""
        answered = f" (Salesforce answered HTTP {self.status}{code})" if self.status is not None else ""
        return f"{where}{self.message}{answered}"


class SalesforceUnknownObjectInQueryError(SalesforceUnknownObjectError, SalesforceMalformedQueryError):
    """An unknown object in a SOQL query (400 ``INVALID_TYPE``): also a ``SalesforceMalformedQueryError``."""


class SalesforceUnknownObjectInRequestError(SalesforceUnknownObjectError, SalesforceMalformedRequestError):
    """An unknown object named in a request's body (a Bulk job, sObject Collections records).

    Also a ``SalesforceMalformedRequestError``, the class Salesforce's 400 answer had."""


class SalesforceMultipleChoicesError(SalesforceError):
    """300: an external id matched several records; ``errors`` lists the candidates' URLs."""


class SalesforceRefusedError(SalesforceError):
    """403: the user, profile or org refuses the request."""


class SalesforceLimitExceededError(SalesforceRefusedError):
    """403 REQUEST_LIMIT_EXCEEDED or 429 after the retry budget: an API limit is used up."""


class SalesforceApiQuotaGuardError(SalesforceLimitExceededError):
    """The client stopped *before* sending a request that would take the org's daily API usage past the
    ``max_api_usage`` threshold (see ``quota.py``). Nothing was sent, so nothing is in doubt, and it is
    not retried (``status`` is ``None``: no answer exists).

    ``used`` is the org's usage as last reported (plus this client's requests still on their way),
    ``limit`` the org's daily allocation, ``allowed`` the usage the threshold stops at, ``setting``
    the ``max_api_usage`` value as given.
    """

    def __init__(self, message: str, *, used: int, limit: int, allowed: int, setting: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.used = used
        self.limit = limit
        self.allowed = allowed
        self.setting = setting


class SalesforceServerError(SalesforceError):
    """5xx that survived the retry budget, or a non-JSON error page from a proxy."""


class SalesforceOutcomeUnknownError(SalesforceError):
    """A non-idempotent request (e.g. a create) may have reached Salesforce, but no answer came back.

    It is deliberately not re-sent: re-sending could create the record twice. The caller must
    check (by external id, or by querying) whether it landed before trying again.
    """


class SalesforceConnectionError(SalesforceError):
    """The server could not be reached at all, even after retries."""


class SalesforceStreamCutError(SalesforceConnectionError, requests.exceptions.ConnectionError):
    """The connection broke while a streamed answer's body was being read: what was read is incomplete.

    Also a ``requests.ConnectionError``, so code written against the bare ``requests`` error of
    earlier releases (such as a caller that re-fetches a cut page) still catches it.
    """


class SalesforceDeadlineError(SalesforceConnectionError):
    """A request spent longer than its deadline waiting for the server (a server sending too slowly).

    Not retried: another try could take as long again. The deadline is the connection's
    ``request_deadline`` extra (``Client(request_deadline=...)``).
    """


class SalesforceProtocolError(SalesforceError):
    """The server answered, but broke the API's contract in a way that makes going on unsafe.

    For example a paging cursor (``nextRecordsUrl``, ``Sforce-Locator``) that comes back again, or
    more records than the query's ``totalSize``: following it would read the same records forever.
    The stream is stopped instead of returning a result that looks complete but is not.
    """


_QUERY_CODES = frozenset({"MALFORMED_QUERY", "INVALID_FIELD", "INVALID_TYPE", "MALFORMED_SEARCH"})
_LIMIT_CODES = frozenset({"REQUEST_LIMIT_EXCEEDED", "TXN_SECURITY_NO_ACCESS", "API_DISABLED_FOR_ORG"})


def error_class_for(status: int, error_code: str | None, *, is_query: bool) -> type[SalesforceError]:
    """Choose the exception class from the HTTP status and Salesforce's errorCode."""
    if status == 300:
        return SalesforceMultipleChoicesError
    if status == 401:
        return SalesforceSessionExpiredError
    if status == 404:
        return SalesforceNotFoundError
    if status == 429 or (status == 403 and error_code in _LIMIT_CODES):
        return SalesforceLimitExceededError
    if status == 403:
        return SalesforceRefusedError
    if status >= 500:
        return SalesforceServerError
    if 400 <= status < 500:
        if is_query and error_code in _QUERY_CODES:
            return SalesforceMalformedQueryError
        return SalesforceMalformedRequestError
    return SalesforceError


# ----------------------------------------------------------------------------------------- redaction
REDACTED = "***"
#: Secrets shorter than this are replaced only where they stand alone (not inside longer words).
_MIN_ANYWHERE = 6
#: Rotating values (access tokens) remembered per redactor; older ones are forgotten.
_MAX_ROTATING = 32
#: How much of a body is redacted before an excerpt is cut from it.
MAX_REDACTED_CHARS = 1 << 20

_SECRET_NAMES = r"password|passwd|client_secret|security_token|refresh_token|access_token|assertion|private_key|token"
#: Secret-looking things redacted whether or not their value is known.
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # PEM private keys, whole or cut off.
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)", re.S), REDACTED),
    # JWTs (a JWT bearer assertion): header.payload.signature, base64url.
    (re.compile(r"eyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]*"), REDACTED),
    # Salesforce session ids (access tokens): the org id, "!", the rest.
    (re.compile(r"\b00D[A-Za-z0-9]{12,15}![A-Za-z0-9._~+/=%-]{16,}"), REDACTED),
    # "Bearer <token>", e.g. an echoed Authorization header.
    (re.compile(r"(?i)(\bbearer\s+)[^\s\"',;&<>]+"), r"\1" + REDACTED),
    # Form fields (password=...&client_secret=...) and JSON members ("password": "...") named as secrets.
    (re.compile(rf"(?i)(\b(?:{_SECRET_NAMES})=)[^&\s\"'<>]+"), r"\1" + REDACTED),
    (re.compile(rf"(?i)(\"(?:{_SECRET_NAMES})\"\s*:\s*\")(?:[^\"\\]|\\.)*\""), r"\1" + REDACTED + '"'),
)


def _variants(secret: str) -> set[str]:
    """The forms a secret may come back in: as is, form- or URL-encoded, JSON- or HTML-escaped, line by line."""
    found = {secret, json.dumps(secret)[1:-1], html.escape(secret)}
    found.update(encode(secret, safe=safe) for encode in (quote, quote_plus) for safe in ("", "/"))
    if "\n" in secret:  # a PEM key: a server may echo it re-wrapped, so each line is a secret too
        found.update(line.strip() for line in secret.splitlines() if len(line.strip()) > 8 and "-----" not in line)
    return {value for value in found if value}


class Redactor:
    """The secrets of one client (its login flow's, and the access tokens it used) and how to remove them.

    ``redact`` replaces every known secret (in the forms a server may echo it in) and anything shaped
    like a private key, a JWT, a Salesforce session id, a bearer token or a secret-named form field or
    JSON member with ``***``. Every text quoted from a server's answer goes through it. Thread-safe.
    """

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._lock = threading.Lock()
        self._static: dict[str, None] = {}
        self._rotating: dict[str, None] = {}
        self._pattern: re.Pattern[str] | None = None
        self._dirty = False
        self.add(*secrets)

    def __repr__(self) -> str:  # never the values
        return f"Redactor({len(self._static) + len(self._rotating)} values)"

    def add(self, *secrets: str | None, rotating: bool = False) -> None:
        """Remember secrets; ``rotating`` ones (access tokens) are forgotten once many newer ones came."""
        new = [str(s) for s in secrets if s]
        if not new:
            return
        with self._lock:
            target = self._rotating if rotating else self._static
            for secret in new:
                if secret in target:
                    continue
                target[secret] = None
                self._dirty = True
            while len(self._rotating) > _MAX_ROTATING:
                del self._rotating[next(iter(self._rotating))]

    def _compiled(self) -> re.Pattern[str] | None:
        with self._lock:
            if self._dirty:
                values: set[str] = set()
                for secret in (*self._static, *self._rotating):
                    values.update(_variants(secret))
                alternatives = []
                for value in sorted(values, key=len, reverse=True):
                    escaped = re.escape(value)
                    if len(value) < _MIN_ANYWHERE:
                        escaped = rf"(?<![A-Za-z0-9]){escaped}(?![A-Za-z0-9])"
                    alternatives.append(escaped)
                self._pattern = re.compile("|".join(alternatives)) if alternatives else None
                self._dirty = False
            return self._pattern

    def redact(self, text: str) -> str:
        """``text`` without any secret this redactor knows of or recognises."""
        if not text:
            return text
        for shape, replacement in _PATTERNS:  # first, while tokens and keys are whole
            text = shape.sub(replacement, text)
        pattern = self._compiled()
        if pattern is not None:
            text = pattern.sub(REDACTED, text)
        return text

    def redact_value(self, value: Any) -> Any:
        """A decoded answer (dicts, lists, strings) with every string redacted."""
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, dict):
            return {key: self.redact_value(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.redact_value(item) for item in value]
        return value


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` without ``secrets`` and without anything shaped like a key, token or credential."""
    return Redactor(secrets).redact(text)
