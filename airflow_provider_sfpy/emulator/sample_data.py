"""Deterministic org contents: the org and its admin user, a small realistic seed, and large synthetic data sets.

Everything is drawn from ``random.Random`` with a fixed seed, so two emulators started the same day
hold the same records with the same Ids (dates are relative to ``today`` so that "close date this
quarter" queries keep finding data). ``generate`` is the benchmark loader: it builds rows as plain
tuples and hands them to ``Store.insert_rows`` (``executemany`` in chunks), and its text is
deliberately awkward — commas, double quotes, multi-line descriptions and non-ASCII — because that
is what breaks CSV and JSON handling in clients.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import date, datetime, timedelta, timezone
from typing import Any

from airflow_provider_sfpy.emulator.data.crm_sample import SeedRecords, load_crm_sample
from airflow_provider_sfpy.emulator.data.org_fixtures import (
    ADMIN_PROFILE_ID,
    STANDARD_USER_PROFILE_ID,
    USER_LOCALE,
    ensure_org,
)
from airflow_provider_sfpy.emulator.schema import INDUSTRIES, SCHEMA, STAGES
from airflow_provider_sfpy.emulator.store import Store
from airflow_provider_sfpy.emulator.values import format_datetime

SEED = 20240601
ADMIN = {"FirstName": "Demo", "LastName": "Admin", "Alias": "dadmin", "Title": "System Administrator"}
OTHER_USERS = (
    ("Ana", "García", "ana.garcia@sfpy.example", "Sales Manager"),
    ("Ben", "O'Connor", "ben.oconnor@sfpy.example", "Account Executive"),
    ("Chloé", "Dubois", "chloe.dubois@sfpy.example", "Integration User"),
)
SEED_ACCOUNTS = (
    "Acme Corporation",
    "Globex, Inc.",
    "Initech",
    'Umbrella "Bio" Labs',
    "Stark Industries",
    "Wayne Enterprises",
    "Müller & Söhne GmbH",
    "Société Générale des Tissus",
    "Cyberdyne Systems",
    "Soylent Corp",
    "Hooli",
    "Pied Piper",
    "Vandelay Industries",
    "Tyrell Corporation",
    "北京数据科技有限公司",
    "Oscorp",
    "Wonka Industries",
    "Gringotts Banking",
    "Duff Brewing, Ltd.",
    "Genco Pura Olive Oil",
    "Nakatomi Trading",
    "Łódź Textiles S.A.",
    "Blue Sun Corporation",
    "Monarch Apparel",
    "Helix Biotech",
)
FIRST_NAMES = (
    "James", "María", "Wei", "Olivia", "Noah", "Aisha", "Lucas", "Sofía", "Liam", "Emma",
    "Hiroshi", "Zoë", "Mateo", "Ingrid", "Omar", "Priya", "Jean-Luc", "Siobhán", "Dmitri", "Ava",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Johnson", "Nguyen", "O'Brien", "Müller", "Rossi", "Kowalski", "Tanaka", "Silva", "Dubois",
    "García", "Khan", "Andersson", "Novak", "Okafor", "Larsen", "Moreau", "Chen", "Ivanova", "Brown",
)  # fmt: skip
CITIES = ("San Francisco", "New York", "London", "Paris", "München", "Tokyo", "São Paulo", "Toronto", "Zürich")
COUNTRIES = ("USA", "USA", "UK", "France", "Germany", "Japan", "Brazil", "Canada", "Switzerland")
TITLES = ("CEO", "CFO", "VP, Sales", "Director of IT", 'Head of "Data"', "Buyer", "Engineer", None)
WORDS_A = ("Blue", "Global", "Northern", "Quantum", "Golden", "Rapid", "Crystal", "Müller", "Société", "Nova")
WORDS_B = ("Systems", "Foods", "Logistics", "Apparel", "Bank", "Bio", "Energy", "Media", "Textiles", "Labs")
SUFFIXES = (", Inc.", ", LLC", " & Sons", ' "International"', " GmbH", " Ltd.", "", " 株式会社")
DESCRIPTIONS = (
    'Key account.\nRenewal due next quarter, "priority" customer.',
    "Met at Dreamforce, interested in integrations, analytics, and support.",
    "Line one\nLine two, with a comma\nLine three — naïve café résumé",
    None,
    "中文描述\n第二行",
)


def ensure_admin(store: Store, username: str, *, sandbox: bool = False) -> str:
    """The admin user's Id, creating the org's own records (Organization, profiles, standard price
    book) and the user on an empty org (also without sample data). ``sandbox``: the org is a sandbox
    (``Organization.IsSandbox``), set when the org's records are created."""
    existing = store.user_by_username(username)
    admin_id = str(existing["Id"]) if existing is not None else store.new_ids(SCHEMA["User"], 1)[0]
    ensure_org(store, admin_id, sandbox=sandbox)
    if existing is None:
        email = username if "@" in username else "admin@sfpy.example"
        record = {**ADMIN, **USER_LOCALE, "Username": username, "Email": email, "IsActive": 1}
        store.insert_records(
            SCHEMA["User"], [{**record, "ProfileId": ADMIN_PROFILE_ID}], admin_id, record_ids=[admin_id]
        )
    return admin_id


def load_sample_data(store: Store, admin_id: str, today: date | None = None) -> None:
    """The small, hand-shaped seed: 3 more users, 25 accounts, 50 contacts, 40 opportunities, a file,
    and a few leads, campaigns, cases, tasks, events and products (``data.crm_sample``)."""
    rng = random.Random(SEED)
    today = today or date.today()
    users = [
        {
            **USER_LOCALE,
            "FirstName": f,
            "LastName": last,
            "Username": u,
            "Email": u,
            "Alias": u[:8].replace(".", ""),
            "Title": t,
            "ProfileId": STANDARD_USER_PROFILE_ID,
        }
        for f, last, u, t in OTHER_USERS
    ]
    user_ids = [admin_id, *store.insert_records(SCHEMA["User"], users, admin_id)]

    account_ids: list[str] = []
    for index, name in enumerate(SEED_ACCOUNTS):
        city = rng.randrange(len(CITIES))
        account = {
            "Name": name,
            "AccountNumber": f"CD{100000 + index * 7919}",
            "Type": rng.choice(("Prospect", "Customer", "Partner", None)),
            "Industry": INDUSTRIES[index % len(INDUSTRIES)] if index % 6 != 5 else None,
            "AnnualRevenue": float(rng.randrange(1, 500) * 100000) if index % 4 else None,
            "NumberOfEmployees": rng.randrange(5, 20000) if index % 5 else None,
            "Rating": rng.choice(("Hot", "Warm", "Cold")),
            "Phone": f"+1 (415) 555-{rng.randrange(1000, 9999)}" if index % 3 else None,
            "Website": f"https://www.example{index}.com",
            "Description": DESCRIPTIONS[index % len(DESCRIPTIONS)],
            "BillingCity": CITIES[city],
            "BillingCountry": COUNTRIES[city],
            "ParentId": account_ids[index % 4] if index >= 20 else None,
            "External_Id__c": f"EXT-{index + 1:04d}" if index < 12 else None,
            "Active__c": index % 7 != 6,
        }
        account_ids += store.insert_records(
            SCHEMA["Account"], [account], user_ids[index % len(user_ids)]
        )  # one at a time: children point at earlier parents

    contacts = []
    for index in range(50):
        first, last = FIRST_NAMES[rng.randrange(20)], LAST_NAMES[rng.randrange(20)]
        city = rng.randrange(len(CITIES))
        contacts.append(
            {
                "AccountId": account_ids[index % len(account_ids)] if index % 10 != 9 else None,
                "FirstName": first if index % 12 != 11 else None,
                "LastName": last,
                "Email": f"{first}.{last}{index}@example.com".lower().replace("'", ""),
                "Phone": f"+44 20 7946 {rng.randrange(1000, 9999)}" if index % 4 else None,
                "Title": TITLES[index % len(TITLES)],
                "Birthdate": (today - timedelta(days=rng.randrange(8000, 25000))).isoformat(),
                "MailingCity": CITIES[city],
                "MailingCountry": COUNTRIES[city],
                "HasOptedOutOfEmail": index % 8 == 0,
                "External_Id__c": f"CON-{index + 1:04d}" if index < 10 else None,
                "OwnerId": user_ids[index % len(user_ids)],
            }
        )
    contact_ids = store.insert_records(SCHEMA["Contact"], contacts, admin_id)

    opportunities = []
    for index in range(40):
        stage = STAGES[rng.randrange(len(STAGES))]
        opportunities.append(
            {
                "AccountId": account_ids[(index * 3) % len(account_ids)],
                "Name": f"{SEED_ACCOUNTS[(index * 3) % len(SEED_ACCOUNTS)]} - Deal {index + 1}",
                "StageName": stage,
                "Amount": round(rng.uniform(1000, 250000), 2) if index % 9 != 8 else None,
                "CloseDate": (today + timedelta(days=rng.randrange(-90, 91))).isoformat(),
                "Type": rng.choice(("New Business", "Existing Business")),
                "LeadSource": rng.choice(("Web", "Phone Inquiry", "Partner", None)),
                "OwnerId": user_ids[index % len(user_ids)],
            }
        )
    opportunity_ids = store.insert_records(SCHEMA["Opportunity"], opportunities, admin_id)

    attachment = {
        "ParentId": account_ids[0],
        "Name": "welcome.txt",
        "ContentType": "text/plain",
        "Body": b"Hello from the sfpy emulator.\nThis file is an Attachment on Acme Corporation.\n",
        "Description": "Sample attachment",
    }
    store.insert_records(SCHEMA["Attachment"], [attachment], admin_id)
    load_crm_sample(store, admin_id, SeedRecords(user_ids, account_ids, contact_ids, opportunity_ids), today)


ACCOUNT_COLUMNS = (
    "Id", "IsDeleted", "CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById", "SystemModstamp",
    "OwnerId", "Name", "AccountNumber", "Type", "Industry", "AnnualRevenue", "NumberOfEmployees", "Rating",
    "Phone", "Description", "BillingCity", "BillingCountry", "External_Id__c", "Active__c",
)  # fmt: skip
CONTACT_COLUMNS = (
    "Id", "IsDeleted", "CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById", "SystemModstamp",
    "OwnerId", "AccountId", "FirstName", "LastName", "Name", "Email", "Title", "MailingCity", "MailingCountry",
    "HasOptedOutOfEmail", "External_Id__c",
)  # fmt: skip
OPPORTUNITY_COLUMNS = (
    "Id", "IsDeleted", "CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById", "SystemModstamp",
    "OwnerId", "AccountId", "Name", "StageName", "Amount", "Probability", "CloseDate", "IsClosed", "IsWon",
    "Type", "Description",
)  # fmt: skip
GENERATABLE = ("Account", "Contact", "Opportunity")


def _timestamps(rng: random.Random, count: int = 997) -> list[str]:
    """A pool of creation times over the last two years (indexing a pool beats formatting per row)."""
    now = datetime.now(timezone.utc).replace(microsecond=0)
    return [format_datetime(now - timedelta(seconds=rng.randrange(2 * 365 * 86400))) for _ in range(count)]


def generate(
    store: Store, counts: Mapping[str, int], *, owner_id: str | None = None, today: date | None = None
) -> dict[str, int]:
    """Add ``counts`` synthetic records per object (Account, Contact, Opportunity), fast.

    Contacts and Opportunities point at the Accounts generated here, or at existing Accounts when no
    Accounts are generated. Returns how many rows were inserted per object.
    """
    unknown = set(counts) - set(GENERATABLE)
    if unknown:
        raise ValueError(f"can only generate {', '.join(GENERATABLE)}; not {', '.join(sorted(unknown))}")
    owner = owner_id or store.live_ids("User")[0]
    rng = random.Random(SEED + sum(counts.values()))
    stamps = _timestamps(rng)
    today = today or date.today()
    inserted: dict[str, int] = {}
    account_ids: list[str] = []
    if counts.get("Account"):
        account_ids = store.new_ids(SCHEMA["Account"], counts["Account"])
        inserted["Account"] = store.insert_rows(
            SCHEMA["Account"], ACCOUNT_COLUMNS, _account_rows(account_ids, owner, stamps, rng)
        )
    if counts.get("Contact") or counts.get("Opportunity"):
        account_ids = account_ids or store.live_ids("Account")
    if counts.get("Contact"):
        contact_ids = store.new_ids(SCHEMA["Contact"], counts["Contact"])
        inserted["Contact"] = store.insert_rows(
            SCHEMA["Contact"], CONTACT_COLUMNS, _contact_rows(contact_ids, account_ids, owner, stamps, rng)
        )
    if counts.get("Opportunity"):
        opportunity_ids = store.new_ids(SCHEMA["Opportunity"], counts["Opportunity"])
        rows = _opportunity_rows(opportunity_ids, account_ids, owner, stamps, rng, today)
        inserted["Opportunity"] = store.insert_rows(SCHEMA["Opportunity"], OPPORTUNITY_COLUMNS, rows)
    return inserted


def _account_rows(record_ids: list[str], owner: str, stamps: list[str], rng: random.Random) -> Any:
    random_ = rng.random
    n_stamps, n_industries, n_cities = len(stamps), len(INDUSTRIES), len(CITIES)
    types = ("Prospect", "Customer", "Partner", None)
    ratings = ("Hot", "Warm", "Cold", None)
    for i, record_id in enumerate(record_ids):
        r = random_()
        stamp = stamps[i % n_stamps]
        city = int(r * 7919) % n_cities
        name = f"{WORDS_A[i % 10]} {WORDS_B[(i // 10) % 10]}{SUFFIXES[(i // 100) % 8]} {i + 1}"
        description = DESCRIPTIONS[i % 5]
        yield (
            record_id, 0, stamp, owner, stamp, owner, stamp, owner, name, f"AN-{i + 1:08d}",
            types[i % 4], INDUSTRIES[int(r * 1000) % n_industries] if i % 9 else None,
            float(int(r * 100000) * 1000), int(r * 50000) if i % 7 else None, ratings[int(r * 40) % 4],
            f"+1 555 {int(r * 10000000):07d}" if i % 3 else None,
            f"{description}\nRecord {i + 1}" if description else None,
            CITIES[city], COUNTRIES[city], f"GEN-{i + 1:08d}", int(i % 11 != 0),
        )  # fmt: skip


def _contact_rows(
    record_ids: list[str], account_ids: list[str], owner: str, stamps: list[str], rng: random.Random
) -> Any:
    random_ = rng.random
    n_accounts, n_stamps, n_cities = len(account_ids), len(stamps), len(CITIES)
    for i, record_id in enumerate(record_ids):
        r = random_()
        stamp = stamps[i % n_stamps]
        first = FIRST_NAMES[int(r * 20)]
        last = LAST_NAMES[(i * 7) % 20]
        city = i % n_cities
        yield (
            record_id, 0, stamp, owner, stamp, owner, stamp, owner,
            account_ids[int(r * n_accounts)] if n_accounts and i % 10 != 9 else None,
            first, last, f"{first} {last}", f"c{i + 1}@example.com", TITLES[i % 8],
            CITIES[city], COUNTRIES[city], int(i % 8 == 0), f"GC-{i + 1:08d}",
        )  # fmt: skip


def _opportunity_rows(
    record_ids: list[str],
    account_ids: list[str],
    owner: str,
    stamps: list[str],
    rng: random.Random,
    today: date,
) -> Any:
    random_ = rng.random
    n_accounts, n_stamps, n_stages = len(account_ids), len(stamps), len(STAGES)
    close_dates = [(today + timedelta(days=offset)).isoformat() for offset in range(-180, 181)]
    probability = {"Closed Won": 100.0, "Closed Lost": 0.0}
    for i, record_id in enumerate(record_ids):
        r = random_()
        stamp = stamps[i % n_stamps]
        stage = STAGES[int(r * 997) % n_stages]
        closed = stage in probability
        yield (
            record_id, 0, stamp, owner, stamp, owner, stamp, owner,
            account_ids[int(r * n_accounts)] if n_accounts else None,
            f'Deal {i + 1}, "{WORDS_A[i % 10]}" renewal', stage, round(r * 500000, 2),
            probability.get(stage, 50.0), close_dates[int(r * 361)], int(closed), int(stage == "Closed Won"),
            "New Business" if i % 2 else "Existing Business",
            "Multi-line\nopportunity description, with commas" if i % 4 == 0 else None,
        )  # fmt: skip
