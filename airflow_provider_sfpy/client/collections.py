"""sObject Collections (``/composite/sobjects``): many records per request, at most 200 each.

Larger inputs are split into 200-record calls here, so callers pass any number of records and get
one result per record back, in input order. ``all_or_none`` holds within each call (Salesforce's
unit of atomicity); across calls it cannot, which is why a caller needing one transaction for more
than 200 records must use Bulk API instead.

A call in which nothing was applied because a record's sObject type does not exist raises
``SalesforceUnknownObjectError``, as every other API does for an unknown object (Salesforce answers it
with a per-record ``INVALID_TYPE``).

When a call fails after earlier calls succeeded, the error says how far the write got (see
:class:`~airflow_provider_sfpy.client.errors.SalesforceError`: ``results``, ``settled_count``,
``unknown_range``, ``failed_range``, ``unsent_range``), whatever the failure, so records already
written are never lost track of. Callers that must survive a crash between calls (the
``SalesforceSObjectOperator``) pass ``progress`` to record each call before it is sent, and
``settled`` to resume after the records an earlier attempt already got answers for.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from airflow_provider_sfpy.client.errors import SalesforceConfigError, SalesforceError, SalesforceOutcomeUnknownError
from airflow_provider_sfpy.client.result import ResponseInfo, Result
from airflow_provider_sfpy.client.retry import is_idempotent
from airflow_provider_sfpy.client.unknown_object import unknown_object_in_results

if TYPE_CHECKING:
    from airflow_provider_sfpy.client.client import Client

MAX_RECORDS_PER_CALL = 200

#: ``progress(results, sending)``: called before each request with the results so far (records
#: ``0 .. len(results) - 1``, input order) and the index range the request is about to send, then once
#: more with every result and ``None`` when all are answered. An exception it raises stops the write
#: before that request is sent.
Progress = Callable[[Sequence[dict[str, Any]], range | None], None]


def _typed(records: Sequence[Mapping[str, Any]], object_type: str | None) -> list[dict[str, Any]]:
    """Records with ``attributes.type`` set (collections need it on every record)."""
    typed = []
    for index, record in enumerate(records):
        item = dict(record)
        attributes = dict(item.get("attributes") or {})
        if object_type and not attributes.get("type"):
            attributes["type"] = object_type
        if not attributes.get("type"):
            raise SalesforceConfigError(
                f"record {index} has no sObject type: pass object_type=... or give it attributes={{'type': ...}}"
            )
        item["attributes"] = attributes
        typed.append(item)
    return typed


def _span(first: int, last: int) -> str:
    return f"record {first}" if first == last else f"records {first}-{last}"


def _partial_outcome(
    exc: SalesforceError, done: Sequence[dict[str, Any]], call: range, total: int, *, idempotent: bool
) -> SalesforceError:
    """``exc`` (same class, same details), saying which records are settled, uncertain, failed or unsent.

    Records before the failed call have their results (ids) in ``results``. The failed call's own
    records are uncertain when its answer was lost (``SalesforceOutcomeUnknownError``), else they
    failed for certain; records after it were not sent. So whoever retries knows exactly what to
    check, and what to send again, before sending anything.
    """
    first, last = call.start, call.stop - 1
    unknown = isinstance(exc, SalesforceOutcomeUnknownError)
    unsent = (call.stop, total - 1) if call.stop < total else None
    span, plural = _span(first, last), first != last
    if unknown:
        head = f"{span} (0-based) {'have' if plural else 'has'} an unknown fate: {exc.message}"
    elif idempotent:
        head = f"{span} (0-based) failed: {exc.message} (sending {'them' if plural else 'it'} again is safe)"
    else:
        head = f"{span} (0-based) {'were' if plural else 'was'} not applied: {exc.message}"
    parts = [head]
    if done:
        succeeded = sum(1 for result in done if result.get("success"))
        parts.append(
            f"Records 0-{len(done) - 1} were answered before: {succeeded} succeeded and are in Salesforce "
            f"(their ids are in this error's results), {len(done) - succeeded} failed."
        )
    if unsent is not None:
        parts.append(f"Records {unsent[0]}-{unsent[1]} were not sent.")
    message = " ".join(parts) if unknown or done or unsent is not None else exc.message
    error = exc.__class__.__new__(exc.__class__)  # the same class, so callers' except clauses still match
    error.__dict__.update(exc.__dict__)
    error.args = (message,)
    error.message = message
    error.results = list(done)
    error.settled_count = len(done)
    error.unknown_range = (first, last) if unknown else None
    error.failed_range = None if unknown else (first, last)
    error.unsent_range = unsent
    return error


def _records_request(all_or_none: bool) -> Callable[[list[Any]], dict[str, Any]]:
    def request(chunk: list[Any]) -> dict[str, Any]:
        return {"json": {"allOrNone": all_or_none, "records": chunk}}

    return request


class Collections:
    """``client.collections``: create/update/upsert/delete/retrieve many records.

    The writes take two optional arguments for callers that resume: ``settled``, the results an
    earlier attempt got for the first ``len(settled)`` records (those are not sent again and come
    back as given, in place), and ``progress`` (see :data:`Progress`).
    """

    def __init__(self, client: Client) -> None:
        self._client = client

    def _path(self, suffix: str = "") -> str:
        return self._client.data_path(f"composite/sobjects{suffix}")

    def _send_chunks(
        self,
        method: str,
        path: str,
        items: Sequence[Any],
        request: Callable[[list[Any]], dict[str, Any]],
        *,
        settled: Sequence[Mapping[str, Any]] = (),
        progress: Progress | None = None,
    ) -> Result:
        """Send ``items`` after the ``settled`` ones, 200 a request; ``request(chunk)`` gives the request's
        ``json``/``params``. Any failure raises the error with the outcome so far (see ``_partial_outcome``)."""
        if len(settled) >= len(items):
            raise SalesforceConfigError(
                f"{len(settled)} settled results for {len(items)} records: there is nothing left to send"
            )
        idempotent = is_idempotent(method)
        results: list[dict[str, Any]] = [dict(result) for result in settled]
        info: ResponseInfo | None = None
        for start in range(len(results), len(items), MAX_RECORDS_PER_CALL):
            chunk = list(items[start : start + MAX_RECORDS_PER_CALL])
            call = range(start, start + len(chunk))
            if progress is not None:
                progress(list(results), call)
            try:
                body, info = self._client.request(method, path, **request(chunk))
                if not isinstance(body, list) or len(body) != len(chunk):
                    answered = len(body) if isinstance(body, list) else type(body).__name__
                    raise SalesforceOutcomeUnknownError(
                        f"Salesforce answered {answered} results for {len(chunk)} records, so which of them "
                        "were applied cannot be told; they were not re-sent.",
                        method=method,
                        url=path,
                    )
                unknown = unknown_object_in_results(body, method=method, url=path, status=info.status)
                if unknown is not None:  # nothing of the call was applied: the same error as everywhere else
                    raise unknown
            except SalesforceError as exc:
                raise _partial_outcome(exc, results, call, len(items), idempotent=idempotent) from exc
            results.extend(body)
        if progress is not None:
            progress(list(results), None)
        assert info is not None
        return Result(results, info)

    def create(
        self,
        records: Sequence[Mapping[str, Any]],
        *,
        object_type: str | None = None,
        all_or_none: bool = False,
        settled: Sequence[Mapping[str, Any]] = (),
        progress: Progress | None = None,
    ) -> Result:
        """Insert records; ``body`` lists ``{"id", "success", "errors"}`` per record in order."""
        typed = _typed(records, object_type)
        if not typed:
            raise SalesforceConfigError("create needs at least one record")
        return self._send_chunks(
            "POST", self._path(), typed, _records_request(all_or_none), settled=settled, progress=progress
        )

    def update(
        self,
        records: Sequence[Mapping[str, Any]],
        *,
        object_type: str | None = None,
        all_or_none: bool = False,
        settled: Sequence[Mapping[str, Any]] = (),
        progress: Progress | None = None,
    ) -> Result:
        """Update records by ``Id`` (each record must carry ``Id`` or ``id``)."""
        typed = _typed(records, object_type)
        for index, record in enumerate(typed):
            if not (record.get("Id") or record.get("id")):
                raise SalesforceConfigError(f"update: record {index} has no Id")
        return self._send_chunks(
            "PATCH", self._path(), typed, _records_request(all_or_none), settled=settled, progress=progress
        )

    def upsert(
        self,
        records: Sequence[Mapping[str, Any]],
        *,
        object_type: str,
        external_id_field: str,
        all_or_none: bool = False,
        settled: Sequence[Mapping[str, Any]] = (),
        progress: Progress | None = None,
    ) -> Result:
        """Insert-or-update by an external id field; each result says ``created`` true/false."""
        if not external_id_field:
            raise SalesforceConfigError("upsert needs external_id_field, the external id field's name")
        typed = _typed(records, object_type)
        for index, record in enumerate(typed):
            if record.get(external_id_field) in (None, ""):
                raise SalesforceConfigError(f"upsert: record {index} has no value for {external_id_field}")
        path = self._path(f"/{quote(object_type, safe='')}/{quote(external_id_field, safe='')}")
        return self._send_chunks(
            "PATCH", path, typed, _records_request(all_or_none), settled=settled, progress=progress
        )

    def delete(
        self,
        ids: Sequence[str],
        *,
        all_or_none: bool = False,
        settled: Sequence[Mapping[str, Any]] = (),
        progress: Progress | None = None,
    ) -> Result:
        """Delete records by id; ``body`` lists one result per id."""
        if not ids:
            raise SalesforceConfigError("delete needs at least one record id")

        def request(chunk: list[str]) -> dict[str, Any]:
            return {"params": {"ids": ",".join(chunk), "allOrNone": str(all_or_none).lower()}}

        return self._send_chunks("DELETE", self._path(), list(ids), request, settled=settled, progress=progress)

    def retrieve(self, object_type: str, ids: Sequence[str], fields: Sequence[str]) -> Result:
        """Up to 2000 records of one type by id, with the given fields (``None`` for missing ids)."""
        path = self._path(f"/{quote(object_type, safe='')}")
        return self._client.request("GET", path, params={"ids": ",".join(ids), "fields": ",".join(fields)})
