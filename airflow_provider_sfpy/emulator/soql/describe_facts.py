"""What describe says about fields and relationships, read by the compiler so the two never disagree.

Salesforce documents the SOQL rules in terms of describe: a field may appear in ``GROUP BY`` when its
describe says ``groupable``, in an aggregate function when it says ``aggregatable``, and a child
relationship subquery names one of the parent's ``childRelationships``. So the compiler asks the
emulator's own describe instead of keeping a second copy of those rules.

References:
- Considerations for GROUP BY ("groupable" attribute):
  https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_group_by_considerations.htm
- Using Relationship Queries (child relationship names):
  https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_relationships_query_using.htm
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from ..defaults import LATEST_API_VERSION
from ..describe import describe
from ..schema import SCHEMA, FieldDef, SObjectDef


@dataclass(frozen=True)
class ChildRelationship:
    """``Account.Contacts``: the child object and its reference field that points at the parent."""

    name: str
    child: SObjectDef
    field: FieldDef


def groupable(sobject: SObjectDef, field: FieldDef) -> bool:
    """Whether describe lets ``field`` appear in GROUP BY (fields of a polymorphic ``Name`` parent: yes)."""
    return bool(_field_flags(sobject.name).get(field.name.lower(), {}).get("groupable", True))


def aggregatable(sobject: SObjectDef, field: FieldDef) -> bool:
    """Whether describe lets ``field`` appear in an aggregate function."""
    return bool(_field_flags(sobject.name).get(field.name.lower(), {}).get("aggregatable", True))


def child_relationship(parent: SObjectDef, name: str) -> ChildRelationship | None:
    """The child relationship ``name`` (any case) of ``parent``, as describe lists it, or ``None``."""
    return _child_relationships(parent.name).get(name.lower())


@cache
def _field_flags(sobject_name: str) -> Mapping[str, Mapping[str, Any]]:
    if sobject_name not in SCHEMA:
        return {}
    return {f["name"].lower(): f for f in describe(sobject_name, LATEST_API_VERSION)["fields"]}


@cache
def _child_relationships(sobject_name: str) -> Mapping[str, ChildRelationship]:
    if sobject_name not in SCHEMA:
        return {}
    found: dict[str, ChildRelationship] = {}
    for entry in describe(sobject_name, LATEST_API_VERSION)["childRelationships"]:
        name, child = entry.get("relationshipName"), SCHEMA.get(entry["childSObject"])
        field = child.field(entry["field"]) if child is not None else None
        if name and child is not None and field is not None:
            found[name.lower()] = ChildRelationship(name, child, field)
    return found
