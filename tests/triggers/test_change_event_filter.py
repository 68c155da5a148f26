"""The trigger's filter and payload values: which changes pass, and what reaches a trigger event (no I/O)."""

from __future__ import annotations

import datetime as dt
import decimal
import json

import pytest

from airflow_provider_sfpy.triggers.change_event_filter import ChangeEventFilter, json_safe

UPDATE = {"entityName": "Opportunity", "changeType": "UPDATE", "changedFields": ["StageName", "LastModifiedDate"]}
WON = {"StageName": "Closed Won", "LastModifiedDate": 1_760_000_000_000}


def test_a_condition_on_a_changed_field_matches_the_change_that_set_it() -> None:
    won = ChangeEventFilter.build(condition={"field": "StageName", "op": "==", "value": "Closed Won"})
    assert won.matches(UPDATE, WON)
    assert not won.matches(UPDATE, {"StageName": "Prospecting"})
    # a later edit of another field of a won Opportunity carries no StageName: it does not match again
    assert not won.matches({**UPDATE, "changedFields": ["Amount"]}, {"Amount": 10.0})


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("!=", "Closed Lost", True),
        ("in", ["Closed Won", "Closed Lost"], True),
        ("not in", ["Closed Won"], False),
        (">", "Closed", True),
        ("<=", 5, False),  # a string and a number cannot be ordered: no match, no error
    ],
)
def test_each_operator(op: str, value: object, expected: bool) -> None:
    check = ChangeEventFilter.build(condition={"field": "StageName", "op": op, "value": value})
    assert check.matches(UPDATE, WON) is expected


def test_entities_change_types_and_changed_fields_all_must_hold() -> None:
    wanted = ChangeEventFilter.build(entities=["Opportunity"], change_types=["update"], changed_fields=["StageName"])
    assert wanted.matches(UPDATE, WON)
    assert not wanted.matches({**UPDATE, "entityName": "Account"}, WON)
    assert not wanted.matches({**UPDATE, "changeType": "DELETE"}, {})
    assert not wanted.matches({**UPDATE, "changedFields": ["Amount"]}, {"Amount": 1})


def test_a_create_counts_as_changing_every_field_it_sets_compound_parts_included() -> None:
    city = ChangeEventFilter.build(changed_fields=["BillingAddress"])
    create = {"entityName": "Account", "changeType": "CREATE", "changedFields": []}
    assert city.matches(create, {"Name": "Acme", "BillingAddress": {"City": "Paris"}})
    assert not city.matches(create, {"Name": "Acme"})
    parts = ChangeEventFilter.build(condition={"field": "BillingAddress.City", "value": "Paris"})
    assert parts.matches(create, {"BillingAddress": {"City": "Paris"}})


@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        ({"change_types": ["MODIFY"]}, "MODIFY"),
        ({"condition": {"field": "StageName", "op": "~", "value": "x"}}, "'~'"),
        ({"condition": {"field": "StageName", "op": "in", "value": "Closed Won"}}, "takes a list"),
        ({"condition": {"value": "x"}}, "a condition is a dict"),
        ({"entities": []}, "entities is empty"),
    ],
)
def test_mistakes_are_refused_naming_them(arguments: dict[str, object], complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        ChangeEventFilter.build(**arguments)  # type: ignore[arg-type]


def test_values_become_plain_json() -> None:
    raw = {
        "When": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc),
        "Amount": decimal.Decimal("12.50"),
        "Blob": b"\x00\x01",
        "Nested": {"Items": ("a", 1)},
    }
    safe = json_safe(raw)
    assert json.loads(json.dumps(safe)) == {
        "When": "2026-01-02T03:04:05+00:00",
        "Amount": "12.50",
        "Blob": "AAE=",
        "Nested": {"Items": ["a", 1]},
    }
