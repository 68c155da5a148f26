"""Record writers: each takes pages of Salesforce records and writes one file format to a binary stream.

Writers never hold more than the page they are given, so an export's memory is one page whatever
its size. The caller owns the stream (and so where it goes: a local file, S3, ...); ``close()``
flushes what the writer buffered without closing that stream.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Callable, Mapping, Sequence
from typing import IO, Any, Protocol

from airflow_provider_sfpy.formats.records import csv_value, make_row_builder, strip_attributes

FORMATS = ("csv", "jsonl", "parquet")
COMPRESSIONS = (None, "gzip")


class RecordWriter(Protocol):
    rows_written: int

    def write_page(self, records: Sequence[dict[str, Any]]) -> None: ...

    def close(self) -> None: ...


class CsvRecordWriter:
    """RFC 4180 CSV (quoted when needed, CRLF rows as the csv module writes), header from the SELECT list.

    Relationship fields are flattened as ``Account.Name``; ``attributes`` never appear; null is an
    empty field and booleans are ``true``/``false`` as Salesforce's own CSVs write them.

    Each page is rendered into one in-memory string and written to the stream in a single call:
    per-row writes through a text wrapper to an object-storage file cost more than the CSV itself.
    """

    def __init__(self, stream: IO[bytes], fields: Sequence[str], field_types: Mapping[str, str] | None = None) -> None:
        self._stream = stream
        self._row = make_row_builder(fields)
        # With describe types known, only the columns that need it are converted (booleans, compound
        # fields); every other value goes to the csv module untouched. Without types, each value is checked.
        self._convert: list[int] | None = (
            [i for i, f in enumerate(fields) if field_types.get(f, "string") in _CONVERTED_TYPES]
            if field_types is not None
            else None
        )
        self._typed_type: type | None = None
        self._typed_row: Callable[[Any], Sequence[Any]] = self._row
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer)
        self._writer.writerow(fields)
        self._flush()
        self.rows_written = 0

    def _flush(self) -> None:
        self._stream.write(self._buffer.getvalue().encode("utf-8"))
        self._buffer.seek(0)
        self._buffer.truncate()

    def accept_typed_records(self, record_type: type, row: Callable[[Any], Sequence[Any]]) -> None:
        """Pages may also hold ``record_type`` records (see ``typed_records``), flattened by ``row``."""
        self._typed_type, self._typed_row = record_type, row

    def write_page(self, records: Sequence[Any]) -> None:
        build = self._typed_row if records and records[0].__class__ is self._typed_type else self._row
        plain, convert = _PLAIN_TYPES, self._convert
        if convert is None:
            rows: Any = [[v if v.__class__ in plain else csv_value(v) for v in build(record)] for record in records]
        elif convert:
            rows = [_converted(build(record), convert) for record in records]
        else:
            rows = map(build, records)
        self._writer.writerows(rows)
        self._flush()
        self.rows_written += len(records)

    def close(self) -> None:
        self._stream.flush()


# Values the csv module already writes the way Salesforce does (None becomes an empty field).
_PLAIN_TYPES = frozenset({str, int, float, type(None)})
# Describe types whose JSON values the csv module would not write as Salesforce does.
_CONVERTED_TYPES = frozenset({"boolean", "address", "location", "anyType", "complexvalue", "json"})


def _converted(row: Sequence[Any], columns: Sequence[int]) -> list[Any]:
    values = list(row)
    for index in columns:
        values[index] = csv_value(values[index])
    return values


class JsonLinesRecordWriter:
    """One JSON object per line, nested as Salesforce returns it, without ``attributes``."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self.rows_written = 0

    def write_page(self, records: Sequence[dict[str, Any]]) -> None:
        lines = "".join(json.dumps(strip_attributes(r), ensure_ascii=False) + "\n" for r in records)
        self._stream.write(lines.encode("utf-8"))
        self.rows_written += len(records)

    def close(self) -> None:
        self._stream.flush()


class ParquetRecordWriter:
    """Parquet with a schema from describe: one row group per page, columns named like the SELECT list.

    Needs the optional ``pyarrow`` dependency (``pip install airflow-provider-sfpy[parquet]``).
    """

    def __init__(self, stream: IO[bytes], fields: Sequence[str], field_types: Mapping[str, str]) -> None:
        pa, pq = import_pyarrow()
        self._pa = pa
        self._fields = list(fields)
        self._row = make_row_builder(fields)
        self._schema = pa.schema([(f, arrow_type(pa, field_types.get(f, "string"))) for f in fields])
        self._writer = pq.ParquetWriter(stream, self._schema, compression="snappy")
        self.rows_written = 0

    def write_page(self, records: Sequence[dict[str, Any]]) -> None:
        columns: list[list[Any]] = [[] for _ in self._fields]
        for record in records:
            for index, value in enumerate(self._row(record)):
                columns[index].append(value)
        arrays = [
            self._pa.array(_coerce(values, self._schema.field(i).type, self._pa), type=self._schema.field(i).type)
            for i, values in enumerate(columns)
        ]
        self._writer.write_table(self._pa.Table.from_arrays(arrays, schema=self._schema))
        self.rows_written += len(records)

    def close(self) -> None:
        self._writer.close()


def import_pyarrow() -> tuple[Any, Any]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise RuntimeError(
            "format='parquet' needs pyarrow: pip install 'airflow-provider-sfpy[parquet]' (or pyarrow)"
        ) from None
    return pa, pq


def arrow_type(pa: Any, salesforce_type: str) -> Any:
    """Salesforce describe type -> Arrow type."""
    if salesforce_type == "boolean":
        return pa.bool_()
    if salesforce_type == "int":
        return pa.int64()
    if salesforce_type in ("double", "currency", "percent"):
        return pa.float64()
    if salesforce_type == "date":
        return pa.date32()
    if salesforce_type == "datetime":
        return pa.timestamp("ms", tz="UTC")
    return pa.string()


def _coerce(values: list[Any], arrow: Any, pa: Any) -> list[Any]:
    """Salesforce sends dates and datetimes as text; Arrow wants Python date/datetime objects."""
    import datetime as dt

    if arrow == pa.date32():
        return [dt.date.fromisoformat(v) if isinstance(v, str) else v for v in values]
    if pa.types.is_timestamp(arrow):
        return [dt.datetime.strptime(v, "%Y-%m-%dT%H:%M:%S.%f%z") if isinstance(v, str) else v for v in values]
    if arrow == pa.string():
        return [json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else v for v in values]
    return values


class Compressed:
    """A gzip layer over a binary stream; closing it finishes the gzip member, not the stream below."""

    def __init__(self, stream: IO[bytes], compression: str | None) -> None:
        if compression not in COMPRESSIONS:
            raise ValueError(f"compression must be one of {COMPRESSIONS}, not {compression!r}")
        self._gzip = gzip.GzipFile(fileobj=stream, mode="wb") if compression == "gzip" else None
        self.stream: IO[bytes] = self._gzip if self._gzip is not None else stream  # type: ignore[assignment]

    def close(self) -> None:
        if self._gzip is not None:
            self._gzip.close()


def make_writer(
    fmt: str, stream: IO[bytes], fields: Sequence[str] | None, field_types: Mapping[str, str] | None = None
) -> RecordWriter:
    if fmt == "csv":
        if fields is None:
            raise ValueError("CSV needs the field list")
        return CsvRecordWriter(stream, fields, field_types)
    if fmt == "jsonl":
        return JsonLinesRecordWriter(stream)
    if fmt == "parquet":
        if fields is None:
            raise ValueError("Parquet needs the field list")
        return ParquetRecordWriter(stream, fields, field_types or {})
    raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
