"""Change Data Capture events as the Pub/Sub API delivers them, decoded into field names and values.

Over the Pub/Sub API, ``ChangeEventHeader.changedFields``, ``nulledFields`` and ``diffFields`` are not
field names but bitmaps ("Event Deserialization Considerations",
developer.salesforce.com/docs/platform/pub-sub-api/guide/event-deserialization-considerations.html; the
algorithm is shown by Salesforce's ``ChangeEventHeaderUtility.py`` in github.com/forcedotcom/pub-sub-api):

- the list's entry that starts with ``0x`` is a hexadecimal number whose bit *i* (counting from the
  least significant bit) stands for the *i*-th field of the event's Avro schema, in schema order;
- an entry ``"<i>-0x<hex>"`` is the same for the fields of the compound field (an address, a name) at
  top-level position *i*, reported as ``"BillingAddress.City"``.

For example ``['0x650004E0', '4-0x10', '7-0x06']`` names top-level fields 5, 6, 7, 10, 24, 26, 29, 30,
the fifth field of the compound at position 4 and the second and third of the one at position 7.

The event body carries every field, but in an update only the changed ones have values (unchanged and
nulled fields are null; "Change Event Body Fields", Change Data Capture Developer Guide), so ``values``
(every non-null body field) is the record's new data for a create and the changed data for an update.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from airflow_provider_sfpy.client.pubsub.schema import Schema

HEADER_FIELD = "ChangeEventHeader"
BITMAP_FIELDS = ("changedFields", "nulledFields", "diffFields")


@dataclass(frozen=True)
class ChangeEvent:
    """One change event: its header (bitmaps expanded to field names) and the values it carries."""

    entity_name: str
    record_ids: list[str]
    change_type: str
    change_origin: str
    transaction_key: str
    sequence_number: int
    commit_timestamp: int
    commit_number: int
    commit_user: str
    changed_fields: list[str] = field(default_factory=list)
    nulled_fields: list[str] = field(default_factory=list)
    diff_fields: list[str] = field(default_factory=list)
    #: Non-null body fields by name; a compound field's value is a dict of its non-null members.
    values: dict[str, Any] = field(default_factory=dict)

    def header(self) -> dict[str, Any]:
        """The header with Salesforce's names (``entityName``, ``changedFields``...), JSON-friendly."""
        return {_camel(name): value for name, value in asdict(self).items() if name != "values"}


def _camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(part.title() for part in rest)


def bits_set(hex_bitmap: str) -> list[int]:
    """The positions of the bits set in a ``0x``-prefixed hexadecimal bitmap, lowest first."""
    number = int(hex_bitmap, 16)
    return [position for position in range(number.bit_length()) if number >> position & 1]


def _names_at(fields: Sequence[Mapping[str, Any]], positions: list[int], bitmap: str) -> list[str]:
    if positions and positions[-1] >= len(fields):
        raise ValueError(f"bitmap {bitmap} names field {positions[-1]}, but the schema has {len(fields)} fields")
    return [str(fields[position]["name"]) for position in positions]


def expand_bitmap_fields(entries: Sequence[str], schema: Schema) -> list[str]:
    """Field names for one bitmap field of a ``ChangeEventHeader`` (see the module's docstring).

    Entries that are already field names (as the Streaming API sends them) are kept as they are.
    """
    top_level = schema.fields
    names: list[str] = []
    for entry in entries:
        if entry.lower().startswith("0x"):
            names += _names_at(top_level, bits_set(entry), entry)
            continue
        parent, separator, bitmap = entry.partition("-")
        if not (separator and parent.isdigit() and bitmap.lower().startswith("0x")):
            names.append(entry)
            continue
        (parent_name,) = _names_at(top_level, [int(parent)], entry)
        compound = schema.record_type(top_level[int(parent)]["type"])
        if compound is None:
            raise ValueError(f"bitmap {entry} names the members of {parent_name}, which is not a compound field")
        members = _names_at(compound.get("fields", ()), bits_set(bitmap), entry)
        names += [f"{parent_name}.{member}" for member in members]
    return names


def _present(value: Any) -> Any:
    """``value`` without null members (compound fields arrive with every member, most of them null)."""
    if isinstance(value, Mapping):
        return {key: _present(item) for key, item in value.items() if item is not None}
    return value


def decode_change_event(record: Mapping[str, Any], schema: Schema) -> ChangeEvent:
    """A decoded change event from an event's Avro record and the schema it was written with.

    ``ValueError`` if the record has no ``ChangeEventHeader`` (it is not a change event) or a bitmap does
    not fit the schema.
    """
    header = record.get(HEADER_FIELD)
    if not isinstance(header, Mapping):
        raise ValueError(f"not a change event: the record of schema {schema.name!r} has no {HEADER_FIELD}")
    expanded = {name: expand_bitmap_fields(header.get(name) or (), schema) for name in BITMAP_FIELDS}
    return ChangeEvent(
        entity_name=header["entityName"],
        record_ids=list(header.get("recordIds") or ()),
        change_type=str(header["changeType"]),
        change_origin=header.get("changeOrigin") or "",
        transaction_key=header.get("transactionKey") or "",
        sequence_number=int(header.get("sequenceNumber") or 0),
        commit_timestamp=int(header.get("commitTimestamp") or 0),
        commit_number=int(header.get("commitNumber") or 0),
        commit_user=header.get("commitUser") or "",
        changed_fields=expanded["changedFields"],
        nulled_fields=expanded["nulledFields"],
        diff_fields=expanded["diffFields"],
        values={name: _present(value) for name, value in record.items() if name != HEADER_FIELD and value is not None},
    )
