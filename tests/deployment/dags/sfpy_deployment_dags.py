"""DAGs run by tests/deployment/test_real_deployment.py in a real Airflow deployment (not a pytest module).

Each DAG loads the CSV named by its run's conf (``{"source": "/path/in.csv"}``) into Account with
``retries=1``, so a try that dies or fails is retried once, a couple of seconds later. The
connection ``sfpy_default`` is set in the deployment's environment (``AIRFLOW_CONN_SFPY_DEFAULT``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_provider_sfpy.operators.bulk import SalesforceBulkIngestOperator

DEFAULT_ARGS = {"retries": 1, "retry_delay": timedelta(seconds=2)}


def bulk_load_dag(dag_id: str, *, deferrable: bool, with_results: bool = False) -> DAG:
    with DAG(
        dag_id=dag_id,
        schedule=None,
        start_date=datetime(2024, 1, 1),
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        tags=["sfpy-deployment-test"],
    ) as dag:
        SalesforceBulkIngestOperator(
            task_id="load",
            object_type="Account",
            operation="insert",
            source="{{ dag_run.conf['source'] }}",
            results_destination="{{ dag_run.conf['results'] }}" if with_results else None,
            deferrable=deferrable,
            poll_interval=0.5,
            max_poll_interval=1.0,
        )
    return dag


# Harness check: a plain deferrable load, no faults.
sfpy_deploy_plain = bulk_load_dag("sfpy_deploy_plain", deferrable=True)
# 1. The worker is killed while a non-deferrable load polls its job.
sfpy_deploy_worker_killed = bulk_load_dag("sfpy_deploy_worker_killed", deferrable=False)
# 2. The triggerer is killed while a deferred load waits.
sfpy_deploy_triggerer_killed = bulk_load_dag("sfpy_deploy_triggerer_killed", deferrable=True)
# 3. Delivering the result CSVs fails on the first try (the job itself completed).
sfpy_deploy_results_fail = bulk_load_dag("sfpy_deploy_results_fail", deferrable=False, with_results=True)
# 4. A deferred load is marked failed while no triggerer runs, then cleared by a person.
sfpy_deploy_stopped_while_deferred = bulk_load_dag(
    "sfpy_deploy_stopped_while_deferred", deferrable=True, with_results=True
)
