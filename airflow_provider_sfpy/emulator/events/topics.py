"""Pub/Sub API topics of the emulated org: names, schemas, and what may be published to them.

Topic names ("Pub/Sub API topics": change event channels and platform event channels):
``/data/<Object>ChangeEvent`` (``/data/<Name>__ChangeEvent`` for custom objects) for each object with
change events, ``/data/ChangeEvents`` for the change events of every selected object, and
``/event/<Name>__e`` for each platform event. Change event channels cannot be published to; platform
event channels can. A topic resolves whether or not its object is selected for capture (a
subscriber to an unselected object just receives nothing), as names are resolved without the store.

``/data/ChangeEvents`` carries events of several schemas (each event names its own schema id);
Salesforce documents no schema for the channel itself, so its ``TopicDef.schema_id`` is that of the
first object with change events (``AccountChangeEvent``).
"""

from __future__ import annotations

import functools
import io
import json
from dataclasses import dataclass

import fastavro

from airflow_provider_sfpy.emulator.events.capture import ALL_CHANGES_CHANNEL
from airflow_provider_sfpy.emulator.events.platform_events import platform_event_schema
from airflow_provider_sfpy.emulator.events.schemas import CDC_CAPABLE, change_event_schema, event_name_of, parse
from airflow_provider_sfpy.emulator.objects.platform_events import PLATFORM_EVENTS


@dataclass(frozen=True)
class TopicDef:
    name: str
    schema_id: str
    schema_json: str
    can_publish: bool
    can_subscribe: bool


@functools.cache
def _topics() -> dict[str, TopicDef]:
    topics: dict[str, TopicDef] = {}
    for entity in CDC_CAPABLE:
        schema = change_event_schema(entity)
        topics[schema.channel] = TopicDef(schema.channel, schema.avro.schema_id, schema.avro.schema_json, False, True)
    first = topics[f"/data/{event_name_of(CDC_CAPABLE[0])}"]
    topics[ALL_CHANGES_CHANNEL] = TopicDef(ALL_CHANGES_CHANNEL, first.schema_id, first.schema_json, False, True)
    for name in PLATFORM_EVENTS:
        event = platform_event_schema(name)
        topics[event.channel] = TopicDef(event.channel, event.avro.schema_id, event.avro.schema_json, True, True)
    return topics


@functools.cache
def _schemas() -> dict[str, str]:
    return {topic.schema_id: topic.schema_json for topic in _topics().values()}


def resolve_topic(name: str) -> TopicDef | None:
    """The topic called ``name`` (exactly), or ``None`` when there is no such topic."""
    return _topics().get(name)


def schema_json(schema_id: str) -> str | None:
    """The schema JSON of any schema id a topic hands out (``None`` for an unknown id)."""
    return _schemas().get(schema_id)


@functools.cache
def _parsed(schema_id: str) -> object:
    return parse(json.loads(_schemas()[schema_id]))


def validate_publish(topic: TopicDef, schema_id: str, payload: bytes) -> str | None:
    """``None`` if ``payload`` may be published to ``topic`` with ``schema_id``, else what is wrong."""
    if not topic.can_publish:
        return f"Publishing to {topic.name} isn't allowed: only platform event topics (/event/...) accept events."
    if schema_id != topic.schema_id:
        return f"The schema ID {schema_id!r} isn't the schema of {topic.name}; get the topic's schema ID with GetTopic."
    buffer = io.BytesIO(payload)
    try:
        fastavro.schemaless_reader(buffer, _parsed(schema_id))  # type: ignore[arg-type]
    except Exception as exc:  # fastavro raises many kinds for malformed bytes
        return f"The payload can't be decoded with schema {schema_id}: {type(exc).__name__}: {exc}"
    if buffer.tell() != len(payload):
        return f"The payload has {len(payload) - buffer.tell()} bytes after the event; encode one event per payload."
    return None
