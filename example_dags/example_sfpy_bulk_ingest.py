"""SalesforceBulkIngestOperator: load a CSV from object storage through Bulk API 2.0, waiting in the triggerer.

The first load reads a CSV that an upstream task wrote to ``output_dir`` and saves the result CSVs
(failed rows first) beside it; the second upserts records handed over by XCom and keeps its small
results in XCom. Both defer while Salesforce works, so no worker slot is held. ``output_dir``
defaults to ``sfpy-example/bulk-ingest`` in the system's temporary folder, created on demand.
"""

from __future__ import annotations

import csv
import io
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, ObjectStoragePath, Param, task

from airflow_provider_sfpy.operators.bulk import SalesforceBulkIngestOperator

DEFAULT_OUTPUT_DIR = (Path(tempfile.gettempdir()) / "sfpy-example" / "bulk-ingest").as_uri()

with DAG(
    dag_id="example_sfpy_bulk_ingest",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["sfpy", "example", "bulk"],
    params={
        "output_dir": Param(DEFAULT_OUTPUT_DIR, type="string"),
        "rows": Param(1000, type="integer", minimum=1),
    },
) as dag:

    @task
    def write_source(params: dict[str, Any]) -> str:
        """Stand-in for an upstream system: a CSV with quoted commas and newlines, in object storage."""
        path = ObjectStoragePath(params["output_dir"]) / "contacts.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(["FirstName", "LastName", "Email", "Title"])
        for n in range(int(params["rows"])):
            writer.writerow([f"Bulk{n}", f"Example, {n}", f"bulk{n}@example.com", f'Senior "Engineer"\n{n}'])
        path.write_text(text.getvalue())
        return str(path)

    load_contacts = SalesforceBulkIngestOperator(
        task_id="load_contacts",
        object_type="Contact",
        operation="insert",
        source="{{ ti.xcom_pull(task_ids='write_source') }}",
        results_destination="{{ params.output_dir }}/results/",
        deferrable=True,
        poll_interval=1.0,
    )

    upsert_accounts = SalesforceBulkIngestOperator(
        task_id="upsert_accounts",
        object_type="Account",
        operation="upsert",
        external_id_field="External_Id__c",
        records=[
            {"External_Id__c": "BULK-EX-1", "Name": "Bulk Example One", "Industry": "Energy"},
            {"External_Id__c": "BULK-EX-2", "Name": "Bulk Example Two", "Industry": "Finance"},
        ],
        deferrable=True,
        poll_interval=1.0,
    )

    write_source() >> load_contacts
