"""Platform events in the emulator: published over REST onto the org's bus, described, never queried;
and the Pub/Sub topics (names, schemas, publish validation) the gRPC server resolves through ``topics``."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from typing import Any

import fastavro
from emulator_api import Api

from airflow_provider_sfpy.emulator.events.topics import resolve_topic, schema_json, validate_publish
from airflow_provider_sfpy.emulator.testing import RunningEmulator

ORDERS = "/event/Order_Placed__e"


def _encode(schema_text: str, record: dict[str, object]) -> bytes:
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, fastavro.parse_schema(json.loads(schema_text)), record)
    return buffer.getvalue()


def test_rest_publish_answers_enqueued_and_puts_the_event_on_its_channel(api: Api, emulator: RunningEmulator) -> None:
    bus = emulator.store.event_bus
    after = bus.latest_position()
    response = api.post("/sobjects/Order_Placed__e", json={"Order_Number__c": "ORD-7", "Amount__c": 99.5})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["id"].startswith("e00") and len(body["id"]) == 18 and body["success"] is True
    [status] = body["errors"]
    assert status["statusCode"] == "OPERATION_ENQUEUED" and status["fields"] == []

    [event] = bus.read(ORDERS, after, 10)
    topic = resolve_topic(ORDERS)
    assert topic is not None and event.schema_id == topic.schema_id and event.event_uuid == status["message"]
    schema = fastavro.parse_schema(json.loads(topic.schema_json))
    record: dict[str, Any] = fastavro.schemaless_reader(io.BytesIO(event.payload), schema)  # type: ignore[assignment]
    user_id = emulator.store.user_by_username(emulator.username)["Id"]  # type: ignore[index]
    assert record["Order_Number__c"] == "ORD-7" and record["Amount__c"] == 99.5 and record["Status__c"] is None
    assert record["CreatedById"] == user_id and record["EventUuid"] == status["message"]
    assert isinstance(record["CreatedDate"], int) and record["CreatedDate"] > 1_600_000_000_000


def test_rest_publish_refuses_unknown_read_only_and_mistyped_fields(api: Api) -> None:
    unknown = api.post("/sobjects/Order_Placed__e", json={"Order_Nr__c": "x"})
    assert unknown.status_code == 400 and api.error(unknown)["errorCode"] == "INVALID_FIELD"
    read_only = api.post("/sobjects/Order_Placed__e", json={"EventUuid": "mine"})
    assert read_only.status_code == 400 and api.error(read_only)["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    mistyped = api.post("/sobjects/Order_Placed__e", json={"Amount__c": "lots"})
    assert mistyped.status_code == 400 and api.error(mistyped)["errorCode"] == "JSON_PARSER_ERROR"


def test_describe_shows_a_createable_event_that_cannot_be_queried(api: Api) -> None:
    described = api.get("/sobjects/Order_Placed__e/describe").json()
    assert described["name"] == "Order_Placed__e" and described["keyPrefix"] == "e00"
    assert described["createable"] and not described["queryable"] and not described["updateable"]
    fields = {f["name"]: f for f in described["fields"]}
    assert {"ReplayId", "EventUuid", "CreatedDate", "CreatedById", "Order_Number__c", "Amount__c"} <= set(fields)
    assert fields["Amount__c"]["type"] == "double" and not fields["CreatedDate"]["createable"]
    assert api.get("/sobjects/Order_Placed__e").json()["objectDescribe"]["queryable"] is False


def test_topics_resolve_change_event_channels_and_platform_events() -> None:
    account = resolve_topic("/data/AccountChangeEvent")
    everything = resolve_topic("/data/ChangeEvents")
    orders = resolve_topic(ORDERS)
    assert account is not None and everything is not None and orders is not None
    assert (account.can_publish, account.can_subscribe, orders.can_publish) == (False, True, True)
    assert everything.schema_id == account.schema_id
    assert json.loads(account.schema_json)["name"] == "AccountChangeEvent"
    assert schema_json(orders.schema_id) == orders.schema_json and schema_json("nope") is None
    assert resolve_topic("/data/OrganizationChangeEvent") is None and resolve_topic("/event/Nope__e") is None
    assert resolve_topic("/data/OpportunityChangeEvent") is not None


def test_schema_ids_are_the_same_in_another_process_and_differ_between_schemas() -> None:
    code = (
        "from airflow_provider_sfpy.emulator.events.topics import resolve_topic as r;"
        "print(r('/data/AccountChangeEvent').schema_id, r('/event/Order_Placed__e').schema_id)"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    account, orders = resolve_topic("/data/AccountChangeEvent"), resolve_topic(ORDERS)
    assert account is not None and orders is not None
    assert output == [account.schema_id, orders.schema_id] and account.schema_id != orders.schema_id


def test_validate_publish_accepts_a_well_formed_event_and_says_what_is_wrong_otherwise() -> None:
    orders, account = resolve_topic(ORDERS), resolve_topic("/data/AccountChangeEvent")
    assert orders is not None and account is not None
    good = _encode(orders.schema_json, {"CreatedDate": 1, "CreatedById": "005000000000000AAA", "Status__c": "New"})
    assert validate_publish(orders, orders.schema_id, good) is None
    assert "only platform event topics" in (validate_publish(account, account.schema_id, good) or "")
    assert "GetTopic" in (validate_publish(orders, account.schema_id, good) or "")
    assert "can't be decoded" in (validate_publish(orders, orders.schema_id, good[:3]) or "")
    assert "after the event" in (validate_publish(orders, orders.schema_id, good + b"\x00") or "")


def test_collections_create_publishes_platform_events_beside_records(api: Api, emulator: RunningEmulator) -> None:
    bus = emulator.store.event_bus
    after = bus.latest_position()
    response = api.post(
        "/composite/sobjects",
        json={
            "allOrNone": False,
            "records": [
                {"attributes": {"type": "Order_Placed__e"}, "Order_Number__c": "ORD-C1", "Amount__c": 10.0},
                {"attributes": {"type": "Order_Placed__e"}, "Order_Number__c": "ORD-C2"},
                {"attributes": {"type": "Order_Placed__e"}, "Amount__c": "not a number"},
            ],
        },
    )
    assert response.status_code == 200, response.text
    first, second, bad = response.json()
    assert first["success"] and second["success"] and first["id"].startswith("e00") and first["id"] != second["id"]
    assert not bad["success"] and bad["errors"][0]["statusCode"] == "JSON_PARSER_ERROR"
    topic = resolve_topic(ORDERS)
    assert topic is not None
    schema = fastavro.parse_schema(json.loads(topic.schema_json))
    decoded = [fastavro.schemaless_reader(io.BytesIO(e.payload), schema) for e in bus.read(ORDERS, after, 10)]
    assert [record["Order_Number__c"] for record in decoded] == ["ORD-C1", "ORD-C2"]  # type: ignore[index,call-overload]
    refused = api.get("/query", params={"q": "SELECT Id FROM Order_Placed__e"})
    assert refused.status_code == 400 and api.error(refused)["errorCode"] == "INVALID_TYPE_FOR_OPERATION"
