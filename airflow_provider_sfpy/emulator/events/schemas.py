"""Avro schemas of change events (``AccountChangeEvent`` ...), built from the emulator's object definitions.

The shape follows what the Pub/Sub API hands out for a change event channel:

- one record named ``<Object>ChangeEvent`` (custom objects: ``<Name>__ChangeEvent``) in namespace
  ``com.sforce.eventbus``; its first field is ``ChangeEventHeader`` (entityName, recordIds,
  changeType, changeOrigin, transactionKey, sequenceNumber int, commitTimestamp long, commitNumber
  long, commitUser, nulledFields, diffFields, changedFields: "ChangeEventHeader Fields",
  https://developer.salesforce.com/docs/atlas.en-us.change_data_capture.meta/change_data_capture/cdc_event_fields_header.htm,
  and "Change Event Message Structure", .../cdc_message_structure.htm);
- then every record field as a ``["null", type]`` union with ``"default": null``: all fields are
  present in every event, unchanged or empty ones null ("Change Event Body Fields", .../cdc_event_fields_body.htm);
  text, picklist and Id fields are strings, checkbox boolean, numbers double (int for integers),
  dates and datetimes ``long`` milliseconds since the epoch ("Date fields are in Epoch time":
  "Differences Between Change Events Received with Streaming API vs. Pub/Sub API",
  https://developer.salesforce.com/docs/atlas.en-us.api_streaming.meta/api_streaming/cdc_event_diff_pubsub_cometd.htm;
  the ``doc`` strings ``Data:DateOnly``, ``Data:DateTime``, ``ForeignKey:EntityId`` ... are the ones
  Salesforce's schemas carry);
- compound fields are nested records at the position of their first component: ``BillingAddress``
  (``Address``: Street, City, State, PostalCode, Country, Latitude, Longitude, GeocodeAccuracy) and a
  person's ``Name`` (``Name``: Salutation, FirstName, LastName) ("Get Compound Fields in Change Events",
  .../cdc_subscribe_compound_fields.htm); components the emulator does not model stay null;
- left out, as a change event leaves them out: ``Id`` (it travels in ``recordIds``), ``IsDeleted``,
  ``SystemModstamp``, and fields derived from other records or formulas such as ``LastActivityDate``
  ("StandardObjectNameChangeEvent", https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/api/sforce_api_associated_objects_change_event.htm).

Which objects have change events: the standard objects of "Change Event Object Support"
(.../cdc_object_support.htm) that the emulator models. A schema id is a short hash of the schema JSON,
so it is the same across restarts and differs when the schema differs.
"""

from __future__ import annotations

import base64
import copy
import functools
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import fastavro

from airflow_provider_sfpy.change_types import CHANGE_TYPES
from airflow_provider_sfpy.emulator.schema import SCHEMA, FieldDef, SObjectDef, lookup_sobject

NAMESPACE = "com.sforce.eventbus"
#: Standard objects Salesforce publishes change events for, among those the emulator models.
CDC_CAPABLE = (
    "Account",
    "Campaign",
    "CampaignMember",
    "Case",
    "Contact",
    "Event",
    "Lead",
    "Opportunity",
    "Pricebook2",
    "Product2",
    "Task",
    "User",
)
#: Fields no change event carries (besides compound fields' flat parts and blob bodies).
EXCLUDED_FIELDS = frozenset(
    {"Id", "IsDeleted", "SystemModstamp", "LastActivityDate", "LastViewedDate", "LastReferencedDate"}
)
_STRING_ARRAY = {"type": "array", "items": "string"}
HEADER_SCHEMA: dict[str, Any] = {
    "type": "record",
    "name": "ChangeEventHeader",
    "namespace": NAMESPACE,
    "fields": [
        {"name": "entityName", "type": "string"},
        {"name": "recordIds", "type": _STRING_ARRAY},
        {"name": "changeType", "type": {"type": "enum", "name": "ChangeType", "symbols": list(CHANGE_TYPES)}},
        {"name": "changeOrigin", "type": "string"},
        {"name": "transactionKey", "type": "string"},
        {"name": "sequenceNumber", "type": "int"},
        {"name": "commitTimestamp", "type": "long"},
        {"name": "commitNumber", "type": "long"},
        {"name": "commitUser", "type": "string"},
        {"name": "nulledFields", "type": _STRING_ARRAY},
        {"name": "diffFields", "type": _STRING_ARRAY},
        {"name": "changedFields", "type": _STRING_ARRAY},
    ],
}
#: (Avro type, doc) of each describe field type.
AVRO_TYPES: dict[str, tuple[str, str]] = {
    "id": ("string", "Data:EntityId"),
    "reference": ("string", "ForeignKey:EntityId"),
    "string": ("string", "Data:Text"),
    "textarea": ("string", "Data:StringPlusClob"),
    "email": ("string", "Data:Email"),
    "phone": ("string", "Data:Phone"),
    "url": ("string", "Data:Url"),
    "picklist": ("string", "Data:DynamicEnum"),
    "combobox": ("string", "Data:DynamicEnum"),
    "multipicklist": ("string", "Data:MultiEnum"),
    "boolean": ("boolean", "Data:Boolean"),
    "int": ("int", "Data:Integer"),
    "double": ("double", "Data:Double"),
    "currency": ("double", "Data:Currency"),
    "percent": ("double", "Data:Percent"),
    "date": ("long", "Data:DateOnly"),
    "datetime": ("long", "Data:DateTime"),
}
#: The system fields' docs name the field, as Salesforce's schemas do.
_SYSTEM_DOCS = {
    "CreatedDate": "CreatedDate:DateTime",
    "CreatedById": "CreatedBy:EntityId",
    "LastModifiedDate": "LastModifiedDate:DateTime",
    "LastModifiedById": "LastModifiedBy:EntityId",
}
_ADDRESS_PARTS = ("Street", "City", "State", "PostalCode", "Country")
#: The ``Address`` record: (component, Avro type).
ADDRESS_COMPONENTS = (
    *((part, "string") for part in _ADDRESS_PARTS),
    ("Latitude", "double"),
    ("Longitude", "double"),
    ("GeocodeAccuracy", "string"),
)
#: The ``Name`` record of people (Contact, Lead, User).
NAME_COMPONENTS = (("Salutation", "string"), ("FirstName", "string"), ("LastName", "string"))
_ADDRESS_PREFIXES = ("Billing", "Shipping", "Mailing", "Other", "")


@dataclass(frozen=True)
class Component:
    """One field of a compound field's record, and the object field that holds it (None: not modeled)."""

    name: str
    avro_type: str
    source: FieldDef | None


@dataclass(frozen=True)
class Entry:
    """One top-level field of a change event: a plain field, or a compound field with its components."""

    name: str
    field: FieldDef | None = None
    record_type: str | None = None
    components: tuple[Component, ...] = ()

    @property
    def compound(self) -> bool:
        return self.record_type is not None

    def sources(self) -> list[str]:
        """The object fields this entry reads."""
        if self.field is not None:
            return [self.field.name]
        return [c.source.name for c in self.components if c.source is not None]


@dataclass(frozen=True)
class AvroSchema:
    """A schema as topics hand it out: its JSON text, stable id, and fastavro's parsed form for encoding."""

    schema: dict[str, Any]
    schema_json: str
    schema_id: str
    parsed: Any = field(compare=False, repr=False)

    @classmethod
    def of(cls, schema: dict[str, Any]) -> AvroSchema:
        text = canonical_json(schema)
        return cls(schema, text, schema_id_of(text), parse(schema))


@dataclass(frozen=True)
class ChangeEventSchema:
    """The change event schema of one object: its entries in schema order (position = index + 1)."""

    entity: str
    entries: tuple[Entry, ...]
    avro: AvroSchema

    @property
    def channel(self) -> str:
        return channel_of(self.entity)

    def source_fields(self) -> list[str]:
        """Every object field a change event of this object reads (besides Id and IsDeleted)."""
        return [name for entry in self.entries for name in entry.sources()]


def event_name_of(entity: str) -> str:
    """``Account`` -> ``AccountChangeEvent``; ``Invoice__c`` -> ``Invoice__ChangeEvent``."""
    return entity[:-3] + "__ChangeEvent" if entity.endswith("__c") else entity + "ChangeEvent"


def channel_of(entity: str) -> str:
    return f"/data/{event_name_of(entity)}"


def schema_id_of(schema_json: str) -> str:
    """A stable 22-character id of a schema (Salesforce's ids look alike: ``Jx8Hz9ElkIUaBf-heF1ShA``)."""
    digest = hashlib.sha256(schema_json.encode()).digest()[:16]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def canonical_json(schema: Mapping[str, Any]) -> str:
    return json.dumps(schema, separators=(",", ":"))


def nullable(avro_type: Any, doc: str | None = None) -> dict[str, Any]:
    """A ``["null", type]`` field with a null default."""
    spec: dict[str, Any] = {"type": ["null", avro_type]}
    if doc:
        spec["doc"] = doc
    spec["default"] = None
    return spec


def _compound_entries(obj: SObjectDef) -> dict[str, Entry]:
    """The compound fields of ``obj``, keyed by the first component field they replace."""
    fields = {f.name: f for f in obj.fields}
    found: dict[str, Entry] = {}
    for prefix in _ADDRESS_PREFIXES:
        parts = [prefix + part for part in _ADDRESS_PARTS if prefix + part in fields]
        if parts:
            components = tuple(Component(n, t, fields.get(prefix + n)) for n, t in ADDRESS_COMPONENTS)
            found[parts[0]] = Entry(f"{prefix}Address", record_type="Address", components=components)
    if "FirstName" in fields and "LastName" in fields and "Name" in fields:
        first = next(f.name for f in obj.fields if f.name in ("Salutation", "FirstName", "LastName"))
        found[first] = Entry(
            "Name", record_type="Name", components=tuple(Component(n, t, fields.get(n)) for n, t in NAME_COMPONENTS)
        )
    return found


def _entries(obj: SObjectDef) -> tuple[Entry, ...]:
    compounds = _compound_entries(obj)
    covered = {name for entry in compounds.values() for name in entry.sources()}
    if any(entry.name == "Name" for entry in compounds.values()):
        covered.add("Name")  # the person's full name is the compound field itself
    entries: list[Entry] = []
    for f in obj.fields:
        if f.name in compounds:
            entries.append(compounds[f.name])
        elif f.name not in covered and f.name not in EXCLUDED_FIELDS and f.type in AVRO_TYPES:
            entries.append(Entry(f.name, field=f))
    return tuple(entries)


def _entry_schema(entry: Entry, defined: set[str]) -> dict[str, Any]:
    if entry.field is not None:
        avro_type, doc = AVRO_TYPES[entry.field.type]
        return {"name": entry.name, **nullable(avro_type, _SYSTEM_DOCS.get(entry.name, doc))}
    assert entry.record_type is not None
    record: Any = entry.record_type  # a named type is defined once per schema, then referred to by name
    if entry.record_type not in defined:
        defined.add(entry.record_type)
        record = {
            "type": "record",
            "name": entry.record_type,
            "fields": [{"name": c.name, **nullable(c.avro_type)} for c in entry.components],
        }
    return {"name": entry.name, **nullable(record, f"Data:{entry.record_type}")}


def _build(obj: SObjectDef) -> ChangeEventSchema:
    entries = _entries(obj)
    defined: set[str] = set()
    schema = {
        "type": "record",
        "name": event_name_of(obj.name),
        "namespace": NAMESPACE,
        "fields": [
            {"name": "ChangeEventHeader", "type": HEADER_SCHEMA, "doc": "Data:ChangeEventHeader"},
            *(_entry_schema(entry, defined) for entry in entries),
        ],
    }
    return ChangeEventSchema(obj.name, entries, AvroSchema.of(schema))


def parse(schema: Mapping[str, Any]) -> Any:
    """``schema`` parsed for fastavro (on a copy: parsing annotates the dict it is given)."""
    return fastavro.parse_schema(copy.deepcopy(dict(schema)))


@functools.cache
def change_event_schema(entity: str) -> ChangeEventSchema:
    """The change event schema of a CDC-capable object (``KeyError`` for any other)."""
    if entity not in CDC_CAPABLE:
        raise KeyError(entity)
    return _build(SCHEMA[entity])


def selected_entities(names: Iterable[str] | None) -> frozenset[str]:
    """The objects to capture: ``None`` selects every CDC-capable object; names resolve case-insensitively.

    Raises ``ValueError`` naming what is wrong for an unknown object or one without change events.
    """
    if names is None:
        return frozenset(CDC_CAPABLE)
    chosen: set[str] = set()
    for raw in names:
        name = raw.strip()
        if not name:
            continue
        obj = lookup_sobject(name)
        if obj is None:
            raise ValueError(f"no such object: {name!r} (change events are available for {', '.join(CDC_CAPABLE)})")
        if obj.name not in CDC_CAPABLE:
            raise ValueError(f"{obj.name} has no change events in Salesforce; choose among {', '.join(CDC_CAPABLE)}")
        chosen.add(obj.name)
    return frozenset(chosen)


def parse_entity_option(text: str) -> frozenset[str]:
    """``--change-events Account,Opportunity`` -> the selected objects (``ValueError`` says what is wrong)."""
    return selected_entities(text.split(","))
