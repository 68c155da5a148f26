"""SalesforceChatterPostOperator: post on an account's feed with a mention, then comment on the post."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, task

from airflow_provider_sfpy.hooks.salesforce import SalesforcePyHook
from airflow_provider_sfpy.operators.chatter import SalesforceChatterPostOperator

with DAG(
    dag_id="example_sfpy_chatter",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["sfpy", "example"],
) as dag:

    @task
    def pick_account() -> dict[str, str]:
        client = SalesforcePyHook().get_conn()
        record = client.query("SELECT Id, Name, OwnerId FROM Account ORDER BY Name LIMIT 1").body["records"][0]
        return {"id": record["Id"], "name": record["Name"], "owner": record["OwnerId"]}

    account = pick_account()
    post = SalesforceChatterPostOperator(
        task_id="post",
        subject_id="{{ ti.xcom_pull(task_ids='pick_account')['id'] }}",
        # A run triggered by hand has no logical date (Airflow 3): its trigger time stands in ({{ ds }} would fail).
        text="Nightly sync of {{ ti.xcom_pull(task_ids='pick_account')['name'] }} finished on "
        "{{ (dag_run.logical_date or dag_run.run_after) | ds }}. "
        "@[{{ ti.xcom_pull(task_ids='pick_account')['owner'] }}] please review.",
    )
    comment = SalesforceChatterPostOperator(
        task_id="comment",
        feed_element_id="{{ ti.xcom_pull(task_ids='post') }}",
        text="No errors were reported.",
    )
    account >> post >> comment
