"""Read-only fields Salesforce derives on save for the objects in this package, on top of
``computed.py`` (which covers Contact/User names, Opportunity stages and file sizes).

Pure functions over a row dict, like ``computed``; the store calls ``apply_derived`` wherever it
used to call ``apply_computed`` (validated DML, seeding, Bulk batches). ``number_new_record`` gives
auto-number fields their value once the record's Id is known.

- Lead ``Name``: first and last name, as Contact's.
- Task/Event ``AccountId`` from a ``WhatId`` that is an account.
- Case ``IsClosed``/``ClosedDate`` from a closed Status; Task ``IsClosed``/``CompletedDateTime`` and
  ``IsHighPriority`` from Status and Priority.
- Event: ``StartDateTime`` and ``ActivityDateTime`` are the same instant; ``EndDateTime`` and
  ``DurationInMinutes`` follow from each other; ``ActivityDate``/``EndDate`` are their dates.
- CampaignMember ``HasResponded``/``FirstRespondedDate`` from a responded Status.
- OpportunityLineItem ``TotalPrice``/``UnitPrice``/``Subtotal`` from each other, the quantity and the
  discount.
- ContentVersion/ContentDocument ``FileType`` from the file extension.
- Case ``CaseNumber``: eight digits, ``00001001`` for the org's first case.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta, timezone
from typing import Any

from airflow_provider_sfpy.emulator.computed import apply_computed
from airflow_provider_sfpy.emulator.objects.activities import CLOSED_TASK_STATUSES, HIGH_PRIORITY
from airflow_provider_sfpy.emulator.objects.files import file_type
from airflow_provider_sfpy.emulator.objects.sales import ACCOUNT, RESPONDED_STATUSES
from airflow_provider_sfpy.emulator.objects.service import CLOSED_CASE_STATUSES
from airflow_provider_sfpy.emulator.values import format_datetime

FIRST_CASE_NUMBER = 1001

Rule = Callable[[dict[str, Any], Mapping[str, Any]], None]


def _now() -> str:
    return format_datetime(datetime.now(timezone.utc))


def _current(name: str, changes: Mapping[str, Any], existing: Mapping[str, Any]) -> Any:
    return changes[name] if name in changes else existing.get(name)


def _closing(
    changes: dict[str, Any], existing: Mapping[str, Any], closed_statuses: frozenset[str], stamp_field: str
) -> None:
    """``IsClosed`` from the status; the moment it closed in ``stamp_field`` (cleared when reopened)."""
    if "Status" not in changes:
        return
    closed = changes["Status"] in closed_statuses
    changes["IsClosed"] = int(closed)
    if not closed:
        changes[stamp_field] = None
    elif not existing.get("IsClosed"):
        changes[stamp_field] = _now()


def _lead(changes: dict[str, Any], existing: Mapping[str, Any]) -> None:
    apply_computed("Contact", changes, existing)  # a Lead's Name is built like a Contact's


def _case(changes: dict[str, Any], existing: Mapping[str, Any]) -> None:
    _closing(changes, existing, CLOSED_CASE_STATUSES, "ClosedDate")


def _related_account(changes: dict[str, Any]) -> None:
    """An activity's ``AccountId`` when it is about an account (Salesforce also follows an opportunity's
    or contact's account; the emulator leaves those empty)."""
    if "WhatId" in changes:
        what = changes["WhatId"]
        changes["AccountId"] = what if what and what.startswith(ACCOUNT.key_prefix) else None


def _task(changes: dict[str, Any], existing: Mapping[str, Any]) -> None:
    _related_account(changes)
    _closing(changes, existing, CLOSED_TASK_STATUSES, "CompletedDateTime")
    if "Priority" in changes:
        changes["IsHighPriority"] = int(changes["Priority"] == HIGH_PRIORITY)


def _parse(stored: str) -> datetime:
    return datetime.strptime(stored.replace("+0000", "+00:00"), "%Y-%m-%dT%H:%M:%S.%f%z")


def _event(changes: dict[str, Any], existing: Mapping[str, Any]) -> None:
    _related_account(changes)
    if changes.get("StartDateTime") is None and changes.get("ActivityDateTime") is not None:
        changes["StartDateTime"] = changes["ActivityDateTime"]
    if changes.get("StartDateTime") is not None:
        changes["ActivityDateTime"] = changes["StartDateTime"]
    start = _current("StartDateTime", changes, existing)
    if start is None or not {"StartDateTime", "EndDateTime", "DurationInMinutes"} & set(changes):
        return
    begin = _parse(start)
    end = changes.get("EndDateTime")
    if end is not None:
        changes["DurationInMinutes"] = int((_parse(end) - begin).total_seconds() // 60)
    else:
        minutes = _current("DurationInMinutes", changes, existing)
        if minutes is None:
            return
        end = changes["EndDateTime"] = format_datetime(begin + timedelta(minutes=int(minutes)))
    changes["ActivityDate"] = begin.date().isoformat()
    changes["EndDate"] = _parse(end).date().isoformat()


def _campaign_member(changes: dict[str, Any], existing: Mapping[str, Any]) -> None:
    if "Status" not in changes:
        return
    responded = changes["Status"] in RESPONDED_STATUSES
    changes["HasResponded"] = int(responded)
    if responded and not existing.get("FirstRespondedDate"):
        changes["FirstRespondedDate"] = date.today().isoformat()


def _line_item(changes: dict[str, Any], existing: Mapping[str, Any]) -> None:
    if not {"Quantity", "UnitPrice", "TotalPrice", "Discount"} & set(changes):
        return
    quantity = _current("Quantity", changes, existing)
    discount = (_current("Discount", changes, existing) or 0.0) / 100.0
    if not quantity:
        return
    if changes.get("TotalPrice") is not None and changes.get("UnitPrice") is None:
        changes["UnitPrice"] = round(changes["TotalPrice"] / (quantity * (1 - discount)), 2)
    unit_price = _current("UnitPrice", changes, existing)
    if unit_price is None:
        return
    changes["Subtotal"] = round(quantity * unit_price, 2)
    changes["TotalPrice"] = round(quantity * unit_price * (1 - discount), 2)


def _file_type(changes: dict[str, Any], existing: Mapping[str, Any]) -> None:
    if "FileExtension" in changes:
        changes["FileType"] = file_type(changes["FileExtension"])


_RULES: dict[str, Rule] = {
    "Lead": _lead,
    "Case": _case,
    "Task": _task,
    "Event": _event,
    "CampaignMember": _campaign_member,
    "OpportunityLineItem": _line_item,
    "ContentVersion": _file_type,
}


def apply_derived(object_name: str, changes: dict[str, Any], existing: Mapping[str, Any] | None = None) -> None:
    """``computed.apply_computed``, then this package's rules for ``object_name``, in place."""
    apply_computed(object_name, changes, existing)
    rule = _RULES.get(object_name)
    if rule is not None:
        rule(changes, existing or {})


def number_new_record(object_name: str, row: dict[str, Any], ordinal: int) -> None:
    """Fill auto-number fields of a new record; ``ordinal`` counts the object's records from 0."""
    if object_name == "Case" and not row.get("CaseNumber"):
        row["CaseNumber"] = f"{FIRST_CASE_NUMBER + ordinal:08d}"
