"""Decoding Pub/Sub API change events: bitmaps to field names, compound fields, values, Avro round trips.

The bitmaps are Salesforce's documented example (``['0x650004E0', '4-0x10', '7-0x06']``, "Event
Deserialization Considerations") over a hand-built schema shaped like a CDC schema: ``ChangeEventHeader``
at position 0, a compound address defined inline at position 4 and referred to by name at position 7.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_sfpy.client.pubsub import Schema, decode_change_event, expand_bitmap_fields
from airflow_provider_sfpy.client.pubsub.change_events import bits_set

ADDRESS = {
    "type": "record",
    "name": "Address",
    "fields": [
        {"name": name, "type": ["null", "string"], "default": None}
        for name in ("Street", "City", "State", "PostalCode", "Country")
    ],
}
PERSON_NAME = {
    "type": "record",
    "name": "Switchable_PersonName",
    "fields": [{"name": name, "type": ["null", "string"], "default": None} for name in ("FirstName", "LastName")],
}
HEADER = {
    "type": "record",
    "name": "ChangeEventHeader",
    "fields": [
        {"name": "entityName", "type": "string"},
        {"name": "recordIds", "type": {"type": "array", "items": "string"}},
        {
            "name": "changeType",
            "type": {"type": "enum", "name": "ChangeType", "symbols": ["CREATE", "UPDATE", "DELETE", "UNDELETE"]},
        },
        {"name": "changeOrigin", "type": "string"},
        {"name": "transactionKey", "type": "string"},
        {"name": "sequenceNumber", "type": "int"},
        {"name": "commitTimestamp", "type": "long"},
        {"name": "commitNumber", "type": "long"},
        {"name": "commitUser", "type": "string"},
        {"name": "nulledFields", "type": {"type": "array", "items": "string"}},
        {"name": "diffFields", "type": {"type": "array", "items": "string"}},
        {"name": "changedFields", "type": {"type": "array", "items": "string"}},
    ],
}


def field_at(position: int) -> dict[str, Any]:
    special: dict[int, dict[str, Any]] = {
        0: {"name": "ChangeEventHeader", "type": HEADER},
        1: {"name": "Name", "type": ["null", "string", PERSON_NAME], "default": None},
        4: {"name": "BillingAddress", "type": ["null", ADDRESS], "default": None},
        7: {"name": "ShippingAddress", "type": ["null", "Address"], "default": None},
        8: {"name": "AnnualRevenue", "type": ["null", "double"], "default": None},
    }
    return special.get(position, {"name": f"Field{position}__c", "type": ["null", "string"], "default": None})


SCHEMA_JSON = json.dumps(
    {
        "type": "record",
        "name": "AccountChangeEvent",
        "namespace": "com.sforce.eventbus",
        "fields": [field_at(position) for position in range(32)],
    }
)


@pytest.fixture(scope="module")
def schema() -> Schema:
    return Schema.from_json("account-schema-1", SCHEMA_JSON)


def test_bits_are_counted_from_the_least_significant_bit_of_the_whole_number() -> None:
    # 0x650004E0: E0 -> bits 5, 6, 7; 04 in the second byte -> bit 10; 65 in the top byte -> 24, 26, 29, 30.
    assert bits_set("0x650004E0") == [5, 6, 7, 10, 24, 26, 29, 30]
    assert bits_set("0x01") == [0]
    assert bits_set("0x0") == []


def test_documented_example_expands_to_top_level_and_compound_field_names(schema: Schema) -> None:
    names = expand_bitmap_fields(["0x650004E0", "4-0x10", "7-0x06"], schema)

    assert names == [
        "Field5__c",
        "Field6__c",
        "ShippingAddress",
        "Field10__c",
        "Field24__c",
        "Field26__c",
        "Field29__c",
        "Field30__c",
        "BillingAddress.Country",  # the inline Address record: its fifth field
        "ShippingAddress.City",  # the record referred to by name ("Address"): its second and third
        "ShippingAddress.State",
    ]


def test_a_compound_field_in_a_three_way_union_is_found(schema: Schema) -> None:
    assert expand_bitmap_fields(["0x02", "1-0x03"], schema) == ["Name", "Name.FirstName", "Name.LastName"]


def test_empty_bitmaps_and_plain_field_names_pass_through(schema: Schema) -> None:
    assert expand_bitmap_fields([], schema) == []
    assert expand_bitmap_fields(["Name", "LastModifiedDate"], schema) == ["Name", "LastModifiedDate"]


@pytest.mark.parametrize(
    ("entries", "complaint"),
    [
        (["0x100000000"], "names field 32, but the schema has 32 fields"),
        (["8-0x01"], "AnnualRevenue, which is not a compound field"),
        (["4-0x20"], "names field 5, but the schema has 5 fields"),
    ],
)
def test_a_bitmap_that_does_not_fit_the_schema_is_refused(schema: Schema, entries: list[str], complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        expand_bitmap_fields(entries, schema)


def header(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "entityName": "Account",
        "recordIds": ["001000000000001AAA"],
        "changeType": "UPDATE",
        "changeOrigin": "com/salesforce/api/rest/60.0",
        "transactionKey": "0002a1b2-c3d4-e5f6-0718-293a4b5c6d7e",
        "sequenceNumber": 1,
        "commitTimestamp": 1_700_000_000_123,
        "commitNumber": 10_970_000_000_001,
        "commitUser": "005000000000001AAA",
        "nulledFields": [],
        "diffFields": [],
        "changedFields": [],
    }
    values.update(overrides)
    return values


def test_an_update_event_survives_an_avro_round_trip_and_decodes_to_names_and_values(schema: Schema) -> None:
    record = {
        "ChangeEventHeader": header(changedFields=["0x0120", "4-0x02"], nulledFields=["0x20"]),
        "Field5__c": None,  # nulled: null in the body, named in nulledFields
        "AnnualRevenue": 1250.5,
        "BillingAddress": {"Street": None, "City": "Lyon", "State": None, "PostalCode": None, "Country": None},
    }

    decoded_record = schema.decode(schema.encode(record))
    change = decode_change_event(decoded_record, schema)

    assert decoded_record["ChangeEventHeader"]["changeType"] == "UPDATE"
    assert change.entity_name == "Account"
    assert change.record_ids == ["001000000000001AAA"]
    assert change.change_type == "UPDATE"
    assert change.commit_timestamp == 1_700_000_000_123
    assert change.changed_fields == ["Field5__c", "AnnualRevenue", "BillingAddress.City"]
    assert change.nulled_fields == ["Field5__c"]
    assert change.diff_fields == []
    # Unchanged and nulled fields are null in the body: only the new values remain; compounds keep set members.
    assert change.values == {"AnnualRevenue": 1250.5, "BillingAddress": {"City": "Lyon"}}
    assert change.header()["changedFields"] == ["Field5__c", "AnnualRevenue", "BillingAddress.City"]
    assert change.header()["entityName"] == "Account"
    assert "values" not in change.header()
    json.dumps(change.header())  # JSON-friendly, as a trigger event payload must be


def test_a_record_without_a_change_event_header_is_not_a_change_event(schema: Schema) -> None:
    with pytest.raises(ValueError, match="not a change event"):
        decode_change_event({"Order_Number__c": "A-1"}, schema)


def test_encoding_a_record_that_does_not_fit_says_which_field(schema: Schema) -> None:
    with pytest.raises(ValueError, match="AnnualRevenue"):
        schema.encode({"ChangeEventHeader": header(), "AnnualRevenue": "a lot"})


def test_fields_with_defaults_may_be_left_out_when_encoding(schema: Schema) -> None:
    decoded = schema.decode(schema.encode({"ChangeEventHeader": header(changeType="CREATE")}))
    assert decoded["Name"] is None and decoded["BillingAddress"] is None
