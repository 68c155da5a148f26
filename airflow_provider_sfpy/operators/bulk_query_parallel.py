"""Downloading a Bulk query's result pages at the same time, from the links ``resultPages`` hands out.

Salesforce takes a while to serve each results page, so one stream spends most of its time waiting;
several pages in flight make an extract that much shorter. Each page is still saved whole or not at all
(``bulk_query_pages.PageSaver``), and the files come out exactly as a sequential download writes them:

- **Part files**: each page goes to its own ``part-NNNNN.csv`` (named by its place in the result, not by
  when it finished) through ``atomic_write``, so memory holds one chunk per page in flight. Which parts
  are complete is recorded in the task state store as they finish (:class:`PartsProgress`), so a retry
  after a killed worker downloads only the parts that are missing, and never a part twice into the set.
- **One combined file**: pages are fetched ahead into local spools, at most ``workers`` at a time, and
  appended in order; a page that is not next yet waits on local disk, not in memory.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import IO, Any

from airflow.sdk import ObjectStoragePath

from airflow_provider_sfpy.client.bulk2 import Query
from airflow_provider_sfpy.operators.bulk_query_pages import PageSaver, SavedPage, Spool, append_page
from airflow_provider_sfpy.operators.storage import atomic_write
from airflow_provider_sfpy.operators.task_state import TaskState

#: Without ``parallel=``: the pages downloaded at once, at most (``resultPages`` hands out five links a call).
DEFAULT_WORKERS = 5
#: The most pages in flight one task may ask for (one pooled connection each).
MAX_WORKERS = 10
#: A page of a combined file waiting its turn is held in memory up to this size, then on local disk.
SPOOL_MEMORY_BYTES = 1 << 20
#: The key, inside the task's recorded query job, of the parts already complete.
PROGRESS_KEY = "parallel_parts"


def part_name(number: int) -> str:
    """The file of the ``number``-th page (from 1): ``part-00001.csv``."""
    return f"part-{number:05d}.csv"


def links_key(links: Sequence[str]) -> str:
    """What must not change for recorded progress to be trusted: the pages, in order."""
    return hashlib.sha256(json.dumps(list(links)).encode()).hexdigest()


def format_numbers(numbers: set[int]) -> str:
    """``{1, 2, 3, 5}`` -> ``"1-3,5"``: compact, so thousands of parts fit the task state store."""
    spans: list[str] = []
    for number in sorted(numbers):
        if spans and spans[-1].rsplit("-", 1)[-1] == str(number - 1):
            spans[-1] = f"{spans[-1].split('-')[0]}-{number}"
        else:
            spans.append(str(number))
    return ",".join(spans)


def parse_numbers(text: str) -> set[int]:
    numbers: set[int] = set()
    for span in filter(None, text.split(",")):
        first, _, last = span.partition("-")
        numbers.update(range(int(first), int(last or first) + 1))
    return numbers


class PartsProgress:
    """Which parts of this job's links an earlier try (or this one) completed, kept in the task state.

    It lives inside the operator's recorded query job (``{"job_id", ..., "parallel_parts": {...}}``) and
    is trusted only for the same job and the same links. Without a task state store (Airflow < 3.3)
    nothing is recorded and every part is downloaded.
    """

    def __init__(self, state: TaskState, job_id: str, links: Sequence[str]) -> None:
        self._state = state
        self._job_id = job_id
        self._key = links_key(links)
        recorded = state.load() or {}
        self._recorded = recorded if recorded.get("job_id") == job_id else None
        progress = (self._recorded or {}).get(PROGRESS_KEY) or {}
        self.done: set[int] = parse_numbers(progress.get("done", "")) if progress.get("links") == self._key else set()

    def mark_done(self, number: int) -> None:
        self.done.add(number)
        if self._recorded is not None:
            progress = {"links": self._key, "done": format_numbers(self.done)}
            self._recorded = {**self._recorded, PROGRESS_KEY: progress}
            self._state.save(self._recorded)


class ParallelDownload:
    """The pages behind ``links`` (in result order), ``workers`` at a time, saved by ``saver``."""

    def __init__(self, query: Query, links: Sequence[str], saver: PageSaver, workers: int, log: Any) -> None:
        self.query = query
        self.links = list(links)
        self.saver = saver
        self.workers = max(1, min(workers, len(self.links)))
        self.log = log

    def _fetcher(self, link: str) -> Callable[[], Any]:
        return lambda: self.query.result_page_at(link)

    def parts(self, base: ObjectStoragePath, progress: PartsProgress) -> list[SavedPage]:
        """Every page into its part file under ``base``; parts an earlier try completed are read back."""
        saved: dict[int, SavedPage] = {}
        for number in sorted(progress.done):
            path = base / part_name(number)
            if number <= len(self.links) and path.exists():
                saved[number] = self.saver.read_back(path)
        if saved:
            self.log.info(
                "%d of %d parts were saved by an earlier try; not downloading them again", len(saved), len(self.links)
            )
        missing = [n for n in range(1, len(self.links) + 1) if n not in saved]
        self.log.info("Downloading %d result pages, %d at a time", len(missing), self.workers)

        def download(number: int) -> SavedPage:
            path = base / part_name(number)
            page = self.saver.save(self._fetcher(self.links[number - 1]), lambda: atomic_write(path), what=path.name)
            return SavedPage(page.rows, page.bytes, page.columns, path.name, page.announced)

        def record(number: int, page: SavedPage) -> None:
            saved[number] = page
            progress.mark_done(number)
            self.log.info("Saved page %d (%d records) to %s", number, page.rows, page.name)

        with ThreadPoolExecutor(self.workers, thread_name_prefix="sfpy-bulk-page") as pool:
            futures = {pool.submit(download, number): number for number in missing}
            try:
                for future in _as_they_finish(futures):
                    record(futures[future], future.result())  # the first failure stops the download
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
                for future, number in futures.items():  # after a failure: keep what was finished meanwhile
                    if number not in saved and _succeeded(future):
                        record(number, future.result())
        return [saved[number] for number in range(1, len(self.links) + 1)]

    def combined(self, out: IO[bytes]) -> list[SavedPage]:
        """Every page appended to ``out`` in order (one header), fetched up to ``workers`` pages ahead."""
        saved: list[SavedPage] = []

        def download(number: int) -> tuple[SavedPage, Spool]:
            spool = Spool(SPOOL_MEMORY_BYTES)
            page = self.saver.save(self._fetcher(self.links[number - 1]), spool.open, what=f"page {number}")
            return page, spool

        pending: list[Future[tuple[SavedPage, Spool]]] = []
        with ThreadPoolExecutor(self.workers, thread_name_prefix="sfpy-bulk-page") as pool:
            try:
                upcoming = iter(range(1, len(self.links) + 1))
                for number in upcoming:
                    pending.append(pool.submit(download, number))
                    if len(pending) == self.workers:
                        break
                while pending:
                    page, spool = pending.pop(0).result()
                    try:
                        append_page(spool, out, skip_header=bool(saved))
                    finally:
                        spool.close()
                    saved.append(page)
                    following = next(upcoming, None)
                    if following is not None:
                        pending.append(pool.submit(download, following))
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
                for future in pending:
                    if _succeeded(future):
                        future.result()[1].close()
        return saved


def _as_they_finish(futures: dict[Future[SavedPage], int]) -> Iterator[Future[SavedPage]]:
    """The futures as they finish (those finishing together, in page order)."""
    remaining = set(futures)
    while remaining:
        done, remaining = wait(remaining, return_when=FIRST_COMPLETED)
        yield from sorted(done, key=futures.__getitem__)


def _succeeded(future: Future[Any]) -> bool:
    return future.done() and not future.cancelled() and future.exception() is None
