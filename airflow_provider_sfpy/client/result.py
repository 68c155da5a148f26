"""What every client call returns: ``(body, response)``, as in SalesforcePy.

``Result`` is a NamedTuple so existing SalesforcePy code keeps working (``body, resp = ...``,
``result[0]``, ``result[1].status``). ``ResponseInfo`` is a small immutable summary of the HTTP
response rather than the live ``requests.Response``: it keeps nothing that could leak the request's
Authorization header and it does not pin a connection open.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

_API_USAGE = re.compile(r"api-usage=(\d+)/(\d+)")


@dataclass(frozen=True)
class ApiUsage:
    """Salesforce's ``Sforce-Limit-Info: api-usage=used/max`` header, parsed."""

    used: int
    max: int

    @property
    def remaining(self) -> int:
        return self.max - self.used

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> ApiUsage | None:
        raw = headers.get("Sforce-Limit-Info") or headers.get("sforce-limit-info")
        if not raw:
            return None
        match = _API_USAGE.search(raw)
        return cls(int(match.group(1)), int(match.group(2))) if match else None


@dataclass(frozen=True)
class ResponseInfo:
    """The parts of an HTTP response a caller may want after a call."""

    status: int
    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    elapsed_seconds: float = 0.0
    api_usage: ApiUsage | None = None

    @property
    def status_code(self) -> int:
        """Alias for code written against ``requests.Response``."""
        return self.status


class Result(NamedTuple):
    """``(body, response)``: the decoded body (dict, list, str, bytes, an iterator or ``None``)."""

    body: Any
    response: ResponseInfo
