"""SalesforceApexOperator and SalesforceApexRestOperator: run anonymous Apex, call an Apex REST endpoint.

Every value templated into the Apex goes through the ``apex_quote`` filter (registered with
``user_defined_filters=SOQL_FILTERS``): it becomes one complete Apex string literal, so a run's
``industry`` of ``Banking'); delete [SELECT Id FROM Contact]; //`` is an odd industry name, not code.
Never write the quotes in the template (``'{{ params.industry }}'``).

The marker account is named after the day the run is for: its logical date, or, for a run triggered by
hand (no logical date in Airflow 3, so ``{{ ds }}`` would be undefined), the time it was triggered.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Param

from airflow_provider_sfpy.operators.apex import SalesforceApexOperator, SalesforceApexRestOperator
from airflow_provider_sfpy.soql import SOQL_FILTERS

with DAG(
    dag_id="example_sfpy_apex",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["sfpy", "example"],
    params={"industry": Param("Banking", type="string")},
    user_defined_filters=SOQL_FILTERS,
) as dag:
    apex = SalesforceApexOperator(
        task_id="create_marker_account",
        apex=(
            "String industry = {{ params.industry | apex_quote }};\n"
            "String day = {{ (dag_run.logical_date or dag_run.run_after) | ds | apex_quote }};\n"
            "Account a = new Account(Name = 'Apex marker ' + day, Industry = industry);\n"
            "insert a;\n"
            "System.debug('created ' + a.Id + ' in ' + industry);"
        ),
    )
    summary = SalesforceApexRestOperator(
        task_id="industry_summary",
        path="AccountSummary",
        query_params={"industry": "{{ params.industry }}"},
    )
    apex >> summary
