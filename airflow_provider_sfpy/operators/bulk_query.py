"""``SalesforceBulkQueryOperator``: a Bulk API 2.0 query streamed to object storage, page by page."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import re
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timezone
from typing import Any

from airflow.sdk import Context, ObjectStoragePath
from airflow.sdk.exceptions import AirflowException

from airflow_provider_sfpy.client.bulk2 import Query, QueryResultPage
from airflow_provider_sfpy.client.errors import SalesforceNotFoundError, SalesforceProtocolError
from airflow_provider_sfpy.formats.file_names import WriterOutput, file_output
from airflow_provider_sfpy.operators.base import SalesforceBulkWaitingOperator, default_deferrable
from airflow_provider_sfpy.operators.bulk_query_pages import PageRetry, PageSaver, SavedPage, Spool, append_page
from airflow_provider_sfpy.operators.bulk_query_parallel import (
    DEFAULT_WORKERS,
    MAX_WORKERS,
    PROGRESS_KEY,
    ParallelDownload,
    PartsProgress,
    part_name,
)
from airflow_provider_sfpy.operators.incremental import IncrementalRun, plan_run, write_metadata
from airflow_provider_sfpy.operators.incremental_pages import CsvPageColumns
from airflow_provider_sfpy.operators.incremental_setup import incremental_setup
from airflow_provider_sfpy.operators.incremental_soql import soql_datetime
from airflow_provider_sfpy.operators.storage import (
    atomic_write,
    check_file_destination,
    known_before_run,
    storage_path,
)
from airflow_provider_sfpy.operators.task_state import TaskState
from airflow_provider_sfpy.operators.watermark import WatermarkStore, watermark_asset

#: The task state store key under which the query job of this task instance is recorded.
STATE_KEY = "sfpy_bulk_query"
MANIFEST_NAME = "_manifest.json"
PART_NAME = re.compile(r"part-\d{5,}\.csv")
#: Temporary files ``atomic_write`` leaves behind only when a worker is killed mid-write.
STALE_PARTIAL = re.compile(r"\.(?:part-\d{5,}\.csv|_manifest\.json)\.[0-9a-f]{12}\.partial")
#: Times one results page is requested before a download cut short fails the task.
PAGE_ATTEMPTS = 4
#: Wait before the first re-request of a cut page; doubled for each further one.
PAGE_RETRY_WAIT_SECONDS = 1.0
PAGE_RETRY_MAX_WAIT_SECONDS = 30.0
RETRY_NEW_JOB_STATES = frozenset({"Failed", "Aborted"})
#: What the files are: uncompressed CSV, as Salesforce sends it.
OUTPUT = WriterOutput(
    "SalesforceBulkQueryOperator",
    formats=("csv",),
    hint="; for JSON Lines, Parquet or gzip, export with SalesforceQueryToFileOperator",
)


class SalesforceBulkQueryOperator(SalesforceBulkWaitingOperator):
    """Run a SOQL query as a Bulk API 2.0 job and stream its CSV results to object storage.

    Each results page (``Sforce-Locator``) becomes a part file ``part-00001.csv``... under
    ``destination``; with ``combine=True`` the pages are written into the single file
    ``destination`` instead (one header). Bulk query suits extracts of millions of rows: Salesforce
    builds the result set server-side while the task waits. The wait takes a worker slot unless
    the task is deferrable (``deferrable=True``, or ``[operators] default_deferrable = True`` in
    Airflow's configuration, which a stock install leaves False); then the triggerer waits.

    **Files are uncompressed CSV**, and the destination's name must not say otherwise: ``.parquet``,
    ``.jsonl``, ``.json`` or ``.gz`` (on the combined file, or on the folder of parts) is refused
    when the DAG is parsed, or for a templated destination when the task starts, before a job is
    created (the rules in ``airflow_provider_sfpy.formats.file_names``). For those formats, or
    gzip, use ``SalesforceQueryToFileOperator``. Missing local folders are created.

    Example::

        SalesforceBulkQueryOperator(
            task_id="extract_contacts",
            soql="SELECT Id, Email, Account.Name FROM Contact",
            destination="s3://lake/salesforce/contacts/{{ (dag_run.logical_date or dag_run.run_after) | ds }}/",
            destination_conn_id="aws_default",
        )

    **What readers can trust.** Every file is written under a temporary name and moved into place
    once complete, so no reader ever sees half a file. A page whose download is cut short (broken
    connection, or fewer records than its ``Sforce-NumberOfRecords``) is requested again from its
    locator, up to ``PAGE_ATTEMPTS`` times, before the task fails with ``SalesforceConnectionError``.
    In a folder of part files, ``_manifest.json`` is written last: it lists every part (``name``,
    ``rows``, ``bytes``), the total ``rows``, the ``job_id``, the ``query`` and ``completed_at``.
    Read the manifest and the parts it lists; while a run is writing there is no manifest.

    **Re-runs into the same folder** hold exactly one run's parts afterwards: a run first removes the
    old manifest, then writes its parts (each replacing the same-named old part in one move), then
    deletes the ``part-*.csv`` files its manifest will not list (and ``.partial`` files a killed
    worker left), and writes the manifest last. This needs no folder rename, so it works the same on
    local disks and on object stores (``s3://``, ``gs://``...), where a "rename" is a copy.

    **Parallel download.** Salesforce spends time preparing each results page, so one stream mostly
    waits. From API 58.0 the pages are listed as links (``resultPages``) and fetched ``parallel`` at a
    time, each streamed into its own part file (``part-00003.csv`` is the third page, whenever it
    finishes) or spooled to local disk and appended in order to the combined file. Memory holds one
    chunk per page in flight. The pages must add up to the job's ``numberRecordsProcessed``, or nothing
    is published. Which parts are complete is recorded in the task state store as they finish, so a
    retry after a killed worker downloads only the missing parts. To spread the pages over many workers
    instead, see ``SalesforceBulkQueryPagesOperator`` (mapped mode).

    **Retries** (Airflow 3.3+, with a task state store): the query job's id is recorded right after
    the job is created. A retry, or a clear, of the same task instance re-uses that job when it is
    still running (it waits again) or complete (its results are downloaded again: Salesforce keeps
    them for about 7 days); a new job is created only if the recorded one Failed, was Aborted, is
    gone, or the SOQL changed. A clear therefore re-downloads the *same* results; to query afresh,
    delete the ``sfpy_bulk_query`` key of the task state store or start a new DAG run. Before
    Airflow 3.3 a retry simply creates a new job: a Bulk query only reads, so that costs a second
    extract on the Salesforce side but never duplicates data.

    :param soql: the query (templated).
    :param destination: a folder URL for part files, or a file URL with ``combine=True`` (templated).
        A folder destination must not be an existing file, and a ``combine=True`` destination must
        not be an existing folder; both are refused before anything is queried.
    :param destination_conn_id: the Airflow connection for the destination's storage (templated)
        (default ``None``: the storage's own credential lookup).
    :param include_deleted: ``queryAll``: deleted and archived records too (default ``False``).
    :param max_records_per_page: ``maxRecords`` per results page (default ``None``: Salesforce picks).
    :param combine: write one file ``destination`` instead of a folder of part files (default ``False``).
    :param parallel: results pages downloaded at the same time (default ``None``: as many as Salesforce's
        ``resultPages`` hands out, at most 5; ``1`` follows the locators one page after another; at most 10).
        Parallel pages come from ``GET /jobs/query/{id}/resultPages`` (API 58.0+); where the org does not
        offer it the task follows the locators instead. The files are the same either way; see
        **Parallel download** above.
    :param deferrable: wait in the triggerer instead of a worker slot (default ``False``: Airflow's
        ``[operators] default_deferrable``, which a stock install leaves False).
    :param poll_interval: seconds before the first re-check of the job; each wait grows 1.5x up to
        ``max_poll_interval``, but never past ``poll_interval`` plus a quarter of the time waited so far, so
        the job is seen done within a quarter of its run time (plus one ``poll_interval``) (default ``5.0``).
    :param max_poll_interval: the longest wait between two checks, in seconds (default ``60.0``).
    :param wait_timeout: give up waiting for the job after this many seconds (default ``86400``, one day).
    :param incremental_key: export only what changed since the last successful run: a datetime field
        of the object (``True`` means ``SystemModstamp``) (default ``None``: export everything). Needs
        Airflow 3.3 (refused when the DAG is parsed on earlier versions). The watermark lives in the
        state store of the first ``Asset`` in ``outlets`` (without one the task declares
        ``Asset("salesforce://<sfpy_conn_id>/<Object>")``); the query must be ``SELECT ... FROM Object
        [WHERE ...]`` and each run's job queries ``(WHERE) AND key >= watermark AND key <= <run start>``
        (not sorted: ordering disables Bulk API 2.0's PK chunking). With ``include_deleted`` the job is a
        ``queryAll`` and ``IsDeleted`` is added to the columns. The window, row count and whether the run
        was full or incremental go to the manifest's ``incremental`` entry (with ``combine=True``: to
        ``<destination>.meta.json``) and to XCom; the highest key in the files becomes the new watermark
        once they are in place. A retry of the same task instance re-sends the same window, so it can
        re-use the job. See ``airflow_provider_sfpy.operators.incremental``.
    :param full_refresh: ignore the watermark and export everything up to the run's start, then
        store a new watermark; also set by ``dag_run.conf["full_refresh"]`` (templated) (default ``False``).
    :returns: ``{"job_id", "paths", "rows", "manifest"}`` (``manifest`` is ``None`` with ``combine=True``),
        plus ``incremental`` (the window, rows and watermarks) with ``incremental_key``.
    """

    template_fields: Sequence[str] = ("soql", "destination", "destination_conn_id", "full_refresh")
    template_ext: Sequence[str] = (".soql",)
    ui_color = "#00a1e0"

    def __init__(
        self,
        *,
        soql: str,
        destination: str | ObjectStoragePath,
        destination_conn_id: str | None = None,
        include_deleted: bool = False,
        max_records_per_page: int | None = None,
        combine: bool = False,
        parallel: int | None = None,
        deferrable: bool | None = None,
        poll_interval: float = 5.0,
        max_poll_interval: float = 60.0,
        wait_timeout: float = 24 * 3600.0,
        incremental_key: str | bool | None = None,
        full_refresh: bool | str = False,
        **kwargs: Any,
    ) -> None:
        self.incremental = incremental_setup(
            incremental_key,
            soql=soql,
            include_deleted=include_deleted,
            deleted_destination=None,
            operator_kwargs=kwargs,
        )
        super().__init__(**kwargs)
        if not soql or not soql.strip():
            raise ValueError("soql is empty")
        if max_records_per_page is not None and max_records_per_page <= 0:
            raise ValueError("max_records_per_page must be positive")
        if parallel is not None and not 1 <= parallel <= MAX_WORKERS:
            raise ValueError(
                f"parallel must be from 1 (one page after another) to {MAX_WORKERS}, or None for what Salesforce "
                f"offers (at most {DEFAULT_WORKERS}); got {parallel!r}"
            )
        self.soql = soql
        self.destination = destination
        self.destination_conn_id = destination_conn_id
        self.include_deleted = include_deleted
        self.max_records_per_page = max_records_per_page
        self.combine = combine
        self.parallel = parallel
        self.deferrable = default_deferrable() if deferrable is None else deferrable
        self.poll_interval = poll_interval
        self.max_poll_interval = max_poll_interval
        self.wait_timeout = wait_timeout
        self.incremental_key = incremental_key
        self.full_refresh = full_refresh
        self._incremental_run: IncrementalRun | None = None
        if known_before_run(destination):
            file_output(str(destination), OUTPUT)  # a name that promises another format: refused now

    def execute(self, context: Context) -> Any:
        self._checked_destination()
        state = TaskState(context, STATE_KEY)
        soql, include_deleted = self._job_query(context, state)
        job_id = self._recorded_job(state, soql, include_deleted)
        if job_id is None:
            job, _ = self.client.jobs.query.create(soql, include_deleted=include_deleted)
            job_id = str(job["id"])
            # Recorded before waiting: a retry from here on finds the job instead of starting another.
            run = self._incremental_run
            state.save(
                {
                    "job_id": job_id,
                    "query_sha256": _query_key(soql, include_deleted),
                    "soql": soql[:1000],
                    "created_at": _now(),
                    **({"incremental": run.to_json()} if run is not None else {}),
                }
            )
            self.log.info("Bulk query job %s created", job_id)
        ti = context.get("ti") if isinstance(context, dict) else None
        if ti is not None:
            ti.xcom_push(key="job_id", value=job_id)
        summaries = self.wait_for_bulk_jobs([job_id], "query")
        return self._download(job_id, summaries[job_id], context)

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        if event.get("status") != "success":
            raise AirflowException(f"waiting for the Bulk query failed ({event.get('status')}): {event.get('message')}")
        ((job_id, summary),) = event["jobs"].items()
        return self._download(job_id, summary, context)

    def _job_query(self, context: Context, state: TaskState) -> tuple[str, bool]:
        """The SOQL and query vs. queryAll of this run's job: the window of an incremental export."""
        if self.incremental is None:
            return self.soql, self.include_deleted
        run, _ = plan_run(
            context,
            client=self.client,
            settings=self.incremental,
            soql=self.soql,
            asset=self._watermark_asset(),
            full_refresh=self.full_refresh,
            owner=f"{self.dag_id}.{self.task_id}",
            log=self.log,
        )
        recorded = state.load()
        run = run.with_recorded_window(recorded.get("incremental") if recorded else None)
        self._incremental_run = run
        self.log.info("%s", run.describe())
        return run.query(ordered=False), self.incremental.deletes_in_main_file

    def _watermark_asset(self) -> Any:
        asset = watermark_asset(self.outlets)
        assert asset is not None, "an incremental export always has an outlet asset"
        return asset

    def _resumed_run(self, context: Context) -> IncrementalRun | None:
        """This run's plan: planned by this try, or (after a deferral) recorded in the task state."""
        if self.incremental is None or self._incremental_run is not None:
            return self._incremental_run
        recorded = TaskState(context, STATE_KEY).load()
        if not recorded or "incremental" not in recorded:
            raise AirflowException(
                "the window of this incremental Bulk query is not in the task state store; clear the task to run "
                "it again"
            )
        return IncrementalRun.restore(
            recorded["incremental"], settings=self.incremental, soql=self.soql, asset=self._watermark_asset()
        )

    # ------------------------------------------------------------------ destination and resumption

    def _checked_destination(self) -> ObjectStoragePath:
        """The destination, refused up front when it cannot hold what this operator writes."""
        file_output(str(self.destination), OUTPUT)
        base = storage_path(self.destination, self.destination_conn_id)
        if self.combine:
            check_file_destination(
                base,
                self.destination,
                writer="SalesforceBulkQueryOperator with combine=True",
                hint=", or drop combine=True to write part files into that folder",
            )
        elif base.is_file():
            raise NotADirectoryError(
                f"cannot write to {self.destination}: it is an existing file, and SalesforceBulkQueryOperator "
                "without combine=True writes a folder of part files (part-00001.csv... and _manifest.json). "
                "Give a folder path, or set combine=True to write that one file."
            )
        return base

    def _recorded_job(self, state: TaskState, soql: str, include_deleted: bool) -> str | None:
        """The query job an earlier try of this task instance created, if it can still be used."""
        recorded = state.load()
        job_id = recorded.get("job_id") if recorded else None
        if recorded is None or not isinstance(job_id, str) or not job_id:
            return None
        if recorded.get("query_sha256") != _query_key(soql, include_deleted):
            self.log.info(
                "An earlier try ran Bulk query job %s for another query (the SOQL or include_deleted changed); "
                "creating a new job",
                job_id,
            )
            return None
        try:
            info, _ = self.client.jobs.query.info(job_id)
        except SalesforceNotFoundError:
            self.log.warning(
                "Bulk query job %s of an earlier try is gone (deleted, or older than Salesforce keeps jobs); "
                "creating a new job",
                job_id,
            )
            return None
        job_state = info.get("state")
        if job_state in RETRY_NEW_JOB_STATES:
            self.log.warning(
                "Bulk query job %s of an earlier try ended %s (%s); creating a new job",
                job_id,
                job_state,
                info.get("errorMessage") or "no message",
            )
            return None
        if recorded.get("downloaded_at"):
            self.log.info(
                "An earlier try already saved the results of Bulk query job %s (at %s); saving them again",
                job_id,
                recorded["downloaded_at"],
            )
        else:
            self.log.info("Re-using Bulk query job %s (%s) created by an earlier try", job_id, job_state)
        return job_id

    # ------------------------------------------------------------------ download

    def _download(self, job_id: str, summary: dict[str, Any], context: Context) -> Any:
        """Save the finished job's results; the task's return value."""
        if summary.get("state") != "JobComplete":
            raise AirflowException(
                f"Bulk query job {job_id} ended {summary.get('state')}: {summary.get('errorMessage') or 'no message'}"
            )
        run = self._resumed_run(context)
        soql = run.query(ordered=False) if run is not None else self.soql
        include_deleted = self.incremental.deletes_in_main_file if self.incremental else self.include_deleted
        base = storage_path(self.destination, self.destination_conn_id)
        query = self.client.jobs.query
        saver = self._page_saver(job_id, run)
        state = TaskState(context, STATE_KEY)
        links = self._result_links(query, job_id)
        parallel = None
        if links is not None:
            parallel = ParallelDownload(query, links, saver, self.parallel or DEFAULT_WORKERS, self.log)
        manifest: dict[str, Any] | None = None
        if self.combine:
            saved = self._download_combined(query, job_id, base, saver, parallel, summary)
            paths = [str(base)]
        else:
            saved = self._download_parts(
                query, job_id, base, saver, parallel, PartsProgress(state, job_id, links or [])
            )
            if parallel is not None:
                _check_total(job_id, saved, summary)
            paths = [str(base / part.name) for part in saved]
            manifest = {
                "job_id": job_id,
                "query": soql,
                "include_deleted": include_deleted,
                "parts": [{"name": part.name, "rows": part.rows, "bytes": part.bytes} for part in saved],
                "rows": sum(part.rows for part in saved),
                "bytes": sum(part.bytes for part in saved),
            }
        rows = sum(part.rows for part in saved)
        self.log.info("Bulk query %s: %d records in %d file(s)", job_id, rows, len(paths))
        result: dict[str, Any] = {"job_id": job_id, "paths": paths, "rows": rows, "manifest": None}
        described = watermark = None
        if run is not None:
            described, watermark = self._describe_incremental(run, saved, soql=soql, path=str(base), rows=rows)
            result["incremental"] = described
        if manifest is not None:
            result["manifest"] = write_manifest(base, {**manifest, **({"incremental": described} if described else {})})
        elif described is not None:
            described["metadata_path"] = write_metadata(base, described)
        if run is not None and described is not None:
            run.commit(context, WatermarkStore(context, run.asset), watermark, [described])
            self.log.info("Watermark of %s is now %s", run.asset.uri, described["watermark"]["new"])
        recorded = state.load()
        if recorded is not None and recorded.get("job_id") == job_id:
            recorded.pop(PROGRESS_KEY, None)  # done: a clear downloads the results again, whole
            state.save({**recorded, "downloaded_at": _now(), "rows": rows})
        return result

    def _page_saver(self, job_id: str, run: IncrementalRun | None) -> PageSaver:
        return PageSaver(job_id, page_retry(), self.log, _page_watcher(run))

    def _result_links(self, query: Query, job_id: str) -> list[str] | None:
        """The job's result pages as links for a parallel download, or ``None`` to follow locators."""
        if self.parallel == 1:
            return None
        links = query.result_links(job_id, max_records=self.max_records_per_page)
        if links is None:
            self.log.info(
                "Salesforce offers no resultPages here (API %s; it needs 58.0 or later): downloading the results "
                "page after page",
                self.client.version,
            )
        return links

    def _describe_incremental(
        self, run: IncrementalRun, saved: Sequence[SavedPage], *, soql: str, path: str, rows: int
    ) -> tuple[dict[str, Any], datetime | None]:
        """The incremental facts of this run's files (window, rows, watermarks) for the manifest and XCom,
        and the new watermark."""
        columns = [part.columns for part in saved if part.columns is not None]
        watermark = run.next_watermark(seen.keys.highest for seen in columns)
        beyond = sum(seen.keys.beyond_upper for seen in columns)
        if beyond:
            self.log.warning(
                "%d rows carry a %s after the window's end; they stay for the next run too", beyond, run.settings.key
            )
        contents = "changes and deletes" if run.settings.deletes_in_main_file else "changes"
        described = run.file_metadata(
            path=path,
            soql=soql,
            rows=rows,
            deleted_rows=sum(seen.deleted_rows for seen in columns),
            contents=contents,
        )
        described["watermark"] = {
            "previous": soql_datetime(run.previous) if run.previous else None,
            "new": soql_datetime(watermark) if watermark else None,
        }
        return described, watermark

    def _pages(self, query: Query, job_id: str) -> Iterator[tuple[int, QueryResultPage, Callable[[], QueryResultPage]]]:
        """Each results page, following the locators: its number (from 1), the page, and how to request that same
        page again (by the locator it was requested with: ``None`` for the first) when its download is cut short."""
        locator: str | None = None
        for number, page in enumerate(query.result_pages(job_id, max_records=self.max_records_per_page), start=1):
            fetch_again = functools.partial(
                query.result_page, job_id, locator=locator, max_records=self.max_records_per_page
            )
            yield number, page, fetch_again
            locator = page.locator

    def _download_combined(
        self,
        query: Query,
        job_id: str,
        base: ObjectStoragePath,
        saver: PageSaver,
        parallel: ParallelDownload | None,
        summary: dict[str, Any],
    ) -> list[SavedPage]:
        """Every page into one file (one header). Each page is first saved whole to a local spool,
        so a page cut short can be fetched again without leaving half of it in the file."""
        saved_pages: list[SavedPage] = []
        with atomic_write(base) as out:
            if parallel is not None:
                saved_pages = parallel.combined(out)
                _check_total(job_id, saved_pages, summary)  # inside: a short set is never published
                return saved_pages
            for number, page, fetch_again in self._pages(query, job_id):
                spool = Spool()
                saved = saver.save(fetch_again, spool.open, what=f"page {number}", first=page)
                try:
                    append_page(spool, out, skip_header=number > 1)
                finally:
                    spool.close()
                saved_pages.append(saved)
        return saved_pages

    def _download_parts(
        self,
        query: Query,
        job_id: str,
        base: ObjectStoragePath,
        saver: PageSaver,
        parallel: ParallelDownload | None,
        progress: PartsProgress,
    ) -> list[SavedPage]:
        """Each page into its own part file; the caller writes the manifest once they are all in place."""
        # Readers trust the manifest: once old parts start being replaced it must no longer be there.
        (base / MANIFEST_NAME).unlink(missing_ok=True)
        if parallel is not None:
            saved_pages = parallel.parts(base, progress)
        else:
            saved_pages = []
            for number, page, fetch_again in self._pages(query, job_id):
                path = base / part_name(number)
                saved = saver.save(fetch_again, functools.partial(atomic_write, path), what=path.name, first=page)
                saved_pages.append(dataclasses.replace(saved, name=path.name))
                self.log.info("Saved page %d (%d records) to %s", number, saved.rows, path)
        remove_stale_files(base, {part.name for part in saved_pages}, self.log)
        return saved_pages


def page_retry() -> PageRetry:
    """How cut pages are retried; read at run time, so tests can shorten the waits."""
    return PageRetry(PAGE_ATTEMPTS, PAGE_RETRY_WAIT_SECONDS, PAGE_RETRY_MAX_WAIT_SECONDS)


def remove_stale_files(base: ObjectStoragePath, keep: set[str], log: Any) -> None:
    """Delete part files of earlier runs that this run did not write, and orphaned ``.partial`` files."""
    try:
        entries = list(base.iterdir())
    except FileNotFoundError:
        return
    for entry in entries:
        name = entry.name
        stale_part = PART_NAME.fullmatch(name) is not None and name not in keep
        if stale_part or STALE_PARTIAL.fullmatch(name):
            log.info("Removing %s, left by an earlier run", entry)
            entry.unlink(missing_ok=True)


def write_manifest(base: ObjectStoragePath, manifest: dict[str, Any]) -> str:
    """Write ``_manifest.json`` (last, once every part it lists is in place); its path."""
    path = base / MANIFEST_NAME
    with atomic_write(path) as out:
        out.write(json.dumps({**manifest, "completed_at": _now()}, indent=2).encode("utf-8"))
    return str(path)


def _check_total(job_id: str, saved: Sequence[SavedPage], summary: dict[str, Any]) -> None:
    """Pages fetched from ``resultPages`` links must add up to the job's record count: nothing lost or doubled."""
    expected = summary.get("numberRecordsProcessed")
    rows = sum(part.rows for part in saved)
    if not isinstance(expected, int) or rows == expected:
        return
    raise SalesforceProtocolError(
        f"Bulk query job {job_id} processed {expected} records, but its {len(saved)} result pages "
        f"(from resultPages) hold {rows}; the set is not published. Run the task again; if it keeps happening, "
        "set parallel=1 to follow the locators instead."
    )


def _query_key(soql: str, include_deleted: bool) -> str:
    """What must not change for a recorded job to be re-used: the SOQL and query vs. queryAll."""
    return hashlib.sha256(json.dumps([soql, include_deleted]).encode()).hexdigest()


def _page_watcher(run: IncrementalRun | None) -> Callable[[], CsvPageColumns] | None:
    """A fresh reader of each page's key column (and deleted rows), for an incremental export."""
    if run is None:
        return None
    settings, upper = run.settings, run.window.upper
    return lambda: CsvPageColumns(settings.key, upper, count_deleted=settings.deletes_in_main_file)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
