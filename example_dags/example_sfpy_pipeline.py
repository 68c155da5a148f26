"""A realistic nightly pipeline: export accounts -> transform -> upsert by external id -> Chatter post.

Data moves between tasks through object storage (``output_dir``) and small XCom values, so the
tasks can run on different workers.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from airflow.sdk import DAG, ObjectStoragePath, Param, task

from airflow_provider_sfpy.operators.chatter import SalesforceChatterPostOperator
from airflow_provider_sfpy.operators.query_to_file import SalesforceQueryToFileOperator
from airflow_provider_sfpy.operators.sobject import SalesforceSObjectOperator

with DAG(
    dag_id="example_sfpy_pipeline",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["sfpy", "example"],
    params={"output_dir": Param("file:///tmp/sfpy-example/pipeline", type="string")},
) as dag:
    export = SalesforceQueryToFileOperator(
        task_id="export_accounts",
        soql="SELECT Id, Name, Industry, AnnualRevenue, External_Id__c FROM Account WHERE External_Id__c != null",
        destination="{{ params.output_dir }}/accounts-{{ ds }}.csv",
    )

    @task
    def transform(export_result: dict[str, Any]) -> list[dict[str, Any]]:
        """Rate every integration-managed account (those with an external id) by its revenue."""
        with ObjectStoragePath(export_result["path"]).open("rb") as raw:
            rows = list(csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8", newline="")))
        records = []
        for row in rows:
            revenue = float(row["AnnualRevenue"] or 0)
            records.append(
                {
                    "External_Id__c": row["External_Id__c"],
                    "Name": row["Name"],
                    "Rating": "Hot" if revenue >= 10_000_000 else "Warm" if revenue > 0 else "Cold",
                }
            )
        return records

    upsert = SalesforceSObjectOperator(
        task_id="upsert_accounts",
        operation="upsert",
        object_type="Account",
        external_id_field="External_Id__c",
        records=transform(export.output),
    )
    announce = SalesforceChatterPostOperator(
        task_id="announce",
        subject_id="me",
        text="Account ratings refreshed for {{ ds }}: "
        "{{ ti.xcom_pull(task_ids='upsert_accounts')['success_count'] }} accounts updated.",
    )
    upsert >> announce
