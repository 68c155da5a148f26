"""Streaming SOQL results: walk ``nextRecordsUrl`` page by page, holding at most three pages.

A page passes through three stages: Salesforce builds it, the client decodes it, the caller works
on it (writes it to a file, say). Done one after another, a page costs the sum of the three. Here
the request for page N+1 goes out on a helper thread as soon as page N's *bytes* have arrived —
its ``nextRecordsUrl`` is read from the head of the body, where Salesforce writes it before the
records — so Salesforce builds page N+1 while this process decodes and writes page N, and a page
costs about the slower of the two. Pages are still handed out strictly in order, and an error
fetching a page is raised where that page would have been handed out. A body with its link after
the records (a proxy that re-serialised the JSON) is scanned for the link with its records skipped,
so the page still reaches the consumer as bytes, for the consumer's own decoder.

A server cursor is never trusted to end by itself: a ``nextRecordsUrl`` this stream already
followed, or more records than the first page's ``totalSize``, stops the stream with
``SalesforceProtocolError`` (following it would read the same records again, forever).
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Union

from airflow_provider_sfpy.client.body import decode_body, json_decode
from airflow_provider_sfpy.client.errors import SalesforceProtocolError
from airflow_provider_sfpy.client.request_sent import on_request_sent
from airflow_provider_sfpy.client.result import ResponseInfo, Result

if TYPE_CHECKING:
    import requests

    from airflow_provider_sfpy.client.client import Client

#: A fetched page: its response (bytes read, not decoded) or, when its link had to be found by
#: decoding it, the decoded body; with the response's info.
_Fetched = tuple[Union["requests.Response", dict[str, Any]], ResponseInfo]

#: How far into a page body ``"records"`` is looked for; the head before it is a few dozen bytes.
_HEAD_SCAN_BYTES = 4096


def next_link_from_head(content: bytes) -> tuple[bool, str | None]:
    """``(known, nextRecordsUrl)`` read from the part of a query body before ``"records"``.

    Salesforce writes ``totalSize``, ``done`` and ``nextRecordsUrl`` before the records, so the
    link is known without decoding the whole page. The head is decoded as JSON (closed with ``}``),
    not pattern-matched; any other layout gives ``known=False`` and the caller decodes the page.
    """
    at = content.find(b'"records"', 0, _HEAD_SCAN_BYTES)
    if at <= 0:
        return False, None
    head = content[:at].rstrip()
    if not head.endswith(b","):
        return False, None
    try:
        meta = json_decode(head[:-1] + b"}")
    except ValueError:  # msgspec's DecodeError and json's JSONDecodeError are both ValueErrors
        return False, None
    if not isinstance(meta, dict) or not isinstance(meta.get("done"), bool):
        return False, None
    if meta["done"]:
        return True, None
    link = meta.get("nextRecordsUrl")
    return (True, link) if isinstance(link, str) and link else (False, None)


def _link_decoder() -> Callable[[bytes], Any] | None:
    """A decoder of a page's ``done`` and ``nextRecordsUrl`` that skips the records without building them."""
    try:
        import msgspec
    except ImportError:  # pragma: no cover - the client used without Airflow
        return None
    page_links = msgspec.defstruct("PageLinks", [("done", bool, True), ("nextRecordsUrl", str | None, None)], gc=False)
    return msgspec.json.Decoder(page_links).decode


_decode_links = _link_decoder()


def next_link_from_body(content: bytes) -> tuple[bool, str | None]:
    """``(known, nextRecordsUrl)`` wherever the link is in the body (records first, re-serialised by a proxy).

    The whole body is read, but its records are skipped, not built: the page stays bytes for the
    consumer's own decoder (e.g. typed records). ``known=False`` when it is not a page of JSON: the
    caller then decodes it the usual way, which says what is wrong.
    """
    if _decode_links is None:
        return False, None
    try:
        links = _decode_links(content)
    except ValueError:  # msgspec's DecodeError and ValidationError are ValueErrors
        return False, None
    return True, None if links.done else links.nextRecordsUrl


def _next_link(page: dict[str, Any]) -> str | None:
    return None if page.get("done", True) else page.get("nextRecordsUrl")


def plural(count: int, noun: str) -> str:
    """``"1 page"``, ``"3 pages"``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def broken_cursor_error(
    cursor: str, problem: str, *, read: str, url: str | None = None, consequence: str | None = None
) -> SalesforceProtocolError:
    """The error that stops a stream whose server cursor repeats or overruns: what happened, how far
    the stream got, and what became of the data (``consequence``; by default, that nothing was written)."""
    if consequence is None:
        consequence = (
            "The stream was stopped there, that page not handed out; sfpy's exports write atomically, "
            "so nothing was written to the destination."
        )
    return SalesforceProtocolError(
        f"Salesforce's {cursor} cursor is broken: {problem}. Stopped after {read}. {consequence} "
        "Run it again later; if it keeps happening, the server (or a proxy in front of it) is at fault.",
        url=url,
    )


class _RepeatedLink(Exception):
    """Raised on the prefetch thread for a ``nextRecordsUrl`` already followed; the stream, which
    knows how far its consumer got, turns it into ``SalesforceProtocolError``."""

    def __init__(self, url: str, page: int, first_page: int) -> None:
        super().__init__(url)
        self.url, self.page, self.first_page = url, page, first_page


class _Links:
    """The ``nextRecordsUrl`` values a stream has followed, with the page that gave each."""

    def __init__(self) -> None:
        self._given_by: dict[str, int] = {}

    def follow(self, url: str, page: int) -> None:
        """Note that page ``page`` gave ``url``; raise ``_RepeatedLink`` if an earlier page gave it too."""
        first = self._given_by.setdefault(url, page)
        if first != page:
            raise _RepeatedLink(url, page, first)


class QueryStream:
    """Pages of one query. Iterating it yields page bodies (``{"records": [...], ...}``).

    ``total_size`` is known from the first page. A stream can be walked once. With ``prefetch``
    (default) the next page is requested while the current one is decoded and handed out.
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
        self._decode_page: Callable[[requests.Response], Any] = decode_body
        self._links = _Links()

    def decode_pages_with(self, decode: Callable[[bytes], dict[str, Any]]) -> None:
        """Decode the pages not yet decoded with ``decode`` (a page's bytes to its body) instead of to dicts.

        For a consumer that knows the records' shape: see ``formats/typed_records.py``. Only a page
        whose link cannot be read without decoding it (not JSON, an odd layout) arrives as dicts, or
        raises what is wrong with it.
        """
        self._decode_page = lambda response: decode(response.content)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self.pages()

    def _fetch_bytes(self, next_url: str) -> Result:
        """The page's response with its bytes read and not decoded (decoding happens on the caller's thread)."""
        return self._client.query_next(next_url, batch_size=self._batch_size, raw=True)

    def _count(self, page: dict[str, Any]) -> None:
        """Count a page before it is handed out; refuse it if it takes the records past ``totalSize``."""
        records = len(page.get("records", ()))
        if 0 < self.total_size < self.records_read + records:
            raise broken_cursor_error(
                "query",
                f"page {self.pages_read + 1} brings the records read to {self.records_read + records}, more than "
                f"the {self.total_size} (totalSize) the query matched",
                read=f"{plural(self.pages_read, 'page')} and {self.records_read} of {self.total_size} records",
            )
        self.pages_read += 1
        self.records_read += records

    def _repeated_link_error(self, repeated: _RepeatedLink) -> SalesforceProtocolError:
        """``repeated`` described from how far the consumer got (it has every page before the one refused)."""
        return broken_cursor_error(
            "query",
            f"page {repeated.page} gave the nextRecordsUrl {repeated.url} again (page {repeated.first_page} gave it "
            "first, and it was followed then); following it would read the same records forever",
            read=f"{plural(self.pages_read, 'page')} and {self.records_read} of {self.total_size} records",
            url=repeated.url,
        )

    def pages(self) -> Iterator[dict[str, Any]]:
        page = self._first
        if page is None:
            raise RuntimeError("this QueryStream was already consumed; run the query again")
        self._first = None
        next_url = _next_link(page)
        if not self._prefetch or not next_url:
            yield from self._pages_in_turn(page)
            return
        self._links.follow(next_url, 1)
        fetcher = _PageFetcher(self._fetch_bytes, next_url, self._links)
        try:
            self._count(page)
            yield page
            while True:
                try:
                    fetched = fetcher.next()
                except _RepeatedLink as repeated:
                    raise self._repeated_link_error(repeated) from None
                if fetched is None:
                    return
                raw, self.last_response = fetched
                page = raw if isinstance(raw, dict) else self._decode_page(raw)
                del raw, fetched  # the bytes can go once decoded
                self._count(page)
                yield page
        finally:
            fetcher.stop()

    def _pages_in_turn(self, page: dict[str, Any]) -> Iterator[dict[str, Any]]:
        while True:
            self._count(page)
            yield page
            next_url = _next_link(page)
            if not next_url:
                return
            try:
                self._links.follow(next_url, self.pages_read)
            except _RepeatedLink as repeated:
                raise self._repeated_link_error(repeated) from None
            result = self._fetch_bytes(next_url)
            page, self.last_response = self._decode_page(result.body), result.response

    def records(self) -> Iterator[dict[str, Any]]:
        for page in self.pages():
            yield from page.get("records", ())


class _Once:
    """Hands one page over at most once; calling again returns the first call's outcome."""

    def __init__(self, put: Callable[[Any], bool], item: Any) -> None:
        self._put, self._item = put, item
        self._outcome: bool | None = None

    def __call__(self) -> bool:
        if self._outcome is None:
            self._outcome = self._put(self._item)
            self._item = None
        return self._outcome


class _PageFetcher:
    """A helper thread that fetches pages one after another, one page ahead of the consumer.

    As soon as a page's bytes have arrived the thread reads its ``nextRecordsUrl`` from the body's
    head and sends the next request *before* handing the page over, so Salesforce builds page N+1
    while the consumer decodes and writes page N. (Sending from the consumer's side instead loses
    that overlap: the request would wait for the GIL while the consumer decodes.) The hand-over
    queue holds one page, so at most three pages are in memory: one being fetched, one waiting,
    one with the consumer. An error is handed over in the failed page's place; ``stop`` ends the
    thread when the consumer stops early.
    """

    _DONE = object()

    def __init__(self, fetch: Callable[[str], Result], first_url: str, links: _Links) -> None:
        self._fetch = fetch
        self._links = links  # the first URL is already noted; each later one is checked before it is fetched
        self._handover: queue.Queue[Any] = queue.Queue(maxsize=1)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(first_url,), name="sfpy-prefetch", daemon=True)
        self._thread.start()

    def _run(self, url: str | None) -> None:
        waiting: Any = None  # the page fetched last, handed over once the next request is on the wire
        hand_over: _Once | None = None
        page = 1  # the page that gave ``url``
        try:
            while url and not self._stopping.is_set():
                hand_over = _Once(self._put, waiting) if waiting is not None else None
                if page > 1:
                    self._links.follow(url, page)  # a repeat is handed over after ``waiting``, never fetched
                page += 1
                with on_request_sent(hand_over) if hand_over else contextlib.nullcontext():
                    result = self._fetch(url)
                if hand_over is not None and not hand_over():  # no signal came (e.g. a caller's session)
                    return
                response: requests.Response = result.body
                known, url = next_link_from_head(response.content)
                if not known:  # another layout: find the link without building the records
                    known, url = next_link_from_body(response.content)
                item: Any = response
                if not known:  # not a page of JSON: decoding it here raises what is wrong
                    item = decode_body(response)
                    url = _next_link(item)
                waiting = (item, result.response)
            if waiting is not None and not self._put(waiting):
                return
            self._put(self._DONE)
        except BaseException as exc:  # handed to the consumer, raised where the page would have been
            if waiting is not None and hand_over is not None:
                hand_over()  # the page before the failed one is still good
            self._put(exc)

    def _put(self, item: Any) -> bool:
        while not self._stopping.is_set():
            try:
                self._handover.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def next(self) -> _Fetched | None:
        """The next page, ``None`` after the last; raises the error that fetching it raised."""
        item = self._handover.get()
        if item is self._DONE:
            return None
        if isinstance(item, BaseException):
            raise item
        fetched: _Fetched = item
        return fetched

    def stop(self) -> None:
        """Stop fetching and wait for a request in flight to end (bounded by the client's timeouts)."""
        self._stopping.set()
        self._thread.join()
