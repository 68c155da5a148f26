"""A nightly incremental sync of Accounts and Contacts, deletes included (Airflow 3.3 and later).

Each run exports only the records changed since the previous successful run, by ``SystemModstamp``
(``incremental_key=True``), and the records deleted since then (``include_deleted=True``, read
through ``queryAll``):

- Accounts: one file per run, deleted accounts in it with ``IsDeleted = true``;
- Contacts: changes in one file, deleted contacts in a second (``deleted_destination``).

The watermark lives in the state store of each task's outlet asset (declared by the operator:
``salesforce://sfpy_default/Account`` and ``.../Contact``), so DAGs scheduled on those assets run
after each sync. Beside every file, ``<file>.meta.json`` records the window ``[from, to]``, the row
count and whether the run was full or incremental; the same goes to XCom. The first run exports
everything; trigger with ``{"full_refresh": true}`` to start over. A failed run leaves the watermark
where it was, so the next run exports its changes. Rows modified in the same millisecond as the
previous watermark are exported again (at least once at the boundary): load the files by ``Id``.

Files are named after the time the run is for, ``(dag_run.logical_date or dag_run.run_after) |
ts_nodash``: a scheduled run's logical date, or the trigger time of a run triggered by hand (which
has no logical date in Airflow 3). ``output_dir`` is any ObjectStoragePath URL, by default
``sfpy-example/incremental`` in the system's temporary folder.

On Airflow 3.1 and 3.2 this file still loads, but its one task fails: an incremental export needs
Airflow 3.3's asset state store.
"""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path

from airflow.sdk import DAG, Param, task

from airflow_provider_sfpy.operators.query_to_file import SalesforceQueryToFileOperator
from airflow_provider_sfpy.operators.watermark import asset_state_store_available, require_asset_state_store

#: The oldest Airflow this example runs on (tests/dags read it; older versions load it but cannot run it).
REQUIRES_AIRFLOW = "3.3"
DEFAULT_OUTPUT_DIR = (Path(tempfile.gettempdir()) / "sfpy-example" / "incremental").as_uri()
RUN_TIME = "{{ (dag_run.logical_date or dag_run.run_after) | ts_nodash }}"

with DAG(
    dag_id="example_sfpy_incremental_sync",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["sfpy", "example"],
    params={
        "output_dir": Param(DEFAULT_OUTPUT_DIR, type="string"),
        "output_conn_id": Param(None, type=["null", "string"]),
    },
) as dag:
    if asset_state_store_available():
        accounts = SalesforceQueryToFileOperator(
            task_id="sync_accounts",
            soql="SELECT Id, Name, Industry, AnnualRevenue, OwnerId FROM Account",
            destination="{{ params.output_dir }}/accounts/accounts-" + RUN_TIME + ".csv",
            destination_conn_id="{{ params.output_conn_id or '' }}",
            incremental_key=True,  # SystemModstamp
            include_deleted=True,  # deleted accounts in the same file, IsDeleted = true
        )
        contacts = SalesforceQueryToFileOperator(
            task_id="sync_contacts",
            soql="SELECT Id, AccountId, FirstName, LastName, Email FROM Contact",
            destination="{{ params.output_dir }}/contacts/contacts-" + RUN_TIME + ".csv",
            destination_conn_id="{{ params.output_conn_id or '' }}",
            incremental_key="SystemModstamp",
            include_deleted=True,
            deleted_destination="{{ params.output_dir }}/contacts/contacts-deleted-" + RUN_TIME + ".csv",
        )
    else:

        @task(task_id="needs_airflow_3_3")
        def needs_airflow_3_3() -> None:
            """Fail with the reason: this Airflow has no asset state store to keep the watermark in."""
            require_asset_state_store()

        needs_airflow_3_3()
