"""sObject Collections (``/composite/sobjects``): many records per request, at most 200 each.

Larger inputs are split into 200-record calls here, so callers pass any number of records and get
one result per record back, in input order. ``all_or_none`` holds within each call (Salesforce's
unit of atomicity); across calls it cannot, which is why a caller needing one transaction for more
than 200 records must use Bulk API instead.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from airflow_provider_sfpy.client.errors import SalesforceConfigError, SalesforceOutcomeUnknownError
from airflow_provider_sfpy.client.result import ResponseInfo, Result

if TYPE_CHECKING:
    from airflow_provider_sfpy.client.client import Client

MAX_RECORDS_PER_CALL = 200


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


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


def _partial_outcome(
    exc: SalesforceOutcomeUnknownError, done: list[dict[str, Any]], chunk_size: int
) -> SalesforceOutcomeUnknownError:
    """Say which records are settled and which are uncertain when one 200-record call's answer is lost.

    Records before the call have their results (ids) in ``exc.results``; only the call's own records
    are uncertain, so whoever retries knows exactly what to check before sending anything again.
    """
    first, last = len(done), len(done) + chunk_size - 1
    created = sum(1 for result in done if result.get("success"))
    settled = (
        f" Records 0-{first - 1} were answered before ({created} succeeded; their ids are in this error's results)."
        if first
        else ""
    )
    error = SalesforceOutcomeUnknownError(
        f"records {first}-{last} (0-based) have an unknown fate: {exc.message}{settled} "
        f"Records after {last} were not sent.",
        status=exc.status,
        error_code=exc.error_code,
        method=exc.method,
        url=exc.url,
    )
    error.results = list(done)  # type: ignore[attr-defined]
    return error


class Collections:
    """``client.collections``: create/update/upsert/delete/retrieve many records."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def _path(self, suffix: str = "") -> str:
        return self._client.data_path(f"composite/sobjects{suffix}")

    def _send_chunks(
        self, method: str, path: str, payloads: Iterator[dict[str, Any]], *, idempotent: bool | None = None
    ) -> Result:
        results: list[dict[str, Any]] = []
        info: ResponseInfo | None = None
        for payload in payloads:
            try:
                body, info = self._client.request(method, path, json=payload, idempotent=idempotent)
            except SalesforceOutcomeUnknownError as exc:
                raise _partial_outcome(exc, results, len(payload["records"])) from exc
            results.extend(body or [])
        assert info is not None
        return Result(results, info)

    def create(
        self, records: Sequence[Mapping[str, Any]], *, object_type: str | None = None, all_or_none: bool = False
    ) -> Result:
        """Insert records; ``body`` lists ``{"id", "success", "errors"}`` per record in order."""
        typed = _typed(records, object_type)
        if not typed:
            raise SalesforceConfigError("create needs at least one record")
        payloads = ({"allOrNone": all_or_none, "records": list(c)} for c in _chunks(typed, MAX_RECORDS_PER_CALL))
        return self._send_chunks("POST", self._path(), payloads)

    def update(
        self, records: Sequence[Mapping[str, Any]], *, object_type: str | None = None, all_or_none: bool = False
    ) -> Result:
        """Update records by ``Id`` (each record must carry ``Id`` or ``id``)."""
        typed = _typed(records, object_type)
        for index, record in enumerate(typed):
            if not (record.get("Id") or record.get("id")):
                raise SalesforceConfigError(f"update: record {index} has no Id")
        payloads = ({"allOrNone": all_or_none, "records": list(c)} for c in _chunks(typed, MAX_RECORDS_PER_CALL))
        return self._send_chunks("PATCH", self._path(), payloads)

    def upsert(
        self,
        records: Sequence[Mapping[str, Any]],
        *,
        object_type: str,
        external_id_field: str,
        all_or_none: bool = False,
    ) -> Result:
        """Insert-or-update by an external id field; each result says ``created`` true/false."""
        if not external_id_field:
            raise SalesforceConfigError("upsert needs external_id_field, the external id field's name")
        typed = _typed(records, object_type)
        for index, record in enumerate(typed):
            if record.get(external_id_field) in (None, ""):
                raise SalesforceConfigError(f"upsert: record {index} has no value for {external_id_field}")
        path = self._path(f"/{quote(object_type, safe='')}/{quote(external_id_field, safe='')}")
        payloads = ({"allOrNone": all_or_none, "records": list(c)} for c in _chunks(typed, MAX_RECORDS_PER_CALL))
        return self._send_chunks("PATCH", path, payloads)

    def delete(self, ids: Sequence[str], *, all_or_none: bool = False) -> Result:
        """Delete records by id; ``body`` lists one result per id."""
        if not ids:
            raise SalesforceConfigError("delete needs at least one record id")
        results: list[dict[str, Any]] = []
        info: ResponseInfo | None = None
        for chunk in _chunks(list(ids), MAX_RECORDS_PER_CALL):
            params = {"ids": ",".join(chunk), "allOrNone": str(all_or_none).lower()}
            body, info = self._client.request("DELETE", self._path(), params=params)
            results.extend(body or [])
        assert info is not None
        return Result(results, info)

    def retrieve(self, object_type: str, ids: Sequence[str], fields: Sequence[str]) -> Result:
        """Up to 2000 records of one type by id, with the given fields (``None`` for missing ids)."""
        path = self._path(f"/{quote(object_type, safe='')}")
        return self._client.request("GET", path, params={"ids": ",".join(ids), "fields": ",".join(fields)})
