"""Flattening Salesforce records into rows of values, following dotted field paths."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

Getter = Callable[[dict[str, Any]], Any]


def _key_lookup(record: dict[str, Any], name: str) -> Any:
    """Field names are case-insensitive in SOQL, but keys in the JSON use the canonical case."""
    if name in record:
        return record[name]
    lowered = name.lower()
    for key, value in record.items():
        if key.lower() == lowered:
            return value
    return None


def make_getter(path: str) -> Getter:
    """A fast accessor for ``Name`` or ``Account.Owner.Name`` (None when any parent is null)."""
    parts = path.split(".")
    if len(parts) == 1:
        name = parts[0]
        return lambda record: record[name] if name in record else _key_lookup(record, name)

    def nested(record: dict[str, Any]) -> Any:
        value: Any = record
        for part in parts:
            if not isinstance(value, dict):
                return None
            value = value[part] if part in value else _key_lookup(value, part)
        return value

    return nested


def make_row_builder(paths: Sequence[str]) -> Callable[[dict[str, Any]], list[Any]]:
    getters = [make_getter(path) for path in paths]
    return lambda record: [getter(record) for getter in getters]


def csv_value(value: Any) -> Any:
    """How a JSON value is written to CSV: empty for null, true/false as Salesforce writes them."""
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return value


def strip_attributes(record: dict[str, Any]) -> dict[str, Any]:
    """The record without Salesforce's ``attributes`` entries, at every level."""
    return {
        key: strip_attributes(value) if isinstance(value, dict) else value
        for key, value in record.items()
        if key != "attributes"
    }
