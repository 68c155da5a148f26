"""Where finished Bulk jobs' result CSVs go: object storage (any size) or XCom (small, capped).

Failed rows are delivered first, so that even when a later step fails, no failed record is lost.
Shared by the ingest operator and the sensor.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from airflow.sdk.exceptions import AirflowException

from airflow_provider_sfpy.client import Client
from airflow_provider_sfpy.operators.storage import atomic_write, storage_path

RESULT_ORDER = ("failed", "unprocessed", "successful")
log = logging.getLogger(__name__)


def deliver_results(
    client: Client,
    job_ids: Sequence[str],
    *,
    destination: str | None,
    destination_conn_id: str | None,
    max_xcom_bytes: int,
    kinds: Sequence[str] = RESULT_ORDER,
) -> dict[str, dict[str, Any]]:
    """Save each job's result CSVs; returns ``{kind: {job_id: path-or-csv-text}}``.

    With a destination, files are named ``<job_id>-<kind>.csv`` under it and streamed (any size).
    Without one, the CSV text is returned for XCom, and a result larger than ``max_xcom_bytes``
    fails with a message pointing at ``results_destination``.
    """
    delivered: dict[str, dict[str, Any]] = {kind: {} for kind in kinds}
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
                log.info("Saved %s results of job %s (%d bytes) to %s", kind, job_id, size, path)
                delivered[kind][job_id] = str(path)
            else:
                data = bytearray()
                for chunk in chunks:
                    data.extend(chunk)
                    if len(data) > max_xcom_bytes:
                        raise AirflowException(
                            f"the {kind} results of job {job_id} exceed max_xcom_result_bytes={max_xcom_bytes:,}; "
                            "set results_destination= (an ObjectStoragePath URL) to save them as files"
                        )
                delivered[kind][job_id] = data.decode("utf-8")
    return delivered
