"""SalesforceBulkQueryOperator: a Bulk API 2.0 extract to object storage, as part files and as one file.

``output_dir`` defaults to ``sfpy-example/bulk-query`` in the system's temporary folder (created on
demand). Files are named after the day the run is for: its logical date, or, for a run triggered by
hand (no logical date in Airflow 3, so ``{{ ds }}`` would be undefined), the time it was triggered.
"""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path

from airflow.sdk import DAG, Param

from airflow_provider_sfpy.operators.bulk_query import SalesforceBulkQueryOperator

DEFAULT_OUTPUT_DIR = (Path(tempfile.gettempdir()) / "sfpy-example" / "bulk-query").as_uri()

with DAG(
    dag_id="example_sfpy_bulk_query",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["sfpy", "example", "bulk"],
    params={"output_dir": Param(DEFAULT_OUTPUT_DIR, type="string")},
) as dag:
    parts = SalesforceBulkQueryOperator(
        task_id="contacts_parts",
        soql="SELECT Id, FirstName, LastName, Email, Account.Name FROM Contact",
        destination="{{ params.output_dir }}/contacts-{{ (dag_run.logical_date or dag_run.run_after) | ds }}/",
        max_records_per_page=20,
        deferrable=True,
        poll_interval=1.0,
    )
    combined = SalesforceBulkQueryOperator(
        task_id="accounts_combined",
        soql="SELECT Id, Name, Industry, AnnualRevenue FROM Account",
        destination="{{ params.output_dir }}/accounts-{{ (dag_run.logical_date or dag_run.run_after) | ds }}.csv",
        max_records_per_page=50,
        combine=True,
        deferrable=True,
        poll_interval=1.0,
    )
