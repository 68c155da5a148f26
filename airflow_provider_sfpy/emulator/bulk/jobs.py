"""Bulk API 2.0 jobs: their state machine, their files on disk, and the registry that owns both.

A job lives in memory (like Salesforce's, it is gone when the org is — here, when the emulator stops)
with a spool directory for its upload and result files, so nothing large is ever held in memory. Every
state change goes through ``BulkJobs.transition``, under one lock, because two threads race for it: the
request that aborts a job and the worker that is processing it. The worker threads live here too, so
that shutting the registry down stops them before the store closes.
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
import threading
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from airflow_provider_sfpy.emulator.bulk.formats import CsvFormat
from airflow_provider_sfpy.emulator.bulk.result_pages import ResultPageConfig
from airflow_provider_sfpy.emulator.values import now_string

if TYPE_CHECKING:
    from airflow_provider_sfpy.emulator.config import EmulatorConfig
    from airflow_provider_sfpy.emulator.soql import CompiledQuery

OPEN = "Open"
UPLOAD_COMPLETE = "UploadComplete"
IN_PROGRESS = "InProgress"
JOB_COMPLETE = "JobComplete"
FAILED = "Failed"
ABORTED = "Aborted"
TERMINAL_STATES = frozenset({JOB_COMPLETE, FAILED, ABORTED})

INGEST = "ingest"
QUERY = "query"
JOB_KEY_PREFIX = "750"
WORKER_THREADS = 4


@dataclass(frozen=True)
class BulkSettings:
    """The ``EmulatorConfig`` knobs of Bulk API 2.0 (limits and processing pace)."""

    upload_limit_bytes: int
    jobs_page_size: int
    queue_delay: float
    chunk_rows: int
    chunk_delay: float

    @classmethod
    def from_config(cls, config: EmulatorConfig) -> BulkSettings:
        return cls(
            upload_limit_bytes=config.bulk_upload_limit_bytes,
            jobs_page_size=config.bulk_jobs_page_size,
            queue_delay=config.bulk_queue_delay,
            chunk_rows=config.bulk_chunk_rows,
            chunk_delay=config.bulk_chunk_delay,
        )


@dataclass
class Job:
    """One ingest or query job. Mutable fields change only under ``BulkJobs``' lock."""

    id: str
    kind: str  # INGEST or QUERY
    operation: str
    sobject: str
    created_by_id: str
    api_version: str
    csv_format: CsvFormat
    directory: Path
    sequence: int
    created_date: str = field(default_factory=now_string)
    system_modstamp: str = ""
    state: str = OPEN
    external_id_field: str | None = None
    assignment_rule_id: str | None = None
    query: CompiledQuery | None = None
    error_message: str | None = None
    processed: int = 0
    failed: int = 0
    processing_ms: int = 0
    uploaded: bool = False
    uploading: bool = False
    deleted: bool = False
    #: Where ``unprocessedrecords`` is read from once processing has settled (``None``: nothing).
    unprocessed_path: Path | None = None
    #: Set once the job's result files are final (a terminal state alone is not enough: an abort is
    #: recorded at once, while the worker is still writing the rows it did not process).
    settled: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.system_modstamp = self.system_modstamp or self.created_date

    @property
    def upload_path(self) -> Path:
        return self.directory / "upload.csv"

    def result_path(self, name: str) -> Path:
        return self.directory / f"{name}.csv"


class BulkJobs:
    """Every Bulk API 2.0 job of the org, their spool directory and the worker threads.

    Jobs are listed in creation order; ``sequence`` numbers make list paging stable when jobs are
    deleted between pages.
    """

    def __init__(self, workers: int = WORKER_THREADS) -> None:
        self._lock = threading.RLock()
        self._jobs: dict[str, Job] = {}
        self._sequence = itertools.count(1)
        self._workers = workers
        self._executor: ThreadPoolExecutor | None = None
        self._spool: Path | None = None
        self.stopping = threading.Event()
        #: How query results are cut into pages and paced (``result_pages``; the admin API changes it).
        self.result_pages = ResultPageConfig()

    # ------------------------------------------------------------------------------- registry

    def new_job(self, job_id: str, kind: str, data_dir: str | Path | None, **attributes: object) -> Job:
        """Register a job with its own (new, empty) spool directory."""
        with self._lock:
            directory = self._spool_root(data_dir) / job_id
            shutil.rmtree(directory, ignore_errors=True)  # job Ids restart with the process
            directory.mkdir(parents=True)
            job = Job(id=job_id, kind=kind, directory=directory, sequence=next(self._sequence), **attributes)  # type: ignore[arg-type]
            self._jobs[job_id] = job
            return job

    def get(self, job_id: str, kind: str) -> Job | None:
        with self._lock:
            job = self._jobs.get(job_id)
        return job if job is not None and job.kind == kind else None

    def page(self, kind: str, after: int, limit: int) -> tuple[list[Job], bool]:
        """Up to ``limit`` jobs of ``kind`` created after sequence ``after``, and whether more follow."""
        with self._lock:
            matching = [j for j in self._jobs.values() if j.kind == kind and j.sequence > after]
        matching.sort(key=lambda j: j.sequence)
        return matching[:limit], len(matching) > limit

    def remove(self, job: Job) -> None:
        """Forget a job and its files (a worker still busy with it stops at its next check)."""
        with self._lock:
            job.deleted = True
            self._jobs.pop(job.id, None)
        if job.settled.is_set():
            shutil.rmtree(job.directory, ignore_errors=True)

    def transition(self, job: Job, allowed: Collection[str], state: str, **changes: object) -> bool:
        """Move ``job`` to ``state`` if it is in one of the ``allowed`` states; ``changes`` are applied
        with it, atomically. Returns whether it moved."""
        with self._lock:
            if job.state not in allowed or job.deleted:
                return False
            job.state = state
            job.system_modstamp = now_string()
            for name, value in changes.items():
                setattr(job, name, value)
            return True

    def start_upload(self, job: Job) -> str | None:
        """Claim the job's single upload. Returns why it cannot be taken (``"state"``: not Open;
        ``"taken"``: data was already uploaded or is being uploaded), or ``None`` when claimed."""
        with self._lock:
            if job.state != OPEN or job.deleted:
                return "state"
            if job.uploaded or job.uploading:
                return "taken"
            job.uploading = True
            return None

    def finish_upload(self, job: Job, stored: bool) -> None:
        with self._lock:
            job.uploading = False
            job.uploaded = job.uploaded or stored

    def update(self, job: Job, **changes: object) -> None:
        with self._lock:
            for name, value in changes.items():
                setattr(job, name, value)

    def snapshot(self, job: Job) -> Job:
        """A consistent copy of the job for rendering (the worker may be updating counters)."""
        with self._lock:
            return Job(**{name: getattr(job, name) for name in job.__dataclass_fields__})

    # ------------------------------------------------------------------------------- workers

    def submit(self, task: Callable[[], None]) -> None:
        """Run ``task`` on a worker thread (tasks watch ``stopping`` to end early at shutdown)."""
        with self._lock:
            if self.stopping.is_set():
                return
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="sfpy-bulk")
            self._executor.submit(task)

    def close(self) -> None:
        """Stop the workers (running tasks end at their next check) and delete the spool."""
        self.stopping.set()
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            for job in self._jobs.values():
                job.settled.set()
            if self._spool is not None:
                shutil.rmtree(self._spool, ignore_errors=True)
                self._spool = None

    def _spool_root(self, data_dir: str | Path | None) -> Path:
        """Where job files go: under the org's ``data_dir`` if it has one (large uploads then land on
        the disk the user chose), else in a private temporary directory. Jobs live in memory, so files
        a previous run left behind (it crashed before ``close``) belong to no job: they are removed."""
        if self._spool is None:
            if data_dir is not None:
                self._spool = Path(data_dir) / "bulk-jobs"
                shutil.rmtree(self._spool, ignore_errors=True)
                self._spool.mkdir(parents=True)
            else:
                self._spool = Path(tempfile.mkdtemp(prefix="sfpy-bulk-"))
        return self._spool
