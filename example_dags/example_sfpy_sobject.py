"""SalesforceSObjectOperator and SalesforceFileInsertOperator: insert, update, upsert, delete, and a file.

The file is written to ``output_dir``, by default ``sfpy-example/sobject`` in the system's temporary folder.
"""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path

from airflow.sdk import DAG, Param, task

from airflow_provider_sfpy.operators.sobject import SalesforceFileInsertOperator, SalesforceSObjectOperator

DEFAULT_OUTPUT_DIR = (Path(tempfile.gettempdir()) / "sfpy-example" / "sobject").as_uri()

with DAG(
    dag_id="example_sfpy_sobject",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["sfpy", "example"],
    params={"output_dir": Param(DEFAULT_OUTPUT_DIR, type="string")},
) as dag:
    insert = SalesforceSObjectOperator(
        task_id="insert_contacts",
        operation="insert",
        object_type="Contact",
        records=[{"FirstName": "Ada", "LastName": "Lovelace"}, {"FirstName": "Alan", "LastName": "Turing"}],
    )
    # Records can be a template rendering to JSON: here, the ids the insert pushed to XCom.
    update = SalesforceSObjectOperator(
        task_id="update_contacts",
        operation="update",
        object_type="Contact",
        records="[{% for id in ti.xcom_pull(task_ids='insert_contacts')['ids'] %}"
        '{"Id": "{{ id }}", "Title": "Pioneer"}{{ "," if not loop.last }}{% endfor %}]',
    )
    upsert = SalesforceSObjectOperator(
        task_id="upsert_accounts",
        operation="upsert",
        object_type="Account",
        external_id_field="External_Id__c",
        records=[{"External_Id__c": "EXAMPLE-1", "Name": "Example Upsert Co", "Industry": "Technology"}],
    )

    @task
    def write_file(params: dict[str, str]) -> str:
        from airflow.sdk import ObjectStoragePath

        path = ObjectStoragePath(params["output_dir"]) / "notes.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("Contacts created by example_sfpy_sobject\n")
        return str(path)

    attach = SalesforceFileInsertOperator(
        task_id="attach_notes",
        object_type="ContentVersion",
        source="{{ ti.xcom_pull(task_ids='write_file') }}",
        fields={"Title": "Example notes", "PathOnClient": "notes.txt"},
        content_type="text/plain",
    )
    delete = SalesforceSObjectOperator(
        task_id="delete_contacts",
        operation="delete",
        record_ids="{{ ti.xcom_pull(task_ids='insert_contacts')['ids'] | join(',') }}",
    )

    insert >> update >> delete

    write_file() >> attach
