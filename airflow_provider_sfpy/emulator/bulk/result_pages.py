"""Bulk API 2.0 parallel results: ``GET /jobs/query/{id}/resultPages`` (API 58.0 and later).

What Salesforce documents ("Get Parallel Results for a Query Job",
https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/query_get_parallel_job_results.htm):
the job must be ``JobComplete``; it must be read with the API version that created it (409 otherwise);
the JSON answer holds ``resultPages`` (up to five ``{"resultUrl": ...}``, each a results request with
its locator, downloaded like any ``/results`` page and so in parallel), ``nextRecordsUrl`` (the next
five) and ``done``. Before API 58.0 the resource does not exist (404).

What the docs leave open, and what the emulator assumes:

- Page boundaries are the locator pages': the page that starts at record ``o`` holds ``maxRecords``
  records (the request's, else the emulator's ``page_records`` setting, else everything to the end),
  exactly what ``/results?locator=<o>`` answers, so a parallel download and a sequential one make the
  same pages. Every ``resultUrl`` carries its locator (the first page's too: ``MA``, record 0) and, when
  pages have a size, ``maxRecords``, so each link stands on its own.
- ``maxRecords`` is accepted on ``resultPages`` (undocumented: an org that ignores it sizes pages itself,
  and a client that downloads each ``resultUrl`` as given is right either way).
- ``nextRecordsUrl`` is ``.../resultPages?locator=<first page of the next five>`` (``null`` once
  ``done``). A result with no records still has one page: the header row.

The settings live on the registry (``BulkJobs.result_pages``) and are changed at runtime through the
admin API (``PUT /__emulator__/bulk/result-pages``): ``page_records`` and ``page_seconds``, the time
the server takes before it answers each results page (default 0), which is what makes a parallel
download measurably faster than a sequential one.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlencode

#: ``resultUrl`` links per ``resultPages`` answer (Salesforce: "up to five").
LINKS_PER_ANSWER = 5
#: The longest per-page server time the admin API accepts, so a typo cannot hang every client.
MAX_PAGE_SECONDS = 60.0


class ResultPageSettingsError(ValueError):
    """A ``PUT /__emulator__/bulk/result-pages`` body the emulator cannot use."""


@dataclass(frozen=True)
class ResultPageSettings:
    """How results pages are cut and how long the server takes to answer each one."""

    #: Records per page when the request gives no ``maxRecords`` (``None``: everything to the end).
    page_records: int | None = None
    #: Seconds the server spends before it answers each results page.
    page_seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def updated(self, changes: Mapping[str, Any]) -> ResultPageSettings:
        """These settings with ``changes`` applied; raises ``ResultPageSettingsError`` naming a bad key."""
        unknown = set(changes) - {"page_records", "page_seconds"}
        if unknown:
            raise ResultPageSettingsError(
                f"unknown result page setting(s): {', '.join(sorted(unknown))}; use page_records, page_seconds"
            )
        records = changes.get("page_records", self.page_records)
        if records is not None and (isinstance(records, bool) or not isinstance(records, int) or records < 1):
            raise ResultPageSettingsError(f"page_records must be a positive integer or null, not {records!r}")
        seconds = changes.get("page_seconds", self.page_seconds)
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 <= seconds <= MAX_PAGE_SECONDS:
            raise ResultPageSettingsError(
                f"page_seconds must be a number from 0 to {MAX_PAGE_SECONDS:g}, not {seconds!r}"
            )
        return ResultPageSettings(page_records=records, page_seconds=float(seconds))


class ResultPageConfig:
    """The registry's current ``ResultPageSettings``, swapped whole under a lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._settings = ResultPageSettings()

    @property
    def current(self) -> ResultPageSettings:
        with self._lock:
            return self._settings

    def update(self, changes: Mapping[str, Any]) -> ResultPageSettings:
        with self._lock:
            self._settings = self._settings.updated(changes)
            return self._settings


@dataclass(frozen=True)
class ResultLinks:
    """One ``resultPages`` answer: the first record of each page, and where the next answer starts."""

    starts: list[int]
    next_start: int | None


def result_links(total: int, start: int, page_records: int | None) -> ResultLinks:
    """Up to five pages from record ``start`` of ``total``, cut every ``page_records`` records."""
    if page_records is None:
        return ResultLinks([start], None)
    pages_left = max(1, math.ceil((total - start) / page_records))
    count = min(LINKS_PER_ANSWER, pages_left)
    starts = [start + n * page_records for n in range(count)]
    following = start + count * page_records
    return ResultLinks(starts, following if following < total else None)


def with_query(path: str, params: Mapping[str, Any]) -> str:
    """``path?params`` with the ``None`` values left out."""
    kept = {key: value for key, value in params.items() if value is not None}
    return f"{path}?{urlencode(kept)}" if kept else path
