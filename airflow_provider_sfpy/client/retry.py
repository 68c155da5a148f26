"""When a failed request may be sent again — one policy for the sync (requests) and async (httpx) paths.

The rule that matters most: a request that is not idempotent (a POST that creates something) is
re-sent only when we know it never reached Salesforce (connection refused, connect timeout, 429,
503, a lock error that rolled the transaction back). After a read timeout, a dropped connection or a
500, it may already have been applied, so it is reported as "outcome unknown" instead of risking a
duplicate record. Idempotent requests (GET, PUT, PATCH, DELETE) are retried in all those cases.

Some failures are not retried at all, because the same attempt would fail the same way: a failed
TLS handshake, a host name that does not exist, and a connection refused on this machine (nothing
listening on a loopback port). A refused connection to another host is retried: a load balancer
may be restarting. ``connect_failure.py`` says which failure is which.

The functions here only decide; the transports do the sending and the waiting.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})
# errorCodes Salesforce returns when the transaction was rolled back and can simply be tried again.
TRANSIENT_ERROR_CODES = frozenset({"UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE"})
# Statuses that mean the request was not processed at all.
NOT_PROCESSED_STATUSES = frozenset({429, 503})
# Statuses where the server (or a proxy) failed at an unknown point of the processing.
MAYBE_PROCESSED_STATUSES = frozenset({500, 502, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How many times, and how patiently, to retry.

    ``max_attempts`` counts the first try. Waits grow exponentially from ``initial_wait`` up to
    ``max_wait`` with up to ``jitter`` seconds of random spread, so many workers hitting the same
    outage do not retry in lockstep. A server's ``Retry-After`` is honoured up to
    ``max_retry_after`` seconds.
    """

    max_attempts: int = 5
    initial_wait: float = 0.5
    max_wait: float = 20.0
    jitter: float = 0.5
    max_retry_after: float = 120.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("RetryPolicy.max_attempts must be at least 1 (1 means no retries)")


NO_RETRY = RetryPolicy(max_attempts=1)


class Verdict(enum.Enum):
    RETRY = "retry"  # safe to send again
    FAIL = "fail"  # a definite failure: raise the mapped error
    UNKNOWN_OUTCOME = "unknown"  # may have been applied; must not be re-sent


class FailureKind(enum.Enum):
    """What went wrong with an attempt, independent of the HTTP library."""

    NOT_SENT = "not sent"  # connection refused / connect timeout / DNS: nothing reached the server
    MAYBE_SENT = "maybe sent"  # read timeout, dropped connection, truncated response
    TLS = "tls"  # the TLS handshake failed (certificate, plain-HTTP server): retrying will not help
    #: Nothing was sent, and waiting will not change that: no such host name, nothing listening on this machine.
    UNREACHABLE = "unreachable"


def is_idempotent(method: str, override: bool | None = None) -> bool:
    return override if override is not None else method.upper() in IDEMPOTENT_METHODS


def verdict_for_exception(kind: FailureKind, idempotent: bool) -> Verdict:
    if kind in (FailureKind.TLS, FailureKind.UNREACHABLE):
        return Verdict.FAIL
    if kind is FailureKind.NOT_SENT or idempotent:
        return Verdict.RETRY
    return Verdict.UNKNOWN_OUTCOME


def verdict_for_status(status: int, error_code: str | None, idempotent: bool) -> Verdict:
    """Decide for an error response (status >= 300, other than 401 which the client handles).

    The status is judged before the errorCode: a 500/502/504 may come after the change was applied,
    whatever code its body carries, so only the statuses that mean "not processed" let a transient
    errorCode make a non-idempotent request safe to repeat.
    """
    if status in MAYBE_PROCESSED_STATUSES:
        return Verdict.RETRY if idempotent else Verdict.UNKNOWN_OUTCOME
    if status in NOT_PROCESSED_STATUSES or error_code in TRANSIENT_ERROR_CODES:
        return Verdict.RETRY
    return Verdict.FAIL


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds (Salesforce sends delta-seconds; HTTP dates are ignored)."""
    if not value:
        return None
    try:
        return max(0.0, float(value.strip()))
    except ValueError:
        return None
