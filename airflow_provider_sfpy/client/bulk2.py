"""Bulk API 2.0 ingest calls (``client.jobs.ingest``), SalesforcePy-shaped.

Result CSVs come back as text, or as a stream of byte chunks with ``stream=True`` so a
million-row result never has to fit in memory.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import quote

from airflow_provider_sfpy.client.errors import SalesforceConfigError
from airflow_provider_sfpy.client.result import Result

if TYPE_CHECKING:
    from airflow_provider_sfpy.client.client import Client

JOB_STATES_SETTABLE = frozenset({"UploadComplete", "Aborted"})


class Ingest:
    def __init__(self, client: Client) -> None:
        self._client = client

    def _job_path(self, job_id: str, suffix: str = "") -> str:
        if not job_id:
            raise SalesforceConfigError("a Bulk API 2.0 job call needs job_id")
        return self._client.data_path(f"jobs/ingest/{quote(job_id, safe='')}{suffix}")

    def create(self, job_resource: Mapping[str, Any]) -> Result:
        """Create a job (``POST /jobs/ingest``): ``{"object", "operation", ...}`` -> job info, state Open."""
        return self._client.request("POST", self._client.data_path("jobs/ingest"), json=dict(job_resource))

    def batches(self, job_id: str, csv_file: str | bytes | IO[bytes]) -> Result:
        """Upload the job's CSV (``PUT /jobs/ingest/{id}/batches``); one upload per job."""
        return self._client.request(
            "PUT", self._job_path(job_id, "/batches"), data=csv_file, headers={"Content-Type": "text/csv"}
        )

    def update(self, job_id: str, state: str) -> Result:
        """Close (``UploadComplete``) or abort (``Aborted``) a job."""
        if state not in JOB_STATES_SETTABLE:
            raise SalesforceConfigError(f"a job's state can be set to UploadComplete or Aborted, not {state!r}")
        return self._client.request("PATCH", self._job_path(job_id), json={"state": state})

    def delete(self, job_id: str) -> Result:
        """Delete a job (``DELETE /jobs/ingest/{id}``), 204."""
        return self._client.request("DELETE", self._job_path(job_id))

    def get(
        self,
        job_id: str | None = None,
        successes: bool = False,
        failures: bool = False,
        unprocessed: bool = False,
        *,
        stream: bool = False,
    ) -> Result:
        """All jobs (no id), one job's info, or one of its result CSVs."""
        if job_id is None:
            return self._client.request("GET", self._client.data_path("jobs/ingest"))
        chosen = [
            name
            for name, flag in (
                ("successfulResults", successes),
                ("failedResults", failures),
                ("unprocessedrecords", unprocessed),
            )
            if flag
        ]
        if len(chosen) > 1:
            raise SalesforceConfigError("ask for one of successes, failures or unprocessed per call")
        if not chosen:
            return self._client.request("GET", self._job_path(job_id))
        return self._client.request("GET", self._job_path(job_id, f"/{chosen[0]}/"), stream=stream)


class Jobs:
    """``client.jobs``: Bulk API 2.0 job families."""

    def __init__(self, client: Client) -> None:
        self.ingest = Ingest(client)
