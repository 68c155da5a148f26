"""Which fields a search looks in: the search group (``IN ... FIELDS``) applied to one object.

ALL FIELDS is every text field (numbers, dates, picklists and Ids are not searchable); NAME FIELDS is
the object's name field plus the extra fields Salesforce documents per standard object (Account's
Website and Site, a Case's Subject ...); EMAIL and PHONE are the fields of that type; SIDEBAR (the
old sidebar search box) looks in names, emails and phones.

Reference: IN SearchGroup, https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_sosl_in.htm
"""

from __future__ import annotations

from ..schema import FieldDef, SObjectDef
from .ast import SearchGroup

TEXT_TYPES = frozenset({"string", "textarea", "email", "phone", "url", "combobox"})
#: Searched with NAME FIELDS besides the name field, per the IN SearchGroup page (the ones that exist).
NAME_GROUP_EXTRAS: dict[str, tuple[str, ...]] = {
    "Account": ("Website", "Site", "NameLocal"),
    "Asset": ("SerialNumber",),
    "Case": ("SuppliedName", "SuppliedCompany", "Subject"),
    "Contact": ("AssistantName", "FirstNameLocal", "LastNameLocal"),
    "Event": ("Subject",),
    "Lead": ("Company", "CompanyLocal", "FirstNameLocal", "LastNameLocal"),
    "Note": ("Title",),
    "Task": ("Subject",),
    "User": ("CommunityNickname",),
}


def searched_fields(obj: SObjectDef, group: SearchGroup) -> tuple[FieldDef, ...]:
    """The fields of ``obj`` a search in ``group`` matches against, in the object's field order."""
    names = _name_fields(obj)
    wanted = {
        "ALL": lambda f: f.type in TEXT_TYPES,
        "NAME": lambda f: f.name in names,
        "EMAIL": lambda f: f.type == "email",
        "PHONE": lambda f: f.type == "phone",
        "SIDEBAR": lambda f: f.name in names or f.type in ("email", "phone"),
    }[group]
    return tuple(f for f in obj.fields if f.type != "base64" and wanted(f))


def _name_fields(obj: SObjectDef) -> frozenset[str]:
    extras = NAME_GROUP_EXTRAS.get(obj.name, ())
    names = {obj.name_field, *extras} - {None}
    return frozenset(n for n in names if n is not None and obj.field(n) is not None)
