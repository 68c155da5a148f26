"""The sample org's leads, campaigns, cases, activities and products: a few of each, enough for the
queries people write against a real org (open cases by priority, tasks due this week, leads by
source, a price list) to return something, and small enough that start-up stays fast.

Values are fixed, dates relative to ``today`` (like the accounts' close dates), and the text is as
awkward as the rest of the seed (commas, quotes, non-ASCII), because that is what breaks exports.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from airflow_provider_sfpy.emulator.data.org_fixtures import STANDARD_PRICE_BOOK_ID
from airflow_provider_sfpy.emulator.schema import SCHEMA
from airflow_provider_sfpy.emulator.store import Store
from airflow_provider_sfpy.emulator.values import format_datetime

# (FirstName, LastName, Company, Status, LeadSource, Industry, Rating, City, Country)
LEADS = (
    ("Marta", "Nowak", "Łódź Robotics", "Open - Not Contacted", "Web", "Electronics", "Warm", "Łódź", "Poland"),
    ("Kenji", "Sato", "Sato & Sons, K.K.", "Working - Contacted", "Phone Inquiry", "Technology", "Hot", "Osaka",
     "Japan"),
    ("Amélie", "Laurent", "Boulangerie \"Chez Amélie\"", "Open - Not Contacted", "Partner Referral", "Agriculture",
     "Cold", "Lyon", "France"),
    ("David", "O'Neill", "O'Neill Logistics", "Closed - Not Converted", "Purchased List", "Energy", "Cold", "Cork",
     "Ireland"),
    ("Fatima", "Haddad", "Cedar Analytics", "Working - Contacted", "Web", "Finance", "Hot", "Beirut", "Lebanon"),
    ("Lucas", "Schmidt", "Schmidt GmbH", "Open - Not Contacted", "Other", "Construction", None, "München",
     "Germany"),
    ("Grace", "Okoye", "Lagos Fresh Foods", "Working - Contacted", "Web", "Agriculture", "Warm", "Lagos", "Nigeria"),
    (None, "Yamamoto", "Yamamoto Bio", "Open - Not Contacted", "Phone Inquiry", "Biotechnology", None, "Kyoto",
     "Japan"),
)  # fmt: skip
# (Name, Type, Status, days from today to start, days to end, BudgetedCost, IsActive)
CAMPAIGNS = (
    ("Dreamforce Booth", "Trade Show", "Completed", -60, -57, 50000.0, False),
    ("Spring Webinar Series", "Webinar", "In Progress", -10, 20, 5000.0, True),
    ("Direct Mail, Q3", "Direct Mail", "Planned", 30, 60, 12000.0, True),
)
# (Subject, Status, Priority, Origin, Type, Reason)
CASES = (
    ("Invoice shows the wrong currency", "New", "High", "Email", "Other", "Feedback"),
    ("Sensor reads 0 °C all day", "Working", "Medium", "Phone", "Electronic", "Breakdown"),
    ('Install on-site, building "B"', "New", "Low", "Web", "Structural", "Installation"),
    ("Password reset loop", "Escalated", "High", "Web", "Other", "Performance"),
    ("Shipment damaged in transit", "Closed", "Medium", "Email", "Mechanical", "Equipment Design"),
    ("Manual missing, pages 3-4", "Closed", "Low", "Phone", "Other", "Feedback"),
)
# (Subject, Status, Priority, days from today due)
TASKS = (
    ("Call", "Not Started", "High", 1),
    ("Send Quote", "In Progress", "Normal", 3),
    ("Other", "Completed", "Normal", -2),
    ("Call", "Completed", "Low", -7),
    ("Send Letter", "Not Started", "Normal", 7),
    ("Call", "Waiting on someone else", "High", 0),
    ("Other", "Deferred", "Low", 14),
    ("Send Quote", "Not Started", "Normal", 5),
)
# (Subject, Location, days from today, minutes)
EVENTS = (("Meeting", "Zoom", 2, 30), ("Call", None, 4, 15), ("Meeting", "München, Marienplatz 1", -3, 90))
# (Name, ProductCode, list price)
PRODUCTS = (
    ("Sensor Kit, Standard", "SNS-100", 149.0),
    ('Sensor Kit "Pro"', "SNS-200", 399.0),
    ("Installation (per day)", "SVC-INST", 1200.0),
    ("Support, 12 months", "SVC-SUP12", 2500.0),
)


@dataclass(frozen=True)
class SeedRecords:
    """The Ids of the records the CRM sample hangs off."""

    user_ids: Sequence[str]
    account_ids: Sequence[str]
    contact_ids: Sequence[str]
    opportunity_ids: Sequence[str]


def load_crm_sample(store: Store, admin_id: str, seed: SeedRecords, today: date) -> None:
    """Add the leads, campaigns and members, cases, tasks, events and products with prices."""
    lead_ids = _leads(store, admin_id, seed)
    _campaigns(store, admin_id, seed, lead_ids, today)
    _cases(store, admin_id, seed)
    _activities(store, admin_id, seed, lead_ids, today)
    _products(store, admin_id)


def _owner(seed: SeedRecords, index: int) -> str:
    return seed.user_ids[index % len(seed.user_ids)]


def _leads(store: Store, admin_id: str, seed: SeedRecords) -> list[str]:
    records = [
        {
            "FirstName": first,
            "LastName": last,
            "Company": company,
            "Status": status,
            "LeadSource": source,
            "Industry": industry,
            "Rating": rating,
            "City": city,
            "Country": country,
            "Email": f"{(first or 'info')[0]}.{last}@example.org".lower().replace("'", ""),
            "OwnerId": _owner(seed, index),
        }
        for index, (first, last, company, status, source, industry, rating, city, country) in enumerate(LEADS)
    ]
    return store.insert_records(SCHEMA["Lead"], records, admin_id)


def _campaigns(store: Store, admin_id: str, seed: SeedRecords, lead_ids: list[str], today: date) -> None:
    records = [
        {
            "Name": name,
            "Type": kind,
            "Status": status,
            "StartDate": (today + timedelta(days=start)).isoformat(),
            "EndDate": (today + timedelta(days=end)).isoformat(),
            "BudgetedCost": budget,
            "IsActive": int(active),
        }
        for name, kind, status, start, end, budget, active in CAMPAIGNS
    ]
    campaign_ids = store.insert_records(SCHEMA["Campaign"], records, admin_id)
    members: list[dict[str, Any]] = [
        {"CampaignId": campaign_ids[i % 2], "LeadId": lead_id, "Status": "Responded" if i % 3 == 0 else "Sent"}
        for i, lead_id in enumerate(lead_ids[:5])
    ]
    members += [{"CampaignId": campaign_ids[0], "ContactId": contact_id} for contact_id in seed.contact_ids[:3]]
    store.insert_records(SCHEMA["CampaignMember"], members, admin_id)


def _cases(store: Store, admin_id: str, seed: SeedRecords) -> None:
    records = [
        {
            "Subject": subject,
            "Status": status,
            "Priority": priority,
            "Origin": origin,
            "Type": kind,
            "Reason": reason,
            "AccountId": seed.account_ids[index % len(seed.account_ids)],
            "ContactId": seed.contact_ids[index] if index % 2 == 0 else None,
            "OwnerId": _owner(seed, index),
        }
        for index, (subject, status, priority, origin, kind, reason) in enumerate(CASES)
    ]
    store.insert_records(SCHEMA["Case"], records, admin_id)


def _activities(store: Store, admin_id: str, seed: SeedRecords, lead_ids: list[str], today: date) -> None:
    tasks = [
        {
            "Subject": subject,
            "Status": status,
            "Priority": priority,
            "ActivityDate": (today + timedelta(days=due)).isoformat(),
            # Every other task is about a contact and its opportunity, the rest about a lead.
            "WhoId": seed.contact_ids[index] if index % 2 == 0 else lead_ids[index % len(lead_ids)],
            "WhatId": seed.opportunity_ids[index] if index % 2 == 0 else None,
            "OwnerId": _owner(seed, index),
        }
        for index, (subject, status, priority, due) in enumerate(TASKS)
    ]
    store.insert_records(SCHEMA["Task"], tasks, admin_id)
    three_pm = time(15, 0, tzinfo=timezone.utc)
    events = [
        {
            "Subject": subject,
            "Location": location,
            "StartDateTime": format_datetime(datetime.combine(today + timedelta(days=days), three_pm)),
            "DurationInMinutes": minutes,
            "WhoId": seed.contact_ids[index + 1],
            "WhatId": seed.account_ids[index + 1],
        }
        for index, (subject, location, days, minutes) in enumerate(EVENTS)
    ]
    store.insert_records(SCHEMA["Event"], events, admin_id)


def _products(store: Store, admin_id: str) -> None:
    products = [
        {"Name": name, "ProductCode": code, "IsActive": 1, "QuantityUnitOfMeasure": "Each"}
        for name, code, _ in PRODUCTS
    ]
    product_ids = store.insert_records(SCHEMA["Product2"], products, admin_id)
    entries = [
        {"Pricebook2Id": STANDARD_PRICE_BOOK_ID, "Product2Id": product_id, "UnitPrice": price, "IsActive": 1}
        for product_id, (_, _, price) in zip(product_ids, PRODUCTS, strict=True)
    ]
    store.insert_records(SCHEMA["PricebookEntry"], entries, admin_id)
