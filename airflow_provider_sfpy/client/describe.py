"""Describe-driven lookups: the Salesforce type of a dotted field path such as ``Account.Owner.Name``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_sfpy.client.client import Client


def field_types(client: Client, object_type: str, paths: Sequence[str]) -> dict[str, str]:
    """Map each path to its describe ``type`` (``string`` when a step cannot be resolved).

    Parent steps follow the reference field whose ``relationshipName`` matches (``Account`` ->
    ``AccountId`` -> ``Account``); each object is described once.
    """
    described: dict[str, dict[str, dict[str, Any]]] = {}

    def fields_of(name: str) -> dict[str, dict[str, Any]]:
        if name not in described:
            body, _ = client.sobjects(object_type=name).describe()
            described[name] = {f["name"].lower(): f for f in body["fields"]}
        return described[name]

    types: dict[str, str] = {}
    for path in paths:
        parts = path.split(".")
        if len(parts) > 1 and parts[0].lower() == object_type.lower():
            parts = parts[1:]
        current, found = object_type, "string"
        for index, part in enumerate(parts):
            fields = fields_of(current)
            if index == len(parts) - 1:
                found = str(fields.get(part.lower(), {}).get("type", "string"))
                break
            relation = next(
                (f for f in fields.values() if (f.get("relationshipName") or "").lower() == part.lower()), None
            )
            if relation is None or not relation.get("referenceTo"):
                break
            current = relation["referenceTo"][0]
        types[path] = found
    return types
