"""The building blocks of the emulated org's data model: field and sObject definitions, and the
helpers the object modules use to declare them.

Field types use Salesforce's describe names (``id``, ``string``, ``reference``, ``boolean``,
``double``, ``combobox`` ...); the attributes are the describe attributes clients branch on. Every
object gets the system fields Salesforce puts on (almost) every object: ``Id``, ``IsDeleted``,
``CreatedDate``, ``CreatedById``, ``LastModifiedDate``, ``LastModifiedById``, ``SystemModstamp`` and,
for owned objects, ``OwnerId`` (the store stamps them on every insert and update).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

TEXT_TYPES = frozenset(
    {
        "id",
        "string",
        "textarea",
        "email",
        "phone",
        "url",
        "picklist",
        "multipicklist",
        "combobox",
        "reference",
        "base64",
    }
)
NUMBER_TYPES = frozenset({"double", "currency", "percent", "int"})
#: ``default`` of a lookup that takes the Id of the user who creates the record (``OwnerId``).
CURRENT_USER = "__current_user__"


@dataclass(frozen=True)
class FieldDef:
    """One field of an sObject, with the describe attributes clients look at."""

    name: str
    type: str
    label: str = ""
    length: int = 0
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    external_id: bool = False
    unique: bool = False
    #: Values that differ only in case are different values: describe's ``caseSensitive``, and how an
    #: external id or idLookup value is matched (Salesforce matches case-insensitively unless the
    #: field is a unique, case-sensitive one).
    case_sensitive: bool = False
    #: A standard field Salesforce lets upsert and ``/sobjects/{Object}/{Field}/{value}`` match on
    #: (describe ``idLookup``), such as ``Contact.Email``.
    id_lookup: bool = False
    auto_number: bool = False
    # For ``reference`` fields: the parent object(s) and the relationship name used in SOQL
    # (``AccountId`` -> ``Account``; ``OwnerId`` -> ``Owner``) ...
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    # ... and, seen from the parent, the name of the child list (``Account.Contacts``) and whether
    # deleting the parent deletes the children.
    child_relationship: str | None = None
    cascade_delete: bool = False
    picklist_values: tuple[str, ...] = ()
    default: object = None
    precision: int = 0
    scale: int = 0

    @property
    def required_on_create(self) -> bool:
        """Salesforce rejects a create without this field (REQUIRED_FIELD_MISSING)."""
        return not self.nillable and self.createable and self.default is None and self.type != "boolean"

    @property
    def lookup_key(self) -> bool:
        """describe's ``idLookup``: the field can identify a record in upsert and in
        ``/sobjects/{Object}/{Field}/{value}`` (the Id, external ids, unique text, idLookup fields)."""
        return self.name == "Id" or self.external_id or self.id_lookup or (self.unique and self.type == "string")

    @property
    def sqlite_type(self) -> str:
        if self.type in ("int", "boolean"):
            return "INTEGER"
        if self.type in ("double", "currency", "percent"):
            return "REAL"
        if self.type == "base64":
            return "BLOB"
        return "TEXT"


@dataclass(frozen=True)
class SObjectDef:
    """One sObject type. ``key_prefix`` is the 3-character Id prefix (001 = Account)."""

    name: str
    label: str
    label_plural: str
    key_prefix: str
    fields: tuple[FieldDef, ...]
    custom: bool = False
    # Name of the base64 field that holds a file body (Attachment.Body, ContentVersion.VersionData).
    blob_field: str | None = None
    #: The field describe marks ``nameField`` (``Name``; ``CaseNumber`` on Case, ``Subject`` on Task).
    name_field: str | None = "Name"
    #: Which calls the object supports (describe's ``createable``, ``updateable``, ``deletable``).
    createable: bool = True
    updateable: bool = True
    deletable: bool = True
    searchable: bool = True
    #: Get Updated / Get Deleted serve the object (describe ``replicateable``).
    replicateable: bool = True
    feed_enabled: bool = False
    mergeable: bool = False

    def field(self, name: str) -> FieldDef | None:
        """Case-insensitive lookup, as Salesforce resolves field names."""
        return self._by_lower().get(name.lower())

    def relationship(self, name: str) -> FieldDef | None:
        """The reference field behind a parent relationship name (``Account`` -> ``AccountId``)."""
        lowered = name.lower()
        for f in self.fields:
            if f.relationship_name and f.relationship_name.lower() == lowered:
                return f
        return None

    def _by_lower(self) -> dict[str, FieldDef]:
        cache = self.__dict__.get("_lower_cache")
        if cache is None:
            cache = {f.name.lower(): f for f in self.fields}
            object.__setattr__(self, "_lower_cache", cache)
        return cache


def _read_only(name: str, type_: str, label: str, length: int = 0, **attrs: Any) -> FieldDef:
    return FieldDef(name, type_, label, length, nillable=False, createable=False, updateable=False, **attrs)


def system_fields(with_owner: bool = True, owner_to: tuple[str, ...] = ("User",)) -> list[FieldDef]:
    """The audit fields every object has, and ``OwnerId`` for owned objects."""
    fields = [
        _read_only("Id", "id", "Record ID", 18),
        _read_only("IsDeleted", "boolean", "Deleted"),
        _read_only("CreatedDate", "datetime", "Created Date"),
        _read_only(
            "CreatedById", "reference", "Created By ID", 18, reference_to=("User",), relationship_name="CreatedBy"
        ),
        _read_only("LastModifiedDate", "datetime", "Last Modified Date"),
        _read_only(
            "LastModifiedById",
            "reference",
            "Last Modified By ID",
            18,
            reference_to=("User",),
            relationship_name="LastModifiedBy",
        ),
        _read_only("SystemModstamp", "datetime", "System Modstamp"),
    ]
    if with_owner:
        fields.append(
            FieldDef(
                "OwnerId",
                "reference",
                "Owner ID",
                18,
                nillable=False,
                reference_to=owner_to,
                relationship_name="Owner",
                default=CURRENT_USER,
            )
        )
    return fields


def sobject(
    name: str,
    prefix: str,
    fields: Iterable[FieldDef],
    *,
    label: str | None = None,
    plural: str | None = None,
    with_owner: bool = True,
    **attributes: Any,
) -> SObjectDef:
    """An sObject with the system fields first, then ``fields`` in the order given."""
    label = label or name
    return SObjectDef(
        name=name,
        label=label,
        label_plural=plural or f"{label}s",
        key_prefix=prefix,
        fields=tuple(system_fields(with_owner)) + tuple(fields),
        **attributes,
    )


def ref(
    name: str,
    to: str | tuple[str, ...],
    relationship: str,
    *,
    label: str = "",
    nillable: bool = True,
    createable: bool = True,
    updateable: bool = True,
    child: str | None = None,
    cascade: bool = False,
) -> FieldDef:
    """A lookup (``to`` one object) or a polymorphic lookup (``to`` several)."""
    return FieldDef(
        name,
        "reference",
        label or name,
        18,
        nillable=nillable,
        createable=createable,
        updateable=updateable,
        reference_to=(to,) if isinstance(to, str) else to,
        relationship_name=relationship,
        child_relationship=child,
        cascade_delete=cascade,
    )


def computed(name: str, type_: str, label: str, length: int = 0, **attrs: Any) -> FieldDef:
    """A field Salesforce sets itself (read-only through the API, may be empty)."""
    return FieldDef(name, type_, label, length, createable=False, updateable=False, **attrs)


def picklist(
    name: str,
    label: str,
    values: tuple[str, ...],
    *,
    default: str | None = None,
    nillable: bool = True,
    createable: bool = True,
    updateable: bool = True,
    type_: str = "picklist",
) -> FieldDef:
    """A picklist (or combobox) with the values of a new org; ``default`` is the value describe marks
    ``defaultValue`` and a create without the field gets."""
    return FieldDef(
        name,
        type_,
        label,
        255,
        nillable=nillable,
        createable=createable,
        updateable=updateable,
        picklist_values=values,
        default=default,
    )
