"""``SalesforceBulkQueryOperator``: a Bulk API 2.0 query streamed to object storage, page by page."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import Context, ObjectStoragePath
from airflow.sdk.exceptions import AirflowException

from airflow_provider_sfpy.operators.base import SalesforceBulkWaitingOperator, default_deferrable
from airflow_provider_sfpy.operators.storage import atomic_write, storage_path


class SalesforceBulkQueryOperator(SalesforceBulkWaitingOperator):
    """Run a SOQL query as a Bulk API 2.0 job and stream its CSV results to object storage.

    Each results page (``Sforce-Locator``) becomes a part file ``part-00001.csv``... under
    ``destination``; with ``combine=True`` the pages are written into the single file
    ``destination`` instead (one header). Bulk query suits extracts of millions of rows: Salesforce
    builds the result set server-side while the task waits, deferred by default.

    Example::

        SalesforceBulkQueryOperator(
            task_id="extract_contacts",
            soql="SELECT Id, Email, Account.Name FROM Contact",
            destination="s3://lake/salesforce/contacts/{{ ds }}/",
            destination_conn_id="aws_default",
        )

    :param soql: the query (templated).
    :param destination: a folder URL for part files, or a file URL with ``combine=True`` (templated).
    :param include_deleted: ``queryAll``.
    :param max_records_per_page: ``maxRecords`` per results page (Salesforce picks when unset).
    :returns: ``{"job_id", "paths", "rows"}``.
    """

    template_fields: Sequence[str] = ("soql", "destination", "destination_conn_id")
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
        deferrable: bool | None = None,
        poll_interval: float = 5.0,
        max_poll_interval: float = 60.0,
        wait_timeout: float = 24 * 3600.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not soql or not soql.strip():
            raise ValueError("soql is empty")
        if max_records_per_page is not None and max_records_per_page <= 0:
            raise ValueError("max_records_per_page must be positive")
        self.soql = soql
        self.destination = destination
        self.destination_conn_id = destination_conn_id
        self.include_deleted = include_deleted
        self.max_records_per_page = max_records_per_page
        self.combine = combine
        self.deferrable = default_deferrable() if deferrable is None else deferrable
        self.poll_interval = poll_interval
        self.max_poll_interval = max_poll_interval
        self.wait_timeout = wait_timeout

    def execute(self, context: Context) -> Any:
        job, _ = self.client.jobs.query.create(self.soql, include_deleted=self.include_deleted)
        job_id = str(job["id"])
        ti = context.get("ti") if isinstance(context, dict) else None
        if ti is not None:
            ti.xcom_push(key="job_id", value=job_id)
        self.log.info("Bulk query job %s created", job_id)
        summaries = self.wait_for_bulk_jobs([job_id], "query")
        return self._download(job_id, summaries[job_id])

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        if event.get("status") != "success":
            raise AirflowException(f"waiting for the Bulk query failed ({event.get('status')}): {event.get('message')}")
        ((job_id, summary),) = event["jobs"].items()
        return self._download(job_id, summary)

    def _download(self, job_id: str, summary: dict[str, Any]) -> dict[str, Any]:
        if summary.get("state") != "JobComplete":
            raise AirflowException(
                f"Bulk query job {job_id} ended {summary.get('state')}: {summary.get('errorMessage') or 'no message'}"
            )
        base = storage_path(self.destination, self.destination_conn_id)
        pages = self.client.jobs.query.result_pages(job_id, max_records=self.max_records_per_page)
        rows = 0
        paths: list[str] = []
        if self.combine:
            base.parent.mkdir(parents=True, exist_ok=True)
            with atomic_write(base) as out:
                for number, page in enumerate(pages):
                    rows += page.number_of_records
                    _copy_page(page.chunks, out, skip_header=number > 0)
            paths.append(str(base))
        else:
            base.mkdir(parents=True, exist_ok=True)
            for number, page in enumerate(pages, start=1):
                path = base / f"part-{number:05d}.csv"
                with path.open("wb") as out:
                    _copy_page(page.chunks, out, skip_header=False)
                rows += page.number_of_records
                paths.append(str(path))
                self.log.info("Saved page %d (%d records) to %s", number, page.number_of_records, path)
        self.log.info("Bulk query %s: %d records in %d file(s)", job_id, rows, len(paths))
        return {"job_id": job_id, "paths": paths, "rows": rows}


def _copy_page(chunks: Any, out: Any, *, skip_header: bool) -> None:
    """Copy a CSV page's byte chunks; for later pages of a combined file, drop the header line."""
    pending_header = skip_header
    for chunk in chunks:
        if pending_header:
            newline = chunk.find(b"\n")
            if newline < 0:
                continue
            chunk = chunk[newline + 1 :]
            pending_header = False
        out.write(chunk)
