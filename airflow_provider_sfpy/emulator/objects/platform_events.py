"""Platform events of the emulated org: ``Order_Placed__e``.

A platform event is published, not stored: it is not part of ``schema.SCHEMA`` (no table, no
queries, no search), only of the org's event bus. Its fields follow "Platform Event Fields"
(https://developer.salesforce.com/docs/platform/platform-events/guide/platform-events-define-ui.md)
and the Field Reference of Salesforce's own events (``ReplayId`` string(1000), ``EventUuid``
string(36), ``CreatedDate``, ``CreatedById``: e.g. .../salesforce-field-reference-serviceproviderevent.html),
all read-only, then the event's custom fields. The key prefix is ``e00``, as the Ids of published
events in the Platform Events Developer Guide show (``e00xx000000000B``).
"""

from __future__ import annotations

from airflow_provider_sfpy.emulator.objects.model import FieldDef, SObjectDef

#: The standard fields of every platform event, all set by Salesforce.
STANDARD_FIELDS = (
    FieldDef("ReplayId", "string", "Replay ID", 1000, createable=False, updateable=False),
    FieldDef("CreatedDate", "datetime", "Created Date", nillable=False, createable=False, updateable=False),
    FieldDef(
        "CreatedById",
        "reference",
        "Created By ID",
        18,
        nillable=False,
        createable=False,
        updateable=False,
        reference_to=("User",),
        relationship_name="CreatedBy",
    ),
    FieldDef("EventUuid", "string", "Event UUID", 36, createable=False, updateable=False),
)


def platform_event(name: str, label: str, fields: tuple[FieldDef, ...]) -> SObjectDef:
    """A platform event: published (createable) only; never updated, deleted, queried or searched."""
    return SObjectDef(
        name=name,
        label=label,
        label_plural=label,
        key_prefix="e00",
        fields=STANDARD_FIELDS + fields,
        custom=True,
        name_field=None,
        updateable=False,
        deletable=False,
        searchable=False,
        replicateable=False,
    )


ORDER_PLACED = platform_event(
    "Order_Placed__e",
    "Order Placed",
    (
        FieldDef("Order_Number__c", "string", "Order Number", 255),
        FieldDef("Amount__c", "double", "Amount", precision=18, scale=2),
        FieldDef("Status__c", "string", "Status", 255),
    ),
)

PLATFORM_EVENTS: dict[str, SObjectDef] = {event.name: event for event in (ORDER_PLACED,)}
_LOWER = {name.lower(): event for name, event in PLATFORM_EVENTS.items()}


def lookup_platform_event(name: str) -> SObjectDef | None:
    """Case-insensitive, as Salesforce resolves sObject names in REST paths."""
    return _LOWER.get(name.lower())
