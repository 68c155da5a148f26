"""Flattening Salesforce records into rows of values, following dotted field paths."""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Mapping, Sequence
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


def make_row_builder(paths: Sequence[str]) -> Callable[[dict[str, Any]], Sequence[Any]]:
    """A function from a record to its row of values, in ``paths`` order.

    When every path is a plain field, the first record tells each field's exact key (SOQL is
    case-insensitive, the JSON keys are canonical) and rows are then built by ``operator.itemgetter``
    in C; a record whose keys differ falls back to the general lookup.
    """
    getters = [make_getter(path) for path in paths]

    def general(record: dict[str, Any]) -> list[Any]:
        return [getter(record) for getter in getters]

    if any("." in path for path in paths):
        return general
    fast: Callable[[dict[str, Any]], Any] | None = None

    def build(record: dict[str, Any]) -> Sequence[Any]:
        nonlocal fast
        if fast is None:
            keys = [resolve_key(record, path) for path in paths]
            if None in keys:
                return general(record)
            getter = operator.itemgetter(*keys)
            fast = getter if len(keys) > 1 else (lambda record: (getter(record),))
        try:
            return fast(record)
        except KeyError:
            return general(record)

    return build


def resolve_key(record: Mapping[str, Any], name: str) -> str | None:
    """The record's own key for the SOQL field ``name`` (exact match first, then case-insensitive)."""
    if name in record:
        return name
    lowered = name.lower()
    return next((key for key in record if key.lower() == lowered), None)


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
