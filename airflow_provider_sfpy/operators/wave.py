"""``SalesforceWaveQueryOperator`` (SAQL) and ``SalesforceWaveDatasetOperator`` (dataset lookup)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from airflow.sdk import Context, ObjectStoragePath
from airflow.sdk.exceptions import AirflowException

from airflow_provider_sfpy.formats.file_names import FileOutput, WriterOutput, file_output
from airflow_provider_sfpy.formats.records import csv_value
from airflow_provider_sfpy.operators.base import SalesforceBaseOperator
from airflow_provider_sfpy.operators.storage import (
    atomic_write,
    check_file_destination,
    known_before_run,
    storage_path,
)

DEFAULT_MAX_XCOM_BYTES = 1_000_000
WAVE_FORMATS = ("jsonl", "csv")
OUTPUT = WriterOutput("SalesforceWaveQueryOperator", formats=WAVE_FORMATS)


class SalesforceWaveQueryOperator(SalesforceBaseOperator):
    """Run a SAQL query against CRM Analytics; results to XCom (capped) or to a file.

    With ``resolve_datasets=True`` (default), ``load "opportunities"`` is rewritten to the dataset's
    ``id/currentVersionId`` before the query runs.

    Example::

        SalesforceWaveQueryOperator(
            task_id="pipeline_by_industry",
            saql='q = load "opportunities"; q = group q by \\'Account.Industry\\'; '
                 "q = foreach q generate 'Account.Industry' as 'Industry', sum('Amount') as 'total';",
        )

    :param saql: the SAQL query (templated).
    :param resolve_datasets: rewrite ``load "api_name"`` to ``load "id/version"`` (default ``True``).
    :param destination: write records here (JSON Lines or CSV) instead of XCom; missing local
        folders are created (templated) (default ``None``: the records go to XCom).
    :param destination_conn_id: the Airflow connection for the destination's storage (templated)
        (default ``None``).
    :param format: ``jsonl`` or ``csv`` for ``destination`` (default ``None``: the destination's
        extension decides, ``.csv`` or ``.jsonl``/``.ndjson``, and a name without one gets JSON Lines).
        A name that contradicts ``format``, or promises a format or compression this operator does not
        write (``.parquet``, ``.gz``), is refused when the DAG is parsed (templated destinations: when
        the task starts, before the query), by the rules in ``airflow_provider_sfpy.formats.file_names``.
    :param max_xcom_bytes: above this JSON size, XCom delivery fails with a clear message
        (default ``1_000_000``).
    """

    template_fields: Sequence[str] = ("saql", "destination", "destination_conn_id")
    template_ext: Sequence[str] = (".saql",)
    ui_color = "#00a1e0"

    def __init__(
        self,
        *,
        saql: str,
        resolve_datasets: bool = True,
        destination: str | ObjectStoragePath | None = None,
        destination_conn_id: str | None = None,
        format: str | None = None,
        max_xcom_bytes: int = DEFAULT_MAX_XCOM_BYTES,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not saql or not saql.strip():
            raise ValueError("saql is empty")
        if format is not None and format not in WAVE_FORMATS:
            raise ValueError(f"format must be one of {', '.join(WAVE_FORMATS)}, not {format!r}")
        if max_xcom_bytes <= 0:
            raise ValueError("max_xcom_bytes must be positive")
        self.saql = saql
        self.resolve_datasets = resolve_datasets
        self.destination = destination
        self.destination_conn_id = destination_conn_id
        self.format = format
        self.max_xcom_bytes = max_xcom_bytes
        if destination is not None and known_before_run(destination):
            self._output()  # a name that contradicts the format: refused now

    def _output(self) -> FileOutput:
        return file_output(str(self.destination), OUTPUT, format=self.format)

    def execute(self, context: Context) -> Any:
        output = self._output() if self.destination else None
        if output is not None:  # before the query: a destination that cannot take the records
            check_file_destination(self._destination(), self.destination, writer=OUTPUT.writer)
        wave = self.client.wave
        saql = wave.resolve_saql(self.saql) if self.resolve_datasets else self.saql
        body, _ = wave.query({"query": saql})
        records: list[dict[str, Any]] = body.get("results", {}).get("records", [])
        self.log.info("SAQL returned %d records", len(records))
        if output is not None:
            return self._write(records, output.format)
        size = len(json.dumps(records))
        if size > self.max_xcom_bytes:
            raise AirflowException(
                f"the SAQL result ({len(records)} records, {size:,} bytes as JSON) exceeds max_xcom_bytes="
                f"{self.max_xcom_bytes:,}; set destination= to write it to a file, or narrow the query"
            )
        return records

    def _destination(self) -> ObjectStoragePath:
        return storage_path(str(self.destination), self.destination_conn_id)

    def _write(self, records: list[dict[str, Any]], fmt: str) -> dict[str, Any]:
        destination = self._destination()
        if fmt == "jsonl":
            payload = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        else:
            columns = list(dict.fromkeys(key for r in records for key in r))
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            writer.writerow(columns)
            writer.writerows([[csv_value(r.get(c)) for c in columns] for r in records])
            payload = buffer.getvalue()
        with atomic_write(destination) as out:
            out.write(payload.encode("utf-8"))
        return {"path": str(destination), "rows": len(records), "format": fmt}


class SalesforceWaveDatasetOperator(SalesforceBaseOperator):
    """Look up a CRM Analytics dataset by API name or id; returns ``{"id", "name", "currentVersionId", "load"}``.

    ``load`` is the ``id/currentVersionId`` string a SAQL ``load`` statement needs.
    """

    template_fields: Sequence[str] = ("dataset",)
    ui_color = "#00a1e0"

    def __init__(self, *, dataset: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not dataset:
            raise ValueError("dataset is empty: give an API name (e.g. 'opportunities') or an id")
        self.dataset = dataset

    def execute(self, context: Context) -> dict[str, Any]:
        body, _ = self.client.wave.dataset(self.dataset)
        return {
            "id": body["id"],
            "name": body.get("name"),
            "currentVersionId": body.get("currentVersionId"),
            "load": f"{body['id']}/{body.get('currentVersionId')}",
        }
