"""SalesforceWaveDatasetOperator and SalesforceWaveQueryOperator: SAQL over CRM Analytics, to XCom and to a file.

``output_dir`` defaults to ``sfpy-example/wave`` in the system's temporary folder (created on demand). The
file is named after the day the run is for: its logical date, or, for a run triggered by hand (no logical
date in Airflow 3, so ``{{ ds }}`` would be undefined), the time it was triggered.
"""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path

from airflow.sdk import DAG, Param

from airflow_provider_sfpy.operators.wave import SalesforceWaveDatasetOperator, SalesforceWaveQueryOperator

PIPELINE_BY_INDUSTRY = """q = load "opportunities";
q = filter q by 'Account.Industry' in ["Apparel", "Banking", "Biotechnology"];
q = group q by 'Account.Industry';
q = foreach q generate 'Account.Industry' as 'Account.Industry', count() as 'count';
q = order q by 'Account.Industry' asc;
q = limit q 2000;"""

DEFAULT_OUTPUT_DIR = (Path(tempfile.gettempdir()) / "sfpy-example" / "wave").as_uri()

with DAG(
    dag_id="example_sfpy_wave",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["sfpy", "example"],
    params={"output_dir": Param(DEFAULT_OUTPUT_DIR, type="string")},
) as dag:
    dataset = SalesforceWaveDatasetOperator(task_id="dataset", dataset="opportunities")
    to_xcom = SalesforceWaveQueryOperator(task_id="pipeline_by_industry", saql=PIPELINE_BY_INDUSTRY)
    to_file = SalesforceWaveQueryOperator(
        task_id="pipeline_by_industry_csv",
        saql=PIPELINE_BY_INDUSTRY,
        destination="{{ params.output_dir }}/by-industry-{{ (dag_run.logical_date or dag_run.run_after) | ds }}.csv",
        format="csv",
    )
    dataset >> [to_xcom, to_file]
