"""Mapped mode of a Bulk query export: its result pages spread over many workers by ``.expand()``.

Three small operators, so Airflow itself schedules the download::

    pages = SalesforceBulkQueryPagesOperator(task_id="pages", soql=..., destination="s3://lake/accounts/")
    parts = SalesforceBulkQueryPageOperator.partial(task_id="page").expand(page=pages.output)
    SalesforceBulkQueryCommitOperator(task_id="commit", job=XComArg(pages, key="bulk_query_job"), parts=parts.output)

- ``SalesforceBulkQueryPagesOperator`` runs the query job (created, waited for, re-used by a retry,
  exactly as ``SalesforceBulkQueryOperator`` does), removes the folder's old manifest, and returns one
  small JSON item per results page (``resultPages`` links, API 58.0+). Where the org offers no
  ``resultPages`` it downloads the pages itself, one after another, and its items say so.
- ``SalesforceBulkQueryPageOperator`` saves one page as its part file, straight to the destination (object
  storage: mapped instances run on different machines, so nothing may rely on a shared local disk).
  Each part is written under a temporary name and moved into place whole; a retry writes it again.
- ``SalesforceBulkQueryCommitOperator`` publishes the set: only when every page has its part, each part
  is in storage with the size it was saved with and the records Salesforce announced, and the parts
  add up to the job's record count, does it remove other runs' parts and write ``_manifest.json`` — the
  same manifest ``SalesforceBulkQueryOperator`` writes. Readers that trust the manifest never see a
  partial set.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from airflow.sdk import Context
from airflow.sdk.exceptions import AirflowException

from airflow_provider_sfpy.client.bulk2 import Query
from airflow_provider_sfpy.operators.base import SalesforceBaseOperator
from airflow_provider_sfpy.operators.bulk_query import (
    MANIFEST_NAME,
    STATE_KEY,
    SalesforceBulkQueryOperator,
    page_retry,
    remove_stale_files,
    write_manifest,
)
from airflow_provider_sfpy.operators.bulk_query_pages import PageSaver, SavedPage
from airflow_provider_sfpy.operators.bulk_query_parallel import PartsProgress, part_name
from airflow_provider_sfpy.operators.storage import atomic_write, storage_path
from airflow_provider_sfpy.operators.task_state import TaskState

#: The XCom key of the job's description, which the commit task reads.
JOB_XCOM_KEY = "bulk_query_job"


def saved_part(number: int, saved: SavedPage) -> dict[str, Any]:
    """What a page task returns (and the commit task checks) for one saved part."""
    return {
        "number": number,
        "name": part_name(number),
        "rows": saved.rows,
        "bytes": saved.bytes,
        "announced": saved.announced,
    }


class SalesforceBulkQueryPagesOperator(SalesforceBulkQueryOperator):
    """Run a Bulk API 2.0 query job and return its result pages, one item per page, for ``.expand()``.

    Takes ``SalesforceBulkQueryOperator``'s arguments (``soql``, ``destination`` as a folder,
    ``destination_conn_id``, ``include_deleted``, ``max_records_per_page``, the waits...); the folder
    is written by ``SalesforceBulkQueryPageOperator`` and published by
    ``SalesforceBulkQueryCommitOperator`` (see this module's docstring). ``combine=True`` and
    ``incremental_key`` are not available in mapped mode.

    :returns: a list of ``{"job_id", "number", "link", "part", "destination_conn_id"}`` (``link`` is the
        page's ``resultUrl``; ``part`` the URL of its part file); where the org offers no ``resultPages``
        the pages are already saved and each item also has ``saved``. The job's description
        (``job_id``, ``query``, ``include_deleted``, ``destination``, ``destination_conn_id``, ``pages``)
        is pushed to XCom as ``bulk_query_job``, for the commit task.
    """

    def __init__(self, **kwargs: Any) -> None:
        if kwargs.get("combine"):
            raise ValueError(
                "mapped mode writes part files: drop combine=True, or use SalesforceBulkQueryOperator(combine=True)"
            )
        if kwargs.get("incremental_key"):
            raise ValueError("incremental_key is not available in mapped mode; use SalesforceBulkQueryOperator")
        super().__init__(**kwargs)

    def _download(self, job_id: str, summary: dict[str, Any], context: Context) -> Any:
        if summary.get("state") != "JobComplete":
            raise AirflowException(
                f"Bulk query job {job_id} ended {summary.get('state')}: {summary.get('errorMessage') or 'no message'}"
            )
        base = storage_path(self.destination, self.destination_conn_id)
        (base / MANIFEST_NAME).unlink(missing_ok=True)  # from here until the commit, the folder is not a set
        query = self.client.jobs.query
        links = self._result_links(query, job_id)
        item: dict[str, Any] = {"job_id": job_id, "destination_conn_id": self.destination_conn_id}
        if links is not None:
            pages = [
                {**item, "number": number, "link": link, "part": str(base / part_name(number))}
                for number, link in enumerate(links, start=1)
            ]
        else:
            progress = PartsProgress(TaskState(context, STATE_KEY), job_id, [])
            saved = self._download_parts(query, job_id, base, self._page_saver(job_id, None), None, progress)
            pages = [
                {
                    **item,
                    "number": number,
                    "link": None,
                    "part": str(base / page.name),
                    "saved": saved_part(number, page),
                }
                for number, page in enumerate(saved, start=1)
            ]
        job = {
            "job_id": job_id,
            "query": self.soql,
            "include_deleted": self.include_deleted,
            "destination": str(base),
            "destination_conn_id": self.destination_conn_id,
            "pages": len(pages),
        }
        ti = context.get("ti") if isinstance(context, Mapping) else None
        if ti is not None:
            ti.xcom_push(key=JOB_XCOM_KEY, value=job)
        self.log.info("Bulk query %s: %d result pages for mapped download", job_id, len(pages))
        return pages


class SalesforceBulkQueryPageOperator(SalesforceBaseOperator):
    """Save one result page (an item of ``SalesforceBulkQueryPagesOperator``) as its part file.

    :param page: the page item (templated; usually ``.expand(page=pages.output)``).
    :returns: ``{"number", "name", "rows", "bytes", "announced"}`` for the commit task.
    """

    template_fields: Sequence[str] = ("page",)
    ui_color = "#00a1e0"

    def __init__(self, *, page: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.page = page

    def execute(self, context: Context) -> dict[str, Any]:
        page = self.page
        if not isinstance(page, Mapping) or not {"job_id", "number", "part"} <= set(page):
            raise AirflowException(f"page must be an item of SalesforceBulkQueryPagesOperator's result, not {page!r}")
        if page.get("saved"):
            self.log.info("Page %s was saved while the pages were listed (no resultPages in this org)", page["number"])
            return dict(page["saved"])
        path = storage_path(page["part"], page.get("destination_conn_id"))
        query: Query = self.client.jobs.query
        saver = PageSaver(page["job_id"], page_retry(), self.log)
        saved = saver.save(
            functools.partial(query.result_page_at, page["link"]), functools.partial(atomic_write, path), what=path.name
        )
        self.log.info("Saved page %d (%d records) to %s", page["number"], saved.rows, path)
        return saved_part(int(page["number"]), saved)


class SalesforceBulkQueryCommitOperator(SalesforceBaseOperator):
    """Publish a mapped download's parts as one set: ``_manifest.json``, only when every part is right.

    :param job: the job's description (templated; ``XComArg(pages, key="bulk_query_job")``).
    :param parts: what the page tasks returned (templated; ``page_task.output``).
    :returns: ``{"job_id", "paths", "rows", "manifest"}``, as ``SalesforceBulkQueryOperator`` returns.
    """

    template_fields: Sequence[str] = ("job", "parts")
    ui_color = "#00a1e0"

    def __init__(self, *, job: Any, parts: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.job = job
        self.parts = parts

    def execute(self, context: Context) -> dict[str, Any]:
        job = self.job
        parts = sorted((dict(part) for part in self.parts or []), key=lambda part: int(part["number"]))
        base = storage_path(job["destination"], job.get("destination_conn_id"))
        info, _ = self.client.jobs.query.info(job["job_id"])
        problems = _problems(base, parts, int(job["pages"]), info.get("numberRecordsProcessed"))
        if problems:
            raise AirflowException(
                f"the parts of Bulk query job {job['job_id']} in {base} are not a complete set, so no manifest was "
                f"written: {'; '.join(problems)}. Clear the failed page tasks (or the whole run) to download again."
            )
        remove_stale_files(base, {part["name"] for part in parts}, self.log)
        manifest = {
            "job_id": job["job_id"],
            "query": job["query"],
            "include_deleted": job["include_deleted"],
            "parts": [{"name": part["name"], "rows": part["rows"], "bytes": part["bytes"]} for part in parts],
            "rows": sum(part["rows"] for part in parts),
            "bytes": sum(part["bytes"] for part in parts),
        }
        path = write_manifest(base, manifest)
        self.log.info("Bulk query %s: %d records in %d parts, committed", job["job_id"], manifest["rows"], len(parts))
        return {
            "job_id": job["job_id"],
            "paths": [str(base / part["name"]) for part in parts],
            "rows": manifest["rows"],
            "manifest": path,
        }


def _problems(base: Any, parts: Iterable[dict[str, Any]], pages: int, expected: Any) -> list[str]:
    """Why the parts are not the job's complete result (empty when they are)."""
    problems: list[str] = []
    by_number = {int(part["number"]): part for part in parts}  # the caller sorted them
    missing = sorted(set(range(1, pages + 1)) - set(by_number))
    if missing:
        problems.append(f"no part for page(s) {', '.join(map(str, missing))}")
    for part in by_number.values():
        path = base / part["name"]
        if part.get("announced") is not None and part["rows"] != part["announced"]:
            problems.append(f"{part['name']} holds {part['rows']} records, Salesforce announced {part['announced']}")
        if not path.exists():
            problems.append(f"{part['name']} is not in storage")
        elif path.stat().st_size != part["bytes"]:
            problems.append(f"{part['name']} is {path.stat().st_size} bytes, {part['bytes']} were saved")
    rows = sum(int(part["rows"]) for part in by_number.values())
    if isinstance(expected, int) and rows != expected:
        problems.append(f"the parts hold {rows} records, the job processed {expected}")
    return problems
