"""The "after" DAG of docs/migrating.md: a nightly job moved from apache-airflow-providers-salesforce.

Task for task, what the "before" DAG in the guide used and what took its place:

- ``export_accounts``: ``SalesforceToS3Operator`` -> ``SalesforceQueryToFileOperator`` (streamed page by
  page to any object storage: a local folder here, ``s3://...`` with ``destination_conn_id`` in production);
- ``accounts_to_rate``: ``SalesforceHook.make_query`` -> ``SalesforcePyHook.make_query`` (the same result);
- ``rate_accounts``: ``SalesforceBulkOperator`` (Bulk API 1.0) -> ``SalesforceBulkIngestOperator`` (Bulk API
  2.0), which fails the task when records fail and does not load a record twice on a retry;
- ``banking_summary``: the official ``SalesforceApexRestOperator`` -> this package's, with ``path`` and
  ``query_params`` instead of ``endpoint`` and ``payload``.

Files go to ``output_dir``, by default ``sfpy-example/migrated`` in the system's temporary folder
(created on demand), named after the run's ``run_after`` time: runs triggered by hand have no
logical date, so templates built on ``ds`` would fail there. To write to S3 as the "before" DAG did,
run it with ``{"output_dir": "s3://exports/salesforce", "output_conn_id": "aws_default"}``.
"""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, Param, task

from airflow_provider_sfpy.hooks.salesforce import SalesforcePyHook
from airflow_provider_sfpy.operators.apex import SalesforceApexRestOperator
from airflow_provider_sfpy.operators.bulk import SalesforceBulkIngestOperator
from airflow_provider_sfpy.operators.query_to_file import SalesforceQueryToFileOperator

DEFAULT_OUTPUT_DIR = (Path(tempfile.gettempdir()) / "sfpy-example" / "migrated").as_uri()
HOT_REVENUE = 10_000_000


def rating(annual_revenue: float | None) -> str:
    """Hot from ten million a year, Warm below, Cold without revenue (the pipeline example's rule too)."""
    revenue = annual_revenue or 0
    return "Hot" if revenue >= HOT_REVENUE else "Warm" if revenue > 0 else "Cold"


with DAG(
    dag_id="example_sfpy_migrated",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["sfpy", "example", "migration"],
    params={
        "output_dir": Param(DEFAULT_OUTPUT_DIR, type="string"),
        "output_conn_id": Param(None, type=["null", "string"]),
    },
) as dag:
    export_accounts = SalesforceQueryToFileOperator(
        task_id="export_accounts",
        soql="SELECT Id, Name, Industry, AnnualRevenue FROM Account",
        destination=(
            "{{ params.output_dir }}/accounts-{{ (dag_run.logical_date or dag_run.run_after) | ts_nodash }}.csv"
        ),
        destination_conn_id="{{ params.output_conn_id or '' }}",
    )

    @task
    def accounts_to_rate() -> list[dict[str, Any]]:
        """A rating for each account an integration manages (those with an external id), by revenue."""
        # make_query returns what the official hook's did: {"totalSize", "done", "records"}. It holds
        # every record in memory; for large results stream with get_conn().query_records(soql).
        result = SalesforcePyHook().make_query(
            "SELECT External_Id__c, AnnualRevenue FROM Account WHERE External_Id__c != null"
        )
        return [
            {"External_Id__c": record["External_Id__c"], "Rating": rating(record["AnnualRevenue"])}
            for record in result["records"]
        ]

    rate_accounts = SalesforceBulkIngestOperator(
        task_id="rate_accounts",
        object_type="Account",
        operation="upsert",
        external_id_field="External_Id__c",
        records=accounts_to_rate(),
        results_destination=(
            "{{ params.output_dir }}/rating-results-{{ (dag_run.logical_date or dag_run.run_after) | ts_nodash }}/"
        ),
        results_conn_id="{{ params.output_conn_id or '' }}",
        poll_interval=1.0,  # a demo's jobs finish in seconds; the default (5 s, backing off to 60 s) suits real loads
    )

    banking_summary = SalesforceApexRestOperator(
        task_id="banking_summary",
        path="AccountSummary",
        query_params={"industry": "Banking"},
    )

    export_accounts >> rate_accounts >> banking_summary
