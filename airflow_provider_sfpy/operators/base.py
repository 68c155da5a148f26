"""What every sfpy operator shares: the connection id and a hook created on first use."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from functools import cached_property
from typing import Any

from airflow.sdk import BaseOperator

from airflow_provider_sfpy.client import Client
from airflow_provider_sfpy.client.bulk_pacing import records_progress
from airflow_provider_sfpy.hooks.salesforce import SalesforcePyHook

#: How long a deferrable Bulk operator waits before its one check of the jobs it submitted.
FIRST_CHECK_SECONDS = 1.0
#: Airflow's deferral timeout is the trigger's deadline plus this, so the trigger's timeout event wins.
DEFERRAL_TIMEOUT_GRACE_SECONDS = 300.0


class SalesforceBaseOperator(BaseOperator):
    """Base of the sfpy operators.

    :param sfpy_conn_id: the ``sfpy`` Airflow connection to use (default ``'sfpy_default'``).
    """

    def __init__(self, *, sfpy_conn_id: str = SalesforcePyHook.default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sfpy_conn_id = sfpy_conn_id

    @cached_property
    def hook(self) -> SalesforcePyHook:
        return SalesforcePyHook(sfpy_conn_id=self.sfpy_conn_id)

    @property
    def client(self) -> Client:
        """The logged-in client (the hook logs in once per task)."""
        return self.hook.get_conn()


class SalesforceBulkWaitingOperator(SalesforceBaseOperator):
    """Base of operators that wait for Bulk API 2.0 jobs: deferred to the triggerer, or by polling.

    Subclasses set ``deferrable``, ``poll_interval``, ``max_poll_interval`` and ``wait_timeout`` and
    implement ``execute_complete(context, event)``, which the deferred path resumes into.
    """

    deferrable: bool
    poll_interval: float
    max_poll_interval: float
    wait_timeout: float

    def wait_for_bulk_jobs(
        self,
        job_ids: list[str],
        job_type: str,
        *,
        expected_records: dict[str, int] | None = None,
        before_defer: Callable[[], None] | None = None,
    ) -> dict[str, dict[str, Any]]:
        """Each job's summary once all are terminal; when deferrable, this defers and never returns.

        When deferrable, the jobs are polled once first (after at most ``FIRST_CHECK_SECONDS``) and
        the task defers only if one is still running: a job done within a second never goes through
        the defer/resume round trip, which races the scheduler on Airflow 3.3.2 (apache/airflow#67287).
        ``before_defer`` runs just before deferring (to record that the task now waits in the triggerer).
        ``expected_records`` (records uploaded per job) lets the waiter poll when the processing
        rate says the jobs will be done, instead of up to a whole (bounded) back-off interval later.
        """
        from airflow_provider_sfpy.client.bulk2 import is_terminal, job_summary, wait_for_jobs
        from airflow_provider_sfpy.triggers.bulk import SalesforceBulkJobTrigger

        if self.deferrable:
            time.sleep(min(self.poll_interval, FIRST_CHECK_SECONDS))
            jobs = getattr(self.client.jobs, job_type)
            summaries = {job_id: job_summary(jobs.info(job_id).body) for job_id in job_ids}
            if all(is_terminal(summary.get("state")) for summary in summaries.values()):
                self.log.info(
                    "Job states: %s (no need to defer)",
                    ", ".join(f"{j}={s.get('state')}" for j, s in summaries.items()),
                )
                return summaries
            if before_defer is not None:
                before_defer()
            self.defer(
                trigger=SalesforceBulkJobTrigger(
                    sfpy_conn_id=self.sfpy_conn_id,
                    job_ids=list(job_ids),
                    job_type=job_type,
                    poll_interval=self.poll_interval,
                    max_poll_interval=self.max_poll_interval,
                    deadline=time.time() + self.wait_timeout,
                    expected_records=expected_records,
                ),
                method_name="execute_complete",
                # The trigger's own deadline comes first and reports which jobs still run; Airflow's
                # timeout is only the backstop for a trigger that never answers.
                timeout=timedelta(seconds=self.wait_timeout + DEFERRAL_TIMEOUT_GRACE_SECONDS),
            )
        expected = expected_records or {}
        return wait_for_jobs(
            getattr(self.client.jobs, job_type),
            list(job_ids),
            poll_interval=self.poll_interval,
            max_poll_interval=self.max_poll_interval,
            timeout=self.wait_timeout,
            expected_records=expected_records,
            on_poll=lambda jobs: self.log.info(
                "Job states: %s", ", ".join(job_state_text(j, s, expected.get(j)) for j, s in jobs.items())
            ),
        )


def job_state_text(job_id: str, summary: dict[str, Any], expected: int | None) -> str:
    """``750N...=InProgress (12,000/100,000 records)``: a job's state and progress for the task log."""
    processed = int(summary.get("numberRecordsProcessed") or 0)
    return f"{job_id}={summary.get('state')} ({records_progress(processed, expected)})"


def is_templated(value: object) -> bool:
    """Whether a value still holds Jinja, so validation must wait until it is rendered."""
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def default_deferrable() -> bool:
    """``[operators] default_deferrable``, the Airflow-wide default for deferrable operators."""
    import importlib

    try:
        conf: Any = importlib.import_module("airflow.sdk").conf
    except AttributeError:  # Airflow 3.1 has no airflow.sdk.conf
        conf = importlib.import_module("airflow.configuration").conf
    return bool(conf.getboolean("operators", "default_deferrable", fallback=False))
