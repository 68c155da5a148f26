"""Processing one query batch: the batch's body is the SOQL; its results are files named by result id.

The SOQL goes through the compiler every API uses, with the Bulk query rules of Bulk API 2.0 (no
aggregates, no child subqueries, no OFFSET, no binary fields); a query Salesforce would refuse fails
the batch with ``InvalidBatch : Failed to process query: <errorCode>: <message>``, and so does a query
of another object than the job's. The rows are read through a store cursor, slice by slice, and
written to result files (``query_results``); ``GET .../result`` then lists the result ids (``752...``)
and ``GET .../result/{id}`` streams one file.

Reference: "Use Bulk Query",
https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/asynch_api_using_bulk_query.htm
"""

from __future__ import annotations

from airflow_provider_sfpy.emulator.bulk.query import EXPORT_SLICE, compile_bulk_query
from airflow_provider_sfpy.emulator.bulk1.jobs import COMPLETED, FAILED
from airflow_provider_sfpy.emulator.bulk1.processing import BatchWorker
from airflow_provider_sfpy.emulator.bulk1.query_results import ResultFiles, result_format
from airflow_provider_sfpy.emulator.errors import ApiError
from airflow_provider_sfpy.emulator.soql import CompiledQuery


class QueryWorker(BatchWorker):
    def process(self) -> None:
        job, batch = self.job, self.batch
        try:
            compiled = compile_bulk_query(batch.request_path.read_text("utf-8"), job.operation, job.created_by_id)
        except ApiError as exc:
            self._fail(f"InvalidBatch : Failed to process query: {exc.error_code}: {exc.message}")
            return
        except UnicodeDecodeError:
            self._fail("InvalidBatch : Failed to process query: the SOQL is not valid UTF-8")
            return
        if compiled.sobject.name != job.sobject:
            self._fail(
                f"InvalidBatch : The query's object {compiled.sobject.name} is not the job's object {job.sobject}"
            )
            return
        layout, render = result_format(job.content_type, compiled, job.api_version)
        with ResultFiles(self.store, batch, self.registry.records_per_result, layout, render) as files:
            written = self._export(compiled, files)
        if written is not None:
            self.registry.finish(
                batch, COMPLETED, processed=written, result_ids=files.result_ids, processing_ms=self.elapsed_ms()
            )

    def _fail(self, message: str) -> None:
        self.registry.finish(self.batch, FAILED, message, processing_ms=self.elapsed_ms())

    def _export(self, compiled: CompiledQuery, files: ResultFiles) -> int | None:
        """Write every row; the row count, or ``None`` if the emulator is shutting down."""
        page = self.store.open_query(compiled.sql, compiled.params, EXPORT_SLICE)
        cursor_id, written = page.cursor_id, 0
        try:
            while True:
                files.add(page.rows)
                written += len(page.rows)
                self.registry.progress(self.batch, processed=written, processing_ms=self.elapsed_ms())
                if page.cursor_id is None:
                    return written
                if not self.pause(0):
                    return None
                page = self.store.query_page(page.cursor_id, page.next_offset, EXPORT_SLICE)
        finally:
            if cursor_id is not None:
                self.store.close_query(cursor_id)
