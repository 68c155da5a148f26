"""One committed record change as a change event: its Avro record and payload.

What each change type carries in a Pub/Sub API change event ("Change Event Body Fields",
https://developer.salesforce.com/docs/atlas.en-us.change_data_capture.meta/change_data_capture/cdc_event_fields_body.htm):

- CREATE and UNDELETE: every field of the record (empty ones null); no changed/nulled fields;
- UPDATE: the changed fields with their new values, every other field null; ``changedFields`` lists
  the changed fields (``LastModifiedDate`` always: each save stamps it; ``LastModifiedById`` only when
  another user saved), ``nulledFields`` those set to null (a compound field whose parts all became
  null is named itself, otherwise its parts are); components of compound fields appear as
  ``BillingAddress.City`` (see ``bitmaps.py``);
- DELETE: every field null.

``diffFields`` stays empty: the emulator always sends whole values, never a text diff. One event per
record: Salesforce may merge identical changes of several records into one event with several
``recordIds``; it is never wrong not to.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import fastavro

from airflow_provider_sfpy.emulator.events.bitmaps import encode_field_bitmap
from airflow_provider_sfpy.emulator.events.schemas import ChangeEventSchema, Entry
from airflow_provider_sfpy.emulator.events.values import avro_value

CREATE, UPDATE, DELETE, UNDELETE = "CREATE", "UPDATE", "DELETE", "UNDELETE"


@dataclass(frozen=True)
class RecordChange:
    """What one committed write did to one record (``values``: stored values after it)."""

    entity: str
    change_type: str
    record_id: str
    user_id: str
    values: Mapping[str, Any] = field(default_factory=dict)
    #: UPDATE: the object fields whose values changed.
    changed: frozenset[str] = frozenset()


@dataclass(frozen=True)
class CommitInfo:
    """The header fields every event of one transaction shares."""

    transaction_key: str
    commit_timestamp: int
    commit_number: int
    commit_user: str
    change_origin: str


def _component_value(entry: Entry, index: int, change: RecordChange) -> Any:
    source = entry.components[index].source
    return None if source is None else avro_value(source.type, change.values.get(source.name))


def _full_entry(entry: Entry, change: RecordChange) -> Any:
    if entry.field is not None:
        return avro_value(entry.field.type, change.values.get(entry.field.name))
    parts = {c.name: _component_value(entry, i, change) for i, c in enumerate(entry.components)}
    return parts if any(v is not None for v in parts.values()) else None


class _UpdateBody:
    """The body and bitmaps of an UPDATE event, filled entry by entry."""

    def __init__(self, change: RecordChange) -> None:
        self.change = change
        self.changed_top: list[int] = []
        self.changed_nested: dict[int, list[int]] = {}
        self.nulled_top: list[int] = []
        self.nulled_nested: dict[int, list[int]] = {}

    def value(self, position: int, entry: Entry) -> Any:
        change = self.change
        if entry.field is not None:
            if entry.field.name not in change.changed:
                return None
            self.changed_top.append(position)
            value = avro_value(entry.field.type, change.values.get(entry.field.name))
            if value is None:
                self.nulled_top.append(position)
            return value
        touched = [
            i for i, c in enumerate(entry.components) if c.source is not None and c.source.name in change.changed
        ]
        if not touched:
            return None
        self.changed_nested[position] = touched
        parts = {c.name: None for c in entry.components}
        for i in touched:
            parts[entry.components[i].name] = _component_value(entry, i, change)
        nulled = [i for i in touched if parts[entry.components[i].name] is None]
        if nulled and _full_entry(entry, change) is None:
            self.nulled_top.append(position)  # every part is empty now: the compound field itself was nulled
            return None
        if nulled:
            self.nulled_nested[position] = nulled
        return parts


def change_event_record(
    schema: ChangeEventSchema, change: RecordChange, commit: CommitInfo, sequence: int
) -> dict[str, Any]:
    """The Avro record (a dict for fastavro) of ``change``, the ``sequence``-th change of its transaction."""
    body: dict[str, Any] = {}
    update = _UpdateBody(change) if change.change_type == UPDATE else None
    for index, entry in enumerate(schema.entries):
        if update is not None:
            body[entry.name] = update.value(index + 1, entry)
        elif change.change_type in (CREATE, UNDELETE):
            body[entry.name] = _full_entry(entry, change)
        else:
            body[entry.name] = None
    header = {
        "entityName": change.entity,
        "recordIds": [change.record_id],
        "changeType": change.change_type,
        "changeOrigin": commit.change_origin,
        "transactionKey": commit.transaction_key,
        "sequenceNumber": sequence,
        "commitTimestamp": commit.commit_timestamp,
        "commitNumber": commit.commit_number,
        "commitUser": commit.commit_user,
        "nulledFields": encode_field_bitmap(update.nulled_top, update.nulled_nested) if update else [],
        "diffFields": [],
        "changedFields": encode_field_bitmap(update.changed_top, update.changed_nested) if update else [],
    }
    return {"ChangeEventHeader": header, **body}


def avro_payload(parsed_schema: Any, record: Mapping[str, Any]) -> bytes:
    """``record`` in Avro binary encoding (no container, no schema: what ``ProducerEvent.payload`` holds)."""
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, parsed_schema, dict(record))
    return buffer.getvalue()
