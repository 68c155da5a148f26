"""``SalesforceBulkJobSensor``: wait for Bulk API 2.0 jobs created elsewhere (by id, from XCom or a template)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import Any

from airflow.sdk import BaseSensorOperator, Context, PokeReturnValue
from airflow.sdk.exceptions import AirflowException

from airflow_provider_sfpy.client.bulk2 import is_terminal, job_summary
from airflow_provider_sfpy.hooks.salesforce import SalesforcePyHook
from airflow_provider_sfpy.operators.base import default_deferrable
from airflow_provider_sfpy.operators.bulk_results import DEFAULT_MAX_XCOM_RESULT_BYTES, finish_ingest
from airflow_provider_sfpy.operators.records_input import as_id_list
from airflow_provider_sfpy.triggers.bulk import SalesforceBulkJobTrigger


class SalesforceBulkJobSensor(BaseSensorOperator):
    """Succeed when every job is JobComplete; fail when one ends Failed or Aborted (with its errorMessage).

    For ingest jobs started outside Airflow, the sensor can also deliver their result CSVs exactly
    as ``SalesforceBulkIngestOperator`` does (the same code): failed rows first, to object storage
    (``results_destination``) or to XCom (``deliver_results=True``), before any failure is raised.

    Example::

        SalesforceBulkJobSensor(
            task_id="wait_for_partner_load",
            job_ids="{{ ti.xcom_pull(task_ids='start_partner_load', key='job_ids') | join(',') }}",
            results_destination="s3://landing/partner/{{ run_id }}/results/",
            results_conn_id="aws_default",
            max_failed_records=10,
            deferrable=True,
        )

    Without ``deferrable`` the sensor pokes on a worker, as any Airflow sensor does (``mode``
    ``"poke"`` holds the worker slot between pokes; ``"reschedule"`` frees it). Deferred, the
    trigger polls from ``poke_interval``, backing off 1.5x up to ``max_poll_interval`` but never past
    ``poke_interval`` plus a quarter of the time waited so far, until ``timeout``.

    :param job_ids: ids as a list, a comma-separated string or JSON text (templated).
    :param job_type: ``ingest`` or ``query`` (default ``'ingest'``).
    :param sfpy_conn_id: the ``sfpy`` Airflow connection to use (default ``'sfpy_default'``).
    :param deferrable: wait in the triggerer instead of a worker slot (default ``False``: Airflow's
        ``[operators] default_deferrable``, which a stock install leaves False).
    :param poke_interval: seconds between pokes; deferred, the first wait between polls
        (default ``60``, as for any Airflow sensor).
    :param max_poll_interval: deferred, the longest wait between two polls, in seconds (default ``60.0``).
    :param timeout: seconds before the sensor gives up (default ``604800``, seven days: Airflow's
        ``[sensors] default_timeout``).
    :param mode: ``"poke"`` or ``"reschedule"``, when not deferred (default ``'poke'``).
    :param results_destination: folder URL for the ingest jobs' result CSVs (``<job>-failed.csv`` ...);
        implies ``deliver_results``; missing local folders are created (templated) (default ``None``).
    :param results_conn_id: the storage connection for ``results_destination`` (templated) (default ``None``).
    :param deliver_results: deliver result CSVs, to XCom when there is no ``results_destination``
        (default ``False``).
    :param max_failed_records: with results delivered, more failed rows than this fail the task
        (after the results are saved) (default ``None``: any number is accepted).
    :param max_xcom_result_bytes: as for the ingest operator: a larger result CSV is left out of XCom
        (default ``1_000_000``).
    :returns: ``{job_id: summary}`` with state and record counts; when results are delivered, the
        ingest operator's outcome instead: ``{"jobs", "records_processed", "records_failed",
        "results", "omitted_results"}`` (also pushed to XCom as ``bulk_results``).
    """

    template_fields: Sequence[str] = ("job_ids", "results_destination", "results_conn_id")
    ui_color = "#00a1e0"

    def __init__(
        self,
        *,
        job_ids: Any,
        job_type: str = "ingest",
        sfpy_conn_id: str = SalesforcePyHook.default_conn_name,
        deferrable: bool | None = None,
        max_poll_interval: float = 60.0,
        results_destination: str | None = None,
        results_conn_id: str | None = None,
        deliver_results: bool = False,
        max_failed_records: int | None = None,
        max_xcom_result_bytes: int = DEFAULT_MAX_XCOM_RESULT_BYTES,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if job_type not in ("ingest", "query"):
            raise ValueError(f"job_type must be 'ingest' or 'query', not {job_type!r}")
        deliver_results = deliver_results or bool(results_destination)
        if deliver_results and job_type != "ingest":
            raise ValueError("results are delivered for ingest jobs only; use SalesforceBulkQueryOperator for queries")
        if max_failed_records is not None and max_failed_records < 0:
            raise ValueError("max_failed_records must be 0 or more (or None to accept any number)")
        if job_ids is None or job_ids == "" or job_ids == []:
            raise ValueError("job_ids is empty: give the Bulk job ids to wait for")
        self.job_ids = job_ids
        self.job_type = job_type
        self.sfpy_conn_id = sfpy_conn_id
        self.deferrable = default_deferrable() if deferrable is None else deferrable
        self.max_poll_interval = max_poll_interval
        self.results_destination = results_destination
        self.results_conn_id = results_conn_id
        self.deliver_results = deliver_results
        self.max_failed_records = max_failed_records
        self.max_xcom_result_bytes = max_xcom_result_bytes

    @cached_property
    def hook(self) -> SalesforcePyHook:
        """One hook, so every poke of this task uses one logged-in client."""
        return SalesforcePyHook(sfpy_conn_id=self.sfpy_conn_id)

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
            return self._verdict(summaries, context)
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
        return PokeReturnValue(is_done=True, xcom_value=self._verdict(summaries, context))

    def _summaries(self) -> dict[str, dict[str, Any]]:
        jobs = getattr(self.hook.get_conn().jobs, self.job_type)
        return {job_id: job_summary(jobs.info(job_id).body) for job_id in self._ids()}

    def _verdict(self, summaries: dict[str, dict[str, Any]], context: Context) -> dict[str, Any]:
        if self.deliver_results:
            ti = context.get("ti") if isinstance(context, dict) else None
            return finish_ingest(
                self.hook.get_conn(),
                summaries,
                destination=self.results_destination,
                destination_conn_id=self.results_conn_id,
                max_xcom_bytes=self.max_xcom_result_bytes,
                max_failed_records=self.max_failed_records,
                push=lambda key, value: ti.xcom_push(key=key, value=value) if ti is not None else None,
                logger=self.log,
            )
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
        return self._verdict(event["jobs"], context)
