"""Bulk API 1.0 jobs and batches: their states, their files, and the registry that owns both.

A job is ``Open`` until the client closes it (``Closed``: no more batches) or aborts it (``Aborted``:
batches still ``Queued`` become ``NotProcessed``, a batch ``InProgress`` runs to its end). Each batch
is processed on its own as soon as it is added, open job or not: ``Queued`` -> ``InProgress`` ->
``Completed`` (per-record results, some of which may be errors) or ``Failed`` (the batch as a whole
could not be processed; ``stateMessage`` says why). A job's counters (``numberBatchesQueued`` ...
``numberRecordsFailed``) are sums over its batches, taken under the registry's lock so that a poll
never sees a half-updated job. Reference: "Interpret Batch State",
https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/asynch_api_batches_interpret_status.htm

Jobs live in memory, like Bulk API 2.0's; each batch's request and result files live in a spool
directory (under the org's ``data_dir`` when it has one), removed with the registry. Batches are
processed on the Bulk API 2.0 engine's worker threads (``BulkJobs.submit``), whose shutdown waits for
them before the store closes. ``registry_for`` finds an app's registry from its ``EmulatorState``.
"""

from __future__ import annotations

import copy
import shutil
import tempfile
import threading
import weakref
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from airflow_provider_sfpy.emulator.values import now_string

if TYPE_CHECKING:
    from airflow_provider_sfpy.emulator.state import EmulatorState

OPEN = "Open"
CLOSED = "Closed"
ABORTED = "Aborted"

QUEUED = "Queued"
IN_PROGRESS = "InProgress"
COMPLETED = "Completed"
FAILED = "Failed"
NOT_PROCESSED = "NotProcessed"

PARALLEL = "Parallel"
SERIAL = "Serial"

QUERY_OPERATIONS = frozenset({"query", "queryAll"})
JOB_KEY_PREFIX = "750"
BATCH_KEY_PREFIX = "751"
RESULT_KEY_PREFIX = "752"
#: Records per query result file. Salesforce cuts files at about 1 GB; a million emulator rows is in
#: that range, and tests lower it to see a query answered in several result files.
RECORDS_PER_RESULT = 1_000_000


@dataclass
class Batch:
    """One batch of a job. Mutable fields change only under the registry's lock."""

    id: str
    job_id: str
    directory: Path
    created_date: str = field(default_factory=now_string)
    system_modstamp: str = ""
    state: str = QUEUED
    state_message: str | None = None
    processed: int = 0
    failed: int = 0
    processing_ms: int = 0
    #: Query batches: the result files' ids, in order.
    result_ids: tuple[str, ...] = ()
    #: Set once the batch will change no more (its worker ended, or it will never run).
    settled: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.system_modstamp = self.system_modstamp or self.created_date

    @property
    def request_path(self) -> Path:
        return self.directory / "request"

    @property
    def result_path(self) -> Path:
        return self.directory / "result"

    def query_result_path(self, result_id: str) -> Path:
        return self.directory / f"result-{result_id}"


@dataclass
class Job:
    """One Bulk API 1.0 job and its batches, in the order they were added."""

    id: str
    operation: str
    sobject: str
    content_type: str
    concurrency_mode: str
    created_by_id: str
    api_version: str
    directory: Path
    external_id_field: str | None = None
    assignment_rule_id: str | None = None
    created_date: str = field(default_factory=now_string)
    system_modstamp: str = ""
    state: str = OPEN
    batches: list[Batch] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.system_modstamp = self.system_modstamp or self.created_date

    @property
    def is_query(self) -> bool:
        return self.operation in QUERY_OPERATIONS


@dataclass(frozen=True)
class JobView:
    """A consistent picture of a job for rendering: its fields and its batch counters."""

    job: Job
    batches_by_state: dict[str, int]
    batches_total: int
    records_processed: int
    records_failed: int
    processing_ms: int


class Bulk1Jobs:
    """Every Bulk API 1.0 job of one org, and the spool directory of their batches."""

    def __init__(self, data_dir: str | Path | None = None) -> None:
        self._lock = threading.RLock()
        self._jobs: dict[str, Job] = {}
        self._data_dir = data_dir
        self._spool: Path | None = None
        self.records_per_result = RECORDS_PER_RESULT

    # ------------------------------------------------------------------------------- jobs

    def new_job(self, job_id: str, **attributes: object) -> Job:
        with self._lock:
            directory = self._spool_root() / job_id
            shutil.rmtree(directory, ignore_errors=True)  # Ids restart with the process
            directory.mkdir(parents=True)
            job = Job(id=job_id, directory=directory, **attributes)  # type: ignore[arg-type]
            self._jobs[job_id] = job
            return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def set_job_state(self, job: Job, allowed: Collection[str], state: str) -> bool:
        """Move the job to ``state`` if it is in one of ``allowed``; an abort also marks every batch
        still waiting as ``NotProcessed``. Returns whether it moved."""
        with self._lock:
            if job.state not in allowed:
                return False
            job.state = state
            job.system_modstamp = now_string()
            if state == ABORTED:
                for batch in job.batches:
                    if batch.state == QUEUED:
                        self._set(batch, NOT_PROCESSED)
                        batch.settled.set()
            return True

    def view(self, job: Job) -> JobView:
        with self._lock:
            counts: dict[str, int] = {}
            for batch in job.batches:
                counts[batch.state] = counts.get(batch.state, 0) + 1
            return JobView(
                job=copy.copy(job),
                batches_by_state=counts,
                batches_total=len(job.batches),
                records_processed=sum(b.processed for b in job.batches),
                records_failed=sum(b.failed for b in job.batches),
                processing_ms=sum(b.processing_ms for b in job.batches),
            )

    # ------------------------------------------------------------------------------- batches

    def add_batch(self, job: Job, batch_id: str, data: bytes) -> Batch | None:
        """A new ``Queued`` batch of ``job`` holding ``data``, or ``None`` if the job no longer takes
        batches. The request file is written before the batch joins the job, so no poll ever sees a
        batch without its data."""
        with self._lock:
            if job.state != OPEN:
                return None
            directory = job.directory / batch_id
            directory.mkdir()
            batch = Batch(id=batch_id, job_id=job.id, directory=directory)
            batch.request_path.write_bytes(data)
            job.batches.append(batch)
            return batch

    def batch(self, job: Job, batch_id: str) -> Batch | None:
        with self._lock:
            return next((b for b in job.batches if b.id == batch_id), None)

    def earlier_batches(self, job: Job, batch: Batch) -> list[Batch]:
        """The batches added to ``job`` before ``batch``, in order."""
        with self._lock:
            return job.batches[: job.batches.index(batch)]

    def batches(self, job: Job) -> list[Batch]:
        with self._lock:
            return [copy.copy(b) for b in job.batches]

    def snapshot(self, batch: Batch) -> Batch:
        with self._lock:
            return copy.copy(batch)

    def start(self, batch: Batch) -> bool:
        """``Queued`` -> ``InProgress``; ``False`` if the batch will not run (its job was aborted)."""
        with self._lock:
            if batch.state != QUEUED:
                return False
            self._set(batch, IN_PROGRESS)
            return True

    def progress(self, batch: Batch, **counters: int) -> None:
        with self._lock:
            for name, value in counters.items():
                setattr(batch, name, value)

    def finish(self, batch: Batch, state: str, message: str | None = None, **changes: object) -> None:
        """An ``InProgress`` batch ends ``Completed`` or ``Failed`` (with ``message``)."""
        with self._lock:
            for name, value in changes.items():
                setattr(batch, name, value)
            batch.state_message = message
            self._set(batch, state)

    @staticmethod
    def _set(batch: Batch, state: str) -> None:
        batch.state = state
        batch.system_modstamp = now_string()

    # ------------------------------------------------------------------------------- files

    def _spool_root(self) -> Path:
        """Under the org's ``data_dir`` if it has one (large batches land on the disk the user chose),
        else a private temporary directory; removed when the registry goes."""
        if self._spool is None:
            if self._data_dir is not None:
                spool = Path(self._data_dir) / "bulk1-jobs"
                shutil.rmtree(spool, ignore_errors=True)  # jobs live in memory: old files belong to none
                spool.mkdir(parents=True)
            else:
                spool = Path(tempfile.mkdtemp(prefix="sfpy-bulk1-"))
            weakref.finalize(self, shutil.rmtree, spool, True)
            self._spool = spool
        return self._spool


def registry_for(state: EmulatorState) -> Bulk1Jobs:
    """The Bulk API 1.0 registry of the org behind ``state``."""
    return state.bulk1
