"""Export accounts to a CSV file and flag the biggest ones — the client and hook inside TaskFlow tasks.

Run against the local emulator (see README, ``make demo``) or a real org by pointing the
``sfpy_default`` connection at it. Files go to ``output_dir``, any ObjectStoragePath URL
(``file:///data/sfpy``, ``s3://bucket/prefix`` with ``output_conn_id``...), never to a worker's
local disk that the next task might not share. By default, ``sfpy-example/accounts`` in the system's
temporary folder (``$TMPDIR``, else ``/tmp``), created on demand.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, ObjectStoragePath, Param, task

from airflow_provider_sfpy.hooks.salesforce import SalesforcePyHook

ACCOUNT_FIELDS = ["Id", "Name", "Industry", "AnnualRevenue", "BillingCity", "Owner.Name"]


def _flatten(record: dict[str, Any], path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


DEFAULT_OUTPUT_DIR = (Path(tempfile.gettempdir()) / "sfpy-example" / "accounts").as_uri()

with DAG(
    dag_id="example_sfpy_accounts",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["sfpy", "example"],
    params={
        "output_dir": Param(DEFAULT_OUTPUT_DIR, type="string", description="ObjectStoragePath URL"),
        "output_conn_id": Param(None, type=["null", "string"], description="connection for the storage"),
        "top_n": Param(3, type="integer", minimum=1),
    },
) as dag:

    @task
    def export_accounts(params: dict[str, Any]) -> dict[str, Any]:
        """Stream every account into accounts.csv, one query page in memory at a time."""
        client = SalesforcePyHook().get_conn()
        out = ObjectStoragePath(params["output_dir"], conn_id=params["output_conn_id"]) / "accounts.csv"
        out.parent.mkdir(parents=True, exist_ok=True)
        rows = 0
        soql = f"SELECT {', '.join(ACCOUNT_FIELDS)} FROM Account ORDER BY Name"
        with out.open("wb") as raw, io.TextIOWrapper(raw, encoding="utf-8", newline="") as text:
            writer = csv.writer(text)
            writer.writerow(ACCOUNT_FIELDS)
            for record in client.query_records(soql):
                writer.writerow([_flatten(record, f) for f in ACCOUNT_FIELDS])
                rows += 1
        return {"path": str(out), "rows": rows}

    @task
    def flag_top_accounts(params: dict[str, Any]) -> list[str]:
        """Mark the top accounts by revenue as Hot."""
        client = SalesforcePyHook().get_conn()
        body, _ = client.query(
            "SELECT Id, Name FROM Account WHERE AnnualRevenue != null "
            f"ORDER BY AnnualRevenue DESC LIMIT {int(params['top_n'])}"
        )
        flagged = []
        for record in body["records"]:
            client.sobjects(object_type="Account", id=record["Id"]).update({"Rating": "Hot"})
            flagged.append(record["Name"])
        return flagged

    @task
    def write_summary(export: dict[str, Any], flagged: list[str], params: dict[str, Any]) -> dict[str, Any]:
        """A small summary.json beside the export, for people and for the demo."""
        summary = {"export": export, "flagged_hot": flagged}
        out = ObjectStoragePath(params["output_dir"], conn_id=params["output_conn_id"]) / "summary.json"
        out.write_text(json.dumps(summary, indent=2))
        return summary

    write_summary(export_accounts(), flag_top_accounts())
