"""The org and its people: User, Organization, Profile and RecordType.

Fields follow the Object Reference and the Field Reference:
- https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_user.htm
- https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_organization.htm
- https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_profile.htm
- https://developer.salesforce.com/docs/platform/field-reference/references/field-reference/salesforce-field-reference-recordtype.html

Representative subsets:
- User: the fields a create requires (Username, LastName, Email, Alias, ProfileId and the four
  locale keys), name parts, Title, Department, CompanyName, phones, IsActive, ManagerId, UserType
  and LastLoginDate. The locale picklists list a handful of common values, not all of them.
- Organization: Name, Division, City, Country, Phone, PrimaryContact, the locale defaults,
  OrganizationType, IsSandbox, InstanceName, NamespacePrefix, TrialExpirationDate and
  FiscalYearStartMonth. Read-only here (the API can update a few of them in a real org), and the org
  always has exactly one row, whose Id is the org id (``00D...``).
- Profile: Name, Description, UserType and three of the permission flags. Read-only here.
- RecordType: Name, DeveloperName, SobjectType, IsActive, Description, NamespacePrefix. A new org has
  none, and neither has the emulator; objects get no ``RecordTypeId`` field until they have one.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_sfpy.emulator.objects.model import FieldDef, computed, picklist, ref, sobject

TIME_ZONES = (
    "America/Los_Angeles",
    "America/Denver",
    "America/Chicago",
    "America/New_York",
    "America/Sao_Paulo",
    "Europe/London",
    "Europe/Paris",
    "Europe/Berlin",
    "Asia/Tokyo",
    "Australia/Sydney",
    "GMT",
)
LOCALES = ("en_US", "en_GB", "en_CA", "de_DE", "fr_FR", "es_ES", "ja_JP", "pt_BR")
LANGUAGES = ("en_US", "de", "es", "fr", "it", "ja", "pt_BR", "zh_CN")
EMAIL_ENCODINGS = ("UTF-8", "ISO-8859-1", "Shift_JIS", "ISO-2022-JP", "EUC-JP", "ks_c_5601-1987", "Big5", "GB2312")
USER_TYPES = ("Standard", "PowerPartner", "PowerCustomerSuccess", "CustomerSuccess", "CspLitePortal", "Guest")
ORG_EDITIONS = (
    "Team Edition",
    "Professional Edition",
    "Enterprise Edition",
    "Unlimited Edition",
    "Developer Edition",
    "Personal Edition",
    "Contact Manager Edition",
    "Base Edition",
)
#: Objects a record type can be defined on (RecordType.SobjectType), among the emulated ones.
RECORD_TYPE_OBJECTS = ("Account", "Contact", "Opportunity", "Lead", "Case", "Campaign", "Product2", "Event", "Task")


#: An object the API only reads here (Organization, Profile): no owner, no DML, no search, no replication.
READ_ONLY: dict[str, Any] = {
    "with_owner": False,
    "createable": False,
    "updateable": False,
    "deletable": False,
    "searchable": False,
    "replicateable": False,
}


def _locale(name: str, label: str, values: tuple[str, ...]) -> FieldDef:
    return picklist(name, label, values, nillable=False)


USER = sobject(
    "User",
    "005",
    [
        FieldDef("Username", "string", "Username", 80, nillable=False, unique=True),
        FieldDef("LastName", "string", "Last Name", 80, nillable=False),
        FieldDef("FirstName", "string", "First Name", 40),
        computed("Name", "string", "Full Name", 121),
        FieldDef("Email", "email", "Email", 128, nillable=False),
        FieldDef("Alias", "string", "Alias", 8, nillable=False),
        FieldDef("IsActive", "boolean", "Active", default=True),
        FieldDef("Title", "string", "Title", 80),
        FieldDef("Department", "string", "Department", 80),
        FieldDef("CompanyName", "string", "Company Name", 80),
        FieldDef("Phone", "phone", "Phone", 40),
        FieldDef("MobilePhone", "phone", "Mobile", 40),
        ref("ProfileId", "Profile", "Profile", label="Profile ID", nillable=False, child="Users"),
        ref("ManagerId", "User", "Manager", label="Manager ID", child="ManagedUsers"),
        _locale("TimeZoneSidKey", "Time Zone", TIME_ZONES),
        _locale("LocaleSidKey", "Locale", LOCALES),
        _locale("LanguageLocaleKey", "Language", LANGUAGES),
        _locale("EmailEncodingKey", "Email Encoding", EMAIL_ENCODINGS),
        picklist("UserType", "User Type", USER_TYPES, default="Standard", createable=False, updateable=False),
        computed("LastLoginDate", "datetime", "Last Login"),
    ],
    with_owner=False,
    deletable=False,
    feed_enabled=True,
)

ORGANIZATION = sobject(
    "Organization",
    "00D",
    [
        computed("Name", "string", "Name", 80),
        computed("Division", "string", "Division", 80),
        computed("City", "string", "City", 40),
        computed("Country", "string", "Country", 80),
        computed("Phone", "phone", "Phone", 40),
        computed("PrimaryContact", "string", "Primary Contact", 80),
        picklist("DefaultLocaleSidKey", "Locale", LOCALES, createable=False, updateable=False),
        picklist("LanguageLocaleKey", "Language", LANGUAGES, createable=False, updateable=False),
        picklist("TimeZoneSidKey", "Time Zone", TIME_ZONES, createable=False, updateable=False),
        picklist("OrganizationType", "Edition", ORG_EDITIONS, createable=False, updateable=False),
        computed("IsSandbox", "boolean", "Is Sandbox", default=False),
        computed("InstanceName", "string", "Instance Name", 5),
        computed("NamespacePrefix", "string", "Namespace Prefix", 15),
        computed("TrialExpirationDate", "datetime", "Trial Expiration Date"),
        computed("FiscalYearStartMonth", "int", "Fiscal Year Starts In", precision=2),
    ],
    **READ_ONLY,
)

PROFILE = sobject(
    "Profile",
    "00e",
    [
        FieldDef("Name", "string", "Name", 255, nillable=False),
        FieldDef("Description", "string", "Description", 255),
        picklist("UserType", "User Type", USER_TYPES, createable=False, updateable=False),
        FieldDef("PermissionsApiEnabled", "boolean", "API Enabled", default=False),
        FieldDef("PermissionsModifyAllData", "boolean", "Modify All Data", default=False),
        FieldDef("PermissionsViewAllData", "boolean", "View All Data", default=False),
    ],
    **READ_ONLY,
)

RECORD_TYPE = sobject(
    "RecordType",
    "012",
    [
        FieldDef("Name", "string", "Name", 80, nillable=False),
        FieldDef("DeveloperName", "string", "Record Type Name", 80, nillable=False),
        picklist("SobjectType", "SObject Type Name", RECORD_TYPE_OBJECTS, nillable=False, updateable=False),
        FieldDef("IsActive", "boolean", "Active", default=False),
        FieldDef("Description", "string", "Description", 255),
        computed("NamespacePrefix", "string", "Namespace Prefix", 15),
    ],
    label="Record Type",
    with_owner=False,
    deletable=False,
    searchable=False,
)

ORG_OBJECTS = (USER, ORGANIZATION, PROFILE, RECORD_TYPE)
