"""A query batch's result files, in the job's content type, at most ``records_per_result`` rows each.

- CSV: header of dotted field paths, every value quoted (the Bulk API 2.0 writer); a query with no
  rows answers the text ``Records not found for this query``, as Salesforce does.
- JSON: an array of records as the REST API renders them (``attributes``, parents nested), except that
  date and datetime values are epoch milliseconds (``"CreatedDate": 1546659665000``), a long-standing
  Bulk API 1.0 trait that clients such as simple-salesforce hand through unchanged (simple-salesforce
  issue #290 shows it from a real org).
- XML: ``<queryResult><records xsi:type="sObject"><type>Account</type><Id>...`` with ``xsi:nil`` nulls.

Reference: "Get Batch Results",
https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/asynch_api_batches_get_results.htm
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timezone
from types import TracebackType
from typing import IO, Any

from airflow_provider_sfpy.emulator.bulk.formats import CsvFormat, RowFormatter
from airflow_provider_sfpy.emulator.bulk.query import cell_converter, column_fields
from airflow_provider_sfpy.emulator.bulk1.jobs import RESULT_KEY_PREFIX, Batch
from airflow_provider_sfpy.emulator.bulk1.wire import ASYNC_NS, DECLARATION, JSON, XML, XSI_NS
from airflow_provider_sfpy.emulator.responses import dumps
from airflow_provider_sfpy.emulator.soap.messages import Value, elements
from airflow_provider_sfpy.emulator.soql import CompiledQuery
from airflow_provider_sfpy.emulator.store import Store
from airflow_provider_sfpy.emulator.values import parse_datetime

NO_RECORDS = "Records not found for this query"
DATE_TYPES = frozenset({"date", "datetime"})
Renderer = Callable[[tuple[Any, ...]], str]
Converter = Callable[[Any], str]


@dataclass(frozen=True)
class Layout:
    """How one result file of a content type is laid out around its records."""

    opening: str = ""
    #: Before the first record (CSV: the header).
    heading: str = ""
    separator: str = ""
    closing: str = ""
    #: Instead of ``closing`` in a file with no record.
    empty: str = ""


class ResultFiles:
    """A query's result files, a new one every ``records_per_result`` rows; a query with no rows
    still has one result."""

    def __init__(self, store: Store, batch: Batch, records_per_result: int, layout: Layout, render: Renderer) -> None:
        self._store = store
        self._batch = batch
        self._layout = layout
        self._render = render
        self._limit = max(1, records_per_result)
        self._file: IO[str] | None = None
        self._in_file = 0
        self.result_ids: tuple[str, ...] = ()

    def __enter__(self) -> ResultFiles:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if not self.result_ids:
            self._open()
        self._close()

    def add(self, rows: list[tuple[Any, ...]]) -> None:
        for row in rows:
            if self._file is None or self._in_file >= self._limit:
                self._close()
                self._open()
            assert self._file is not None
            self._file.write(self._layout.separator if self._in_file else self._layout.heading)
            self._file.write(self._render(row))
            self._in_file += 1

    def _open(self) -> None:
        result_id = self._store.new_ids(RESULT_KEY_PREFIX, 1)[0][:15]
        self.result_ids += (result_id,)
        self._file = self._batch.query_result_path(result_id).open("w", encoding="utf-8", newline="")
        self._file.write(self._layout.opening)
        self._in_file = 0

    def _close(self) -> None:
        if self._file is not None:
            self._file.write(self._layout.closing if self._in_file else self._layout.empty)
            self._file.close()
            self._file = None


def result_format(content_type: str, compiled: CompiledQuery, api_version: str) -> tuple[Layout, Renderer]:
    """The layout of a result file in ``content_type`` and how one row is written in it."""
    columns = list(zip(compiled.field_paths, column_fields(compiled), strict=True))
    if content_type == JSON:
        dated = [(path.split("."), f.type) for path, f in columns if f.type in DATE_TYPES]

        def json_record(row: tuple[Any, ...]) -> str:
            record = compiled.to_record(row, api_version)
            for path, kind in dated:
                _epoch_millis(record, path, kind)
            return dumps(record).decode("utf-8")

        return Layout(opening="[", separator=",", closing="]", empty="]"), json_record
    converters = {path: cell_converter(f) for path, f in columns}
    if content_type == XML:

        def xml_record(row: tuple[Any, ...]) -> str:
            record = compiled.to_record(row, api_version)
            return f'<records xsi:type="sObject">{elements(_xml_fields(record, "", converters))}</records>'

        opening = f'{DECLARATION}<queryResult xmlns="{ASYNC_NS}" xmlns:xsi="{XSI_NS}">'
        return Layout(opening=opening, closing="</queryResult>", empty="</queryResult>"), xml_record
    line = RowFormatter(CsvFormat()).line
    cells = list(converters.values())
    width = len(cells)

    def csv_record(row: tuple[Any, ...]) -> str:
        return line([convert(value) for convert, value in zip(cells, row[:width], strict=True)])

    return Layout(heading=line(compiled.field_paths), empty=NO_RECORDS), csv_record


def _epoch_millis(record: dict[str, Any], path: list[str], kind: str) -> None:
    """Replace the date or datetime at ``path`` (``["Owner", "CreatedDate"]``) with epoch milliseconds."""
    *parents, key = path
    for parent in parents:
        nested = record.get(parent)
        if not isinstance(nested, dict):
            return
        record = nested
    value = record.get(key)
    if not isinstance(value, str):
        return
    if kind == "date":
        moment: datetime | None = datetime.combine(date.fromisoformat(value), datetime.min.time(), timezone.utc)
    else:
        moment = parse_datetime(value)
    if moment is not None:
        record[key] = int(moment.timestamp() * 1000)


def _xml_fields(
    record: dict[str, Any], prefix: str, converters: dict[str, Callable[[Any], str]]
) -> list[tuple[str, Value]]:
    fields: list[tuple[str, Value]] = [("type", record["attributes"]["type"])]
    for key, value in record.items():
        if key == "attributes":
            continue
        path = prefix + key
        if isinstance(value, dict):
            fields.append((key, _xml_fields(value, path + ".", converters)))
        elif value is None:
            fields.append((key, None))
        else:
            convert = converters.get(path, str)
            fields.append((key, convert(value)))
    return fields
