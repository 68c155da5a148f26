"""SalesforceApprovalOperator: submit a new account for approval, then approve the work item.

The account is named after the run's time: its logical date, or, for a run triggered by hand (no
logical date in Airflow 3, so ``{{ ts_nodash }}`` would be undefined), the time it was triggered.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_sfpy.operators.approval import SalesforceApprovalOperator
from airflow_provider_sfpy.operators.sobject import SalesforceSObjectOperator

with DAG(
    dag_id="example_sfpy_approval",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["sfpy", "example"],
) as dag:
    create = SalesforceSObjectOperator(
        task_id="create_account",
        operation="insert",
        object_type="Account",
        records={
            "Name": "Approval Example {{ (dag_run.logical_date or dag_run.run_after) | ts_nodash }}",
            "AnnualRevenue": 1000000,
        },
    )
    submit = SalesforceApprovalOperator(
        task_id="submit",
        action="Submit",
        context_ids="{{ ti.xcom_pull(task_ids='create_account')['ids'] | join(',') }}",
        process_definition="Account_Approval",
        comments="Submitted by example_sfpy_approval",
    )
    approve = SalesforceApprovalOperator(
        task_id="approve",
        action="Approve",
        context_ids="{{ ti.xcom_pull(task_ids='submit')['new_workitem_ids'] | join(',') }}",
        comments="Approved by the pipeline",
    )
    create >> submit >> approve
