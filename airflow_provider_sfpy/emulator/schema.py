"""The emulated org's data model: which sObjects exist and what their fields are.

Everything else in the emulator (the SQLite store, the SOQL compiler, describe, DML validation)
reads this one registry, so adding an object or a field is a one-place change. Field types use
Salesforce's describe names (``id``, ``string``, ``reference``, ``boolean``, ``double``, ...).

Storage conventions (shared by the store and the SOQL compiler):
- one SQLite table per sObject, named exactly like the sObject, one column per field, same name;
- ``boolean`` is stored as 0/1, numbers as REAL/INTEGER, ``date`` as ``YYYY-MM-DD`` text,
  ``datetime`` as ``YYYY-MM-DDTHH:MM:SS.000+0000`` text in UTC (so text order is time order);
- every object has ``IsDeleted`` (soft delete, visible to queryAll only).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

TEXT_TYPES = frozenset(
    {"id", "string", "textarea", "email", "phone", "url", "picklist", "multipicklist", "reference", "base64"}
)
NUMBER_TYPES = frozenset({"double", "currency", "percent", "int"})


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
    # For ``reference`` fields: the parent object(s) and the relationship name used in SOQL
    # (``AccountId`` -> ``Account``; ``OwnerId`` -> ``Owner``).
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    picklist_values: tuple[str, ...] = ()
    default: object = None
    precision: int = 0
    scale: int = 0

    @property
    def required_on_create(self) -> bool:
        """Salesforce rejects a create without this field (REQUIRED_FIELD_MISSING)."""
        return not self.nillable and self.createable and self.default is None and self.type != "boolean"

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


def _system_fields(with_owner: bool = True) -> list[FieldDef]:
    fields = [
        FieldDef("Id", "id", "Record ID", 18, nillable=False, createable=False, updateable=False),
        FieldDef("IsDeleted", "boolean", "Deleted", nillable=False, createable=False, updateable=False),
        FieldDef("CreatedDate", "datetime", "Created Date", nillable=False, createable=False, updateable=False),
        FieldDef(
            "CreatedById",
            "reference",
            "Created By ID",
            18,
            nillable=False,
            createable=False,
            updateable=False,
            reference_to=("User",),
            relationship_name="CreatedBy",
        ),
        FieldDef(
            "LastModifiedDate", "datetime", "Last Modified Date", nillable=False, createable=False, updateable=False
        ),
        FieldDef(
            "LastModifiedById",
            "reference",
            "Last Modified By ID",
            18,
            nillable=False,
            createable=False,
            updateable=False,
            reference_to=("User",),
            relationship_name="LastModifiedBy",
        ),
        FieldDef("SystemModstamp", "datetime", "System Modstamp", nillable=False, createable=False, updateable=False),
    ]
    if with_owner:
        fields.append(
            FieldDef(
                "OwnerId",
                "reference",
                "Owner ID",
                18,
                nillable=False,
                reference_to=("User",),
                relationship_name="Owner",
                default="__current_user__",
            )
        )
    return fields


def _obj(
    name: str,
    prefix: str,
    fields: Iterable[FieldDef],
    *,
    plural: str | None = None,
    with_owner: bool = True,
    blob_field: str | None = None,
) -> SObjectDef:
    return SObjectDef(
        name=name,
        label=name,
        label_plural=plural or f"{name}s",
        key_prefix=prefix,
        fields=tuple(_system_fields(with_owner)) + tuple(fields),
        blob_field=blob_field,
    )


def _ref(name: str, to: str, relationship: str, *, nillable: bool = True, label: str = "") -> FieldDef:
    return FieldDef(
        name, "reference", label or name, 18, nillable=nillable, reference_to=(to,), relationship_name=relationship
    )


INDUSTRIES = (
    "Agriculture",
    "Apparel",
    "Banking",
    "Biotechnology",
    "Chemicals",
    "Communications",
    "Construction",
    "Education",
    "Electronics",
    "Energy",
    "Finance",
    "Technology",
)
STAGES = (
    "Prospecting",
    "Qualification",
    "Needs Analysis",
    "Value Proposition",
    "Proposal/Price Quote",
    "Negotiation/Review",
    "Closed Won",
    "Closed Lost",
)

USER = _obj(
    "User",
    "005",
    [
        FieldDef("Username", "string", "Username", 80, nillable=False, unique=True),
        FieldDef("LastName", "string", "Last Name", 80, nillable=False),
        FieldDef("FirstName", "string", "First Name", 40),
        FieldDef("Name", "string", "Full Name", 121, createable=False, updateable=False),
        FieldDef("Email", "email", "Email", 128, nillable=False),
        FieldDef("Alias", "string", "Alias", 8),
        FieldDef("IsActive", "boolean", "Active", default=True),
        FieldDef("Title", "string", "Title", 80),
    ],
    with_owner=False,
)

ACCOUNT = _obj(
    "Account",
    "001",
    [
        FieldDef("Name", "string", "Account Name", 255, nillable=False),
        FieldDef("AccountNumber", "string", "Account Number", 40),
        FieldDef("Type", "picklist", "Account Type", 255, picklist_values=("Prospect", "Customer", "Partner")),
        FieldDef("Industry", "picklist", "Industry", 255, picklist_values=INDUSTRIES),
        FieldDef("AnnualRevenue", "currency", "Annual Revenue", precision=18, scale=0),
        FieldDef("NumberOfEmployees", "int", "Employees", precision=8),
        FieldDef("Rating", "picklist", "Account Rating", 255, picklist_values=("Hot", "Warm", "Cold")),
        FieldDef("Phone", "phone", "Account Phone", 40),
        FieldDef("Website", "url", "Website", 255),
        FieldDef("Description", "textarea", "Account Description", 32000),
        FieldDef("BillingStreet", "textarea", "Billing Street", 255),
        FieldDef("BillingCity", "string", "Billing City", 40),
        FieldDef("BillingState", "string", "Billing State/Province", 80),
        FieldDef("BillingPostalCode", "string", "Billing Zip/Postal Code", 20),
        FieldDef("BillingCountry", "string", "Billing Country", 80),
        _ref("ParentId", "Account", "Parent", label="Parent Account ID"),
        FieldDef("External_Id__c", "string", "External Id", 255, external_id=True, unique=True),
        FieldDef("Active__c", "boolean", "Active", default=True),
        FieldDef("LastActivityDate", "date", "Last Activity", createable=False, updateable=False),
    ],
    plural="Accounts",
)

CONTACT = _obj(
    "Contact",
    "003",
    [
        _ref("AccountId", "Account", "Account", label="Account ID"),
        FieldDef("FirstName", "string", "First Name", 40),
        FieldDef("LastName", "string", "Last Name", 80, nillable=False),
        FieldDef("Name", "string", "Full Name", 121, createable=False, updateable=False),
        FieldDef("Email", "email", "Email", 80),
        FieldDef("Phone", "phone", "Business Phone", 40),
        FieldDef("Title", "string", "Title", 128),
        FieldDef("Birthdate", "date", "Birthdate"),
        FieldDef("MailingCity", "string", "Mailing City", 40),
        FieldDef("MailingCountry", "string", "Mailing Country", 80),
        FieldDef("HasOptedOutOfEmail", "boolean", "Email Opt Out", default=False),
        FieldDef("External_Id__c", "string", "External Id", 255, external_id=True, unique=True),
    ],
)

OPPORTUNITY = _obj(
    "Opportunity",
    "006",
    [
        _ref("AccountId", "Account", "Account", label="Account ID"),
        FieldDef("Name", "string", "Name", 120, nillable=False),
        FieldDef("StageName", "picklist", "Stage", 255, nillable=False, picklist_values=STAGES),
        FieldDef("Amount", "currency", "Amount", precision=18, scale=2),
        FieldDef("Probability", "percent", "Probability (%)", precision=3),
        FieldDef("CloseDate", "date", "Close Date", nillable=False),
        FieldDef("IsClosed", "boolean", "Closed", createable=False, updateable=False, default=False),
        FieldDef("IsWon", "boolean", "Won", createable=False, updateable=False, default=False),
        FieldDef("Type", "picklist", "Opportunity Type", 255, picklist_values=("New Business", "Existing Business")),
        FieldDef("LeadSource", "picklist", "Lead Source", 255, picklist_values=("Web", "Phone Inquiry", "Partner")),
        FieldDef("Description", "textarea", "Description", 32000),
    ],
    plural="Opportunities",
)

ATTACHMENT = _obj(
    "Attachment",
    "00P",
    [
        FieldDef(
            "ParentId",
            "reference",
            "Parent ID",
            18,
            nillable=False,
            reference_to=("Account", "Contact", "Opportunity"),
            relationship_name="Parent",
            updateable=False,
        ),
        FieldDef("Name", "string", "File Name", 255, nillable=False),
        FieldDef("ContentType", "string", "Content Type", 120),
        FieldDef("BodyLength", "int", "Body Length", createable=False, updateable=False),
        FieldDef("Body", "base64", "Body", nillable=False),
        FieldDef("Description", "textarea", "Description", 500),
        FieldDef("IsPrivate", "boolean", "Private", default=False),
    ],
    blob_field="Body",
)

DOCUMENT = _obj(
    "Document",
    "015",
    [
        FieldDef(
            "FolderId", "reference", "Folder ID", 18, nillable=False, reference_to=("User",), relationship_name="Folder"
        ),
        FieldDef("Name", "string", "Document Name", 255, nillable=False),
        FieldDef("DeveloperName", "string", "Document Unique Name", 80),
        FieldDef("ContentType", "string", "MIME Type", 120),
        FieldDef("Type", "string", "File Extension", 40),
        FieldDef("BodyLength", "int", "Body Length", createable=False, updateable=False),
        FieldDef("Body", "base64", "Body"),
        FieldDef("Description", "textarea", "Description", 255),
        FieldDef("Keywords", "string", "Keywords", 255),
    ],
    blob_field="Body",
)

CONTENT_VERSION = _obj(
    "ContentVersion",
    "068",
    [
        FieldDef("Title", "string", "Title", 255, nillable=False),
        FieldDef("PathOnClient", "string", "Path On Client", 500, nillable=False),
        FieldDef("Description", "textarea", "Description", 1000),
        FieldDef("ContentDocumentId", "string", "ContentDocument ID", 18, createable=False, updateable=False),
        FieldDef("ContentSize", "int", "Size", createable=False, updateable=False),
        FieldDef("FileExtension", "string", "File Extension", 40, createable=False, updateable=False),
        FieldDef("VersionData", "base64", "Version Data"),
        FieldDef(
            "FirstPublishLocationId",
            "reference",
            "First Publish Location ID",
            18,
            reference_to=("Account", "User"),
            relationship_name="FirstPublishLocation",
            updateable=False,
        ),
    ],
    plural="Content Versions",
    blob_field="VersionData",
)

SCHEMA: dict[str, SObjectDef] = {
    o.name: o for o in (USER, ACCOUNT, CONTACT, OPPORTUNITY, ATTACHMENT, DOCUMENT, CONTENT_VERSION)
}
_SCHEMA_LOWER = {name.lower(): obj for name, obj in SCHEMA.items()}


def lookup_sobject(name: str) -> SObjectDef | None:
    """Case-insensitive sObject lookup (``account`` finds ``Account``), as Salesforce resolves names."""
    return _SCHEMA_LOWER.get(name.lower())


def sobject_for_key_prefix(record_id: str) -> SObjectDef | None:
    """Which object an Id belongs to, from its first three characters."""
    prefix = record_id[:3]
    for obj in SCHEMA.values():
        if obj.key_prefix == prefix:
            return obj
    return None
