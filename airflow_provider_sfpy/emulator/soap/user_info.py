"""LoginResult's ``userInfo`` (a ``GetUserInfoResult``) and ``sandbox`` flag, read from the org's data.

Field list and order: https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_getuserinfo_getuserinforesult.htm
The user's fields come from the User record; the org's name and sandbox flag from the Organization
record when the schema has that object (``IsSandbox`` is also what simple-salesforce's
``is_sandbox()`` queries, so both answers agree). Whatever the schema does not hold (profile, role,
locale, time zone ...) gets the value of a fresh single-currency, US-English org.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from airflow_provider_sfpy.emulator.data.org_fixtures import ADMIN_PROFILE_ID
from airflow_provider_sfpy.emulator.schema import lookup_sobject
from airflow_provider_sfpy.emulator.soap.messages import Fields
from airflow_provider_sfpy.emulator.store import Store

DEFAULT_ORG_NAME = "sfpy Emulator"
#: The System Administrator profile every org has (``data/org_fixtures.py``), for a user without one.
DEFAULT_PROFILE_ID = ADMIN_PROFILE_ID
#: User fields read when the schema has them, with the value used otherwise.
USER_DEFAULTS: dict[str, Any] = {
    "Username": "",
    "Name": "",
    "Email": "",
    "ProfileId": DEFAULT_PROFILE_ID,
    "UserRoleId": None,
    "LanguageLocaleKey": "en_US",
    "LocaleSidKey": "en_US",
    "TimeZoneSidKey": "America/Los_Angeles",
    "UserType": "Standard",
    "DefaultCurrencyIsoCode": None,
}
#: Salesforce's default attachment size limit (5 MB).
ORG_ATTACHMENT_FILE_SIZE_LIMIT = 5 * 1024 * 1024


@dataclass(frozen=True)
class Organization:
    name: str
    is_sandbox: bool


def _record(store: Store, object_name: str, record_id: str | None, defaults: dict[str, Any]) -> dict[str, Any]:
    """``defaults`` overlaid with the record's values for the fields the schema has."""
    obj = lookup_sobject(object_name)
    if obj is None or record_id is None:
        return dict(defaults)
    fields = [f for f in (obj.field(name) for name in defaults) if f is not None]
    stored = store.get(obj, record_id, fields)
    return {name: default if stored.get(name) is None else stored[name] for name, default in defaults.items()}


def organization(store: Store) -> Organization:
    """The org's name and sandbox flag, from its one Organization record (``data/org_fixtures.py``)."""
    record_ids = store.live_ids("Organization")
    record = _record(
        store, "Organization", record_ids[0] if record_ids else None, {"Name": DEFAULT_ORG_NAME, "IsSandbox": False}
    )
    return Organization(name=str(record["Name"]), is_sandbox=bool(record["IsSandbox"]))


def user_info(store: Store, user_id: str, org: Organization, session_seconds: int) -> Fields:
    """The ``userInfo`` element's fields for the user ``user_id``."""
    user = _record(store, "User", user_id, USER_DEFAULTS)
    return [
        ("accessibilityMode", False),
        ("chatterExternal", False),
        ("currencySymbol", "$"),
        ("orgAttachmentFileSizeLimit", ORG_ATTACHMENT_FILE_SIZE_LIMIT),
        ("orgDefaultCurrencyIsoCode", "USD"),
        ("orgDefaultCurrencyLocale", "en_US"),
        ("orgDisallowHtmlAttachments", False),
        ("orgHasPersonAccounts", False),
        ("organizationId", store.org_id),
        ("organizationMultiCurrency", False),
        ("organizationName", org.name),
        ("profileId", user["ProfileId"]),
        ("roleId", user["UserRoleId"]),
        ("sessionSecondsValid", session_seconds),
        ("userDefaultCurrencyIsoCode", user["DefaultCurrencyIsoCode"]),
        ("userEmail", user["Email"]),
        ("userFullName", user["Name"]),
        ("userId", user_id),
        ("userLanguage", user["LanguageLocaleKey"]),
        ("userLocale", user["LocaleSidKey"]),
        ("userName", user["Username"]),
        ("userTimeZone", user["TimeZoneSidKey"]),
        ("userType", user["UserType"]),
        ("userUiSkin", "Theme3"),
    ]
