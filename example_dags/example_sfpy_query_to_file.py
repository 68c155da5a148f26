"""SalesforceQueryToFileOperator: nightly exports to object storage, as CSV (gzip), JSON Lines and Parquet.

``output_dir`` is any ObjectStoragePath URL: ``file:///data/exports``, ``s3://bucket/salesforce`` (with
``output_conn_id``), ... — workers never need to share a disk. By default it is ``sfpy-example/exports``
in the system's temporary folder; the operator creates missing local folders.

Files are named after the day the run is for: ``(dag_run.logical_date or dag_run.run_after) | ds`` is
the logical date of a scheduled run, and the trigger time of a run triggered by hand, which has no
logical date in Airflow 3 (there ``{{ ds }}`` is undefined and the task would fail). Clearing a run
writes the same files again.
"""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path

from airflow.sdk import DAG, Param

from airflow_provider_sfpy.operators.query_to_file import SalesforceQueryToFileOperator

DEFAULT_OUTPUT_DIR = (Path(tempfile.gettempdir()) / "sfpy-example" / "exports").as_uri()

with DAG(
    dag_id="example_sfpy_query_to_file",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["sfpy", "example"],
    params={
        "output_dir": Param(DEFAULT_OUTPUT_DIR, type="string"),
        "output_conn_id": Param(None, type=["null", "string"]),
    },
) as dag:
    accounts_csv = SalesforceQueryToFileOperator(
        task_id="accounts_csv",
        soql="SELECT Id, Name, Industry, AnnualRevenue, Owner.Name FROM Account ORDER BY Name",
        destination="{{ params.output_dir }}/accounts-{{ (dag_run.logical_date or dag_run.run_after) | ds }}.csv.gz",
        destination_conn_id="{{ params.output_conn_id or '' }}",
        compression="gzip",
    )
    contacts_jsonl = SalesforceQueryToFileOperator(
        task_id="contacts_jsonl",
        soql="SELECT Id, Name, Email, Account.Name FROM Contact WHERE Email != null",
        destination="{{ params.output_dir }}/contacts-{{ (dag_run.logical_date or dag_run.run_after) | ds }}.jsonl",
        destination_conn_id="{{ params.output_conn_id or '' }}",
        format="jsonl",
    )
    # SOQL can live in a .soql template file beside the DAG (rendered with Jinja like any template).
    won_csv = SalesforceQueryToFileOperator(
        task_id="won_opportunities_csv",
        soql="soql/won_opportunities.soql",
        destination="{{ params.output_dir }}/won-{{ (dag_run.logical_date or dag_run.run_after) | ds }}.csv",
        destination_conn_id="{{ params.output_conn_id or '' }}",
    )
    opportunities_parquet = SalesforceQueryToFileOperator(
        task_id="opportunities_parquet",
        soql="SELECT Id, Name, StageName, Amount, CloseDate, IsWon, Account.Industry FROM Opportunity",
        destination=(
            "{{ params.output_dir }}/opportunities-{{ (dag_run.logical_date or dag_run.run_after) | ds }}.parquet"
        ),
        destination_conn_id="{{ params.output_conn_id or '' }}",
        format="parquet",
    )
