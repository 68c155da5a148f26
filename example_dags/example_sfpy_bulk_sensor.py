"""SalesforceBulkJobSensor: wait for a Bulk job that something else started (here, a task using the client).

The sensor also saves the job's result CSVs (failed rows first) to ``output_dir``, with the same code
the ingest operator uses, and fails the task if any record failed, after the failed rows are saved.
``output_dir`` defaults to ``sfpy-example/bulk-sensor`` in the system's temporary folder, created on demand.
"""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path

from airflow.sdk import DAG, Param, task

from airflow_provider_sfpy.hooks.salesforce import SalesforcePyHook
from airflow_provider_sfpy.sensors.bulk import SalesforceBulkJobSensor

DEFAULT_OUTPUT_DIR = (Path(tempfile.gettempdir()) / "sfpy-example" / "bulk-sensor").as_uri()

with DAG(
    dag_id="example_sfpy_bulk_sensor",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["sfpy", "example", "bulk"],
    params={"output_dir": Param(DEFAULT_OUTPUT_DIR, type="string")},
) as dag:

    @task
    def start_partner_load() -> list[str]:
        """An 'external' load: create, upload and close a job directly with the client."""
        ingest = SalesforcePyHook().get_conn().jobs.ingest
        job, _ = ingest.create({"object": "Account", "operation": "insert", "lineEnding": "LF"})
        ingest.upload(job["id"], b"Name,Industry\nPartner Load One,Retail\nPartner Load Two,Retail\n")
        ingest.close(job["id"])
        return [job["id"]]

    wait = SalesforceBulkJobSensor(
        task_id="wait_for_partner_load",
        job_ids="{{ ti.xcom_pull(task_ids='start_partner_load') | join(',') }}",
        results_destination="{{ params.output_dir }}/partner-results/",
        max_failed_records=0,
        deferrable=True,
        poke_interval=1.0,
        timeout=600,
    )
    start_partner_load() >> wait
