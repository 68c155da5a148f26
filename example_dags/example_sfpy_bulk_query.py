"""SalesforceBulkQueryOperator: a Bulk API 2.0 extract to object storage, as part files and as one file."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Param

from airflow_provider_sfpy.operators.bulk_query import SalesforceBulkQueryOperator

with DAG(
    dag_id="example_sfpy_bulk_query",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["sfpy", "example", "bulk"],
    params={"output_dir": Param("file:///tmp/sfpy-example/bulk-query", type="string")},
) as dag:
    parts = SalesforceBulkQueryOperator(
        task_id="contacts_parts",
        soql="SELECT Id, FirstName, LastName, Email, Account.Name FROM Contact",
        destination="{{ params.output_dir }}/contacts-{{ ds }}/",
        max_records_per_page=20,
        deferrable=True,
        poll_interval=1.0,
    )
    combined = SalesforceBulkQueryOperator(
        task_id="accounts_combined",
        soql="SELECT Id, Name, Industry, AnnualRevenue FROM Account",
        destination="{{ params.output_dir }}/accounts-{{ ds }}.csv",
        max_records_per_page=50,
        combine=True,
        deferrable=True,
        poll_interval=1.0,
    )
