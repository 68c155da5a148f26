"""Where finished Bulk jobs' result CSVs go: object storage (any size) or XCom (small, capped).

Failed rows are delivered first, so that even when a later step fails, no failed record is lost.
:func:`finish_ingest` is the one ending of a Bulk load, shared by the ingest operator and the sensor:
deliver the results, push the outcome to XCom, then judge the jobs.

A result too big for XCom never fails the task: by then the data is in Salesforce, and a retry
would load it again. It is left out of XCom instead (its entry is ``None``), described in the
``omitted`` list and in a warning, and can still be downloaded from Salesforce by job id.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from airflow_provider_sfpy.client import Client
from airflow_provider_sfpy.client.bulk2 import RESULT_KINDS
from airflow_provider_sfpy.client.errors import SalesforceStreamCutError
from airflow_provider_sfpy.operators.storage import atomic_write, storage_path
from airflow_provider_sfpy.operators.task_state import AirflowFailException

RESULT_ORDER = ("failed", "unprocessed", "successful")
#: A result download cut mid-stream is fetched again, up to this many GETs in all.
RESULT_DOWNLOAD_ATTEMPTS = 3
T = TypeVar("T")
#: Without a results destination, the largest result CSV (per job and kind) kept in XCom.
DEFAULT_MAX_XCOM_RESULT_BYTES = 1_000_000
#: How long Salesforce keeps a Bulk API 2.0 job and its result CSVs after the job was created.
SALESFORCE_RESULTS_RETENTION = "about 7 days"
log = logging.getLogger(__name__)


def deliver_results(
    client: Client,
    job_ids: Sequence[str],
    *,
    destination: str | None,
    destination_conn_id: str | None,
    max_xcom_bytes: int,
    kinds: Sequence[str] = RESULT_ORDER,
    omitted_out: list[dict[str, Any]] | None = None,
    logger: Any = None,
) -> dict[str, dict[str, str | None]]:
    """Save each job's result CSVs; returns ``{kind: {job_id: path | csv-text | None}}``.

    With a destination, files are named ``<job_id>-<kind>.csv`` under it and streamed (any size);
    the value is the file's path. Without one, the value is the CSV text, for XCom. A result larger
    than ``max_xcom_bytes`` is not kept: reading stops as soon as the cap is passed (the rest is never
    downloaded), its value is ``None``, a WARNING is logged, and, when ``omitted_out`` is given, an
    entry is appended to it (see :func:`omitted_result`). It never raises for the size of a result.
    ``logger`` (e.g. an operator's ``self.log``, so the task log shows it) defaults to this module's.
    """
    logger = logger or log
    delivered: dict[str, dict[str, str | None]] = {kind: {} for kind in kinds}
    for kind in kinds:
        for job_id in job_ids:
            if destination:
                # atomic_write creates a missing local folder (and asks no object store to make a bucket).
                path = storage_path(destination, destination_conn_id) / f"{job_id}-{kind}.csv"
                size = _download(client, job_id, kind, functools.partial(_save, path=path), logger)
                logger.info("Saved %s results of job %s (%d bytes) to %s", kind, job_id, size, path)
                delivered[kind][job_id] = str(path)
                continue
            data, bytes_read = _download(
                client, job_id, kind, lambda chunks: _read_capped(chunks, max_xcom_bytes), logger
            )
            if data is not None:
                delivered[kind][job_id] = data.decode("utf-8")
                continue
            omitted = omitted_result(client, kind, job_id, max_xcom_bytes, bytes_read)
            logger.warning("%s", omitted["message"])
            delivered[kind][job_id] = None
            if omitted_out is not None:
                omitted_out.append(omitted)
    return delivered


def _download(client: Client, job_id: str, kind: str, consume: Callable[[Iterable[bytes]], T], logger: Any) -> T:
    """GET a result CSV and hand its chunks to ``consume``; a download cut mid-stream is fetched again
    from the start (a result GET is safe to repeat), at most ``RESULT_DOWNLOAD_ATTEMPTS`` times."""
    for attempt in range(1, RESULT_DOWNLOAD_ATTEMPTS + 1):
        chunks, _ = client.jobs.ingest.results(job_id, kind)
        try:
            return consume(chunks)
        except SalesforceStreamCutError as exc:
            if attempt == RESULT_DOWNLOAD_ATTEMPTS:
                raise
            logger.warning(
                "The %s results of job %s were cut off mid-download (%s); downloading them again (%d of %d)",
                kind,
                job_id,
                exc.message,
                attempt + 1,
                RESULT_DOWNLOAD_ATTEMPTS,
            )
    raise AssertionError("unreachable")  # pragma: no cover


def _save(chunks: Iterable[bytes], path: Any) -> int:
    """Write the chunks to ``path`` atomically (a cut download leaves no truncated CSV); the byte count."""
    size = 0
    with atomic_write(path) as out:
        for chunk in chunks:
            out.write(chunk)
            size += len(chunk)
    return size


def _read_capped(chunks: Iterable[bytes], cap: int) -> tuple[bytes | None, int]:
    """``(body, bytes read)``: the body is ``None`` when it is over ``cap`` bytes.

    Reading stops at the first chunk (64 KiB at most) that passes the cap, and the stream is closed:
    the response and its connection are dropped, so the rest of the body is never transferred.
    """
    data = bytearray()
    try:
        for chunk in chunks:
            data.extend(chunk)
            if len(data) > cap:
                return None, len(data)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    return bytes(data), len(data)


def omitted_result(client: Client, kind: str, job_id: str, max_xcom_bytes: int, bytes_read: int) -> dict[str, Any]:
    """What is recorded for a result CSV left out of XCom because it is larger than ``max_xcom_bytes``.

    A JSON-friendly dict: ``kind`` (failed, unprocessed or successful), ``job_id``,
    ``max_xcom_result_bytes`` (the cap), ``bytes_read`` (downloaded when reading stopped, past the
    cap by less than one 64 KiB chunk; the whole CSV is at least that big), ``reason``, ``download``
    (the CSV's REST path in Salesforce, relative to the instance URL) and ``message`` (the
    explanation and what to do, as logged).
    """
    download = client.data_path(f"jobs/ingest/{job_id}/{RESULT_KINDS[kind]}/")
    reason = f"larger than max_xcom_result_bytes={max_xcom_bytes:,} (reading stopped after {bytes_read:,} bytes)"
    message = (
        f"The {kind} results of Bulk job {job_id} were NOT kept in XCom: {reason}. "
        f"The job has finished in Salesforce; to get these rows, set results_destination= (an ObjectStoragePath URL) "
        f"to save result CSVs as files, or download them from Salesforce by job id (GET {download}), "
        f"which keeps them {SALESFORCE_RESULTS_RETENTION}."
    )
    return {
        "kind": kind,
        "job_id": job_id,
        "max_xcom_result_bytes": max_xcom_bytes,
        "bytes_read": bytes_read,
        "reason": reason,
        "download": download,
        "message": message,
    }


def finish_ingest(
    client: Client,
    summaries: Mapping[str, Mapping[str, Any]],
    *,
    destination: str | None,
    destination_conn_id: str | None,
    max_xcom_bytes: int,
    max_failed_records: int | None,
    push: Callable[[str, Any], None],
    logger: Any = None,
    note: str = "",
) -> dict[str, Any]:
    """Deliver finished ingest jobs' results, push the outcome to XCom as ``bulk_results``, then judge.

    Returns ``{"jobs", "records_processed", "records_failed", "results", "omitted_results"}``.
    Raises ``AirflowFailException`` (after the outcome is pushed, so counts and result locations
    survive a failed task) when a job ended Failed or Aborted, or more than ``max_failed_records``
    records failed (``None``: any number is accepted): a verdict on finished jobs, which no retry can
    change, so none is attempted. ``note`` is added to a failure's message (e.g. why jobs were aborted).
    """
    logger = logger or log
    job_ids = list(summaries)
    omitted: list[dict[str, Any]] = []
    results = deliver_results(
        client,
        job_ids,
        destination=destination,
        destination_conn_id=destination_conn_id,
        max_xcom_bytes=max_xcom_bytes,
        omitted_out=omitted,
        logger=logger,
    )
    processed = sum(int(s.get("numberRecordsProcessed") or 0) for s in summaries.values())
    failed = sum(int(s.get("numberRecordsFailed") or 0) for s in summaries.values())
    outcome = {
        "jobs": {job_id: dict(summary) for job_id, summary in summaries.items()},
        "records_processed": processed,
        "records_failed": failed,
        "results": results,
        "omitted_results": omitted,
    }
    push("bulk_results", outcome)
    broken = {j: s for j, s in summaries.items() if s.get("state") in ("Failed", "Aborted")}
    if broken:
        reasons = "; ".join(f"{j} {s.get('state')}: {s.get('errorMessage') or 'no message'}" for j, s in broken.items())
        raise AirflowFailException(f"Bulk job(s) did not complete: {reasons}{note}{_omitted_note(omitted)}")
    logger.info("Bulk load done: %d records processed, %d failed", processed, failed)
    if max_failed_records is not None and failed > max_failed_records:
        where = _where_failed_rows_are(summaries, results["failed"], omitted, destination, max_xcom_bytes)
        raise AirflowFailException(
            f"{failed} record(s) failed, more than max_failed_records={max_failed_records}; {where}{note}"
        )
    return outcome


def _where_failed_rows_are(
    summaries: Mapping[str, Mapping[str, Any]],
    failed: Mapping[str, str | None],
    omitted: list[dict[str, Any]],
    destination: str | None,
    max_xcom_bytes: int,
) -> str:
    """Where the failed rows are, for the max_failed_records error: files, XCom, or only in Salesforce."""
    if destination:
        return f"the failed rows with Salesforce's sf__Error are saved at {dict(failed)}"
    too_big = [o["job_id"] for o in omitted if o["kind"] == "failed"]
    kept = [
        job_id
        for job_id, csv_text in failed.items()
        if csv_text is not None and int(summaries.get(job_id, {}).get("numberRecordsFailed") or 0) > 0
    ]
    parts = []
    if kept or not too_big:
        of_jobs = f" of job(s) {', '.join(kept)}" if kept else ""
        parts.append(
            f"the failed rows with Salesforce's sf__Error{of_jobs} are in XCom "
            "(return value and bulk_results, results.failed)"
        )
    if too_big:
        parts.append(
            f"the failed rows of job(s) {', '.join(too_big)} were NOT kept in XCom: larger than "
            f"max_xcom_result_bytes={max_xcom_bytes:,}; download each job's failedResults "
            f"from Salesforce by job id (kept {SALESFORCE_RESULTS_RETENTION}; see omitted_results in XCom), or set "
            "results_destination= (an ObjectStoragePath URL) to save result CSVs as files"
        )
    return "; ".join(parts)


def _omitted_note(omitted: list[dict[str, Any]]) -> str:
    """A note for an error message: which result CSVs were left out of XCom (too big)."""
    if not omitted:
        return ""
    names = ", ".join(f"{o['kind']} of {o['job_id']}" for o in omitted)
    return (
        f" (results not kept in XCom, too big: {names}; download them from Salesforce by job id, "
        "see omitted_results in XCom)"
    )
