"""The changes the trigger tests make and watch for: Opportunities closed as won, each test with its own marker.

Scenarios sharing an emulator see only their own changes: the trigger's condition requires the marker
in ``Description`` as well as ``StageName == 'Closed Won'``.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_sfpy.client import Client

CHANNEL = "/data/OpportunityChangeEvent"


def opportunity(sf: Client, marker: str) -> str:
    body, _ = sf.sobjects(object_type="Opportunity").insert(
        {"Name": f"Deal {marker}", "StageName": "Prospecting", "CloseDate": "2026-12-31"}
    )
    return str(body["id"])


def win(sf: Client, marker: str) -> str:
    """A new Opportunity, then its update to Closed Won (Description carries the marker)."""
    record_id = opportunity(sf, marker)
    sf.sobjects(object_type="Opportunity", id=record_id).update({"StageName": "Closed Won", "Description": marker})
    return record_id


def closed_won(marker: str, **kwargs: Any) -> Any:
    """A trigger on the channel for this marker's Closed Won changes (``kwargs``: the trigger's other arguments)."""
    from airflow_provider_sfpy.triggers.change_events import SalesforceChangeEventTrigger

    condition = [
        {"field": "StageName", "op": "==", "value": "Closed Won"},
        {"field": "Description", "op": "==", "value": marker},
    ]
    return SalesforceChangeEventTrigger(channel=CHANNEL, condition=condition, **kwargs)
