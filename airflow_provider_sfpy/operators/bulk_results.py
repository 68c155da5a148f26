"""Where finished Bulk jobs' result CSVs go: object storage (any size) or XCom (small, capped).

Failed rows are delivered first, so that even when a later step fails, no failed record is lost.
Used by the ingest operator (the sensor returns job summaries only and fetches no results).

A result too big for XCom never fails the task: by then the data is in Salesforce, and a retry
would load it again. It is left out of XCom instead (its entry is ``None``), described in the
``omitted`` list and in a warning, and can still be downloaded from Salesforce by job id.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from airflow_provider_sfpy.client import Client
from airflow_provider_sfpy.client.bulk2 import RESULT_KINDS
from airflow_provider_sfpy.operators.storage import atomic_write, storage_path

RESULT_ORDER = ("failed", "unprocessed", "successful")
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
            chunks, _ = client.jobs.ingest.results(job_id, kind)
            if destination:
                path = storage_path(destination, destination_conn_id) / f"{job_id}-{kind}.csv"
                path.parent.mkdir(parents=True, exist_ok=True)
                size = 0
                with atomic_write(path) as out:  # a download cut half-way leaves no truncated CSV behind
                    for chunk in chunks:
                        out.write(chunk)
                        size += len(chunk)
                logger.info("Saved %s results of job %s (%d bytes) to %s", kind, job_id, size, path)
                delivered[kind][job_id] = str(path)
                continue
            data, bytes_read = _read_capped(chunks, max_xcom_bytes)
            if data is not None:
                delivered[kind][job_id] = data.decode("utf-8")
                continue
            omitted = omitted_result(client, kind, job_id, max_xcom_bytes, bytes_read)
            logger.warning("%s", omitted["message"])
            delivered[kind][job_id] = None
            if omitted_out is not None:
                omitted_out.append(omitted)
    return delivered


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
