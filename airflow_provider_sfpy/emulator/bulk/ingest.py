"""Processing one closed ingest job on a worker thread: UploadComplete -> InProgress -> JobComplete.

The job first waits ``queue_delay`` in ``UploadComplete`` (Salesforce queues closed jobs; clients must
poll, and tests can watch the states go by). Then the whole upload is read once to validate it — a
file Salesforce cannot parse fails the job with nothing applied — and read again to apply it in chunks
of ``chunk_rows`` records, each chunk one store transaction, pausing ``chunk_delay`` between chunks so
that API calls interleave and an abort lands mid-job. An abort (or delete, or shutdown) is noticed at
the next chunk: the records not yet attempted go to ``unprocessedrecords``.
"""

from __future__ import annotations

import itertools
import logging
import shutil
import time
from collections.abc import Sequence

from airflow_provider_sfpy.emulator.bulk.columns import Column, resolve_columns
from airflow_provider_sfpy.emulator.bulk.errors import JobFailure
from airflow_provider_sfpy.emulator.bulk.formats import CsvParseError, UploadReader, line_endings_are_uniform
from airflow_provider_sfpy.emulator.bulk.ingest_files import ResultWriter, UnprocessedWriter, write_header_only_results
from airflow_provider_sfpy.emulator.bulk.jobs import (
    FAILED,
    IN_PROGRESS,
    JOB_COMPLETE,
    UPLOAD_COMPLETE,
    BulkJobs,
    BulkSettings,
    Job,
)
from airflow_provider_sfpy.emulator.bulk.operations import operation_for
from airflow_provider_sfpy.emulator.events.origin import change_origin
from airflow_provider_sfpy.emulator.schema import lookup_sobject
from airflow_provider_sfpy.emulator.store import Store

log = logging.getLogger(__name__)

NO_DATA = "InvalidBatch : No data was uploaded for the job"
INTERNAL_ERROR = "InternalServerError : An unexpected error occurred while processing the job"


class IngestProcessor:
    """Runs one ingest job to its end state; a callable for ``BulkJobs.submit``."""

    def __init__(self, jobs: BulkJobs, job: Job, store: Store, settings: BulkSettings) -> None:
        self.jobs = jobs
        self.job = job
        self.store = store
        self.settings = settings

    def __call__(self) -> None:
        try:
            with change_origin("bulkapi", self.job.api_version):  # ChangeEventHeader.changeOrigin
                self._run()
        except Exception:
            log.exception("bulk ingest job %s crashed", self.job.id)
            self.jobs.transition(self.job, {UPLOAD_COMPLETE, IN_PROGRESS}, FAILED, error_message=INTERNAL_ERROR)
        finally:
            self.job.settled.set()
            if self.job.deleted:
                shutil.rmtree(self.job.directory, ignore_errors=True)

    def _interrupted(self) -> bool:
        """The job was aborted or deleted, or the emulator is shutting down."""
        return self.job.state not in (UPLOAD_COMPLETE, IN_PROGRESS) or self.job.deleted or self.jobs.stopping.is_set()

    def _pause(self, seconds: float) -> bool:
        """Wait (interruptibly); ``False`` if the job should stop."""
        if seconds > 0:
            self.jobs.stopping.wait(seconds)
        return not self._interrupted()

    def _run(self) -> None:
        job = self.job
        if not self._pause(self.settings.queue_delay):
            self.jobs.update(job, unprocessed_path=job.upload_path if job.uploaded else None)
            return
        if not job.uploaded:
            self.jobs.transition(job, {UPLOAD_COMPLETE}, FAILED, error_message=NO_DATA)
            return
        if not self.jobs.transition(job, {UPLOAD_COMPLETE}, IN_PROGRESS):
            return
        started = time.monotonic()
        try:
            raw_header, columns = self._validate()
        except (CsvParseError, JobFailure) as exc:
            write_header_only_results(job, self._raw_header_or_empty())
            self.jobs.transition(
                job, {IN_PROGRESS}, FAILED, error_message=exc.message, unprocessed_path=job.upload_path
            )
            return
        completed = self._apply(raw_header, columns, started)
        elapsed = int((time.monotonic() - started) * 1000)
        if completed:
            self.jobs.transition(job, {IN_PROGRESS}, JOB_COMPLETE, processing_ms=elapsed)
        else:
            self.jobs.update(job, processing_ms=elapsed)

    def _validate(self) -> tuple[str, list[Column]]:
        """Read the whole upload once: header mapped, every record well-formed and ended right. Raises on
        the first problem, before anything is written. The record-by-record line-ending check is only
        needed when a byte scan of the file cannot vouch for its line endings."""
        obj = lookup_sobject(self.job.sobject)
        assert obj is not None
        path, fmt = self.job.upload_path, self.job.csv_format
        uniform = line_endings_are_uniform(path, fmt)
        with UploadReader(path, fmt) as reader:
            columns = resolve_columns(obj, reader.header, self.job.operation)
            for _ in reader.rows() if uniform else reader.records():
                pass
            return reader.raw_header, columns

    def _raw_header_or_empty(self) -> str:
        try:
            with UploadReader(self.job.upload_path, self.job.csv_format) as reader:
                return reader.raw_header
        except CsvParseError:
            return ""

    def _apply(self, raw_header: str, columns: Sequence[Column], started: float) -> bool:
        """Apply the records chunk by chunk; ``False`` if interrupted (the rest is then unprocessed)."""
        job = self.job
        obj = lookup_sobject(job.sobject)
        assert obj is not None
        external_id = obj.field(job.external_id_field) if job.external_id_field else None
        operation = operation_for(self.store, obj, columns, job.operation, job.created_by_id, external_id)
        processed = failed = 0
        with UploadReader(job.upload_path, job.csv_format) as reader, ResultWriter(job, raw_header) as results:
            rows = reader.rows()
            while chunk := list(itertools.islice(rows, max(1, self.settings.chunk_rows))):
                if self._interrupted():
                    break
                failed += results.add(chunk, operation.apply(chunk))
                processed += len(chunk)
                elapsed = int((time.monotonic() - started) * 1000)
                self.jobs.update(job, processed=processed, failed=failed, processing_ms=elapsed)
                self._pause(self.settings.chunk_delay)
        if self._interrupted():
            self._set_aside(processed)
            return False
        return True

    def _set_aside(self, processed: int) -> None:
        """``unprocessedrecords``: the header and every record after the first ``processed``, as sent."""
        with (
            UploadReader(self.job.upload_path, self.job.csv_format) as reader,
            UnprocessedWriter(self.job, reader.raw_header) as unprocessed,
        ):
            unprocessed.add(record.raw for record in itertools.islice(reader.records(), processed, None))
        self.jobs.update(self.job, unprocessed_path=unprocessed.path)
