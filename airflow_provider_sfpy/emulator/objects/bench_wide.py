"""``Bench_Wide__c``: a wide custom object (300 custom fields) for the side-by-side benchmarks.

Real objects are wide: ``SELECT FIELDS(ALL)`` on Account or a managed package's objects select
hundreds of fields, and an export's cost per record grows with them. The benchmark of wide
exports needs such an object; this module declares it and its synthetic rows. It is **not** part
of every org: only an emulator started with ``sfpy-emulator --bench-wide-object N`` (or
``EmulatorConfig(bench_wide_records=N)``) registers it (``schema.register_sobject``) and fills it
(``fill_bench_wide``); without that option nothing here runs.

The custom fields cycle through the field types an export has to encode differently: text, long
text with line breaks and non-ASCII characters, numbers (double, currency, percent, int), booleans,
dates, datetimes, picklists, emails, phones and URLs, about a tenth of them empty in a given row.
Custom objects and fields follow Salesforce's naming (``__c`` suffix, a key prefix of the ``a0``
range Salesforce gives custom objects):
https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_custom_objects.htm
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from airflow_provider_sfpy.emulator.objects.model import FieldDef, SObjectDef, sobject
from airflow_provider_sfpy.emulator.values import format_datetime

if TYPE_CHECKING:
    from airflow_provider_sfpy.emulator.store import Store

BENCH_WIDE_NAME = "Bench_Wide__c"
BENCH_WIDE_KEY_PREFIX = "a0W"
DEFAULT_CUSTOM_FIELDS = 300
#: Field types in the order the custom fields cycle through them, with a describe length.
_TYPES: tuple[tuple[str, int], ...] = (
    ("string", 80),
    ("double", 0),
    ("textarea", 32000),
    ("currency", 0),
    ("boolean", 0),
    ("date", 0),
    ("picklist", 255),
    ("int", 0),
    ("datetime", 0),
    ("percent", 0),
    ("email", 80),
    ("phone", 40),
    ("url", 255),
)
_PICKLIST = ("Alpha", "Beta", "Gamma", "Delta")
_TEXTS = ("Müller & Söhne", 'Quoted "value", with comma', "plain text", "naïve café", "株式会社")
_LONG_TEXTS = ("Line one\nLine two, with a comma", "Résumé — first line\nsecond line", "中文描述\n第二行")
#: Distinct value rows generated; records cycle through them (building 60M values one by one would
#: make start-up the slowest part of a benchmark).
_POOL = 1009
_SEED = 20240601


def bench_wide_object(custom_fields: int = DEFAULT_CUSTOM_FIELDS) -> SObjectDef:
    """The object: system fields, ``Name``, then ``custom_fields`` custom fields ``F001_<type>__c`` ..."""
    fields = [FieldDef("Name", "string", "Name", 80)]
    for index in range(custom_fields):
        type_, length = _TYPES[index % len(_TYPES)]
        name = f"F{index + 1:03d}_{type_.capitalize()}__c"
        precision, scale = (18, 2) if type_ in ("double", "currency", "percent") else (0, 0)
        picklist_values = _PICKLIST if type_ == "picklist" else ()
        fields.append(
            FieldDef(
                name,
                type_,
                f"Field {index + 1} ({type_})",
                length,
                precision=precision,
                scale=scale,
                picklist_values=picklist_values,
                default=False if type_ == "boolean" else None,
            )
        )
    return sobject(
        BENCH_WIDE_NAME, BENCH_WIDE_KEY_PREFIX, fields, label="Bench Wide", plural="Bench Wides", custom=True
    )


def bench_wide_columns(obj: SObjectDef) -> list[str]:
    """The columns ``bench_wide_rows`` fills, in its order: every field of ``obj``."""
    return [f.name for f in obj.fields]


def bench_wide_rows(
    obj: SObjectDef, record_ids: Sequence[str], owner_id: str, stamp: str
) -> Iterator[tuple[object, ...]]:
    """One row per Id (system fields, ``Name``, every custom field), values as the store keeps them
    (booleans 0/1, dates and datetimes as text) and deterministic."""
    custom = [f for f in obj.fields if f.name.endswith("__c")]
    rng = random.Random(_SEED)
    pool = [tuple(_value(f.type, rng) for f in custom) for _ in range(_POOL)]
    system = (0, stamp, owner_id, stamp, owner_id, stamp, owner_id)
    for index, record_id in enumerate(record_ids):
        yield (record_id, *system, f"Wide {index + 1}", *pool[index % _POOL])


def fill_bench_wide(store: Store, obj: SObjectDef, records: int, owner_id: str) -> int:
    """Insert ``records`` generated records of ``obj`` (owned by ``owner_id``) when the org has none yet,
    so a persisted org (``--data-dir``) is filled once; returns how many were inserted."""
    if records <= 0 or store.count(obj.name, include_deleted=True):
        return 0
    stamp = format_datetime(datetime.now(timezone.utc))
    record_ids = store.new_ids(obj, records)
    return store.insert_rows(obj, bench_wide_columns(obj), bench_wide_rows(obj, record_ids, owner_id, stamp))


def _value(type_: str, rng: random.Random) -> object:
    if rng.random() < 0.1 and type_ != "boolean":
        return None
    r = rng.random()
    if type_ == "string":
        return f"{rng.choice(_TEXTS)} {int(r * 1e6)}"
    if type_ == "textarea":
        return f"{rng.choice(_LONG_TEXTS)}\n{int(r * 1e6)}"
    if type_ in ("double", "currency"):
        return round(r * 1e7, 2)
    if type_ == "percent":
        return round(r * 100, 2)
    if type_ == "int":
        return int(r * 1e6)
    if type_ == "boolean":
        return int(r < 0.5)
    day = f"20{10 + int(r * 15):02d}-{1 + int(r * 12) % 12:02d}-{1 + int(r * 28):02d}"
    if type_ == "date":
        return day
    if type_ == "datetime":
        return f"{day}T12:{int(r * 60):02d}:00.000+0000"
    if type_ == "picklist":
        return _PICKLIST[int(r * len(_PICKLIST))]
    if type_ == "email":
        return f"user{int(r * 1e6)}@example.com"
    if type_ == "phone":
        return f"+1 555 {int(r * 1e7):07d}"
    return f"https://example.com/{int(r * 1e6)}"
