"""Processing one DML batch (insert, update, upsert, delete, hardDelete) on a worker thread.

The batch's data is read whole (Bulk API 1.0 caps a batch at 10,000 records / 10 MB) and mapped to
columns once: unreadable data or an unknown field fails the batch with nothing applied, its
``stateMessage`` in Salesforce's ``InvalidBatch : ...`` form. Records are then applied by the Bulk API
2.0 engine's DML in chunks of ``bulk_chunk_rows`` (each chunk one store transaction, every record
succeeding or failing on its own, ``bulk_chunk_delay`` between chunks), with the batch's counters
updated after each chunk, and the results are written in the job's content type.
"""

from __future__ import annotations

from airflow_provider_sfpy.emulator.bulk.columns import resolve_columns
from airflow_provider_sfpy.emulator.bulk.errors import JobFailure
from airflow_provider_sfpy.emulator.bulk.operations import Outcome, operation_for
from airflow_provider_sfpy.emulator.bulk1.jobs import COMPLETED, FAILED
from airflow_provider_sfpy.emulator.bulk1.processing import BatchWorker
from airflow_provider_sfpy.emulator.bulk1.records import BatchDataError, read_records
from airflow_provider_sfpy.emulator.bulk1.results import write_results
from airflow_provider_sfpy.emulator.schema import lookup_sobject


class IngestWorker(BatchWorker):
    def process(self) -> None:
        job, batch = self.job, self.batch
        obj = lookup_sobject(job.sobject)
        assert obj is not None
        try:
            header, rows = read_records(batch.request_path, job.content_type, obj)
            columns = resolve_columns(obj, header, job.operation)
        except (BatchDataError, JobFailure) as exc:
            self.registry.finish(batch, FAILED, exc.message, processing_ms=self.elapsed_ms())
            return
        external_id = obj.field(job.external_id_field) if job.external_id_field else None
        operation = operation_for(self.store, obj, columns, job.operation, job.created_by_id, external_id)
        outcomes: list[Outcome] = []
        failed = 0
        size = max(1, self.settings.chunk_rows)
        for start in range(0, len(rows), size):
            if start and not self.pause(self.settings.chunk_delay):
                return
            chunk = operation.apply(rows[start : start + size])
            outcomes += chunk
            failed += sum(1 for outcome in chunk if outcome.error is not None)
            self.registry.progress(batch, processed=len(outcomes), failed=failed, processing_ms=self.elapsed_ms())
        write_results(batch.result_path, job.content_type, outcomes)
        self.registry.finish(batch, COMPLETED, processing_ms=self.elapsed_ms())
