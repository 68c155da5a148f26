"""``SalesforceBulkJobSensor``: wait for Bulk API 2.0 jobs created elsewhere (by id, from XCom or a template)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from airflow.sdk import BaseSensorOperator, Context, PokeReturnValue
from airflow.sdk.exceptions import AirflowException

from airflow_provider_sfpy.client.bulk2 import is_terminal, job_summary
from airflow_provider_sfpy.hooks.salesforce import SalesforcePyHook
from airflow_provider_sfpy.operators.base import default_deferrable
from airflow_provider_sfpy.operators.records_input import as_id_list
from airflow_provider_sfpy.triggers.bulk import SalesforceBulkJobTrigger


class SalesforceBulkJobSensor(BaseSensorOperator):
    """Succeed when every job is JobComplete; fail when one ends Failed or Aborted (with its errorMessage).

    Example::

        SalesforceBulkJobSensor(
            task_id="wait_for_partner_load",
            job_ids="{{ ti.xcom_pull(task_ids='start_partner_load', key='job_ids') | join(',') }}",
            deferrable=True,
        )

    :param job_ids: ids as a list, a comma-separated string or JSON text (templated).
    :param job_type: ``ingest`` or ``query``.
    :param deferrable: wait in the triggerer (default from ``[operators] default_deferrable``).
    :returns: ``{job_id: summary}`` with state and record counts.
    """

    template_fields: Sequence[str] = ("job_ids",)
    ui_color = "#00a1e0"

    def __init__(
        self,
        *,
        job_ids: Any,
        job_type: str = "ingest",
        sfpy_conn_id: str = SalesforcePyHook.default_conn_name,
        deferrable: bool | None = None,
        max_poll_interval: float = 60.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if job_type not in ("ingest", "query"):
            raise ValueError(f"job_type must be 'ingest' or 'query', not {job_type!r}")
        if job_ids is None or job_ids == "" or job_ids == []:
            raise ValueError("job_ids is empty: give the Bulk job ids to wait for")
        self.job_ids = job_ids
        self.job_type = job_type
        self.sfpy_conn_id = sfpy_conn_id
        self.deferrable = default_deferrable() if deferrable is None else deferrable
        self.max_poll_interval = max_poll_interval

    def _ids(self) -> list[str]:
        ids = as_id_list(self.job_ids)
        if not ids:
            raise AirflowException(f"job_ids rendered to no ids: {self.job_ids!r}")
        return ids

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        # Check once: jobs that are already done need no deferral.
        summaries = self._summaries()
        if all(is_terminal(s.get("state")) for s in summaries.values()):
            return self._verdict(summaries)
        self.defer(
            trigger=SalesforceBulkJobTrigger(
                sfpy_conn_id=self.sfpy_conn_id,
                job_ids=self._ids(),
                job_type=self.job_type,
                poll_interval=self.poke_interval,
                max_poll_interval=self.max_poll_interval,
                deadline=time.time() + self.timeout,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout),
        )

    def poke(self, context: Context) -> Any:
        summaries = self._summaries()
        self.log.info("Job states: %s", ", ".join(f"{j}={s.get('state')}" for j, s in summaries.items()))
        if not all(is_terminal(s.get("state")) for s in summaries.values()):
            return PokeReturnValue(is_done=False)
        return PokeReturnValue(is_done=True, xcom_value=self._verdict(summaries))

    def _summaries(self) -> dict[str, dict[str, Any]]:
        jobs = getattr(SalesforcePyHook(sfpy_conn_id=self.sfpy_conn_id).get_conn().jobs, self.job_type)
        return {job_id: job_summary(jobs.info(job_id).body) for job_id in self._ids()}

    def _verdict(self, summaries: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        broken = {j: s for j, s in summaries.items() if s.get("state") != "JobComplete"}
        if broken:
            reasons = "; ".join(
                f"{j} {s.get('state')}: {s.get('errorMessage') or 'no message'}" for j, s in broken.items()
            )
            raise AirflowException(f"Bulk job(s) did not complete: {reasons}")
        return summaries

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        if event.get("status") != "success":
            raise AirflowException(f"waiting for Bulk jobs failed ({event.get('status')}): {event.get('message')}")
        return self._verdict(event["jobs"])
