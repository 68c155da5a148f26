"""SalesforceWaveDatasetOperator and SalesforceWaveQueryOperator: SAQL over CRM Analytics, to XCom and to a file."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Param

from airflow_provider_sfpy.operators.wave import SalesforceWaveDatasetOperator, SalesforceWaveQueryOperator

PIPELINE_BY_INDUSTRY = """q = load "opportunities";
q = filter q by 'Account.Industry' in ["Apparel", "Banking", "Biotechnology"];
q = group q by 'Account.Industry';
q = foreach q generate 'Account.Industry' as 'Account.Industry', count() as 'count';
q = order q by 'Account.Industry' asc;
q = limit q 2000;"""

with DAG(
    dag_id="example_sfpy_wave",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["sfpy", "example"],
    params={"output_dir": Param("file:///tmp/sfpy-example/wave", type="string")},
) as dag:
    dataset = SalesforceWaveDatasetOperator(task_id="dataset", dataset="opportunities")
    to_xcom = SalesforceWaveQueryOperator(task_id="pipeline_by_industry", saql=PIPELINE_BY_INDUSTRY)
    to_file = SalesforceWaveQueryOperator(
        task_id="pipeline_by_industry_csv",
        saql=PIPELINE_BY_INDUSTRY,
        destination="{{ params.output_dir }}/pipeline-by-industry-{{ ds }}.csv",
        format="csv",
    )
    dataset >> [to_xcom, to_file]
