"""Parquet from pages of Salesforce records, in row groups of bounded size, columns named like the SELECT list.

Column types come from describe and the first page (``arrow_columns``), so the schema is settled
when the first page arrives and the underlying ``ParquetWriter`` is opened then. Pages of compact
typed records (``typed_records``) become columns with one transposition in C, no dicts built.

**Row groups.** Each page becomes Arrow columns at once (that is where its values are checked), but
pages are held and written together as one row group of at most ``ROW_GROUP_BYTES`` of Arrow
data and ``ROW_GROUP_ROWS`` rows (a single page larger than that is a row group of its own). A row
group per page costs, for every page, the fixed work of a column chunk in every column, and a
footer entry per column chunk that pyarrow keeps in memory until the file is closed: a 302-field
object in 200-record pages measured 1.4x the transfer floor and 810 MB peak at 200k rows, growing
with the rows. The held pages are the memory an export keeps: one row group, whatever the rows.

**A later page that contradicts a column's type** (text in an int column, say) makes that column
string for the whole file: a Parquet file has one schema, so the held pages are written, and the
rows written so far rewritten once, row group by row group, with that column as text
(``arrow_columns.stored_as_text``); the export goes on. Memory stays about one row group; a column
that is string never changes again.

Rewriting needs the bytes written so far back. A local file, or a buffer, is written directly and
read back when needed (``_ParquetOutput``); an object-storage upload is write-only, so there the
file is built in a local temporary file and copied into the upload when it is complete.

``abort()`` is for an export that fails half way: it drops the held pages and finishes the writer
while its stream is still open (the bytes go to the partial file the caller is about to delete),
so pyarrow never tries to write a footer into a closed file when the writer is garbage collected.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from typing import IO, Any

from airflow_provider_sfpy.formats.arrow_columns import Column, ValueContradictsColumn, plan_column, stored_as_text
from airflow_provider_sfpy.formats.typed_records import RowFlattener, TypedPages

log = logging.getLogger(__name__)

#: Arrow bytes of the pages held for one row group: 32 MiB is ~38 pages of the 302-field benchmark
#: object in 200-record pages, so 200k rows make ~26 row groups instead of 1,000. The writer's own
#: memory for the footer is ~1 KB per column chunk, so it grows 38 times slower than the rows.
ROW_GROUP_BYTES = 32 * 1024 * 1024
#: Rows of one row group however few bytes they hold (narrow objects, mostly empty fields).
ROW_GROUP_ROWS = 128 * 1024


def import_pyarrow() -> tuple[Any, Any]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise RuntimeError(
            "format='parquet' needs pyarrow: pip install 'airflow-provider-sfpy[parquet]' (or pyarrow)"
        ) from None
    return pa, pq


class ParquetRecordWriter:
    """Parquet, snappy-compressed; needs the optional ``pyarrow`` (``pip install airflow-provider-sfpy[parquet]``).

    ``field_types`` maps SELECT items to describe types; a field it lacks (or calls ``string``) is
    typed from its values on the first page. ``row_group_bytes`` and ``row_group_rows`` bound the
    pages held before they are written as one row group (whichever is reached first).
    """

    def __init__(
        self,
        stream: IO[bytes],
        fields: Sequence[str],
        field_types: Mapping[str, str] | None = None,
        *,
        row_group_bytes: int = ROW_GROUP_BYTES,
        row_group_rows: int = ROW_GROUP_ROWS,
    ) -> None:
        self._pa, self._pq = import_pyarrow()
        self._output = _ParquetOutput(stream)
        self._field_types = dict(field_types or {})
        self._rows = RowFlattener(fields)
        self._columns: list[Column] | None = None
        self._schema: Any = None
        self._writer: Any = None
        self._row_group_bytes = row_group_bytes
        self._row_group_rows = row_group_rows
        self._held: list[Any] = []  # pages as Arrow tables, not yet written
        self._held_bytes = 0
        self._held_rows = 0
        self.rows_written = 0
        self.pages_written = 0

    def typed_pages(self, samples: Sequence[Any]) -> TypedPages | None:
        """A decoder for later pages into compact records this writer takes (``None``: keep dicts)."""
        return self._rows.learn(samples)

    def write_page(self, records: Sequence[Any]) -> None:
        build = self._rows.row_builder(records)
        values: list[Sequence[Any]] = list(zip(*map(build, records), strict=True)) or [() for _ in self._rows.fields]
        page = self.pages_written + 1
        columns = self._columns_for(values)
        arrays: list[Any] = []
        contradicted: dict[int, str] = {}
        for index, (column, column_values) in enumerate(zip(columns, values, strict=True)):
            try:
                arrays.append(column.array(self._pa, column_values))
            except ValueContradictsColumn as exc:
                arrays.append(None)
                contradicted[index] = exc.kind
        if contradicted:
            self._make_text(contradicted, page)
            for index in contradicted:
                arrays[index] = columns[index].array(self._pa, values[index])  # a string column takes any value
        self._hold(self._pa.Table.from_arrays(arrays, schema=self._schema))
        self.rows_written += len(records)
        self.pages_written = page

    def close(self) -> None:
        self._write_held()
        self._open().close()
        self._output.finish()

    def abort(self) -> None:
        """Give up the file: release pyarrow's writer without it ever writing to the stream again."""
        self._held, self._held_bytes, self._held_rows = [], 0, 0
        writer, self._writer = self._writer, None
        if writer is not None:
            with contextlib.suppress(Exception):  # the stream may be what failed; the file is discarded anyway
                writer.close()
            writer.is_open = False
        self._output.discard()

    def _columns_for(self, first_values: Sequence[Sequence[Any]]) -> list[Column]:
        if self._columns is None:
            self._columns = [
                plan_column(self._pa, name, self._field_types.get(name), values)
                for name, values in zip(self._rows.fields, first_values, strict=True)
            ]
            self._schema = self._schema_of(self._columns)
        return self._columns

    def _hold(self, table: Any) -> None:
        """Keep a page's table, first writing the held pages as a row group if it would take them past
        the budget: a row group stays within it unless one page alone is larger."""
        size, rows = table.nbytes, table.num_rows
        if self._held_bytes + size > self._row_group_bytes or self._held_rows + rows > self._row_group_rows:
            self._write_held()
        self._held.append(table)
        self._held_bytes += size
        self._held_rows += rows

    def _write_held(self) -> None:
        """The held pages as one row group (their columns stay in chunks: nothing is copied)."""
        if not self._held:
            return
        table = self._pa.concat_tables(self._held)
        self._held, self._held_bytes, self._held_rows = [], 0, 0
        self._open().write_table(table, row_group_size=max(table.num_rows, 1))

    def _schema_of(self, columns: Sequence[Column]) -> Any:
        return self._pa.schema([(column.name, column.arrow) for column in columns])

    def _open(self) -> Any:
        if self._writer is None:
            self._columns_for([() for _ in self._rows.fields])  # no page: describe's types, unknown ones as text
            self._writer = self._pq.ParquetWriter(self._output.file, self._schema, compression="snappy")
        return self._writer

    def _make_text(self, contradicted: Mapping[int, str], page: int) -> None:
        """Turn the ``contradicted`` columns (index -> the JSON type that did not fit) into string columns,
        rewriting the rows already written so the file keeps one schema."""
        assert self._columns is not None
        self._write_held()  # in the old schema: they are rewritten with the rest
        for index, kind in contradicted.items():
            self._columns[index].become_text(self._pa, page, kind)
        self._schema = self._schema_of(self._columns)
        if self._writer is None:
            return
        self._writer.close()  # the footer: what was written is now a complete file that can be read back
        self._writer = None  # (only now: should closing fail, abort() still finds the writer)
        with self._output.rewrite() as previous:
            self._open()
            self._copy_as_text(self._pq.ParquetFile(previous), set(contradicted))
        log.info(
            "Parquet: rewrote the %d rows already written, %d column(s) now string",
            self.rows_written,
            len(contradicted),
        )

    def _copy_as_text(self, source: Any, text_columns: set[int]) -> None:
        """Every row group of ``source`` into the open writer, one at a time, ``text_columns`` as text."""
        pa = self._pa
        for group in range(source.num_row_groups):
            rows = source.metadata.row_group(group).num_rows
            batches = source.iter_batches(batch_size=max(rows, 1), row_groups=[group], use_threads=False)
            table = pa.Table.from_batches(list(batches), schema=source.schema_arrow)
            arrays = [
                stored_as_text(pa, column.combine_chunks()) if index in text_columns else column
                for index, column in enumerate(table.columns)
            ]
            self._writer.write_table(pa.Table.from_arrays(arrays, schema=self._schema))


class _ParquetOutput:
    """Where the Parquet bytes go, and how they are read back when a column has to become text.

    The caller's stream itself when what is written there can be read back: a local file (read
    through a second handle on its path: fsspec opens it write-only) or a buffer. Otherwise (an
    object-storage upload, which can neither seek nor read) a local temporary file, copied into the
    stream by ``finish()``; temporary files live in the system's temporary folder (``TMPDIR``).
    """

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._local_path = _local_path(stream)
        readable = self._local_path is not None or _reads_back(stream)
        self._spool: IO[bytes] | None = None if readable else tempfile.TemporaryFile()  # noqa: SIM115
        self.file: IO[bytes] = stream if self._spool is None else self._spool
        self._start = self.file.tell()

    @contextlib.contextmanager
    def rewrite(self) -> Iterator[IO[bytes]]:
        """Move what was written into a temporary file (yielded, to read from) and empty ``file`` for the new one."""
        with tempfile.TemporaryFile() as previous:
            self.file.flush()
            if self._local_path is not None:
                with open(self._local_path, "rb") as written:
                    written.seek(self._start)
                    shutil.copyfileobj(written, previous)
            else:
                self.file.seek(self._start)
                shutil.copyfileobj(self.file, previous)
            previous.seek(0)
            self.file.seek(self._start)
            self.file.truncate()
            yield previous

    def finish(self) -> None:
        """The complete file into the caller's stream (a no-op when it was written there directly)."""
        if self._spool is not None:
            self._spool.seek(0)
            shutil.copyfileobj(self._spool, self._stream)
            self.discard()

    def discard(self) -> None:
        spool, self._spool = self._spool, None
        if spool is not None:
            spool.close()


def _local_path(stream: IO[bytes]) -> str | None:
    """The path of the local file ``stream`` writes, when it is one (so it can be read back by path)."""
    try:
        if not stream.seekable():
            return None
        descriptor = stream.fileno()
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return None
    for path in (getattr(stream, "path", None), getattr(stream, "name", None)):
        if isinstance(path, str):
            with contextlib.suppress(OSError):
                if os.path.samestat(os.fstat(descriptor), os.stat(path)):
                    return path
    return None


def _reads_back(stream: IO[bytes]) -> bool:
    """Whether ``stream`` can seek and read what was written to it (a buffer, a file opened ``w+b``)."""
    try:
        if not stream.seekable():
            return False
        stream.read(0)
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return False
    return True
