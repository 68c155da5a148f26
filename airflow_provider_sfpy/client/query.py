"""Streaming SOQL results: walk ``nextRecordsUrl`` page by page, holding at most two pages.

While the caller works on one page (writing it to a file, say), the next one is already being
fetched on a helper thread, so network time and Salesforce's time overlap with the caller's work
instead of adding to it. Pages are still handed out strictly in order, and an error fetching a page
is raised where that page would have been handed out.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from airflow_provider_sfpy.client.result import ResponseInfo, Result

if TYPE_CHECKING:
    from airflow_provider_sfpy.client.client import Client


class QueryStream:
    """Pages of one query. Iterating it yields page bodies (``{"records": [...], ...}``).

    ``total_size`` is known from the first page. A stream can be walked once. With ``prefetch``
    (default) the next page is requested as soon as the current one is handed out.
    """

    def __init__(
        self, client: Client, first_page: dict[str, Any], *, batch_size: int | None = None, prefetch: bool = True
    ) -> None:
        self._client = client
        self._first: dict[str, Any] | None = first_page
        self._batch_size = batch_size
        self._prefetch = prefetch
        self.total_size: int = int(first_page.get("totalSize", 0))
        self.pages_read = 0
        self.records_read = 0
        self.last_response: ResponseInfo | None = None

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self.pages()

    def _fetch(self, next_url: str) -> Result:
        return self._client.query_next(next_url, batch_size=self._batch_size)

    def pages(self) -> Iterator[dict[str, Any]]:
        page = self._first
        if page is None:
            raise RuntimeError("this QueryStream was already consumed; run the query again")
        self._first = None
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sfpy-prefetch") if self._prefetch else None
        try:
            while True:
                self.pages_read += 1
                self.records_read += len(page.get("records", ()))
                next_url = None if page.get("done", True) else page.get("nextRecordsUrl")
                pending: Future[Result] | None = None
                if next_url and executor is not None:
                    pending = executor.submit(self._fetch, next_url)
                yield page
                if not next_url:
                    return
                result = pending.result() if pending is not None else self._fetch(next_url)
                page, self.last_response = result.body, result.response
        finally:
            if executor is not None:
                executor.shutdown(wait=True, cancel_futures=True)

    def records(self) -> Iterator[dict[str, Any]]:
        for page in self.pages():
            yield from page.get("records", ())
