"""SalesforceQueryToFileOperator: nightly exports to object storage, as CSV (gzip), JSON Lines and Parquet.

``output_dir`` is any ObjectStoragePath URL: ``file:///data/exports``, ``s3://bucket/salesforce`` (with
``output_conn_id``), ... — workers never need to share a disk.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Param

from airflow_provider_sfpy.operators.query_to_file import SalesforceQueryToFileOperator

with DAG(
    dag_id="example_sfpy_query_to_file",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["sfpy", "example"],
    params={
        "output_dir": Param("file:///tmp/sfpy-example/exports", type="string"),
        "output_conn_id": Param(None, type=["null", "string"]),
    },
) as dag:
    accounts_csv = SalesforceQueryToFileOperator(
        task_id="accounts_csv",
        soql="SELECT Id, Name, Industry, AnnualRevenue, Owner.Name FROM Account ORDER BY Name",
        destination="{{ params.output_dir }}/accounts-{{ ds }}.csv.gz",
        destination_conn_id="{{ params.output_conn_id or '' }}",
        compression="gzip",
    )
    contacts_jsonl = SalesforceQueryToFileOperator(
        task_id="contacts_jsonl",
        soql="SELECT Id, Name, Email, Account.Name FROM Contact WHERE Email != null",
        destination="{{ params.output_dir }}/contacts-{{ ds }}.jsonl",
        destination_conn_id="{{ params.output_conn_id or '' }}",
        format="jsonl",
    )
    # SOQL can live in a .soql template file beside the DAG (rendered with Jinja like any template).
    won_csv = SalesforceQueryToFileOperator(
        task_id="won_opportunities_csv",
        soql="soql/won_opportunities.soql",
        destination="{{ params.output_dir }}/won-opportunities-{{ ds }}.csv",
    )
    opportunities_parquet = SalesforceQueryToFileOperator(
        task_id="opportunities_parquet",
        soql="SELECT Id, Name, StageName, Amount, CloseDate, IsWon, Account.Industry FROM Opportunity",
        destination="{{ params.output_dir }}/opportunities-{{ ds }}.parquet",
        destination_conn_id="{{ params.output_conn_id or '' }}",
        format="parquet",
    )
