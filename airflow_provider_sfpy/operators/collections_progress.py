"""How far an sObject Collections write got, kept in the task state store so a retry sends each record once.

``SalesforceSObjectOperator`` writes many records 200 per request; a try that stops part way (a
failure, a killed worker) leaves some requests answered, one perhaps sent with its answer lost, and
the rest unsent. :class:`CollectionsProgress` records that before each request, so the next try of
the task instance (a retry or a clear) sends only what has no answer, refuses to re-send an insert
whose answer was lost, and returns every record's id in input order.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from airflow_provider_sfpy.client.errors import SalesforceError
from airflow_provider_sfpy.operators.task_state import AirflowFailException, TaskState

MAX_IDS_IN_MESSAGE = 20
#: The task state store key under which the operator records its progress (Airflow 3.3+).
STATE_KEY = "sfpy_collections"
#: The recorded progress is kept under this many bytes of JSON (Airflow's store holds ~64 KB a value).
STATE_MAX_BYTES = 60_000
#: Marks, in the results rebuilt from the task state store, a record answered by an earlier try whose
#: result did not fit in the store (only that it was answered is known).
NOT_RECORDED = "not_recorded"
EARLIER_TRY = "answered in an earlier try of this task; only the error code was recorded"


def input_fingerprint(
    operation: str, object_type: str | None, external_id_field: str | None, items: Sequence[Mapping[str, Any]]
) -> str:
    """SHA-256 of what is written: a retry given other records must not resume an earlier try's progress."""
    text = json.dumps(
        [operation, object_type, external_id_field, list(items)], sort_keys=True, separators=(",", ":"), default=str
    )
    return hashlib.sha256(text.encode()).hexdigest()


def _span(records: range) -> str:
    first, last = records.start, records.stop - 1
    return f"record {first}" if first == last else f"records {first}-{last}"


def _range(value: range | None) -> list[int] | None:
    return [value.start, value.stop - 1] if value is not None else None


class CollectionsProgress:
    """How far one operator's collections write got, recorded in the task state store as it goes.

    ``results`` are the answers for records ``0 .. len(results) - 1`` (input order); ``sending`` is
    the request sent but not answered: in flight, or for good once its answer was lost; ``failed``
    the request that failed for certain (not applied: sent again by a retry). Where there is no store
    (Airflow before 3.3) the same is tracked in memory, for the XCom and the error text only.

    The recorded value (see ``_value``): ``operation``, ``fingerprint``, ``total``, ``settled``
    (records answered), ``sending`` (``[first, last]`` or ``None``), ``recorded`` (records whose
    results are below: the first ``recorded`` of the settled ones), ``ids`` (inserts and upserts:
    per record, ``None`` for a failure), ``created`` (upserts: a character per record, ``"1"``
    created, ``"0"`` updated, ``"-"`` failed) and ``errors`` (failed records' indices by their
    comma-joined error codes).
    """

    def __init__(
        self,
        state: TaskState,
        *,
        operation: str,
        fingerprint: str,
        items: Sequence[Mapping[str, Any]],
        max_bytes: int,
        log: Any,
    ) -> None:
        self.state = state
        self.operation = operation
        self.fingerprint = fingerprint
        self.items = items
        self.max_bytes = max_bytes
        self.log = log
        self.results: list[dict[str, Any]] = []
        self.sending: range | None = None
        self.failed: range | None = None
        self._recorded = 0
        self._ids: list[str | None] = []
        self._created = ""
        self._errors: dict[str, list[int]] = {}
        self._full = False

    @property
    def complete(self) -> bool:
        return len(self.results) == len(self.items)

    @property
    def started(self) -> bool:
        return bool(self.results) or self.sending is not None or self.failed is not None

    # ------------------------------------------------------------------ reading what earlier tries did
    def resume(self) -> None:
        """Take over what an earlier try recorded; refuse (no retry) a record of another input."""
        value = self.state.load()
        if value is None:
            return
        total = len(self.items)
        if (value.get("operation"), value.get("fingerprint"), value.get("total")) != (
            self.operation,
            self.fingerprint,
            total,
        ):
            raise AirflowFailException(
                f"An earlier try of this task instance recorded the progress of another input "
                f"({value.get('operation')} of {value.get('total')} records; this try: {self.operation} of {total} "
                "records, or as many with other values, e.g. because an upstream XCom changed). Refusing to mix the "
                "two: the earlier try's records may already be in Salesforce. Check Salesforce; to write this input "
                f"anyway, delete the task state key {STATE_KEY!r} of this task instance (or start a new DAG run)."
            )
        try:
            settled, recorded = int(value["settled"]), int(value["recorded"])
            sending = value.get("sending")
            ids = value.get("ids")
            created = str(value.get("created") or "")
            errors = {str(codes): [int(i) for i in indices] for codes, indices in (value.get("errors") or {}).items()}
            if not 0 <= recorded <= settled <= total or (ids is not None and len(ids) != recorded):
                raise ValueError("inconsistent counts")
            self.results = self._rebuild(settled, recorded, ids, created, errors)
            self.sending = range(int(sending[0]), int(sending[1]) + 1) if sending else None
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise AirflowFailException(
                f"The progress recorded under the task state key {STATE_KEY!r} cannot be read ({exc}); refusing "
                "to guess what earlier tries wrote. Check Salesforce, then delete the key to start over."
            ) from exc
        self._recorded, self._ids, self._created, self._errors = recorded, list(ids or []), created, errors
        self._full = recorded < settled

    def _rebuild(
        self, settled: int, recorded: int, ids: list[Any] | None, created: str, errors: dict[str, list[int]]
    ) -> list[dict[str, Any]]:
        codes_of = {index: codes.split(",") for codes, indices in errors.items() for index in indices}
        results: list[dict[str, Any]] = []
        for index in range(settled):
            if index >= recorded:
                results.append({"success": None, "errors": [], NOT_RECORDED: True})
            elif index in codes_of:
                errors_ = [{"statusCode": code, "message": EARLIER_TRY, "fields": []} for code in codes_of[index]]
                results.append({"success": False, "errors": errors_})
            else:
                item = self.items[index]
                record_id = ids[index] if ids is not None else item.get("Id") or item.get("id")
                result: dict[str, Any] = {"id": record_id, "success": True, "errors": []}
                if self.operation == "upsert":
                    result["created"] = created[index] == "1"
                results.append(result)
        return results

    # ------------------------------------------------------------------ recording this try's progress
    def record(self, results: Sequence[dict[str, Any]], sending: range | None) -> None:
        """The client's ``progress`` callback: record the results so far, and the request about to be sent."""
        self.results, self.sending, self.failed = list(results), None, None
        if self.state.durable:
            self.state.save(self._value(sending))  # before the request: a crash after it leaves it "sending"
        self.sending = sending

    def fail(self, exc: BaseException) -> None:
        """After ``exc`` stopped the write: a request that failed for certain was not applied, so it is
        no longer "sending" (a retry sends it again); any other failure leaves it uncertain."""
        if self.sending is None or not (isinstance(exc, SalesforceError) and exc.failed_range is not None):
            return
        self.failed, self.sending = self.sending, None
        if self.state.durable:
            try:
                self.state.save(self._value(None))
            except Exception:  # the store still says "sending": a retry is then only more careful
                self.log.warning("Could not record that records %s were not applied", _range(self.failed))

    def _value(self, sending: range | None) -> dict[str, Any]:
        """What is saved; the new results' details are added while they fit in ``max_bytes``."""
        value = self._base(sending)
        if not self._full and self._recorded < len(self.results):
            ids, created, errors = list(self._ids), self._created, {k: list(v) for k, v in self._errors.items()}
            for index in range(self._recorded, len(self.results)):
                result = self.results[index]
                if result.get("success"):
                    ids.append(result.get("id"))
                    created += "1" if result.get("created") else "0"
                else:
                    ids.append(None)
                    created += "-"
                    codes = ",".join(str(e.get("statusCode") or "?") for e in result.get("errors") or []) or "?"
                    errors.setdefault(codes, []).append(index)
            candidate = {**value, **self._details(len(self.results), ids, created, errors)}
            if len(json.dumps(candidate, separators=(",", ":"))) <= self.max_bytes:
                self._recorded, self._ids, self._created, self._errors = len(self.results), ids, created, errors
                return candidate
            self._full = True
            self.log.warning(
                "The results of records %d-%d on do not fit in the task state store (over %d bytes): only the "
                "progress is recorded from here on. A retry still sends none of them again, but cannot return "
                "their ids.",
                self._recorded,
                len(self.items) - 1,
                self.max_bytes,
            )
        return {**value, **self._details(self._recorded, self._ids, self._created, self._errors)}

    def _base(self, sending: range | None) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "fingerprint": self.fingerprint,
            "total": len(self.items),
            "settled": len(self.results),
            "sending": _range(sending),
        }

    def _details(
        self, recorded: int, ids: list[str | None], created: str, errors: dict[str, list[int]]
    ) -> dict[str, Any]:
        details: dict[str, Any] = {"recorded": recorded, "errors": errors}
        if self.operation in ("insert", "upsert"):
            details["ids"] = ids
        if self.operation == "upsert":
            details["created"] = created
        return details

    # ------------------------------------------------------------------ telling people
    def _next(self) -> int:
        """The first record never sent."""
        stopped = self.sending or self.failed
        return stopped.stop if stopped is not None else len(self.results)

    def ids(self) -> list[str | None]:
        return [r.get("id") if r.get("success") else None for r in self.results]

    def outcome(self, error: str) -> dict[str, Any]:
        """The ``partial_outcome`` XCom: ids of the answered records and the ranges of the others."""
        total, answered, after = len(self.items), len(self.results), self._next()
        outcome = {
            "total": total,
            "ids": self.ids(),
            "answered": [0, answered - 1] if answered else None,
            "succeeded": sum(1 for r in self.results if r.get("success")),
            "unknown": _range(self.sending),
            "failed": _range(self.failed),
            "not_sent": [after, total - 1] if after < total else None,
            "error": error,
        }
        if self._full:
            outcome[NOT_RECORDED] = [self._recorded, answered - 1] if self._recorded < answered else None
        return outcome

    def describe(self) -> str:
        """Which records are in Salesforce and which are not, in words."""
        answered, after, total = len(self.results), self._next(), len(self.items)
        parts = []
        if answered:
            succeeded = sum(1 for r in self.results if r.get("success") or r.get(NOT_RECORDED))
            parts.append(f"{_span(range(answered))}: answered, {succeeded} in Salesforce")
        if self.sending is not None:
            parts.append(f"{_span(self.sending)}: may or may not be in Salesforce (the answer was lost)")
        if self.failed is not None:
            parts.append(f"{_span(self.failed)}: not in Salesforce (the request failed)")
        if after < total:
            parts.append(f"{_span(range(after, total))}: not sent")
        return "; ".join(parts) + " (ids in XCom 'partial_outcome')"

    def loaded(self) -> str | None:
        """For ``no_blind_retry``: what may have reached Salesforce, or ``None`` when nothing can have."""
        written = sum(1 for r in self.results if r.get("success") or r.get(NOT_RECORDED))
        parts = []
        if written:
            parts.append(f"{written} of records 0-{len(self.results) - 1} (ids in XCom 'partial_outcome')")
        if self.sending is not None:
            parts.append(f"perhaps {_span(self.sending)} (the answer was lost)")
        return " and ".join(parts) if parts else None

    def uncertain_message(self) -> str:
        """Why an insert stops for good at a request whose answer was lost, and what a person can do."""
        assert self.sending is not None
        uncertain, total, plural = _span(self.sending), len(self.items), len(self.sending) > 1
        ids = [record_id for record_id in self.ids() if record_id]
        shown = ", ".join(ids[:MAX_IDS_IN_MESSAGE]) + (
            f", ... ({len(ids)} in all, every one in XCom 'partial_outcome')" if len(ids) > MAX_IDS_IN_MESSAGE else ""
        )
        before = (
            f" {_span(range(self.sending.start)).capitalize()} are settled: {len(ids)} created ({shown})."
            if self.sending.start
            else " No record before was inserted."
        )
        after = (
            f" {_span(range(self.sending.stop, total)).capitalize()} were not sent."
            if self.sending.stop < total
            else ""
        )
        return (
            f"Not retried: {uncertain} (0-based) {'were' if plural else 'was'} sent but the answer was lost, so "
            f"{'they' if plural else 'it'} may or may not be in Salesforce, and inserting "
            f"{'them' if plural else 'it'} again could create duplicates.{before}"
            f"{after} Check Salesforce for {uncertain} and load what is missing; a retry or a clear of this task "
            f"refuses the same way until the task state key {STATE_KEY!r} of this task instance is deleted (which "
            "makes it send every record again: an upsert by external id is safe to re-run)."
        )
