"""Many Bulk job waits at once: each waiter waits for one closed ingest job to finish.

Tools: ``sfpy`` (one ``SalesforceBulkJobTrigger`` per job, all run in one asyncio event loop until
their first event, as a triggerer runs deferred tasks) and ``threads`` (one thread per job polling
``GET /jobs/ingest/{id}`` with ``requests`` at a fixed interval, as synchronous operators wait).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

from _common import API_VERSION

from tools import Params, Work

TERMINAL = frozenset({"JobComplete", "Failed", "Aborted"})


def _job_ids(params: Params) -> list[str]:
    ids: list[str] = json.loads(Path(params["job_ids_file"]).read_text())
    return ids


def sfpy(params: Params) -> Work:
    import asyncio

    from airflow_provider_sfpy.triggers.bulk import SalesforceBulkJobTrigger

    interval = float(params["poll_interval"])

    async def wait_one(job_id: str) -> str:
        trigger = SalesforceBulkJobTrigger(sfpy_conn_id="sfpy_default", job_ids=[job_id], poll_interval=interval)
        events = trigger.run()
        try:
            event = await events.__anext__()
        finally:
            await events.aclose()  # type: ignore[attr-defined]
        payload = event.payload
        if payload.get("status") != "success":
            return f"{payload.get('status')}: {payload.get('message')}"
        return str(payload["jobs"][job_id]["state"])

    async def wait_all(job_ids: list[str]) -> list[str]:
        return list(await asyncio.gather(*(wait_one(job_id) for job_id in job_ids)))

    def work() -> dict[str, object]:
        job_ids = _job_ids(params)  # written by the orchestrator after this process's imports
        outcomes = asyncio.run(wait_all(job_ids))
        return {"waits": len(job_ids), "outcomes": dict(Counter(outcomes))}

    return work


def threads(params: Params) -> Work:
    import threading

    import requests

    interval = float(params["poll_interval"])
    base = f"{params['instance_url']}/services/data/v{API_VERSION}/jobs/ingest/"

    def work() -> dict[str, object]:
        job_ids = _job_ids(params)  # written by the orchestrator after this process's imports
        outcomes: list[str] = ["not finished"] * len(job_ids)

        def poll(index: int, job_id: str) -> None:
            try:
                with requests.Session() as session:
                    session.verify = params["ca_bundle"]
                    session.headers["Authorization"] = f"Bearer {params['session_id']}"
                    while True:
                        response = session.get(base + job_id, timeout=120)
                        response.raise_for_status()
                        state = response.json()["state"]
                        if state in TERMINAL:
                            outcomes[index] = state
                            return
                        time.sleep(interval)
            except Exception as exc:
                outcomes[index] = f"error: {type(exc).__name__}"

        pollers = [threading.Thread(target=poll, args=(i, job_id), daemon=True) for i, job_id in enumerate(job_ids)]
        for thread in pollers:
            thread.start()
        for thread in pollers:
            thread.join()
        return {"waits": len(job_ids), "outcomes": dict(Counter(outcomes))}

    return work
