"""SalesforceApexOperator and SalesforceApexRestOperator: run anonymous Apex, call an Apex REST endpoint."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Param

from airflow_provider_sfpy.operators.apex import SalesforceApexOperator, SalesforceApexRestOperator

with DAG(
    dag_id="example_sfpy_apex",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["sfpy", "example"],
    params={"industry": Param("Banking", type="string")},
) as dag:
    apex = SalesforceApexOperator(
        task_id="create_marker_account",
        apex=(
            "Account a = new Account(Name = 'Apex marker {{ ds }}', Industry = '{{ params.industry }}');\n"
            "insert a;\n"
            "System.debug('created ' + a.Id);"
        ),
    )
    summary = SalesforceApexRestOperator(
        task_id="industry_summary",
        path="AccountSummary",
        query_params={"industry": "{{ params.industry }}"},
    )
    apex >> summary
