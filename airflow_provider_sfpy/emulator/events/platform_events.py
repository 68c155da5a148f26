"""Platform events: their Avro schemas, publishing one from REST, and their describe.

Schema ("Platform Event Schema by Event Name", https://developer.salesforce.com/docs/platform/api-rest/guide/resources-sobject-eventschema.md,
and the schemas the Pub/Sub API serves): a record named after the event in namespace
``com.sforce.eventbus`` whose first fields are ``CreatedDate`` (``long``, epoch milliseconds) and
``CreatedById`` (``string``), both required, then ``EventUuid`` and the custom fields as
``["null", type]`` unions with a null default.

Publishing over REST is an insert of the event ("Publish Event Messages with Salesforce APIs",
https://developer.salesforce.com/docs/atlas.en-us.platform_events.meta/platform_events/platform_events_publish_api.htm):
``POST /sobjects/Order_Placed__e`` answers 201 ``{"id": "e00...", "success": true, "errors": [...]}``
where the one "error" is ``OPERATION_ENQUEUED`` with the event's UUID as its message (publishing is
asynchronous); a bad field answers the usual REST errors (``INVALID_FIELD``,
``INVALID_FIELD_FOR_INSERT_UPDATE``, ``JSON_PARSER_ERROR`` ...). Platform events cannot be
queried ("Considerations for Defining and Publishing Platform Events": No SOQL Support).
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_sfpy.emulator.describe import _field, basic_info
from airflow_provider_sfpy.emulator.events.records import avro_payload
from airflow_provider_sfpy.emulator.events.schemas import AVRO_TYPES, NAMESPACE, AvroSchema, nullable
from airflow_provider_sfpy.emulator.events.values import avro_value, epoch_millis_now
from airflow_provider_sfpy.emulator.objects.model import SObjectDef
from airflow_provider_sfpy.emulator.objects.platform_events import PLATFORM_EVENTS
from airflow_provider_sfpy.emulator.store import checked_new_values

if TYPE_CHECKING:
    from airflow_provider_sfpy.emulator.store import Store

#: The status "error" of a successful publish: the event is queued for publishing.
OPERATION_ENQUEUED = "OPERATION_ENQUEUED"
_REQUIRED = (
    {"name": "CreatedDate", "type": "long", "doc": "CreatedDate:DateTime"},
    {"name": "CreatedById", "type": "string", "doc": "CreatedBy:EntityId"},
)


@dataclass(frozen=True)
class PlatformEventSchema:
    event: SObjectDef
    avro: AvroSchema

    @property
    def channel(self) -> str:
        return f"/event/{self.event.name}"


@functools.cache
def platform_event_schema(name: str) -> PlatformEventSchema:
    """The Avro schema of the platform event ``name`` (exact API name; ``KeyError`` if there is none)."""
    event = PLATFORM_EVENTS[name]
    custom = [{"name": f.name, **nullable(*AVRO_TYPES[f.type])} for f in event.fields if f.name.endswith("__c")]
    schema = {
        "type": "record",
        "name": event.name,
        "namespace": NAMESPACE,
        "fields": [*_REQUIRED, {"name": "EventUuid", **nullable("string", "Data:Text")}, *custom],
    }
    return PlatformEventSchema(event, AvroSchema.of(schema))


def publish_platform_event(
    store: Store, event: SObjectDef, values: Mapping[str, object], user_id: str
) -> dict[str, Any]:
    """Publish one event from a REST body onto the org's event bus; returns the REST save result."""
    stored = checked_new_values(event, values, user_id)
    schema = platform_event_schema(event.name)
    event_uuid = str(uuid.uuid4())
    record: dict[str, Any] = {"CreatedDate": epoch_millis_now(), "CreatedById": user_id, "EventUuid": event_uuid}
    for f in event.fields:
        if f.name.endswith("__c"):
            record[f.name] = avro_value(f.type, stored.get(f.name))
    payload = avro_payload(schema.avro.parsed, record)
    store.event_bus.append([schema.channel], schema.avro.schema_id, payload, event_uuid)
    event_id = store.new_ids(event.key_prefix, 1)[0]
    status = {"statusCode": OPERATION_ENQUEUED, "message": event_uuid, "fields": []}
    return {"id": event_id, "success": True, "errors": [status]}


def platform_event_describe(event: SObjectDef, version: str, *, full: bool) -> dict[str, Any]:
    """describe (``full``) or basic info of a platform event: createable only, never queryable."""
    flags = {
        "queryable": False,
        "retrieveable": False,
        "layoutable": False,
        "mruEnabled": False,
        "triggerable": True,
        "undeletable": False,
    }
    info = basic_info(event, version)
    info["objectDescribe"].update(flags)
    if not full:
        return info
    result = dict(info["objectDescribe"])
    result.update(childRelationships=[], fields=[_field(event, f) for f in event.fields], recordTypeInfos=[])
    return dict(sorted(result.items()))
