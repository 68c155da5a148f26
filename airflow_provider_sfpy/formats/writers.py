"""Record writers: each takes pages of Salesforce records and writes one file format to a binary stream.

CSV and JSON Lines never hold more than the page they are given; Parquet holds pages up to one row
group (32 MiB of Arrow data at most, ``parquet_writer``), so an export's memory is bounded whatever
its size. The caller owns the stream (and so where it goes: a local file, S3, ...); ``close()``
flushes what the writer buffered without closing that stream. Parquet may have to rewrite what it
wrote (a later page that contradicts a column's type), so to a write-only object-storage upload it
writes a local temporary file first and copies it into the stream on ``close()`` (``parquet_writer``).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Callable, Mapping, Sequence
from typing import IO, Any, Protocol

from airflow_provider_sfpy.formats.jsonl_records import jsonl_page_decoder
from airflow_provider_sfpy.formats.parquet_writer import ParquetRecordWriter
from airflow_provider_sfpy.formats.records import csv_value, strip_attributes
from airflow_provider_sfpy.formats.typed_records import RowFlattener, TypedPages

FORMATS = ("csv", "jsonl", "parquet")
COMPRESSIONS = (None, "gzip")


class RecordWriter(Protocol):
    """Writes pages of records; ``typed_pages`` offers a faster decoder for the pages after the first."""

    rows_written: int

    def typed_pages(self, samples: Sequence[Any]) -> TypedPages | None:
        """A decoder into compact records this writer also takes, learnt from ``samples`` (``None``: dicts only)."""
        ...

    def write_page(self, records: Sequence[Any]) -> None: ...

    def close(self) -> None:
        """Finish the file (the caller's stream stays open)."""
        ...

    def abort(self) -> None:
        """Give up the file after a failure, leaving nothing that could write to the stream later."""
        ...


class CsvRecordWriter:
    """RFC 4180 CSV (quoted when needed, CRLF rows as the csv module writes), header from the SELECT list.

    Relationship fields are flattened as ``Account.Name``; ``attributes`` never appear; null is an
    empty field and booleans are ``true``/``false`` as Salesforce's own CSVs write them.

    Each page is rendered into one in-memory string and written to the stream in a single call:
    per-row writes through a text wrapper to an object-storage file cost more than the CSV itself.
    """

    def __init__(self, stream: IO[bytes], fields: Sequence[str], field_types: Mapping[str, str] | None = None) -> None:
        self._stream = stream
        self._rows = RowFlattener(fields)
        # With describe types known, only the columns that need it are converted (booleans, compound
        # fields); every other value goes to the csv module untouched. Without types, each value is checked.
        self._convert: list[int] | None = (
            [i for i, f in enumerate(fields) if field_types.get(f, "string") in _CONVERTED_TYPES]
            if field_types is not None
            else None
        )
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer)
        self._writer.writerow(fields)
        self._flush()
        self.rows_written = 0

    def _flush(self) -> None:
        self._stream.write(self._buffer.getvalue().encode("utf-8"))
        self._buffer.seek(0)
        self._buffer.truncate()

    def typed_pages(self, samples: Sequence[Any]) -> TypedPages | None:
        """Later pages may then hold ``typed.record_type`` records (``typed_records``), flattened by ``typed.row``."""
        return self._rows.learn(samples)

    def write_page(self, records: Sequence[Any]) -> None:
        build = self._rows.row_builder(records)
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

    def abort(self) -> None:
        """Nothing is held back between pages."""


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
    """One JSON object per line, nested as Salesforce returns it, without ``attributes``.

    Lines are ``json.dumps(record, ensure_ascii=False)``; pages of compact typed records
    (``jsonl_records``) are written to the very same bytes without building dicts.
    """

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._typed: type | None = None
        self._typed_lines: Callable[[Sequence[Any]], bytes] | None = None
        self.rows_written = 0

    def typed_pages(self, samples: Sequence[Any]) -> TypedPages | None:
        typed = jsonl_page_decoder(samples)
        if typed is not None:
            self._typed, self._typed_lines = typed.record_type, typed.lines
        return typed

    def write_page(self, records: Sequence[Any]) -> None:
        if records and records[0].__class__ is self._typed and self._typed_lines is not None:
            self._stream.write(self._typed_lines(records))
        else:
            lines = "".join(json.dumps(strip_attributes(r), ensure_ascii=False) + "\n" for r in records)
            self._stream.write(lines.encode("utf-8"))
        self.rows_written += len(records)

    def close(self) -> None:
        self._stream.flush()

    def abort(self) -> None:
        """Nothing is held back between pages."""


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
        return ParquetRecordWriter(stream, fields, field_types)
    raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
