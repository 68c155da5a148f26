"""The typed error family the client raises instead of returning error bodies.

SalesforcePy hands back ``(error_body, response)`` and leaves callers to notice; every failure here
is an exception whose class says what kind of failure it is (so a DAG can catch "not found" but let
"session expired" propagate) and whose text says what to do. Salesforce's REST error body is a list
of ``{"message", "errorCode", "fields"}``; the first entry becomes ``error_code``/``message`` and
all of them stay in ``errors``.

No exception text may ever contain a secret: messages are built only from Salesforce's error
payloads, HTTP methods, paths and the caller's non-secret settings.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


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


class SalesforceSessionExpiredError(SalesforceError):
    """401 INVALID_SESSION_ID that a fresh login did not cure (or the flow cannot log in again)."""


class SalesforceMalformedRequestError(SalesforceError):
    """400: the request itself is wrong (unknown field, missing required field, bad JSON, ...)."""


class SalesforceMalformedQueryError(SalesforceMalformedRequestError):
    """400 on a SOQL/SOSL query: syntax error, unknown field or object. The message has row/column."""


class SalesforceNotFoundError(SalesforceError):
    """404: the object, record or resource does not exist (or was deleted)."""


class SalesforceMultipleChoicesError(SalesforceError):
    """300: an external id matched several records; ``errors`` lists the candidates' URLs."""


class SalesforceRefusedError(SalesforceError):
    """403: the user, profile or org refuses the request."""


class SalesforceLimitExceededError(SalesforceRefusedError):
    """403 REQUEST_LIMIT_EXCEEDED or 429 after the retry budget: an API limit is used up."""


class SalesforceServerError(SalesforceError):
    """5xx that survived the retry budget, or a non-JSON error page from a proxy."""


class SalesforceOutcomeUnknownError(SalesforceError):
    """A non-idempotent request (e.g. a create) may have reached Salesforce, but no answer came back.

    It is deliberately not re-sent: re-sending could create the record twice. The caller must
    check (by external id, or by querying) whether it landed before trying again.
    """


class SalesforceConnectionError(SalesforceError):
    """The server could not be reached at all, even after retries."""


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
