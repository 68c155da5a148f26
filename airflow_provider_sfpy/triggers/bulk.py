"""``SalesforceBulkJobTrigger``: wait for Bulk API 2.0 jobs in the triggerer, read-only.

The trigger only reads job info (GET), so a triggerer restart — which rebuilds it from
``serialize()`` and runs ``run()`` from the start — or two copies running at once can never submit,
close or abort anything twice. Everything it carries is plain JSON: the connection id, the job ids,
the polling intervals and an absolute deadline (so a restart does not extend the wait).

The triggerer imports this module on its event loop, so it imports nothing of the client at module
level: the hook and the client (requests, httpx, JWT/cryptography, tenacity: about half a second)
are imported on a worker thread the first time a trigger runs (``_load_runtime``), and the
triggerer's loop keeps serving the other triggers meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import sys
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from airflow import __version__ as airflow_version
from airflow.triggers.base import BaseTrigger, TriggerEvent
from packaging.version import Version

if TYPE_CHECKING:
    from airflow_provider_sfpy.client.aio import AsyncClient

# From Airflow 3.3 the triggerer calls ``on_kill()`` when a user kills a deferred task; before that a
# cancelled trigger must itself tell a user's kill from a triggerer restart (``_killed_by_user``).
TRIGGERER_CALLS_ON_KILL = Version(airflow_version) >= Version("3.3.0")

#: What ``run()`` needs, imported on a worker thread the first time a trigger runs.
RUNTIME_MODULES = (
    "airflow_provider_sfpy.hooks.salesforce",
    "airflow_provider_sfpy.client.bulk2",
    "airflow_provider_sfpy.client.bulk_pacing",
    "airflow_provider_sfpy.client.urls",
)
#: Imported with them when present: anyio's asyncio backend, which httpx's first async request would
#: otherwise import on the event loop (a private module of httpx's I/O layer, so best effort only).
WARM_UP_MODULES = ("anyio._backends._asyncio",)


def _is_loaded(name: str) -> bool:
    """In ``sys.modules`` and done initializing (not half-imported by another thread)."""
    module = sys.modules.get(name)
    return module is not None and not getattr(getattr(module, "__spec__", None), "_initializing", False)


def _import_runtime() -> None:
    for name in RUNTIME_MODULES:
        importlib.import_module(name)
    for name in WARM_UP_MODULES:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


async def _load_runtime() -> None:
    """Import ``RUNTIME_MODULES`` on a worker thread unless they are loaded already (then: no thread hop)."""
    if not all(_is_loaded(name) for name in RUNTIME_MODULES):
        await asyncio.to_thread(_import_runtime)


async def _async_client(sfpy_conn_id: str) -> AsyncClient:
    """A logged-in async client of the connection, the client stack imported off the loop."""
    await _load_runtime()
    from airflow_provider_sfpy.hooks.salesforce import SalesforcePyHook  # loaded by _load_runtime

    return await SalesforcePyHook.aget_async_client(sfpy_conn_id)


def _job_path(client: AsyncClient, job_type: str, job_id: str) -> str:
    """The job's resource, quoted exactly as the sync client quotes it (``urls.bulk_job_path``)."""
    from airflow_provider_sfpy.client.urls import bulk_job_path  # loaded by _load_runtime

    return client.data_path(bulk_job_path(job_type, job_id))


class SalesforceBulkJobTrigger(BaseTrigger):
    """Fire one event when every job is JobComplete, Failed or Aborted (or the deadline passes).

    Event payload: ``{"status": "success" | "timeout" | "error", "jobs": {id: summary}, "message"?}``.

    :param sfpy_conn_id: the ``sfpy`` connection.
    :param job_ids: the jobs to wait for.
    :param job_type: ``ingest`` or ``query`` (default ``'ingest'``).
    :param poll_interval: first wait between polls, in seconds; grows 1.5x per poll up to
        ``max_poll_interval``, but never past ``poll_interval`` plus a quarter of the time this trigger has
        waited (see ``airflow_provider_sfpy.client.bulk_pacing``) (default ``5.0``).
    :param max_poll_interval: the longest wait between two polls, in seconds (default ``60.0``).
    :param deadline: Unix time after which the trigger gives up with a ``timeout`` event
        (default ``None``: it waits as long as the jobs run).
    :param expected_records: records uploaded per job, when known: polls are then brought forward to
        when the processing rate says the jobs will be done (never later than the back-off)
        (default ``{}``: none known).
    """

    def __init__(
        self,
        sfpy_conn_id: str,
        job_ids: list[str],
        job_type: str = "ingest",
        poll_interval: float = 5.0,
        max_poll_interval: float = 60.0,
        deadline: float | None = None,
        expected_records: dict[str, int] | None = None,
    ) -> None:
        super().__init__()
        if job_type not in ("ingest", "query"):
            raise ValueError(f"job_type must be 'ingest' or 'query', not {job_type!r}")
        self.sfpy_conn_id = sfpy_conn_id
        self.job_ids = list(job_ids)
        self.job_type = job_type
        self.poll_interval = float(poll_interval)
        self.max_poll_interval = float(max_poll_interval)
        self.deadline = deadline
        self.expected_records = {str(k): int(v) for k, v in (expected_records or {}).items()}

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "sfpy_conn_id": self.sfpy_conn_id,
                "job_ids": list(self.job_ids),
                "job_type": self.job_type,
                "poll_interval": self.poll_interval,
                "max_poll_interval": self.max_poll_interval,
                "deadline": self.deadline,
                "expected_records": dict(self.expected_records),
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        try:
            async for event in self._watch():
                yield event
        except asyncio.CancelledError:
            if not TRIGGERER_CALLS_ON_KILL and await self._killed_by_user():
                await self.abort_unfinished_jobs()
            raise

    async def on_kill(self) -> None:
        """A user killed (marked) the deferred task: abort the jobs that are still running."""
        await self.abort_unfinished_jobs()

    async def abort_unfinished_jobs(self) -> None:
        """Abort every job of this trigger that is not yet terminal. The trigger's only write."""
        client = await _async_client(self.sfpy_conn_id)
        from airflow_provider_sfpy.client.bulk2 import is_terminal  # loaded by _async_client

        try:
            for job_id in self.job_ids:
                path = _job_path(client, self.job_type, job_id)
                info = await client.get(path)
                if not is_terminal(info.get("state")):
                    await client.patch(path, {"state": "Aborted"})
                    self.log.info("Aborted Bulk job %s because the task was killed", job_id)
        finally:
            await client.aclose()

    async def _killed_by_user(self) -> bool:
        """On Airflow < 3.3: the task is no longer DEFERRED, so this cancellation is a user's kill.

        When the state cannot be read (no task instance, API unreachable) the answer is no: a job
        must never be aborted because a triggerer merely restarted.
        """
        task_instance = getattr(self, "task_instance", None)
        if task_instance is None:
            return False
        try:
            from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance
            from asgiref.sync import sync_to_async

            states = await sync_to_async(RuntimeTaskInstance.get_task_states)(
                dag_id=task_instance.dag_id,
                task_ids=[task_instance.task_id],
                run_ids=[task_instance.run_id],
                map_index=task_instance.map_index,
            )
            state = states[task_instance.run_id][task_instance.task_id]
        except Exception as exc:
            self.log.warning("Could not read the task's state after cancellation: %s", exc)
            return False
        return str(state) not in ("deferred", "TaskInstanceState.DEFERRED")

    async def _watch(self) -> AsyncIterator[TriggerEvent]:
        summaries: dict[str, dict[str, Any]] = {}
        try:
            client = await _async_client(self.sfpy_conn_id)
        except Exception as exc:  # an unknown conn id, bad credentials, ... : report, don't crash the triggerer
            yield TriggerEvent({"status": "error", "jobs": summaries, "message": f"{type(exc).__name__}: {exc}"})
            return
        from airflow_provider_sfpy.client.bulk2 import is_terminal, job_summary  # loaded by _async_client
        from airflow_provider_sfpy.client.bulk_pacing import PollPacer

        job_id = ""  # the job being polled, named in an error event
        try:
            pending = list(self.job_ids)
            pacer = PollPacer(self.poll_interval, self.max_poll_interval, self.expected_records)
            while True:
                for job_id in list(pending):
                    info = await client.get(_job_path(client, self.job_type, job_id))
                    pacer.observe(job_id, info, time.monotonic())
                    summaries[job_id] = job_summary(info)
                    if is_terminal(info.get("state")):
                        pending.remove(job_id)
                job_id = ""
                if not pending:
                    yield TriggerEvent({"status": "success", "jobs": summaries})
                    return
                if self.deadline is not None and time.time() >= self.deadline:
                    yield TriggerEvent(
                        {
                            "status": "timeout",
                            "jobs": summaries,
                            "message": f"jobs still running at the deadline: {', '.join(pending)}",
                        }
                    )
                    return
                delay = pacer.next_delay(pending, time.monotonic())
                wait = delay if self.deadline is None else max(0.0, min(delay, self.deadline - time.time()))
                self.log.info(
                    "Waiting %.1f s for %d Bulk job(s): %s",
                    wait,
                    len(pending),
                    ", ".join(f"{j} ({pacer.progress_text(j)})" for j in pending),
                )
                await asyncio.sleep(wait)
        except Exception as exc:
            which = f"Bulk {self.job_type} job {job_id!r}: " if job_id else ""
            yield TriggerEvent({"status": "error", "jobs": summaries, "message": f"{which}{type(exc).__name__}: {exc}"})
        finally:
            await client.aclose()
