"""Stop before the org's daily API usage passes a threshold: the ``max_api_usage`` setting.

Salesforce counts the REST calls of every user and integration of an org against one allocation,
``DailyApiRequests``, over a rolling 24 hours; once it is used up, the whole org is refused API calls
until the usage of the preceding 24 hours falls below it. A nightly sync that spends the allocation
therefore stops every other integration of the org too. Each REST answer (except ``GET /services/data/``,
which is not counted) reports the org's usage in ``Sforce-Limit-Info: api-usage=used/max``, which
``transport.py`` parses into ``ApiUsage``.

``max_api_usage`` says how far this client may take the org: a fraction of the allocation (``0.8``:
stop at 80 %; ``1`` means 100 %) or a number of requests (``12000``). Before each authenticated
request a ``QuotaGuard`` adds this client's requests still on their way to the usage last reported;
if one more request would pass the threshold it raises ``SalesforceApiQuotaGuardError`` instead of
sending. Retries and re-logins go through the same check (each attempt is a request). An answer that
carried no usage (a dropped connection, a proxy's error page) counts as one request used, so the
estimate errs on the safe side until the next report.

Before the first answer nothing is known. The sync client then asks ``GET /limits`` once, at login
(one request, itself counted; it needs the "View Setup and Configuration" permission, and without it
the client logs a warning and the first answer's header is the baseline), so that not even the first
request of a task is sent past the threshold. The async client (triggers) does not: its requests are
job-status polls, each costing what the probe would, so its first poll's answer is the baseline.

Salesforce documentation:
- Limit Info header: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_api_usage.htm
- Limits resource: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_limits.htm
- API Request Limits and Allocations:
  https://developer.salesforce.com/docs/platform/salesforce-app-limits-cheatsheet/guide/salesforce-app-limits-platform-api.html
- API usage over the last 24 hours: https://help.salesforce.com/s/articleView?id=xcloud.setup_system_overview_api.htm
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from airflow_provider_sfpy.client.errors import SalesforceApiQuotaGuardError, SalesforceConfigError
from airflow_provider_sfpy.client.result import ApiUsage

#: What a ``max_api_usage`` value may be, for error texts.
ALLOWED_VALUES = (
    "a fraction of the org's daily API requests greater than 0 and at most 1 (0.8 stops at 80 %), "
    "or a whole number of requests greater than 1 (12000 stops when the org has used 12,000)"
)


@dataclass(frozen=True)
class MaxApiUsage:
    """A validated ``max_api_usage``: a ``fraction`` of the org's allocation, or a ``count`` of requests."""

    fraction: Decimal | None = None
    count: int | None = None

    @classmethod
    def parse(cls, value: Any, *, setting: str = "max_api_usage") -> MaxApiUsage | None:
        """``None`` for ``None``; else the threshold ``value`` names (a number, or its text).

        Raises ``SalesforceConfigError`` naming ``setting`` for anything that is neither a fraction in
        (0, 1] nor a whole number above 1: zero, negatives, ``1.5``, ``80%``, ``True``, NaN, text.
        """
        if value is None or isinstance(value, MaxApiUsage):
            return value
        number = _as_decimal(value)
        if number is None:
            raise SalesforceConfigError(f"{setting}={value!r} is not a number: it must be {ALLOWED_VALUES}")
        if number <= 0:
            raise SalesforceConfigError(f"{setting}={value!r} must be more than 0: it must be {ALLOWED_VALUES}")
        if number <= 1:
            return cls(fraction=number)
        if number != number.to_integral_value():
            raise SalesforceConfigError(
                f"{setting}={value!r} is more than 1 but not a whole number of requests: it must be {ALLOWED_VALUES}"
            )
        return cls(count=int(number))

    def allowed(self, limit: int) -> int:
        """The org usage this threshold stops at, for an org whose daily allocation is ``limit``."""
        if self.fraction is not None:
            return math.floor(self.fraction * limit)
        assert self.count is not None
        return self.count

    def describe(self, limit: int) -> str:
        """The setting for an org whose allocation is ``limit``: ``"0.8 (80 % of 50,000)"``, or ``"12000"``."""
        if self.fraction is not None:
            return f"{self.fraction} ({float(self.fraction * 100):g} % of {limit:,})"
        return str(self.count)

    def __str__(self) -> str:
        return str(self.fraction) if self.fraction is not None else str(self.count)


def _as_decimal(value: Any) -> Decimal | None:
    """``value`` as an exact finite number (text is read as written: ``"0.8"`` is 0.8), else ``None``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        return None
    try:
        number = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except ArithmeticError:  # decimal.InvalidOperation: not a number
        return None
    return number if number.is_finite() else None


def usage_from_limits(body: Any) -> ApiUsage | None:
    """The org's API usage from a ``GET /limits`` body (``{"DailyApiRequests": {"Max", "Remaining"}}``)."""
    daily = body.get("DailyApiRequests") if isinstance(body, Mapping) else None
    if not isinstance(daily, Mapping):
        return None
    limit, remaining = daily.get("Max"), daily.get("Remaining")
    if not isinstance(limit, int) or not isinstance(remaining, int):
        return None
    return ApiUsage(used=max(0, limit - remaining), max=limit)


class Answer:
    """What one guarded request brought back: ``report(headers)`` with the answer's headers, if any came."""

    def __init__(self) -> None:
        self.usage: ApiUsage | None = None

    def report(self, headers: Mapping[str, str]) -> None:
        self.usage = ApiUsage.from_headers(headers)


class QuotaGuard:
    """The org's API usage as this client knows it, and the check before each request. Thread-safe
    (the query stream sends the next page's request from a helper thread)."""

    def __init__(self, max_usage: MaxApiUsage) -> None:
        self.max_usage = max_usage
        self._lock = threading.Lock()
        self._usage: ApiUsage | None = None
        self._in_flight = 0

    def __repr__(self) -> str:
        return f"QuotaGuard(max_api_usage={self.max_usage}, usage={self._usage})"

    @property
    def usage(self) -> ApiUsage | None:
        """The org's usage as last reported, with the requests answered without a report since; ``None``
        before the first report."""
        return self._usage

    def observe(self, usage: ApiUsage) -> None:
        """Take ``usage`` as the org's current usage (read from ``/limits``' body, not from a header)."""
        with self._lock:
            self._usage = usage

    @contextlib.contextmanager
    def request(self, method: str, path: str) -> Iterator[Answer]:
        """Around sending one request: raises ``SalesforceApiQuotaGuardError`` before it is sent if it
        would pass the threshold; afterwards takes the usage the answer reported (see ``Answer``)."""
        self._admit(method, path)
        answer = Answer()
        try:
            yield answer
        finally:
            self._settle(answer.usage)

    def _admit(self, method: str, path: str) -> None:
        with self._lock:
            usage = self._usage
            if usage is not None:
                used = usage.used + self._in_flight
                allowed = self.max_usage.allowed(usage.max)
                if used + 1 > allowed:
                    raise self._stopped(method, path, used, usage.max, allowed)
            self._in_flight += 1

    def _settle(self, reported: ApiUsage | None) -> None:
        with self._lock:
            self._in_flight -= 1
            if reported is not None:
                self._usage = reported
            elif self._usage is not None:  # no report: count it as used, to be safe
                self._usage = ApiUsage(used=self._usage.used + 1, max=self._usage.max)

    def _stopped(self, method: str, path: str, used: int, limit: int, allowed: int) -> SalesforceApiQuotaGuardError:
        in_flight = (
            f" (counting {self._in_flight} of this client's requests still on their way)" if self._in_flight else ""
        )
        return SalesforceApiQuotaGuardError(
            f"stopped before sending: the org has used {used:,} of its {limit:,} daily API requests{in_flight}, "
            f"and max_api_usage={self.max_usage.describe(limit)} stops at {allowed:,}. This request was not sent, "
            "so nothing is in doubt. To go on: raise max_api_usage (the connection's extra, or "
            "Client(max_api_usage=...)), wait until the org's usage falls (Salesforce counts API requests over a "
            "rolling 24 hours), or ask Salesforce for a higher daily API request allocation.",
            used=used,
            limit=limit,
            allowed=allowed,
            setting=str(self.max_usage),
            method=method,
            url=path,
        )


def guarded(
    quota: QuotaGuard | None, method: str, path: str, headers: Mapping[str, str], *, stops_work: bool = False
) -> contextlib.AbstractContextManager[Answer | None]:
    """Around one attempt of a request, in either client: ``quota.request`` for an authenticated request (one
    Salesforce counts: it carries the session's bearer token), else nothing (and ``None`` for the answer).

    A request that stops work (aborting a Bulk job when a task is killed) is never held back: refusing it
    would leave the job loading in Salesforce, spending more of the allocation the guard protects."""
    if quota is None or stops_work or "Authorization" not in headers:
        return contextlib.nullcontext()
    return quota.request(method, path)


def quota_guard(max_api_usage: Any) -> QuotaGuard | None:
    """A guard for a client's ``max_api_usage`` argument (validated), or ``None`` when it is not set."""
    parsed = MaxApiUsage.parse(max_api_usage)
    return QuotaGuard(parsed) if parsed is not None else None
