"""Run a DAG when an Opportunity closes: Change Data Capture over the Pub/Sub API (Airflow 3.3 and later).

The asset ``salesforce_opportunities_closed_won`` is watched in the triggerer by
``SalesforceChangeEventTrigger``: it streams ``/data/OpportunityChangeEvent`` and turns every change
that sets ``StageName`` to ``Closed Won`` into an asset event. The DAG below is scheduled on that
asset, so it runs within seconds of the change; it reads which Opportunities closed from the
triggering asset events and congratulates each on its Chatter feed.

Nothing is lost or repeated across triggerer restarts: the trigger keeps the replay id of the last
change Airflow stored in the asset's state store and resumes after it (see the trigger's docstring).
Run by hand (no triggering events), the DAG finds nothing to announce and posts nothing.

Needs the connection's Pub/Sub endpoint: extra ``pubsub_url`` (Salesforce's by default; the
emulator's is printed by ``sfpy-emulator --pubsub-port 0``). On Airflow 3.1 and 3.2 this file fails to
load with the reason: the trigger needs 3.3's asset state and acknowledged shared streams.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.sdk import DAG, Asset, AssetWatcher, task

from airflow_provider_sfpy.hooks.salesforce import SalesforcePyHook
from airflow_provider_sfpy.operators.chatter import SalesforceChatterPostOperator
from airflow_provider_sfpy.soql import soql_quote
from airflow_provider_sfpy.triggers.change_events import SalesforceChangeEventTrigger

#: The oldest Airflow this example runs on (tests/dags read it without running the file).
REQUIRES_AIRFLOW = "3.3"

closed_won = Asset(
    "salesforce_opportunities_closed_won",
    watchers=[
        AssetWatcher(
            name="opportunity_closed_won",
            trigger=SalesforceChangeEventTrigger(
                channel="/data/OpportunityChangeEvent",
                condition={"field": "StageName", "op": "==", "value": "Closed Won"},
            ),
        )
    ],
)

with DAG(
    dag_id="example_sfpy_change_events",
    schedule=[closed_won],
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["sfpy", "example"],
) as dag:

    @task
    def closed_won_posts(triggering_asset_events: Any = None) -> list[dict[str, str]]:
        """One Chatter post per Opportunity that closed, named from Salesforce (a change carries only what changed)."""
        record_ids = [
            record_id
            for events in (triggering_asset_events or {}).values()
            for event in events
            for record_id in (event.extra.get("payload") or {}).get("header", {}).get("recordIds", [])
        ]
        if not record_ids:
            print("No Opportunity closed in this run's triggering events (a run by hand?): nothing to announce")
            return []
        ids = ", ".join(soql_quote(record_id) for record_id in dict.fromkeys(record_ids))
        records = SalesforcePyHook().get_conn().query(f"SELECT Id, Name FROM Opportunity WHERE Id IN ({ids})")
        return [
            {"subject_id": record["Id"], "text": f"{record['Name']} is Closed Won. Congratulations to the team!"}
            for record in records.body["records"]
        ]

    SalesforceChatterPostOperator.partial(task_id="announce").expand_kwargs(closed_won_posts())
