"""Change Data Capture in the emulator: every committed change becomes a change event on the org's bus.

Events are read straight from ``store.event_bus`` and decoded with the schema their topic hands out;
the bitmap fields are decoded by ``decode_bitmap`` below, written from the documented algorithm
("Event Deserialization Considerations"), independently of the emulator's encoder.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import fastavro
import pytest
from emulator_api import Api

from airflow_provider_sfpy.emulator.events.schemas import selected_entities
from airflow_provider_sfpy.emulator.events.topics import schema_json
from airflow_provider_sfpy.emulator.sample_data import ensure_admin
from airflow_provider_sfpy.emulator.schema import SCHEMA
from airflow_provider_sfpy.emulator.store import Store
from airflow_provider_sfpy.emulator.testing import RunningEmulator, start_emulator

ALL = "/data/ChangeEvents"


@pytest.fixture(scope="module")
def cdc_emulator() -> Iterator[RunningEmulator]:
    """An emulator of its own capturing every CDC-capable object (the session's one stays capture-free)."""
    with start_emulator(sample_data=False) as running:
        running.store.change_events = selected_entities(None)
        yield running


@pytest.fixture
def api(cdc_emulator: RunningEmulator) -> Api:
    return Api(cdc_emulator)


def decode_bitmap(schema: dict[str, Any], bitmap_fields: list[str]) -> set[str]:
    """Field names of a bitmap field: the first element's bits are top-level schema positions (bit n =
    field n, least significant first); ``"<pos>-0x<hex>"`` counts the fields of field <pos>'s nested record."""
    records = {
        f["type"][1]["name"]: f["type"][1]
        for f in schema["fields"]
        if isinstance(f["type"], list) and isinstance(f["type"][1], dict)
    }
    names: set[str] = set()
    for item in bitmap_fields:
        parent, _, bits = item.rpartition("-")
        number = int(bits, 16)
        if parent:
            field = schema["fields"][int(parent)]
            nested = field["type"][1]
            nested = records[nested] if isinstance(nested, str) else nested
            fields = [f"{field['name']}.{f['name']}" for f in nested["fields"]]
        else:
            fields = [f["name"] for f in schema["fields"]]
        names |= {name for position, name in enumerate(fields) if number >> position & 1}
    return names


class Events:
    """The events appended to a store's bus since construction, decoded."""

    def __init__(self, store: Store) -> None:
        self.bus = store.event_bus
        self.after = self.bus.latest_position()

    def read(self, channel: str = ALL) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """(record, schema) per event, oldest first."""
        decoded = []
        for event in self.bus.read(channel, self.after, 1000):
            schema = json.loads(schema_json(event.schema_id) or "null")
            record: dict[str, Any] = fastavro.schemaless_reader(  # type: ignore[assignment]
                io.BytesIO(event.payload), fastavro.parse_schema(schema)
            )
            decoded.append((record, schema))
        return decoded


def test_rest_create_update_delete_publish_one_event_each_with_header_values_and_bitmaps(
    api: Api, cdc_emulator: RunningEmulator
) -> None:
    events = Events(cdc_emulator.store)
    admin_id = cdc_emulator.store.user_by_username(cdc_emulator.username)["Id"]  # type: ignore[index]
    account_id = api.create("Account", {"Name": "Acme", "BillingCity": "Paris", "AnnualRevenue": 5})
    assert api.patch(f"/sobjects/Account/{account_id}", json={"Name": "Acme 2", "BillingCity": None}).status_code == 204
    assert api.delete(f"/sobjects/Account/{account_id}").status_code == 204

    (created, schema), (updated, _), (deleted, _) = events.read()
    assert [e["ChangeEventHeader"]["changeType"] for e in (created, updated, deleted)] == ["CREATE", "UPDATE", "DELETE"]
    header = created["ChangeEventHeader"]
    assert header["entityName"] == "Account" and header["recordIds"] == [account_id]
    assert header["changeOrigin"] == "com/salesforce/api/rest/62.0"
    assert header["commitUser"] == admin_id and header["sequenceNumber"] == 1
    assert header["changedFields"] == header["nulledFields"] == header["diffFields"] == []
    assert (
        created["Name"] == "Acme" and created["AnnualRevenue"] == 5.0 and created["BillingAddress"]["City"] == "Paris"
    )
    assert isinstance(created["CreatedDate"], int) and created["OwnerId"] == admin_id
    assert schema["name"] == "AccountChangeEvent" and schema["fields"][0]["name"] == "ChangeEventHeader"
    assert not {"Id", "IsDeleted", "SystemModstamp", "BillingCity"} & {f["name"] for f in schema["fields"]}

    update_header = updated["ChangeEventHeader"]
    assert decode_bitmap(schema, update_header["changedFields"]) == {"Name", "LastModifiedDate", "BillingAddress.City"}
    assert decode_bitmap(schema, update_header["nulledFields"]) == {"BillingAddress"}  # its only part emptied
    assert updated["Name"] == "Acme 2" and updated["AnnualRevenue"] is None and updated["CreatedDate"] is None
    assert len({e["ChangeEventHeader"]["transactionKey"] for e in (created, updated, deleted)}) == 3
    numbers = [e["ChangeEventHeader"]["commitNumber"] for e in (created, updated, deleted)]
    assert numbers == sorted(set(numbers))
    assert all(value is None for name, value in deleted.items() if name != "ChangeEventHeader")
    assert [r["ChangeEventHeader"]["recordIds"] for r, _ in events.read("/data/AccountChangeEvent")] == [
        [account_id]
    ] * 3


def test_a_partly_emptied_compound_field_names_its_parts(api: Api, cdc_emulator: RunningEmulator) -> None:
    lead_id = api.create("Lead", {"LastName": "Doe", "FirstName": "Jo", "Company": "Acme", "City": "Oslo"})
    events = Events(cdc_emulator.store)
    api.patch(f"/sobjects/Lead/{lead_id}", json={"FirstName": None, "City": "Bergen"})
    [(updated, schema)] = events.read()
    header = updated["ChangeEventHeader"]
    assert decode_bitmap(schema, header["changedFields"]) == {"Name.FirstName", "Address.City", "LastModifiedDate"}
    assert decode_bitmap(schema, header["nulledFields"]) == {"Name.FirstName"}
    assert updated["Name"] == {"Salutation": None, "FirstName": None, "LastName": None}
    assert updated["Address"]["City"] == "Bergen" and updated["Address"]["Street"] is None


def test_a_failed_all_or_none_collection_publishes_nothing(api: Api, cdc_emulator: RunningEmulator) -> None:
    events = Events(cdc_emulator.store)
    records = [{"attributes": {"type": "Account"}, "Name": "Kept?"}, {"attributes": {"type": "Account"}}]
    response = api.post("/composite/sobjects", json={"allOrNone": True, "records": records})
    assert response.status_code == 200 and not any(r["success"] for r in response.json())
    assert events.read() == []
    response = api.post("/composite/sobjects", json={"allOrNone": False, "records": records})
    assert [r["success"] for r in response.json()] == [True, False]
    [(created, _)] = events.read()
    assert created["Name"] == "Kept?" and created["ChangeEventHeader"]["changeType"] == "CREATE"


def test_an_apex_run_publishes_one_transaction_when_it_succeeds_and_nothing_when_it_fails(
    api: Api, cdc_emulator: RunningEmulator
) -> None:
    events = Events(cdc_emulator.store)
    ok = "insert new Account(Name='Apex 1'); insert new Contact(LastName='Apex 2');"
    assert api.get("/tooling/executeAnonymous/", params={"anonymousBody": ok}).json()["success"]
    (first, _), (second, _) = events.read()
    assert (first["Name"], second["Name"]["LastName"]) == ("Apex 1", "Apex 2")
    headers = [first["ChangeEventHeader"], second["ChangeEventHeader"]]
    assert headers[0]["transactionKey"] == headers[1]["transactionKey"]
    assert [h["sequenceNumber"] for h in headers] == [1, 2]

    events = Events(cdc_emulator.store)
    failing = "insert new Account(Name='Undone'); Integer x = null; x = x + 1;"
    assert not api.get("/tooling/executeAnonymous/", params={"anonymousBody": failing}).json()["success"]
    assert api.query("SELECT Id FROM Account WHERE Name = 'Undone'")["totalSize"] == 0
    assert events.read() == []


def test_bulk_batches_soft_and_hard_deletes_and_undeletes(cdc_emulator: RunningEmulator) -> None:
    store = cdc_emulator.store
    admin_id = store.user_by_username(cdc_emulator.username)["Id"]  # type: ignore[index]
    account = SCHEMA["Account"]
    events = Events(store)
    outcomes = store.create_many(account, [{"Name": "B1"}, {}, {"Name": "B2"}], admin_id)  # what Bulk ingest runs
    assert [isinstance(o, str) for o in outcomes] == [True, False, True]
    created = events.read()
    assert [r["Name"] for r, _ in created] == ["B1", "B2"]
    assert len({r["ChangeEventHeader"]["transactionKey"] for r, _ in created}) == 1

    events = Events(store)
    store.hard_delete(account, str(outcomes[0]), admin_id)  # soft delete, then the row goes: one DELETE
    store.delete(account, str(outcomes[2]), admin_id)
    with store.transaction():  # an undelete (no API of the emulator undeletes yet)
        store._conn.execute('UPDATE "Account" SET IsDeleted = 0 WHERE Id = ?', (outcomes[2],))
    types = [
        (r["ChangeEventHeader"]["changeType"], r["ChangeEventHeader"]["recordIds"][0], r["Name"])
        for r, _ in events.read()
    ]
    assert types == [("DELETE", outcomes[0], None), ("DELETE", outcomes[2], None), ("UNDELETE", outcomes[2], "B2")]


def test_capture_is_off_by_default_and_costs_no_trigger() -> None:
    store = Store()
    try:
        assert store.change_events is None
        store.create(SCHEMA["Account"], {"Name": "Quiet"}, ensure_admin(store, "quiet@sfpy.example"))
        assert store.event_bus.latest_position() == 0
        temp = "SELECT count(*) FROM sqlite_temp_master WHERE type = 'trigger'"
        store.change_events = ["account"]
        assert store.change_events == frozenset({"Account"}) and store.scalar(temp) == 3
        store.change_events = None
        assert store.scalar(temp) == 0
    finally:
        store.close()


def test_unknown_or_non_cdc_objects_are_refused_with_what_to_choose() -> None:
    with pytest.raises(ValueError, match="no such object: 'Acount'"):
        selected_entities(["Acount"])
    with pytest.raises(ValueError, match="Organization has no change events"):
        selected_entities(["Organization"])
