"""What an incremental export wrote, watched as its pages stream by: the highest key, and the deleted rows.

The new watermark is the highest key *actually written*, so it is read from the pages themselves:
records of a REST query (dicts, or the compact records of ``formats/typed_records.py``), or the CSV
bytes of a Bulk API 2.0 results page, which may be cut anywhere (only whole records are parsed).
A value after the window's end (a server that returned a row changed during the export) is
written but never moves the watermark, which must not pass rows the window had not yet seen.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from airflow_provider_sfpy.formats.records import make_getter
from airflow_provider_sfpy.operators.incremental_soql import parse_salesforce_datetime

DELETED_FIELD = "IsDeleted"


class HighestKey:
    """The highest key value written, never past the window's end (a later value is counted, not used)."""

    def __init__(self, upper: datetime) -> None:
        self.upper = upper
        self.highest: datetime | None = None
        self.beyond_upper = 0

    def observe(self, values: Iterable[Any]) -> None:
        # Salesforce writes every value of a field in one fixed format, so text order is time order:
        # only the page's largest value is parsed.
        texts = [value for value in values if isinstance(value, str) and value]
        if not texts:
            return
        top: datetime | None = parse_salesforce_datetime(max(texts))
        if top is not None and top > self.upper:
            moments = [parse_salesforce_datetime(text) for text in texts]
            within = [moment for moment in moments if moment <= self.upper]
            self.beyond_upper += len(moments) - len(within)
            top = max(within, default=None)
        if top is not None and (self.highest is None or top > self.highest):
            self.highest = top


class RecordPages:
    """Watches the pages of a REST export: the highest key, and how many rows are deleted ones."""

    def __init__(self, key: str, upper: datetime, *, count_deleted: bool) -> None:
        self.key = key
        self.keys = HighestKey(upper)
        self.deleted_rows = 0
        self._key = make_getter(key)
        self._deleted = make_getter(DELETED_FIELD) if count_deleted else None
        self._typed: tuple[type, Callable[[Any], Sequence[Any]], int, int | None] | None = None

    def use_typed_records(self, record_type: type, row: Callable[[Any], Sequence[Any]], fields: Sequence[str]) -> None:
        """Later pages may hold compact ``record_type`` records (``typed_records``) whose ``row`` follows ``fields``."""
        lowered = [field.lower() for field in fields]
        deleted = lowered.index(DELETED_FIELD.lower()) if self._deleted and DELETED_FIELD.lower() in lowered else None
        self._typed = (record_type, row, lowered.index(self.key.lower()), deleted)

    def observe(self, records: Sequence[Any]) -> None:
        if not records:
            return
        typed = self._typed
        if typed is not None and records[0].__class__ is typed[0]:
            rows = [typed[1](record) for record in records]
            self.keys.observe(row[typed[2]] for row in rows)
            if typed[3] is not None:
                self.deleted_rows += sum(1 for row in rows if row[typed[3]] is True)
            return
        self.keys.observe(self._key(record) for record in records)
        if self._deleted is not None:
            self.deleted_rows += sum(1 for record in records if self._deleted(record) is True)


class CsvPageColumns:
    """Reads a Bulk API CSV page as its bytes stream by: the key column's highest value and the rows
    whose ``IsDeleted`` is ``true``. Only whole records are parsed (a line end outside quotes ends one)."""

    def __init__(self, key: str, upper: datetime, *, count_deleted: bool) -> None:
        self.key = key
        self.keys = HighestKey(upper)
        self.deleted_rows = 0
        self._count_deleted = count_deleted
        self._pending = bytearray()
        self._inside_quotes = False
        self._columns: tuple[int, int | None] | None = None

    def feed(self, chunk: bytes) -> None:
        boundary = -1
        offset = len(self._pending)
        self._pending += chunk
        inside = self._inside_quotes
        for index, piece in enumerate(chunk.split(b'"')):
            if index:
                inside = not inside
                offset += 1
            if not inside and (line_end := piece.rfind(b"\n")) >= 0:
                boundary = offset + line_end
            offset += len(piece)
        self._inside_quotes = inside
        if boundary >= 0:
            self._read(bytes(self._pending[: boundary + 1]))
            del self._pending[: boundary + 1]

    def close(self) -> None:
        if self._pending.strip():
            self._read(bytes(self._pending))
        self._pending.clear()

    def _read(self, data: bytes) -> None:
        rows = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
        if self._columns is None:
            header = [name.lower() for name in next(rows, [])]
            if self.key.lower() not in header:
                raise ValueError(f"the Bulk query results have no {self.key} column: {header}")
            deleted = header.index(DELETED_FIELD.lower()) if self._count_deleted else None
            self._columns = (header.index(self.key.lower()), deleted)
        key_at, deleted_at = self._columns
        page = [row for row in rows if row]
        self.keys.observe(row[key_at] for row in page)
        if deleted_at is not None:
            self.deleted_rows += sum(1 for row in page if row[deleted_at] == "true")
