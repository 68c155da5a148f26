"""A realistic nightly pipeline: export -> transform -> upsert -> bulk load -> Chatter post -> summary.

1. export every integration-managed account (those with an external id) to a CSV in object storage;
2. rate each by revenue and upsert the ratings back by external id (sObject Collections);
3. bulk-load a contact per account through Bulk API 2.0, waiting in the triggerer;
4. announce the result on Chatter, and write a summary.json for people (``make demo`` prints it).

Data moves between tasks through object storage (``output_dir``, by default ``sfpy-example/pipeline``
in the system's temporary folder, created on demand) and small XCom values, so the tasks can run on
different workers.

Files are named after the day the run is for, ``(dag_run.logical_date or dag_run.run_after) | ds``: the
logical date of a scheduled run, and the trigger time of a run triggered by hand, which has no logical
date in Airflow 3 (there ``{{ ds }}`` is undefined). Clearing a run writes the same files again.
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

from airflow_provider_sfpy.operators.bulk import SalesforceBulkIngestOperator
from airflow_provider_sfpy.operators.chatter import SalesforceChatterPostOperator
from airflow_provider_sfpy.operators.query_to_file import SalesforceQueryToFileOperator
from airflow_provider_sfpy.operators.sobject import SalesforceSObjectOperator

DEFAULT_OUTPUT_DIR = (Path(tempfile.gettempdir()) / "sfpy-example" / "pipeline").as_uri()


def _read_csv(url: str) -> list[dict[str, str]]:
    with ObjectStoragePath(url).open("rb") as raw:
        return list(csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8", newline="")))


with DAG(
    dag_id="example_sfpy_pipeline",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["sfpy", "example"],
    params={"output_dir": Param(DEFAULT_OUTPUT_DIR, type="string")},
) as dag:
    export = SalesforceQueryToFileOperator(
        task_id="export_accounts",
        soql="SELECT Id, Name, Industry, AnnualRevenue, External_Id__c FROM Account WHERE External_Id__c != null",
        destination="{{ params.output_dir }}/accounts-{{ (dag_run.logical_date or dag_run.run_after) | ds }}.csv",
    )

    @task
    def transform(export_result: dict[str, Any]) -> list[dict[str, Any]]:
        """Rate every integration-managed account by its revenue."""
        records = []
        for row in _read_csv(export_result["path"]):
            revenue = float(row["AnnualRevenue"] or 0)
            rating = "Hot" if revenue >= 10_000_000 else "Warm" if revenue > 0 else "Cold"
            records.append({"External_Id__c": row["External_Id__c"], "Name": row["Name"], "Rating": rating})
        return records

    upsert = SalesforceSObjectOperator(
        task_id="upsert_accounts",
        operation="upsert",
        object_type="Account",
        external_id_field="External_Id__c",
        records=transform(export.output),
    )

    @task
    def write_contacts(export_result: dict[str, Any], destination: str) -> str:
        """One new contact per exported account, as a CSV for Bulk API 2.0 (a TaskFlow argument is a template)."""
        out = ObjectStoragePath(destination)
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(["AccountId", "FirstName", "LastName", "Email", "Title"])
        for n, row in enumerate(_read_csv(export_result["path"])):
            writer.writerow([row["Id"], "Nightly", f"Contact {n:04d}", f"nightly{n}@example.com", "Account lead"])
        out.write_text(text.getvalue())
        return str(out)

    bulk_contacts = SalesforceBulkIngestOperator(
        task_id="bulk_load_contacts",
        object_type="Contact",
        operation="insert",
        source=write_contacts(
            export.output,
            destination="{{ params.output_dir }}/contacts-{{ (dag_run.logical_date or dag_run.run_after) | ds }}.csv",
        ),
        results_destination="{{ params.output_dir }}/results-{{ (dag_run.logical_date or dag_run.run_after) | ds }}/",
        deferrable=True,
        poll_interval=1.0,
    )

    announce = SalesforceChatterPostOperator(
        task_id="announce",
        subject_id="me",
        text="Nightly Salesforce sync for {{ (dag_run.logical_date or dag_run.run_after) | ds }}: "
        "{{ ti.xcom_pull(task_ids='upsert_accounts')['success_count'] }} accounts re-rated, "
        "{{ ti.xcom_pull(task_ids='bulk_load_contacts')['records_processed'] }} contacts loaded.",
    )

    @task
    def summarize(
        export_result: dict[str, Any], upserted: dict[str, Any], loaded: dict[str, Any], post_id: str, params: dict
    ) -> dict[str, Any]:
        summary = {
            "exported": {"rows": export_result["rows"], "path": export_result["path"]},
            "upserted": {"succeeded": upserted["success_count"], "failed": upserted["failure_count"]},
            "bulk_load": {
                "jobs": {job_id: info.get("state") for job_id, info in loaded["jobs"].items()},
                "processed": loaded["records_processed"],
                "failed": loaded["records_failed"],
                "results": loaded["results"],
            },
            "chatter_post": post_id,
        }
        (ObjectStoragePath(params["output_dir"]) / "summary.json").write_text(json.dumps(summary, indent=2))
        return summary

    upsert >> bulk_contacts >> announce
    summarize(export.output, upsert.output, bulk_contacts.output, announce.output)
