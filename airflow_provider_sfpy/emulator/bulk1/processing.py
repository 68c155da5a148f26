"""What every batch's worker does around its work: wait in the queue, take its turn, account for time.

A batch first waits ``bulk_queue_delay`` in ``Queued`` (clients must poll, and tests can watch the
states go by) and, in a ``Serial`` job, for the batches added before it to finish; then it moves to
``InProgress`` unless its job was aborted meanwhile (it is then ``NotProcessed`` already). Whatever
happens, the batch is ``settled`` at the end; an unexpected error fails it with Salesforce's generic
message rather than leaving it ``InProgress`` for ever. Subclasses implement ``process``.
"""

from __future__ import annotations

import logging
import time

from airflow_provider_sfpy.emulator.bulk.jobs import BulkJobs, BulkSettings
from airflow_provider_sfpy.emulator.bulk1.jobs import FAILED, SERIAL, Batch, Bulk1Jobs, Job
from airflow_provider_sfpy.emulator.events.origin import change_origin
from airflow_provider_sfpy.emulator.store import Store

log = logging.getLogger(__name__)

SERIAL_POLL_SECONDS = 0.5
INTERNAL_ERROR = "InternalServerError : An unexpected error occurred while processing the batch"


class BatchWorker:
    """Runs one batch to its end state; a callable for ``BulkJobs.submit``."""

    def __init__(
        self, registry: Bulk1Jobs, workers: BulkJobs, job: Job, batch: Batch, store: Store, settings: BulkSettings
    ) -> None:
        self.registry = registry
        self.workers = workers
        self.job = job
        self.batch = batch
        self.store = store
        self.settings = settings
        self.started = 0.0

    def __call__(self) -> None:
        try:
            if self.pause(self.settings.queue_delay) and self._turn() and self.registry.start(self.batch):
                self.started = time.monotonic()
                with change_origin("bulkapi", self.job.api_version):  # ChangeEventHeader.changeOrigin
                    self.process()
        except Exception:
            log.exception("bulk API 1.0 batch %s crashed", self.batch.id)
            self.registry.finish(self.batch, FAILED, INTERNAL_ERROR, processing_ms=self.elapsed_ms())
        finally:
            self.batch.settled.set()

    def _turn(self) -> bool:
        """A ``Serial`` job's batch waits until every batch added before it has settled; ``False`` if
        the emulator shuts down meanwhile (a batch it never started would never settle)."""
        if self.job.concurrency_mode != SERIAL:
            return True
        for earlier in self.registry.earlier_batches(self.job, self.batch):
            while not earlier.settled.wait(SERIAL_POLL_SECONDS):
                if self.workers.stopping.is_set():
                    return False
        return True

    def pause(self, seconds: float) -> bool:
        """Wait (interruptibly); ``False`` if the emulator is shutting down."""
        if seconds > 0:
            self.workers.stopping.wait(seconds)
        return not self.workers.stopping.is_set()

    def elapsed_ms(self) -> int:
        return int((time.monotonic() - self.started) * 1000) if self.started else 0

    def process(self) -> None:
        raise NotImplementedError
