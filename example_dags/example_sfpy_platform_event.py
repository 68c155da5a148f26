"""SalesforcePublishEventOperator: announce each nightly batch as an ``Order_Placed__e`` platform event.

Subscribers (an Apex trigger, a Flow, another system on the Pub/Sub API, or a DAG watching
``/event/Order_Placed__e`` with ``SalesforceChangeEventTrigger``) receive one event per record given.
The task returns the events' replay ids; a retry returns the ids already published instead of
publishing again (see the operator's docstring).

Needs the connection's Pub/Sub endpoint: extra ``pubsub_url`` (Salesforce's by default; the emulator's
is printed by ``sfpy-emulator --pubsub-port 0``).
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_sfpy.operators.platform_event import SalesforcePublishEventOperator

with DAG(
    dag_id="example_sfpy_platform_event",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["sfpy", "example"],
) as dag:
    SalesforcePublishEventOperator(
        task_id="announce_batch",
        topic="/event/Order_Placed__e",
        events=[
            {
                # A run triggered by hand has no logical date (Airflow 3): its trigger time stands in.
                "Order_Number__c": "BATCH-{{ (dag_run.logical_date or dag_run.run_after) | ds_nodash }}",
                "Amount__c": 120.5,
                "Status__c": "New",
            }
        ],
    )
