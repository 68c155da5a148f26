"""Saving one Bulk query results page whole, or not at all: what sequential, parallel and mapped downloads share.

A page is streamed chunk by chunk into a sink that discards what it got when the ``with`` block raises
(``atomic_write`` for a part file, :class:`Spool` for a page of a combined file), so memory holds one
chunk per page being downloaded. A page cut short (a broken connection, or fewer records than its
``Sforce-NumberOfRecords``) is requested again, with a growing wait, before the download fails: a
results GET reads the same finished result set each time, so repeating it is safe.
"""

from __future__ import annotations

import http.client
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import IO, Any

import requests
import urllib3.exceptions
from airflow.sdk import ObjectStoragePath

from airflow_provider_sfpy.client.bulk2 import QueryResultPage
from airflow_provider_sfpy.client.errors import SalesforceConnectionError, SalesforceError
from airflow_provider_sfpy.formats.csv_records import CsvRecordCounter
from airflow_provider_sfpy.operators.incremental_pages import CsvPageColumns

#: A combined file's page is buffered in memory up to this size, then in a local temporary file.
SPOOL_MEMORY_BYTES = 8 << 20
READ_BLOCK = 1 << 20
#: What reading a streamed body raises when the connection breaks after the headers arrived.
STREAM_CUT_ERRORS: tuple[type[BaseException], ...] = (
    requests.RequestException,
    urllib3.exceptions.HTTPError,
    http.client.HTTPException,
)


class ShortPage(Exception):
    """A results page that ended cleanly but is incomplete."""


#: A page download that failed in one of these ways is thrown away and requested again.
PAGE_CUT_ERRORS: tuple[type[BaseException], ...] = (*STREAM_CUT_ERRORS, ShortPage)


@dataclass(frozen=True)
class SavedPage:
    """What was saved of one page: its records and bytes, and what Salesforce announced."""

    rows: int
    bytes: int
    #: What an incremental export saw in the page (its highest key, its deleted rows).
    columns: CsvPageColumns | None = None
    name: str = ""
    #: The page's ``Sforce-NumberOfRecords`` (``None`` for a part read back from storage).
    announced: int | None = None


@dataclass(frozen=True)
class PageRetry:
    """How often a cut page is requested, and the waits between: ``first_wait`` doubling up to ``max_wait``."""

    attempts: int
    first_wait: float
    max_wait: float


class PageSaver:
    """Saves the pages of one job's results, each whole or not at all (see the module docstring).

    ``watch`` makes a fresh reader of each page's key column for an incremental export (else ``None``).
    Thread-safe: each :meth:`save` keeps its state to itself.
    """

    def __init__(
        self, job_id: str, retry: PageRetry, log: Any, watch: Callable[[], CsvPageColumns] | None = None
    ) -> None:
        self.job_id = job_id
        self.retry = retry
        self.log = log
        self.watch = watch

    def save(
        self,
        fetch: Callable[[], QueryResultPage],
        open_sink: Callable[[], AbstractContextManager[IO[bytes]]],
        *,
        what: str,
        first: QueryResultPage | None = None,
    ) -> SavedPage:
        """Copy one page into a fresh sink; a download cut short is discarded and ``fetch``-ed again.

        ``first`` is the page when it was already requested (a sequential download learns the next
        locator from it); ``open_sink`` is called once per attempt.
        """
        page = first
        problem = ""
        for attempt in range(1, self.retry.attempts + 1):
            if attempt > 1:
                time.sleep(min(self.retry.first_wait * 2 ** (attempt - 2), self.retry.max_wait))
            if page is None or attempt > 1:
                again = fetch()
                if page is not None and again.locator != page.locator:
                    raise SalesforceError(
                        f"Bulk query job {self.job_id}: {what} fetched again points to another next page "
                        f"({again.locator!r}, first {page.locator!r}); the result set changed, so it cannot be "
                        "assembled safely. Run the task again."
                    )
                page = again
            counter = CsvRecordCounter()
            columns = self.watch() if self.watch is not None else None
            try:
                with open_sink() as out:
                    for chunk in page.chunks:
                        counter.feed(chunk)
                        if columns is not None:
                            columns.feed(chunk)
                        out.write(chunk)
                    short = counter.shortfall(page.number_of_records)
                    if short:
                        raise ShortPage(short)
            except PAGE_CUT_ERRORS as exc:
                problem = f"{type(exc).__name__}: {exc}"
                self.log.warning(
                    "Bulk query job %s: %s was cut off after %d bytes (%s); attempt %d of %d",
                    self.job_id,
                    what,
                    counter.bytes,
                    problem,
                    attempt,
                    self.retry.attempts,
                )
                continue
            if counter.records > page.number_of_records:
                self.log.warning(
                    "Bulk query job %s: %s holds %d records, Salesforce announced %d",
                    self.job_id,
                    what,
                    counter.records,
                    page.number_of_records,
                )
            if columns is not None:
                columns.close()
            return SavedPage(
                rows=counter.records, bytes=counter.bytes, columns=columns, announced=page.number_of_records
            )
        raise SalesforceConnectionError(
            f"Bulk query job {self.job_id}: the download of {what} was cut off {self.retry.attempts} times "
            f"(last: {problem}). Nothing partial was kept; the task can be retried (Salesforce keeps the results "
            "for about 7 days).",
            method="GET",
        )

    def read_back(self, path: ObjectStoragePath) -> SavedPage:
        """Count what a part saved by an earlier try holds (records, bytes, incremental key), streaming it."""
        counter = CsvRecordCounter()
        columns = self.watch() if self.watch is not None else None
        with path.open("rb") as data:
            for block in blocks(data):
                counter.feed(block)
                if columns is not None:
                    columns.feed(block)
        if columns is not None:
            columns.close()
        return SavedPage(rows=counter.records, bytes=counter.bytes, columns=columns, name=path.name)


class Spool:
    """A local buffer for one page of a combined file; kept only when the page arrived whole."""

    def __init__(self, memory_bytes: int = SPOOL_MEMORY_BYTES) -> None:
        self.file: IO[bytes] | None = None
        self._memory_bytes = memory_bytes

    @contextmanager
    def open(self) -> Iterator[IO[bytes]]:
        buffer: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=self._memory_bytes)  # noqa: SIM115
        try:
            yield buffer
        except BaseException:
            buffer.close()
            raise
        if self.file is not None:
            self.file.close()
        self.file = buffer

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None


def blocks(data: IO[bytes]) -> Iterator[bytes]:
    """A file's bytes from its start, ``READ_BLOCK`` at a time."""
    data.seek(0)
    while block := data.read(READ_BLOCK):
        yield block


def append_page(spool: Spool, out: IO[bytes], *, skip_header: bool) -> None:
    """Copy a spooled CSV page into a combined file; for later pages, drop the header line."""
    assert spool.file is not None
    pending_header = skip_header
    for chunk in blocks(spool.file):
        if pending_header:
            newline = chunk.find(b"\n")
            if newline < 0:
                continue
            chunk = chunk[newline + 1 :]
            pending_header = False
        out.write(chunk)
