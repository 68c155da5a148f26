"""An ingest upload's header row, resolved against the job's object before any record is touched.

Salesforce checks the header first and fails the whole job on a column it cannot map
(``InvalidBatch : Field name not found : Foo``): a typo must not half-load a file. Besides field names
(case-insensitive, as everywhere in the API), a column can reference a parent by one of its external id
fields — ``Account.External_Id__c`` on Contact, or ``Account:Parent.External_Id__c`` when the
relationship is polymorphic — and each row's value is then looked up to the parent's Id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from airflow_provider_sfpy.emulator.bulk.errors import JobFailure, field_not_found
from airflow_provider_sfpy.emulator.schema import SCHEMA, FieldDef, SObjectDef

DELETE_OPERATIONS = frozenset({"delete", "hardDelete"})


@dataclass(frozen=True)
class Column:
    """One header column: the field it writes and, for a relationship column, how to find the parent."""

    name: str
    field: FieldDef
    parent: SObjectDef | None = None
    parent_key: FieldDef | None = None


def resolve_columns(obj: SObjectDef, header: Sequence[str], operation: str) -> list[Column]:
    """The header's columns, or the ``JobFailure`` Salesforce fails the job with."""
    if operation in DELETE_OPERATIONS and (len(header) != 1 or header[0].lower() != "id"):
        raise JobFailure(f"InvalidBatch : The '{operation}' batch must contain only ids")
    return [_column(obj, name) for name in header]


def _column(obj: SObjectDef, name: str) -> Column:
    f = obj.field(name)
    if f is not None:
        return Column(name, f)
    path, dot, key = name.partition(".")
    if not dot:
        raise field_not_found(name)
    type_name, colon, relationship = path.rpartition(":")
    reference = obj.relationship(relationship)
    if reference is None:
        raise field_not_found(name)
    polymorphic = len(reference.reference_to) > 1
    if colon and not polymorphic:
        raise JobFailure(
            f"InvalidBatch : type is not needed for non polymorphic foreign key references: {relationship}"
        )
    parent_name = type_name if colon else reference.reference_to[0]
    parent = next((o for o in SCHEMA.values() if o.name.lower() == parent_name.lower()), None)
    if parent is None or parent.name not in reference.reference_to or (polymorphic and not colon):
        raise field_not_found(name)
    parent_key = parent.field(key)
    if parent_key is None or not parent_key.external_id:
        raise field_not_found(name)
    return Column(name, reference, parent, parent_key)
