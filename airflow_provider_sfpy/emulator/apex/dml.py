"""Apex DML statements (``insert``, ``update``, ``upsert``, ``delete``) through the store's validated writes.

A statement is all-or-nothing, like Salesforce's: its rows are written inside a store transaction
(a savepoint nested in the execution's own), and the first failing row rolls the statement back and
throws ``System.DmlException`` with the platform's message layout (one line)::

    Insert failed. First exception on row 0; first error: REQUIRED_FIELD_MISSING,
    Required fields are missing: [Name]: [Name]

New Ids are given to the records only once the whole statement succeeded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_provider_sfpy.emulator.errors import ApiError

from .context import ExecutionContext
from .errors import ApexThrow, ExceptionValue, null_dereference
from .values import ApexList, SObjectValue

_LABELS = {"insert": "Insert", "update": "Update", "upsert": "Upsert", "delete": "Delete"}
#: How the REST layer's "no such record" reads in a DML error.
_CROSS_REFERENCE = ("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")


class _RowError(Exception):
    def __init__(self, code: str, message: str, fields: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.fields = list(fields)


def dml_message(op: str, row: int, record_id: str | None, code: str, message: str, fields: Sequence[str]) -> str:
    where = f"row {row} with id {record_id}" if record_id else f"row {row}"
    return f"{_LABELS[op]} failed. First exception on {where}; first error: {code}, {message}: [{', '.join(fields)}]"


def execute(op: str, target: Any, ctx: ExecutionContext) -> None:
    """Run one DML statement on a record or a list of records."""
    if target is None:
        raise null_dereference()
    records: list[SObjectValue | None] = target.items if isinstance(target, ApexList) else [target]
    if not records:
        return
    ctx.limits.count_dml(len(records))
    new_ids: list[tuple[SObjectValue, str]] = []
    with ctx.store.transaction():
        for row, record in enumerate(records):
            if record is None:
                raise null_dereference()
            try:
                created = _write(op, record, ctx)
            except _RowError as exc:
                message = dml_message(op, row, record.record_id, exc.code, exc.message, exc.fields)
                raise ApexThrow(ExceptionValue("DmlException", message)) from None
            if created is not None:
                new_ids.append((record, created))
    for record, record_id in new_ids:
        record.values["Id"] = record_id


def _write(op: str, record: SObjectValue, ctx: ExecutionContext) -> str | None:
    """One row; returns the new Id when the row was created."""
    store, obj, user_id = ctx.store, record.sobject, ctx.user_id
    changes = {k: v for k, v in record.changes().items() if k != "Id"}
    record_id = record.record_id
    if op == "upsert":
        op = "update" if record_id else "insert"
    try:
        if op == "insert":
            if record_id:
                raise _RowError("INVALID_FIELD_FOR_INSERT_UPDATE", "cannot specify Id in an insert call", ["Id"])
            return store.create(obj, changes, user_id)
        if not record_id:
            article = "a" if op == "delete" else "an"
            raise _RowError("MISSING_ARGUMENT", f"Id not specified in {article} {op} call")
        if op == "update":
            store.update(obj, record_id, changes, user_id)
        else:
            store.delete(obj, record_id, user_id)
    except ApiError as exc:
        if exc.error_code == "NOT_FOUND":
            raise _RowError(*_CROSS_REFERENCE) from None
        raise _RowError(exc.error_code, exc.message, exc.fields or []) from None
    return None
