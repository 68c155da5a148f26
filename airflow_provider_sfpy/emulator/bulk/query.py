"""Bulk API 2.0 query jobs: SOQL checked at creation, run once on a worker, results paged from disk.

Creating a job compiles the SOQL right away, so a bad query is a 400 with the same
``MALFORMED_QUERY`` / ``INVALID_FIELD`` body ``/query`` gives, plus what only Bulk queries refuse
(aggregates and GROUP BY, parent-to-child subqueries, OFFSET, binary fields; see "Understanding Bulk
API 2.0 Query": https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/queries.htm).
The worker then runs the query through a store cursor (one materialisation, read in slices under the
store lock) and writes the CSV once: header from ``CompiledQuery.field_paths``, every value quoted,
booleans ``true``/``false``, nulls empty, datetimes ``...000Z`` as the Bulk API writes them. Next to
it goes an index of each record's byte offset, so a ``GET .../results?locator=...&maxRecords=N``
page is two index reads and one file range: no query is re-run, nothing is held in memory, and any
page can be fetched again. Locators are what Salesforce uses too: the record offset, base64-encoded
(``MTAwMDA`` is record 10000).
"""

from __future__ import annotations

import base64
import binascii
import logging
import shutil
import struct
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from airflow_provider_sfpy.emulator.bulk.formats import RowFormatter
from airflow_provider_sfpy.emulator.bulk.jobs import (
    FAILED,
    IN_PROGRESS,
    JOB_COMPLETE,
    UPLOAD_COMPLETE,
    BulkJobs,
    BulkSettings,
    Job,
)
from airflow_provider_sfpy.emulator.errors import ApiError
from airflow_provider_sfpy.emulator.schema import FieldDef
from airflow_provider_sfpy.emulator.soql import CompiledQuery, SoqlError, compile_soql
from airflow_provider_sfpy.emulator.store import Store

log = logging.getLogger(__name__)

#: Rows read from the store cursor per lock acquisition while writing results.
EXPORT_SLICE = 10_000
READ_BLOCK = 1024 * 1024
_OFFSET = struct.Struct("<q")
RESULTS = "results"
INDEX = "results.idx"
INTERNAL_ERROR = "InternalServerError : An unexpected error occurred while processing the query"


def unsupported(message: str) -> ApiError:
    return ApiError(400, "API_ERROR", message)


def compile_bulk_query(soql: str, operation: str, user_id: str) -> CompiledQuery:
    """The compiled query of a new job, or the 400 Salesforce answers the create call with."""
    try:
        compiled = compile_soql(soql, include_deleted=operation == "queryAll", current_user_id=user_id)
    except SoqlError as exc:
        raise ApiError(400, exc.error_code, exc.message) from None
    if compiled.kind != "records":
        raise unsupported("Aggregate functions are not supported in Bulk Query")
    if compiled.child_relationships:
        raise unsupported("Parent-to-child relationship queries are not supported in Bulk Query")
    if compiled.uses_offset:
        raise unsupported("OFFSET clause is not supported in Bulk Query")
    if any(f.type == "base64" for f in column_fields(compiled)):
        raise unsupported("Selecting base64 data not supported in Bulk Query")
    return compiled


def column_fields(compiled: CompiledQuery) -> list[FieldDef]:
    """The field behind each selected column, in SELECT order (for typed CSV formatting)."""
    return list(compiled.selected_fields)


def cell_converter(f: FieldDef) -> Callable[[Any], str]:
    if f.type == "boolean":
        return lambda v: "" if v is None else ("true" if v else "false")
    if f.type == "datetime":
        return lambda v: "" if v is None else str(v).replace("+0000", "Z")
    if f.type == "int":
        return lambda v: "" if v is None else str(int(v))
    if f.type in ("double", "currency", "percent"):
        return lambda v: "" if v is None else str(float(v))
    return lambda v: "" if v is None else str(v)


# ------------------------------------------------------------------------------- locators


def encode_locator(offset: int) -> str:
    return base64.b64encode(str(offset).encode()).decode().rstrip("=")


def decode_locator(locator: str) -> int | None:
    try:
        text = base64.b64decode(locator + "=" * (-len(locator) % 4), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return int(text) if text.isdigit() else None


# ------------------------------------------------------------------------------- result files


class ResultFileWriter:
    """Writes ``results.csv`` and its offset index (header end, then each record's end)."""

    def __init__(self, directory: Path) -> None:
        self._csv: IO[bytes] = (directory / f"{RESULTS}.csv").open("wb")
        self._index: IO[bytes] = (directory / INDEX).open("wb")
        self._position = 0

    def __enter__(self) -> ResultFileWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._csv.close()
        self._index.close()

    def write(self, lines: Sequence[str]) -> None:
        ends = bytearray()
        chunks = []
        position = self._position
        for line in lines:
            data = line.encode("utf-8")
            chunks.append(data)
            position += len(data)
            ends += _OFFSET.pack(position)
        self._csv.write(b"".join(chunks))
        self._index.write(bytes(ends))
        self._position = position


@dataclass(frozen=True)
class ResultPage:
    """One ``/results`` response: the header bytes, a byte range of records, and where to go next."""

    path: Path
    header_end: int
    start: int
    end: int
    count: int
    next_offset: int | None

    @property
    def locator(self) -> str:
        return "null" if self.next_offset is None else encode_locator(self.next_offset)

    @property
    def size(self) -> int:
        return self.header_end + self.end - self.start

    def chunks(self) -> Iterator[bytes]:
        """The page's bytes, read in blocks (a sync iterator: Starlette runs it in a thread)."""
        with self.path.open("rb") as source:
            yield source.read(self.header_end)
            source.seek(self.start)
            remaining = self.end - self.start
            while remaining > 0:
                block = source.read(min(READ_BLOCK, remaining))
                if not block:
                    return
                remaining -= len(block)
                yield block


def result_count(directory: Path) -> int:
    """How many records the job's result holds (its index has one offset per record, plus the header's)."""
    return (directory / INDEX).stat().st_size // _OFFSET.size - 1


def result_page(directory: Path, offset: int, max_records: int | None) -> ResultPage | None:
    """The page of records starting at ``offset`` (``None`` if the offset is past the end)."""
    index_path = directory / INDEX
    total = result_count(directory)
    if offset < 0 or offset > total:
        return None
    stop = total if max_records is None else min(total, offset + max_records)
    with index_path.open("rb") as index:
        header_end = _read_offset(index, 0)
        start = _read_offset(index, offset)
        end = _read_offset(index, stop)
    return ResultPage(
        directory / f"{RESULTS}.csv", header_end, start, end, stop - offset, stop if stop < total else None
    )


def _read_offset(index: IO[bytes], position: int) -> int:
    index.seek(position * _OFFSET.size)
    (value,) = _OFFSET.unpack(index.read(_OFFSET.size))
    return int(value)


# ------------------------------------------------------------------------------- processing


class QueryProcessor:
    """Runs one query job to its end state; a callable for ``BulkJobs.submit``."""

    def __init__(self, jobs: BulkJobs, job: Job, store: Store, settings: BulkSettings) -> None:
        self.jobs = jobs
        self.job = job
        self.store = store
        self.settings = settings

    def __call__(self) -> None:
        try:
            self._run()
        except Exception:
            log.exception("bulk query job %s crashed", self.job.id)
            self.jobs.transition(self.job, {UPLOAD_COMPLETE, IN_PROGRESS}, FAILED, error_message=INTERNAL_ERROR)
        finally:
            self.job.settled.set()
            if self.job.deleted:
                shutil.rmtree(self.job.directory, ignore_errors=True)

    def _interrupted(self) -> bool:
        return self.job.state not in (UPLOAD_COMPLETE, IN_PROGRESS) or self.job.deleted or self.jobs.stopping.is_set()

    def _run(self) -> None:
        job = self.job
        if self.settings.queue_delay > 0:
            self.jobs.stopping.wait(self.settings.queue_delay)
        if self._interrupted() or not self.jobs.transition(job, {UPLOAD_COMPLETE}, IN_PROGRESS):
            return
        started = time.monotonic()
        compiled = job.query
        assert compiled is not None
        with ResultFileWriter(job.directory) as out:
            written = self._export(compiled, out, started)
        if written is not None:
            elapsed = int((time.monotonic() - started) * 1000)
            self.jobs.transition(job, {IN_PROGRESS}, JOB_COMPLETE, processed=written, processing_ms=elapsed)

    def _export(self, compiled: CompiledQuery, out: ResultFileWriter, started: float) -> int | None:
        """Write every result row; the row count, or ``None`` if the job was interrupted."""
        converters = [cell_converter(f) for f in column_fields(compiled)]
        width = len(converters)
        line = RowFormatter(self.job.csv_format).line
        out.write([line(compiled.field_paths)])
        page = self.store.open_query(compiled.sql, compiled.params, EXPORT_SLICE)
        cursor_id, written = page.cursor_id, 0
        try:
            while True:
                out.write([line([c(v) for c, v in zip(converters, row[:width], strict=True)]) for row in page.rows])
                written += len(page.rows)
                elapsed = int((time.monotonic() - started) * 1000)
                self.jobs.update(self.job, processed=written, processing_ms=elapsed)
                if page.cursor_id is None:
                    return written
                if self._interrupted():
                    return None
                page = self.store.query_page(page.cursor_id, page.next_offset, EXPORT_SLICE)
        finally:
            if cursor_id is not None:
                self.store.close_query(cursor_id)
