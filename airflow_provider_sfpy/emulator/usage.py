"""Org limits and API usage counters, as reported by ``/limits`` and the ``Sforce-Limit-Info`` header.

Salesforce counts every REST call against ``DailyApiRequests`` and tells the client after each call
(``api-usage=N/15000``); clients use it to throttle (``max_api_usage``, ``client/quota.py``). The
emulator counts for real: every authenticated request that reaches a REST, Bulk or Apex REST route
counts once, whatever its answer (``routes/common.py``, ``routes/bulk1.py``; a composite request once
for all its subrequests), while ``GET /services/data/``, OAuth requests and requests refused for a bad
session do not, as on Salesforce. The maximum is ``EmulatorConfig.daily_api_requests``
(``sfpy-emulator --daily-api-requests N``). It does not refuse calls past the maximum (a fault rule can
simulate ``REQUEST_LIMIT_EXCEEDED`` when a test needs it). Unlike Salesforce's rolling 24 hours, the
count never falls while the emulator runs.
"""

from __future__ import annotations

import threading
from typing import Any

#: Maximum per limit, as a Developer/Enterprise org reports them.
LIMIT_MAXIMA: dict[str, int] = {
    "ConcurrentAsyncGetReportInstances": 200,
    "ConcurrentSyncReportRuns": 20,
    "DailyApiRequests": 15000,
    "DailyAsyncApexExecutions": 250000,
    "DailyBulkApiBatches": 15000,
    "DailyBulkV2QueryFileStorageMB": 976562,
    "DailyBulkV2QueryJobs": 10000,
    "DailyGenericStreamingApiEvents": 10000,
    "DailyStreamingApiEvents": 10000,
    "DailyWorkflowEmails": 390,
    "DataStorageMB": 1024,
    "FileStorageMB": 2048,
    "HourlyAsyncReportRuns": 1200,
    "HourlyDashboardRefreshes": 200,
    "HourlyDashboardResults": 5000,
    "HourlyODataCallout": 10000,
    "HourlySyncReportRuns": 500,
    "MassEmail": 10,
    "SingleEmail": 15,
    "StreamingApiConcurrentClients": 20,
}


class ApiUsage:
    """Thread-safe consumption counters, one per limit name."""

    def __init__(self, daily_api_requests: int = LIMIT_MAXIMA["DailyApiRequests"]) -> None:
        if daily_api_requests < 1:
            raise ValueError(f"daily_api_requests must be 1 or more, got {daily_api_requests}")
        self._lock = threading.Lock()
        self._maxima = {**LIMIT_MAXIMA, "DailyApiRequests": daily_api_requests}
        self._used: dict[str, int] = {}

    @property
    def api_max(self) -> int:
        return self._maxima["DailyApiRequests"]

    def consume(self, name: str = "DailyApiRequests", amount: int = 1) -> int:
        """Count ``amount`` uses of a limit; returns the total used so far."""
        with self._lock:
            used = self._used.get(name, 0) + amount
            self._used[name] = used
            return used

    def used(self, name: str = "DailyApiRequests") -> int:
        with self._lock:
            return self._used.get(name, 0)

    def limit_info(self) -> str:
        """The ``Sforce-Limit-Info`` header value."""
        return f"api-usage={self.used()}/{self.api_max}"

    def snapshot(self, data_storage_used_mb: int = 0, file_storage_used_mb: int = 0) -> dict[str, Any]:
        """The ``/limits`` body: ``{"Name": {"Max": m, "Remaining": r}}`` for every limit."""
        extra = {"DataStorageMB": data_storage_used_mb, "FileStorageMB": file_storage_used_mb}
        with self._lock:
            return {
                name: {"Max": maximum, "Remaining": max(0, maximum - self._used.get(name, 0) - extra.get(name, 0))}
                for name, maximum in sorted(self._maxima.items())
            }
