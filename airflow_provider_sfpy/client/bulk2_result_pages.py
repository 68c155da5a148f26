"""Bulk API 2.0 query results as a list of links, for a download in parallel (API 58.0 and later).

``GET /jobs/query/{id}/resultPages`` answers ``{"resultPages": [{"resultUrl": ...}, ...], "nextRecordsUrl",
"done"}`` with up to five links a call; each ``resultUrl`` is a ``/results`` request with its locator,
downloaded like any results page, so the pages can be fetched at the same time, by threads of one task
or by many tasks. The job must be ``JobComplete`` and read with the API version that created it (409
otherwise); older versions have no such resource (404). See "Get Parallel Results for a Query Job":
https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/query_get_parallel_job_results.htm

The reference's table spells the continuation ``nextRecordUrl`` and its example ``nextRecordsUrl``; both
are read, and so is ``resultLink`` beside ``resultUrl`` (a name seen in published schemas). Links are
used as given: they are followed only on the instance host (the client's rule for server links) and
only when they name this job's ``/results``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from airflow_provider_sfpy.client.errors import SalesforceNotFoundError, SalesforceProtocolError
from airflow_provider_sfpy.client.query import broken_cursor_error, plural
from airflow_provider_sfpy.client.versions import normalize_version, version_key

if TYPE_CHECKING:
    from airflow_provider_sfpy.client.client import Client

#: The first API version with ``resultPages``.
RESULT_PAGES_MIN_VERSION = (58, 0)


def offers_result_pages(version: str | None) -> bool:
    """Whether ``resultPages`` exists in this API version (58.0, Summer '23, and later)."""
    return version is not None and version_key(normalize_version(version)) >= RESULT_PAGES_MIN_VERSION


def link_locator(url: str) -> str | None:
    """The ``locator`` a ``resultUrl`` carries (``None``: the first page, asked for without one)."""
    values = parse_qs(urlsplit(url).query).get("locator")
    return values[0] if values else None


def collect_result_links(
    client: Client, pages_path: str, job_id: str, *, max_records: int | None = None
) -> list[str] | None:
    """Every ``resultUrl`` of a finished query job, in order; ``None`` where ``resultPages`` is not
    offered (an API version before 58.0, or a 404 from an org or proxy that does not know it).

    ``max_records`` is sent as ``maxRecords`` (the page size the caller would ask ``/results`` for).
    Salesforce documents no parameter here; an org that ignores it cuts pages itself, and the links
    are right either way. A ``nextRecordsUrl`` or ``resultUrl`` that comes back again raises
    ``SalesforceProtocolError``: following it would read the same records twice.
    """
    if not offers_result_pages(client.version):
        return None
    try:
        body, _ = client.request("GET", pages_path, params={"maxRecords": max_records} if max_records else None)
    except SalesforceNotFoundError:
        client.jobs.query.info(job_id)  # a job that is gone raises its own 404 here: the caller's to see
        return None
    links: list[str] = []
    followed: dict[str, int] = {}  # each nextRecordsUrl followed -> the answer that gave it
    answers = 0
    while True:
        answers += 1
        for link in _answer_links(body, job_id):
            if link in links:
                raise _repeated(job_id, f"the resultUrl {link} came twice", answers, len(links), link)
            links.append(link)
        next_url = None if body.get("done", True) else body.get("nextRecordsUrl") or body.get("nextRecordUrl")
        if not next_url:
            return links
        if next_url in followed:
            raise _repeated(
                job_id,
                f"answer {answers} gave the nextRecordsUrl {next_url} again "
                f"(answer {followed[next_url]} gave it first)",
                answers,
                len(links),
                next_url,
            )
        followed[next_url] = answers
        body, _ = client.request("GET", next_url)


def _answer_links(body: Any, job_id: str) -> list[str]:
    """The ``resultUrl`` links of one answer, each checked to be a results request of this job."""
    entries = body.get("resultPages") if isinstance(body, Mapping) else None
    if not isinstance(entries, list):
        raise SalesforceProtocolError(
            f"resultPages of Bulk query job {job_id} answered without a resultPages list ({type(body).__name__})"
        )
    links = []
    for entry in entries:
        link = (entry.get("resultUrl") or entry.get("resultLink")) if isinstance(entry, Mapping) else None
        if not isinstance(link, str) or not urlsplit(link).path.rstrip("/").endswith(f"/jobs/query/{job_id}/results"):
            raise SalesforceProtocolError(
                f"resultPages of Bulk query job {job_id} gave {entry!r}, which is not a results link of that job; "
                "it was not followed"
            )
        links.append(link)
    return links


def _repeated(job_id: str, problem: str, answers: int, links: int, url: str) -> SalesforceProtocolError:
    return broken_cursor_error(
        "Bulk query resultPages",
        f"{problem}, for job {job_id}",
        read=f"{plural(answers, 'answer')} and {plural(links, 'link')}",
        url=url,
        consequence="No page was downloaded from these links, so nothing was written.",
    )
