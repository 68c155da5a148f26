"""The emulated org's data model: which sObjects exist and what their fields are.

Everything else in the emulator (the SQLite store, the SOQL compiler, describe, DML validation)
reads this one registry, so adding an object or a field is a one-place change. The objects
themselves are declared in ``objects/``, one module per family (sales, service, activities,
products, files, the org and its users), each citing the Object Reference pages it follows.

Storage conventions (shared by the store and the SOQL compiler):
- one SQLite table per sObject, named exactly like the sObject, one column per field, same name;
- ``boolean`` is stored as 0/1, numbers as REAL/INTEGER, ``date`` as ``YYYY-MM-DD`` text,
  ``datetime`` as ``YYYY-MM-DDTHH:MM:SS.000+0000`` text in UTC (so text order is time order);
- every object has ``IsDeleted`` (soft delete, visible to queryAll only).

The registry is fixed when an emulator starts. ``register_sobject`` adds an object that is not part of
every org (the wide benchmark object of ``sfpy-emulator --bench-wide-object N``) at start-up, before the
store creates its tables.
"""

from __future__ import annotations

import functools

from airflow_provider_sfpy.emulator.objects.activities import ACTIVITY_OBJECTS
from airflow_provider_sfpy.emulator.objects.files import FILE_OBJECTS
from airflow_provider_sfpy.emulator.objects.model import NUMBER_TYPES, TEXT_TYPES, FieldDef, SObjectDef
from airflow_provider_sfpy.emulator.objects.org import ORG_OBJECTS
from airflow_provider_sfpy.emulator.objects.products import PRODUCT_OBJECTS
from airflow_provider_sfpy.emulator.objects.sales import INDUSTRIES, SALES_OBJECTS, STAGES
from airflow_provider_sfpy.emulator.objects.service import SERVICE_OBJECTS

__all__ = [
    "INDUSTRIES",
    "NUMBER_TYPES",
    "SCHEMA",
    "STAGES",
    "TEXT_TYPES",
    "FieldDef",
    "SObjectDef",
    "cascade_children",
    "lookup_sobject",
    "register_sobject",
    "sobject_for_key_prefix",
]

SCHEMA: dict[str, SObjectDef] = {
    o.name: o
    for o in (*ORG_OBJECTS, *SALES_OBJECTS, *SERVICE_OBJECTS, *ACTIVITY_OBJECTS, *PRODUCT_OBJECTS, *FILE_OBJECTS)
}
_SCHEMA_LOWER = {name.lower(): obj for name, obj in SCHEMA.items()}
_BY_KEY_PREFIX = {obj.key_prefix: obj for obj in SCHEMA.values()}


def lookup_sobject(name: str) -> SObjectDef | None:
    """Case-insensitive sObject lookup (``account`` finds ``Account``), as Salesforce resolves names."""
    return _SCHEMA_LOWER.get(name.lower())


def sobject_for_key_prefix(record_id: str) -> SObjectDef | None:
    """Which object an Id belongs to, from its first three characters."""
    return _BY_KEY_PREFIX.get(record_id[:3])


def register_sobject(obj: SObjectDef) -> None:
    """Make ``obj`` part of the org's schema: describe, SOQL, DML and the store then treat it like any
    built-in object.

    Start-up only: the store creates one table per registered object when it opens, so a store opened
    before this call has no table for ``obj``. The registry is process-wide: emulators this process
    starts afterwards have the object too. Registering the same definition again does nothing; another
    definition under a name or key prefix already taken is a ``ValueError``.
    """
    existing = lookup_sobject(obj.name)
    if existing is not None:
        if existing == obj:
            return
        raise ValueError(
            f"an sObject named {existing.name} is already registered with another definition: "
            "register each object once, before the store opens"
        )
    owner = _BY_KEY_PREFIX.get(obj.key_prefix)
    if owner is not None:
        raise ValueError(f"key prefix {obj.key_prefix!r} of {obj.name} already belongs to {owner.name}: choose another")
    SCHEMA[obj.name] = obj
    _SCHEMA_LOWER[obj.name.lower()] = obj
    _BY_KEY_PREFIX[obj.key_prefix] = obj
    _clear_derived_caches()


def _clear_derived_caches() -> None:
    """Forget what was computed from the registry before it grew: the new object's parents (``User``
    for ``OwnerId``) gain a child relationship, and describeGlobal lists one more object."""
    from airflow_provider_sfpy.emulator import describe
    from airflow_provider_sfpy.emulator.soql import describe_facts

    cascade_children.cache_clear()
    describe.describe_global.cache_clear()
    describe.describe.cache_clear()
    describe_facts._field_flags.cache_clear()
    describe_facts._child_relationships.cache_clear()


@functools.cache
def cascade_children() -> dict[str, tuple[tuple[str, str], ...]]:
    """Per parent object, the ``(child object, reference field)`` pairs a delete of the parent takes
    along (describe's ``cascadeDelete``: Account -> its Contacts, Opportunities, activities ...)."""
    children: dict[str, list[tuple[str, str]]] = {}
    for child in SCHEMA.values():
        for f in child.fields:
            if f.cascade_delete:
                for parent in f.reference_to:
                    children.setdefault(parent, []).append((child.name, f.name))
    return {parent: tuple(pairs) for parent, pairs in children.items()}
