"""Avro schemas of Pub/Sub API events, and the encoding of their payloads (fastavro).

Event payloads are Avro binary without a header; ``schema_id`` names the writer's schema, which
``GetSchema`` returns as JSON ("Event Deserialization Considerations",
developer.salesforce.com/docs/platform/pub-sub-api/guide/event-deserialization-considerations.html).
Compound fields (addresses, names) are Avro records inside a union with ``null`` (and sometimes ``string``);
an Avro schema defines such a record once and refers to it by name afterwards, so the named types are kept.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import fastavro
from fastavro.validation import ValidationError, validate


@dataclass(frozen=True)
class Schema:
    """One event schema: its id, its JSON as Salesforce sent it, and the parsed form fastavro reads with."""

    schema_id: str
    json: str = field(repr=False)
    parsed: Any = field(repr=False, compare=False)
    #: Every named type of the schema by full name (``com.sforce.eventbus.Address``), to resolve references.
    named: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, schema_id: str, schema_json: str) -> Schema:
        named: dict[str, Any] = {}
        parsed = fastavro.parse_schema(json.loads(schema_json), named)
        return cls(schema_id=schema_id, json=schema_json, parsed=parsed, named=named)

    @property
    def name(self) -> str:
        return str(self.parsed.get("name", ""))

    @property
    def fields(self) -> list[Mapping[str, Any]]:
        """The top-level fields in schema order (the order bitmap positions count in)."""
        return list(self.parsed.get("fields", ()))

    def record_type(self, avro_type: Any) -> Mapping[str, Any] | None:
        """The record a field's type holds: the type itself, a named reference to one, or the record
        branch of a union such as ``["null", Address]`` or ``["null", "string", Switchable_PersonName]``."""
        if isinstance(avro_type, str):
            avro_type = self.named.get(avro_type, avro_type)
        if isinstance(avro_type, list):
            for branch in avro_type:
                record = self.record_type(branch)
                if record is not None:
                    return record
            return None
        if isinstance(avro_type, Mapping) and avro_type.get("type") == "record":
            return avro_type
        return None

    def decode(self, payload: bytes) -> dict[str, Any]:
        record = fastavro.schemaless_reader(io.BytesIO(payload), self.parsed, None)
        if not isinstance(record, dict):
            raise ValueError(f"schema {self.schema_id} does not describe a record")
        return record

    def encode(self, record: Mapping[str, Any]) -> bytes:
        """``record`` as Avro binary; ``ValueError`` says which field does not fit (fields the schema
        gives a default may be left out)."""
        try:
            validate(dict(record), self.parsed, raise_errors=True)
        except ValidationError as error:
            raise ValueError("; ".join(str(problem) for problem in error.errors)) from None
        buffer = io.BytesIO()
        fastavro.schemaless_writer(buffer, self.parsed, dict(record))
        return buffer.getvalue()
