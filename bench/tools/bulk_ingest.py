"""Bulk API 2.0 insert of a large generated CSV of Accounts.

Tools: ``sfpy`` (``SalesforceBulkIngestOperator(deferrable=False)``, default split and polling, result
CSVs saved to a local folder as a big load needs) and ``simple_salesforce``
(``sf.bulk2.Account.insert(csv_file=...)``, defaults or with ``batch_size``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import API_VERSION

from tools import Params, Work


def _timed(marks: dict[str, float], name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """``func`` unchanged, but the time it was entered and left is recorded (``<name>_start``/``_end``)."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        marks[f"{name}_start"] = time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            marks[f"{name}_end"] = time.perf_counter()

    return wrapper


def _instrument(marks: dict[str, float], name: str, places: list[tuple[str, str]]) -> None:
    """Time ``module.attr`` wherever it exists (the operator's internals move; the report only loses a
    breakdown column if none of the places is found)."""
    import importlib

    for module_name, attr in places:
        module = importlib.import_module(module_name)
        if hasattr(module, attr):
            setattr(module, attr, _timed(marks, name, getattr(module, attr)))


def sfpy(params: Params) -> Work:
    from airflow_provider_sfpy.operators.bulk import SalesforceBulkIngestOperator

    # Instrumentation only: the operator's own functions, timed, so the report can split the task into
    # submit (split + upload), wait and result delivery.
    marks: dict[str, float] = {}
    waits = [
        ("airflow_provider_sfpy.client.bulk2", "wait_for_jobs"),
        ("airflow_provider_sfpy.operators.bulk", "wait_for_jobs"),
    ]
    _instrument(marks, "wait", waits)
    _instrument(marks, "results", [("airflow_provider_sfpy.operators.bulk", "deliver_results")])
    source = Path(params["csv"]).as_uri()
    results = Path(params["out_dir"]).as_uri()
    extra: dict[str, Any] = {}
    if params.get("poll_interval"):
        extra["poll_interval"] = params["poll_interval"]

    def work() -> dict[str, object]:
        operator = SalesforceBulkIngestOperator(
            task_id="load",
            object_type="Account",
            operation="insert",
            source=source,
            results_destination=results,
            deferrable=False,
            **extra,
        )
        outcome = operator.execute(context={})
        return {
            "rows": outcome["records_processed"],
            "failed_rows": outcome["records_failed"],
            "job_ids": list(outcome["jobs"]),
            "marks": marks,
        }

    return work


def simple_salesforce(params: Params) -> Work:
    import requests
    from simple_salesforce import Salesforce

    extra: dict[str, Any] = {}
    if params.get("batch_size"):
        extra["batch_size"] = int(params["batch_size"])
    if params.get("poll_interval"):
        extra["wait"] = params["poll_interval"]

    def work() -> dict[str, object]:
        session = requests.Session()
        session.verify = params["ca_bundle"]
        sf = Salesforce(
            instance_url=params["instance_url"], session_id=params["session_id"], version=API_VERSION, session=session
        )
        results = sf.bulk2.Account.insert(csv_file=params["csv"], **extra)
        return {
            "rows": sum(int(r["numberRecordsProcessed"]) for r in results),
            "failed_rows": sum(int(r["numberRecordsFailed"]) for r in results),
            "job_ids": [r["job_id"] for r in results],
        }

    return work
