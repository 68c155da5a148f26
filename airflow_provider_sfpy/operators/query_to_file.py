"""``SalesforceQueryToFileOperator``: a SOQL query streamed into a file on any object storage."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from airflow.sdk import Context, ObjectStoragePath

from airflow_provider_sfpy.client.describe import field_types
from airflow_provider_sfpy.client.query import QueryStream
from airflow_provider_sfpy.formats.file_names import INFER, FileOutput, WriterOutput, file_output, named_format
from airflow_provider_sfpy.formats.soql_fields import SoqlFieldListError, from_object, select_fields
from airflow_provider_sfpy.formats.writers import COMPRESSIONS, FORMATS, Compressed, RecordWriter, make_writer
from airflow_provider_sfpy.operators.base import SalesforceBaseOperator, is_templated
from airflow_provider_sfpy.operators.incremental import IncrementalRun, plan_run, write_metadata
from airflow_provider_sfpy.operators.incremental_pages import RecordPages
from airflow_provider_sfpy.operators.incremental_setup import incremental_setup
from airflow_provider_sfpy.operators.incremental_soql import soql_datetime
from airflow_provider_sfpy.operators.storage import (
    atomic_write,
    check_file_destination,
    known_before_run,
    storage_path,
)
from airflow_provider_sfpy.operators.watermark import watermark_asset

PROGRESS_INTERVAL_SECONDS = 10.0
OUTPUT = WriterOutput("SalesforceQueryToFileOperator", formats=FORMATS, compressions=("gzip",))


class SalesforceQueryToFileOperator(SalesforceBaseOperator):
    """Run a SOQL query and stream every record into a CSV, JSON Lines or Parquet file.

    The file is written page by page (memory stays flat however many rows match) to a temporary
    name beside the destination and moved into place only when complete, so a failed run never
    leaves a partial file where downstream tasks look. A destination that is an existing folder (or
    ends with ``/``) is refused before the query is sent; a local destination's missing parent
    folders are created. Returns ``{"path", "rows", "pages", "format"}``.

    **The destination's name decides what it was not told** (the rules in
    ``airflow_provider_sfpy.formats.file_names``): ``.csv``, ``.jsonl``/``.ndjson`` and ``.parquet``
    pick the format and ``.gz`` gzip when ``format`` / ``compression`` are left out, and a name that
    contradicts a ``format`` or ``compression`` given (``.parquet`` with ``format="csv"``, ``.csv.gz``
    with ``compression=None``, ``.csv`` with ``compression="gzip"``) is refused when the DAG is
    parsed, or, for a templated destination, when the task starts, before any request.

    Example::

        SalesforceQueryToFileOperator(
            task_id="export_accounts",
            soql="SELECT Id, Name, Owner.Name FROM Account WHERE LastModifiedDate = LAST_N_DAYS:1",
            # gzip-compressed CSV, named for the run's day (its logical date, else when it was triggered)
            destination="s3://exports/accounts/{{ (dag_run.logical_date or dag_run.run_after) | ds }}.csv.gz",
            destination_conn_id="aws_default",
        )

    :param soql: the query, or a path to a ``.soql`` template file (templated).
    :param destination: an ``ObjectStoragePath`` or URL: ``file://``, ``s3://``, ``gs://``, ``memory://`` (templated).
    :param destination_conn_id: the Airflow connection for the destination's storage (templated)
        (default ``None``: the storage's own credential lookup).
    :param format: ``csv`` (RFC 4180, columns in SELECT order, parents flattened as ``Account.Name``),
        ``jsonl``, or ``parquet`` (needs the ``parquet`` extra; column types from describe)
        (default ``None``: the destination's extension decides, and a name without one gets CSV).
    :param compression: ``"gzip"`` or ``None`` (csv and jsonl)
        (default ``'infer'``: gzip when the destination ends in ``.gz``, else none).
    :param include_deleted: use ``queryAll`` (deleted and archived records too) (default ``False``).
        With ``incremental_key``: also export the records deleted within the window, with ``IsDeleted``
        among the columns (in this file, or in ``deleted_destination``).
    :param batch_size: records per page, 200-2000 (default ``None``: Salesforce's page size, 2000).
    :param incremental_key: export only what changed since the last successful run: a datetime field
        of the object (``True`` means ``SystemModstamp``) (default ``None``: export everything the query
        selects). Needs Airflow 3.3 (refused when the DAG is parsed on earlier versions). The watermark
        lives in the state store of the first ``Asset`` in ``outlets``; when none is given the task
        declares ``Asset("salesforce://<sfpy_conn_id>/<Object>")``. The query must be
        ``SELECT ... FROM Object [WHERE ...]``; each run exports ``(WHERE) AND key >= watermark AND
        key <= <run start> ORDER BY key``, writes ``<destination>.meta.json`` (window, rows, full or
        incremental) and stores the highest key written once the files are in place. See
        ``airflow_provider_sfpy.operators.incremental``.
    :param deleted_destination: with ``incremental_key`` and ``include_deleted``, write the deleted
        rows here instead of into ``destination``; its name decides its format (templated)
        (default ``None``: deleted rows go into ``destination`` with ``IsDeleted = true``).
    :param full_refresh: ignore the watermark and export everything up to the run's start, then
        store a new watermark; also set by ``dag_run.conf["full_refresh"]`` (templated) (default ``False``).
    """

    template_fields: Sequence[str] = (
        "soql",
        "destination",
        "destination_conn_id",
        "deleted_destination",
        "full_refresh",
    )
    template_ext: Sequence[str] = (".soql",)
    template_fields_renderers = {"soql": "sql"}
    ui_color = "#00a1e0"

    def __init__(
        self,
        *,
        soql: str,
        destination: str | ObjectStoragePath,
        destination_conn_id: str | None = None,
        format: str | None = None,
        compression: str | None = INFER,
        include_deleted: bool = False,
        batch_size: int | None = None,
        incremental_key: str | bool | None = None,
        deleted_destination: str | ObjectStoragePath | None = None,
        full_refresh: bool | str = False,
        **kwargs: Any,
    ) -> None:
        self.incremental = incremental_setup(
            incremental_key,
            soql=soql,
            include_deleted=include_deleted,
            deleted_destination=deleted_destination,
            operator_kwargs=kwargs,
        )
        super().__init__(**kwargs)
        if format is not None and format not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {format!r}")
        if compression != INFER and compression not in COMPRESSIONS:
            raise ValueError(f"compression must be 'gzip', None or {INFER!r}, not {compression!r}")
        if compression == "gzip" and format == "parquet":
            raise ValueError("Parquet compresses internally; leave compression out for format='parquet'")
        if batch_size is not None and not 200 <= batch_size <= 2000:
            raise ValueError(f"batch_size must be between 200 and 2000, not {batch_size}")
        if not soql or not str(soql).strip():
            raise ValueError("soql is empty: give a SOQL query or a .soql template file")
        self.soql = soql
        self.destination = destination
        self.destination_conn_id = destination_conn_id
        self.format = format
        self.compression = compression
        self.include_deleted = include_deleted
        self.batch_size = batch_size
        self.incremental_key = incremental_key
        self.deleted_destination = deleted_destination
        self.full_refresh = full_refresh
        if deleted_destination is not None and known_before_run(deleted_destination):
            file_output(str(deleted_destination), OUTPUT)
        planned = self._planned_format()
        if planned not in (None, "jsonl") and not is_templated(soql) and not str(soql).endswith(".soql"):
            self._fields()  # CSV and Parquet need a column list: refuse a query without one now

    def _planned_format(self) -> str | None:
        """The format to write, when the DAG is parsed: a destination known now is checked now (a
        templated one when the task starts); a templated name's literal end may still name it."""
        if known_before_run(self.destination):
            return self._output().format
        if self.format or not isinstance(self.destination, str):
            return self.format
        return named_format("x" + re.split(r"}}|%}", self.destination)[-1])

    def _output(self) -> FileOutput:
        """The format and compression to write, by the destination's name (refused if it contradicts them)."""
        return file_output(str(self.destination), OUTPUT, format=self.format, compression=self.compression)

    def execute(self, context: Context) -> dict[str, Any]:
        # Before anything is sent: a name that contradicts the format, a folder, or a path under a
        # file can never receive the export.
        output = self._output()
        destination = storage_path(self.destination, self.destination_conn_id)
        check_file_destination(destination, self.destination, writer=OUTPUT.writer)
        if self.incremental is not None:
            return self._execute_incremental(context, output, destination)
        written = self._export(self.soql, destination, output, include_deleted=self.include_deleted)
        return written.result()

    def _export(
        self,
        soql: str,
        destination: ObjectStoragePath,
        output: FileOutput,
        *,
        include_deleted: bool,
        pages_seen: RecordPages | None = None,
    ) -> _Written:
        """Stream ``soql``'s records into ``destination`` (atomically); ``pages_seen`` watches each page."""
        fields = None if output.format == "jsonl" else self._fields(soql)
        client = self.client
        # Describe types drive Parquet's schema, and let CSV convert only the columns that need it.
        field_types = self._field_types(soql, fields) if fields else None
        self.log.info(
            "Querying Salesforce into %s (%s%s)",
            destination,
            output.format,
            f", {output.compression}" if output.compression else "",
        )
        with atomic_write(destination) as raw:
            compressed = Compressed(raw, output.compression)
            writer = make_writer(output.format, compressed.stream, fields, field_types)
            try:
                stream = client.query_more(
                    soql, include_deleted=include_deleted, batch_size=self.batch_size, stream=True
                ).body
                self.log.info("Query matches %d records", stream.total_size)
                last_log = time.monotonic()
                for page in stream.pages():
                    records = page.get("records", ())
                    if stream.pages_read == 1 and records:
                        _decode_later_pages_typed(stream, writer, records, pages_seen)
                    if pages_seen is not None:
                        pages_seen.observe(records)
                    writer.write_page(records)
                    if time.monotonic() - last_log >= PROGRESS_INTERVAL_SECONDS:
                        self.log.info(
                            "Progress: %d of %d records, %d pages",
                            writer.rows_written,
                            stream.total_size,
                            stream.pages_read,
                        )
                        last_log = time.monotonic()
                writer.close()
            except BaseException:
                writer.abort()  # before the partial file is closed and removed, never after
                raise
            compressed.close()
        self.log.info("Wrote %d records in %d pages to %s", writer.rows_written, stream.pages_read, destination)
        return _Written(destination, writer.rows_written, stream.pages_read, output.format)

    def _execute_incremental(
        self, context: Context, output: FileOutput, destination: ObjectStoragePath
    ) -> dict[str, Any]:
        """One run of an incremental export: plan the window, write the files, then move the watermark."""
        settings = self.incremental
        assert settings is not None
        deleted_target: tuple[ObjectStoragePath, FileOutput] | None = None
        if settings.deleted_separately:
            deleted_output = file_output(str(self.deleted_destination), OUTPUT)
            deleted_path = storage_path(self.deleted_destination, self.destination_conn_id)  # type: ignore[arg-type]
            check_file_destination(deleted_path, self.deleted_destination, writer=OUTPUT.writer)
            deleted_target = (deleted_path, deleted_output)
        asset = watermark_asset(self.outlets)
        assert asset is not None, "an incremental export always has an outlet asset"
        run, store = plan_run(
            context,
            client=self.client,
            settings=settings,
            soql=self.soql,
            asset=asset,
            full_refresh=self.full_refresh,
            owner=f"{self.dag_id}.{self.task_id}",
            log=self.log,
        )
        self.log.info("%s", run.describe())
        files: list[tuple[_Written, RecordPages, str, str]] = []
        main_query = run.query()
        self.log.info("SOQL: %s", main_query)
        seen = RecordPages(settings.key, run.window.upper, count_deleted=settings.deletes_in_main_file)
        written = self._export(
            main_query, destination, output, include_deleted=settings.deletes_in_main_file, pages_seen=seen
        )
        contents = "changes and deletes" if settings.deletes_in_main_file else "changes"
        files.append((written, seen, main_query, contents))
        if deleted_target is not None:
            deleted_query = run.deleted_query()
            self.log.info("SOQL (deleted rows): %s", deleted_query)
            deleted_seen = RecordPages(settings.key, run.window.upper, count_deleted=True)
            deleted_written = self._export(
                deleted_query, *deleted_target, include_deleted=True, pages_seen=deleted_seen
            )
            files.append((deleted_written, deleted_seen, deleted_query, "deletes"))
        watermark = run.next_watermark(file_seen.keys.highest for _, file_seen, _, _ in files)
        described = []
        for file, file_seen, query, what in files:
            if file_seen.keys.beyond_upper:
                self.log.warning(
                    "%d rows of %s carry a %s after the window's end; they stay for the next run too",
                    file_seen.keys.beyond_upper,
                    file.path,
                    settings.key,
                )
            metadata = run.file_metadata(
                path=str(file.path), soql=query, rows=file.rows, deleted_rows=file_seen.deleted_rows, contents=what
            )
            metadata["metadata_path"] = write_metadata(file.path, {**metadata, **_watermarks(run, watermark)})
            described.append(metadata)
        run.commit(context, store, watermark, described)
        self.log.info("Watermark of %s is now %s", asset.uri, _text(watermark))
        return {
            **written.result(),
            "incremental": {
                **described[0],
                **_watermarks(run, watermark),
                "deleted": described[1] if len(described) > 1 else None,
            },
        }

    def _fields(self, soql: str | None = None) -> list[str]:
        try:
            return select_fields(self.soql if soql is None else soql)
        except SoqlFieldListError as exc:
            raise ValueError(f"soql: {exc}") from None

    def _field_types(self, soql: str, fields: Sequence[str]) -> dict[str, str]:
        return field_types(self.client, from_object(soql), fields)


@dataclass(frozen=True)
class _Written:
    """One file an export wrote."""

    path: ObjectStoragePath
    rows: int
    pages: int
    format: str

    def result(self) -> dict[str, Any]:
        return {"path": str(self.path), "rows": self.rows, "pages": self.pages, "format": self.format}


def _text(moment: datetime | None) -> str | None:
    return soql_datetime(moment) if moment is not None else None


def _watermarks(run: IncrementalRun, new: datetime | None) -> dict[str, Any]:
    return {"watermark": {"previous": _text(run.previous), "new": _text(new)}}


def _decode_later_pages_typed(
    stream: QueryStream, writer: RecordWriter, samples: Sequence[dict[str, Any]], pages_seen: RecordPages | None
) -> None:
    """From the second page on, decode records into the compact typed records ``writer`` takes (see
    ``typed_records``, ``jsonl_records``), unless an incremental export's watcher could not read them."""
    typed = writer.typed_pages(samples)
    if typed is None:
        return
    if pages_seen is not None:
        if pages_seen.key.lower() not in {field.lower() for field in typed.fields}:
            return
        pages_seen.use_typed_records(typed.record_type, typed.row, typed.fields)
    stream.decode_pages_with(typed.decode)
