"""The DML of an ingest job: CSV records in, one ``Outcome`` (Id, created?, sf__Error) per record out.

Records are handed over in chunks, and each chunk runs in one store transaction: per-record semantics
(a bad row fails alone, the others are saved) at batch speed. Inserts go through
``Store.create_many``; updates, upserts and deletes through the store's single-record methods, so
every record gets the validation and the error the REST API gives — reworded where CSV differs from
JSON (see ``errors.record_error``).

CSV cell conventions (Bulk API): an empty cell is "not given" — null on insert, left unchanged on
update — and ``#N/A`` sets a field to null.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from airflow_provider_sfpy.emulator import ids
from airflow_provider_sfpy.emulator.bulk.columns import Column
from airflow_provider_sfpy.emulator.bulk.errors import record_error, sf_error
from airflow_provider_sfpy.emulator.describe import deletable
from airflow_provider_sfpy.emulator.errors import ApiError
from airflow_provider_sfpy.emulator.schema import FieldDef, SObjectDef
from airflow_provider_sfpy.emulator.store import MultipleMatches, Store

NULL_VALUE = "#N/A"


@dataclass(frozen=True)
class Outcome:
    """What happened to one record: its Id ("" if none), whether it was created, its ``sf__Error``."""

    record_id: str = ""
    created: bool = False
    error: str | None = None


class Operation(Protocol):
    def apply(self, rows: Sequence[list[str]]) -> list[Outcome]: ...


class _RowValues:
    """CSV cells -> the field values a store call takes (relationship columns looked up to Ids).

    Column positions are worked out once per job: this runs for every record of a 100 MB upload.
    """

    def __init__(self, store: Store, columns: Sequence[Column], skip: str | None = None) -> None:
        self.store = store
        self.plain = [(i, c.field.name) for i, c in enumerate(columns) if c.parent is None and c.field.name != skip]
        self.related = [(i, c) for i, c in enumerate(columns) if c.parent is not None]
        self.positions = {c.field.name: i for i, c in enumerate(columns) if c.parent is None}

    def values(self, cells: Sequence[str]) -> dict[str, object]:
        values: dict[str, object] = {}
        for index, name in self.plain:
            cell = cells[index]
            if cell:
                values[name] = None if cell == NULL_VALUE else cell
        for index, column in self.related:
            cell = cells[index]
            if cell:
                values[column.field.name] = None if cell == NULL_VALUE else self._parent_id(column, cell)
        return values

    def cell(self, cells: Sequence[str], field_name: str) -> str:
        index = self.positions.get(field_name)
        return "" if index is None else cells[index]

    def _parent_id(self, column: Column, value: str) -> str:
        assert column.parent is not None and column.parent_key is not None
        found = self.store.find_by_external_id(column.parent, column.parent_key, value)
        if len(found) == 1:
            return found[0]
        problem = "not found" if not found else "matches more than one record"
        message = (
            f"Foreign key external ID: {value} {problem} for field {column.parent_key.name} "
            f"in entity {column.parent.name}"
        )
        raise ApiError(400, "INVALID_FIELD", message)


def _failure(exc: ApiError, record_id: str = "") -> Outcome:
    return Outcome(record_id, False, sf_error(exc))


def _record_id(obj: SObjectDef, value: str, verb: str) -> str:
    """The canonical Id of an update/delete row, or the error Salesforce gives for the cell."""
    if value in ("", NULL_VALUE):
        raise ApiError(400, "MISSING_ARGUMENT", f"Id not specified in an {verb} call")
    normalized = ids.normalize(value)
    if normalized is None or normalized[:3] != obj.key_prefix:
        raise ApiError(400, "MALFORMED_ID", f"{obj.label} ID: id value of incorrect type: {value}", ["Id"])
    return normalized


def _missing_record(exc: ApiError) -> ApiError:
    """The REST API's 404 for an Id that names no record is a reference error in a Bulk API row."""
    if exc.error_code == "NOT_FOUND":
        return ApiError(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
    return exc


class Insert:
    def __init__(self, store: Store, obj: SObjectDef, columns: Sequence[Column], user_id: str) -> None:
        self.store, self.obj, self.user_id = store, obj, user_id
        self.rows = _RowValues(store, columns, skip="Id")

    def apply(self, rows: Sequence[list[str]]) -> list[Outcome]:
        outcomes: list[Outcome | None] = []
        pending: list[tuple[int, dict[str, object]]] = []
        for cells in rows:
            try:
                if self.rows.cell(cells, "Id") not in ("", NULL_VALUE):
                    raise ApiError(
                        400, "INVALID_FIELD_FOR_INSERT_UPDATE", "cannot specify Id in an insert call", ["Id"]
                    )
                values = self.rows.values(cells)
            except ApiError as exc:
                outcomes.append(_failure(exc))
                continue
            pending.append((len(outcomes), values))
            outcomes.append(None)
        created = self.store.create_many(self.obj, [values for _, values in pending], self.user_id)
        for (index, values), result in zip(pending, created, strict=True):
            if isinstance(result, ApiError):
                outcomes[index] = _failure(record_error(self.obj, values, result))
            else:
                outcomes[index] = Outcome(result, True)
        return [o for o in outcomes if o is not None]


class Update:
    def __init__(self, store: Store, obj: SObjectDef, columns: Sequence[Column], user_id: str) -> None:
        self.store, self.obj, self.user_id = store, obj, user_id
        self.rows = _RowValues(store, columns, skip="Id")

    def apply(self, rows: Sequence[list[str]]) -> list[Outcome]:
        outcomes = []
        with self.store.transaction():
            for cells in rows:
                record_id = ""
                values: dict[str, object] = {}
                try:
                    record_id = _record_id(self.obj, self.rows.cell(cells, "Id"), "update")
                    values = self.rows.values(cells)
                    self.store.update(self.obj, record_id, values, self.user_id)
                except ApiError as exc:
                    outcomes.append(_failure(record_error(self.obj, values, _missing_record(exc)), record_id))
                    continue
                outcomes.append(Outcome(record_id, False))
        return outcomes


class Upsert:
    def __init__(
        self, store: Store, obj: SObjectDef, columns: Sequence[Column], user_id: str, external_id: FieldDef
    ) -> None:
        self.store, self.obj, self.user_id, self.external_id = store, obj, user_id, external_id
        self.rows = _RowValues(store, columns, skip=external_id.name)

    def apply(self, rows: Sequence[list[str]]) -> list[Outcome]:
        outcomes = []
        key = self.external_id.name
        with self.store.transaction():
            for cells in rows:
                values: dict[str, object] = {}
                try:
                    value = self.rows.cell(cells, key)
                    if value in ("", NULL_VALUE):
                        raise ApiError(400, "MISSING_ARGUMENT", f"{key} not specified")
                    values = self.rows.values(cells)
                    record_id, created = self.store.upsert(self.obj, self.external_id, value, values, self.user_id)
                except MultipleMatches as exc:
                    message = f"{key}: more than one record found for external id field: [{', '.join(exc.record_ids)}]"
                    outcomes.append(_failure(ApiError(300, "DUPLICATE_EXTERNAL_ID", message)))
                    continue
                except ApiError as exc:
                    outcomes.append(_failure(record_error(self.obj, values, _missing_record(exc))))
                    continue
                outcomes.append(Outcome(record_id, created))
        return outcomes


class Delete:
    def __init__(self, store: Store, obj: SObjectDef, columns: Sequence[Column], user_id: str, hard: bool) -> None:
        self.store, self.obj, self.user_id, self.hard = store, obj, user_id, hard
        self.rows = _RowValues(store, columns)

    def apply(self, rows: Sequence[list[str]]) -> list[Outcome]:
        outcomes = []
        delete = self.store.hard_delete if self.hard else self.store.delete
        with self.store.transaction():
            for cells in rows:
                record_id = ""
                try:
                    record_id = _record_id(self.obj, self.rows.cell(cells, "Id"), "delete")
                    if not deletable(self.obj):
                        raise ApiError(400, "INVALID_TYPE_FOR_OPERATION", "entity type cannot be deleted")
                    delete(self.obj, record_id, self.user_id)
                except ApiError as exc:
                    outcomes.append(_failure(_missing_record(exc), record_id))
                    continue
                outcomes.append(Outcome(record_id, False))
        return outcomes


def operation_for(
    store: Store,
    obj: SObjectDef,
    columns: Sequence[Column],
    operation: str,
    user_id: str,
    external_id: FieldDef | None,
) -> Operation:
    if operation == "insert":
        return Insert(store, obj, columns, user_id)
    if operation == "update":
        return Update(store, obj, columns, user_id)
    if operation == "upsert":
        assert external_id is not None
        return Upsert(store, obj, columns, user_id, external_id)
    return Delete(store, obj, columns, user_id, hard=operation == "hardDelete")
