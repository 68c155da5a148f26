"""``SalesforceQueryToFileOperator``: a SOQL query streamed into a file on any object storage."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from airflow.sdk import Context, ObjectStoragePath

from airflow_provider_sfpy.client.describe import field_types
from airflow_provider_sfpy.client.query import QueryStream
from airflow_provider_sfpy.formats.soql_fields import SoqlFieldListError, from_object, select_fields
from airflow_provider_sfpy.formats.typed_records import typed_page_decoder
from airflow_provider_sfpy.formats.writers import COMPRESSIONS, FORMATS, Compressed, CsvRecordWriter, make_writer
from airflow_provider_sfpy.operators.base import SalesforceBaseOperator, is_templated
from airflow_provider_sfpy.operators.storage import atomic_write, check_file_destination, storage_path

PROGRESS_INTERVAL_SECONDS = 10.0


class SalesforceQueryToFileOperator(SalesforceBaseOperator):
    """Run a SOQL query and stream every record into a CSV, JSON Lines or Parquet file.

    The file is written page by page (memory stays flat however many rows match) to a temporary
    name beside the destination and moved into place only when complete, so a failed run never
    leaves a partial file where downstream tasks look. A destination that is an existing folder (or
    ends with ``/``) is refused before the query is sent; a local destination's missing parent
    folders are created. Returns ``{"path", "rows", "pages", "format"}``.

    Example::

        SalesforceQueryToFileOperator(
            task_id="export_accounts",
            soql="SELECT Id, Name, Owner.Name FROM Account WHERE LastModifiedDate = LAST_N_DAYS:1",
            destination="s3://exports/salesforce/accounts/{{ ds }}.csv.gz",
            destination_conn_id="aws_default",
            compression="gzip",
        )

    :param soql: the query, or a path to a ``.soql`` template file (templated).
    :param destination: an ``ObjectStoragePath`` or URL: ``file://``, ``s3://``, ``gs://``, ``memory://`` (templated).
    :param destination_conn_id: the Airflow connection for the destination's storage (templated).
    :param format: ``csv`` (RFC 4180, columns in SELECT order, parents flattened as ``Account.Name``),
        ``jsonl``, or ``parquet`` (needs the ``parquet`` extra; column types from describe).
    :param compression: ``None`` or ``"gzip"`` (csv and jsonl).
    :param include_deleted: use ``queryAll`` (deleted and archived records too).
    :param batch_size: records per page, 200-2000 (Salesforce's default 2000).
    """

    template_fields: Sequence[str] = ("soql", "destination", "destination_conn_id")
    template_ext: Sequence[str] = (".soql",)
    template_fields_renderers = {"soql": "sql"}
    ui_color = "#00a1e0"

    def __init__(
        self,
        *,
        soql: str,
        destination: str | ObjectStoragePath,
        destination_conn_id: str | None = None,
        format: str = "csv",
        compression: str | None = None,
        include_deleted: bool = False,
        batch_size: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if format not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {format!r}")
        if compression not in COMPRESSIONS:
            raise ValueError(f"compression must be None or 'gzip', not {compression!r}")
        if compression and format == "parquet":
            raise ValueError("Parquet compresses internally; leave compression=None for format='parquet'")
        if batch_size is not None and not 200 <= batch_size <= 2000:
            raise ValueError(f"batch_size must be between 200 and 2000, not {batch_size}")
        if not soql or not str(soql).strip():
            raise ValueError("soql is empty: give a SOQL query or a .soql template file")
        if format != "jsonl" and not is_templated(soql) and not str(soql).endswith(".soql"):
            try:
                select_fields(soql)
            except SoqlFieldListError as exc:
                raise ValueError(f"soql: {exc}") from None
        self.soql = soql
        self.destination = destination
        self.destination_conn_id = destination_conn_id
        self.format = format
        self.compression = compression
        self.include_deleted = include_deleted
        self.batch_size = batch_size

    def execute(self, context: Context) -> dict[str, Any]:
        destination = storage_path(self.destination, self.destination_conn_id)
        # Before anything is sent: a folder (or a path under a file) can never receive the export.
        check_file_destination(destination, self.destination, writer="SalesforceQueryToFileOperator")
        fields = None if self.format == "jsonl" else self._fields()
        client = self.client
        # Describe types drive Parquet's schema, and let CSV convert only the columns that need it.
        field_types = self._field_types(fields) if fields else None
        self.log.info("Querying Salesforce into %s (%s)", destination, self.format)
        with atomic_write(destination) as raw:
            compressed = Compressed(raw, self.compression)
            writer = make_writer(self.format, compressed.stream, fields, field_types)
            stream = client.query_more(
                self.soql, include_deleted=self.include_deleted, batch_size=self.batch_size, stream=True
            ).body
            self.log.info("Query matches %d records", stream.total_size)
            last_log = time.monotonic()
            for page in stream.pages():
                records = page.get("records", ())
                if stream.pages_read == 1 and records and fields and isinstance(writer, CsvRecordWriter):
                    _decode_later_pages_typed(stream, writer, fields, records)
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
            compressed.close()
        self.log.info("Wrote %d records in %d pages to %s", writer.rows_written, stream.pages_read, destination)
        return {
            "path": str(destination),
            "rows": writer.rows_written,
            "pages": stream.pages_read,
            "format": self.format,
        }

    def _fields(self) -> list[str]:
        try:
            return select_fields(self.soql)
        except SoqlFieldListError as exc:
            raise ValueError(f"soql: {exc}") from None

    def _field_types(self, fields: Sequence[str]) -> dict[str, str]:
        return field_types(self.client, from_object(self.soql), fields)


def _decode_later_pages_typed(
    stream: QueryStream, writer: CsvRecordWriter, fields: Sequence[str], samples: Sequence[dict[str, Any]]
) -> None:
    """From the second page on, decode records into compact typed records (see ``typed_records``)."""
    typed = typed_page_decoder(fields, samples)
    if typed is not None:
        stream.decode_pages_with(typed.decode)
        writer.accept_typed_records(typed.record_type, typed.row)
