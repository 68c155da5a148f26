"""What every org has before anyone adds data: its Organization record, the standard profiles and
the standard price book. They exist with or without sample data (``sample_data=False``), because
simple-salesforce's ``is_sandbox()`` queries Organization, every User needs a ProfileId and price
book entries need the standard price book.

The Ids are fixed, so they are the same in every emulator: the Organization's is the org id, and the
System Administrator profile's is the ``profileId`` SOAP login reports for the admin.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_sfpy.emulator import ids
from airflow_provider_sfpy.emulator.objects.products import STANDARD_PRICE_BOOK
from airflow_provider_sfpy.emulator.schema import SCHEMA
from airflow_provider_sfpy.emulator.store import Store, quote

ORG_NAME = "sfpy Emulator"
_FIXED = ids.decode_base62("00SfPy000")
ADMIN_PROFILE_ID = ids.make_id("00e", _FIXED)
STANDARD_USER_PROFILE_ID = ids.make_id("00e", _FIXED + 1)
STANDARD_PRICE_BOOK_ID = ids.make_id("01s", _FIXED)
#: Locale settings of a fresh US org, given to its users and to the org itself.
US_LOCALE = {"TimeZoneSidKey": "America/Los_Angeles", "LocaleSidKey": "en_US", "LanguageLocaleKey": "en_US"}
USER_LOCALE = {**US_LOCALE, "EmailEncodingKey": "UTF-8"}


def ensure_org(store: Store, admin_id: str, *, sandbox: bool = False) -> None:
    """Create those of the org's own records that the store lacks (all of them in a fresh store, or in
    one kept in a ``data_dir`` by an older emulator), as made by the admin user ``admin_id``.
    ``sandbox`` sets ``Organization.IsSandbox``."""
    organization = {
        "Name": ORG_NAME,
        "Country": "United States",
        "DefaultLocaleSidKey": US_LOCALE["LocaleSidKey"],
        "LanguageLocaleKey": US_LOCALE["LanguageLocaleKey"],
        "TimeZoneSidKey": US_LOCALE["TimeZoneSidKey"],
        "OrganizationType": "Developer Edition",
        "IsSandbox": int(sandbox),
        "InstanceName": "EMU1",
        "FiscalYearStartMonth": 1,
    }
    _insert_missing(store, "Organization", {store.org_id: organization}, admin_id)
    profiles = {
        ADMIN_PROFILE_ID: {"Name": "System Administrator", "UserType": "Standard", "PermissionsApiEnabled": 1,
                           "PermissionsModifyAllData": 1, "PermissionsViewAllData": 1},
        STANDARD_USER_PROFILE_ID: {"Name": "Standard User", "UserType": "Standard", "PermissionsApiEnabled": 1},
    }  # fmt: skip
    _insert_missing(store, "Profile", profiles, admin_id)
    price_book = {"Name": STANDARD_PRICE_BOOK, "IsActive": 1, "IsStandard": 1}
    _insert_missing(store, "Pricebook2", {STANDARD_PRICE_BOOK_ID: price_book}, admin_id)


def _insert_missing(store: Store, object_name: str, records: dict[str, dict[str, Any]], admin_id: str) -> None:
    """Insert those of ``records`` (by Id) whose Id the table does not hold, deleted or not."""
    table = quote(object_name)
    missing = [i for i in records if not store.scalar(f"SELECT count(*) FROM {table} WHERE Id = ?", (i,))]
    if missing:
        store.insert_records(SCHEMA[object_name], [records[i] for i in missing], admin_id, record_ids=missing)
