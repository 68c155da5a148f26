"""Streaming SOQL results: walk ``nextRecordsUrl`` page by page, holding one page at a time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from airflow_provider_sfpy.client.result import ResponseInfo

if TYPE_CHECKING:
    from airflow_provider_sfpy.client.client import Client


class QueryStream:
    """Pages of one query. Iterating it yields page bodies (``{"records": [...], ...}``).

    ``total_size`` is known from the first page. A stream can be walked once: each page is fetched
    when the previous one has been handed out, so memory stays flat however many rows match.
    """

    def __init__(self, client: Client, first_page: dict[str, Any], *, batch_size: int | None = None) -> None:
        self._client = client
        self._first: dict[str, Any] | None = first_page
        self._batch_size = batch_size
        self.total_size: int = int(first_page.get("totalSize", 0))
        self.pages_read = 0
        self.records_read = 0
        self.last_response: ResponseInfo | None = None

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self.pages()

    def pages(self) -> Iterator[dict[str, Any]]:
        page = self._first
        if page is None:
            raise RuntimeError("this QueryStream was already consumed; run the query again")
        self._first = None
        while True:
            self.pages_read += 1
            self.records_read += len(page.get("records", ()))
            next_url = None if page.get("done", True) else page.get("nextRecordsUrl")
            yield page
            if not next_url:
                return
            page, self.last_response = self._client.query_next(next_url, batch_size=self._batch_size)

    def records(self) -> Iterator[dict[str, Any]]:
        for page in self.pages():
            yield from page.get("records", ())
