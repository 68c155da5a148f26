"""The CRM Analytics datasets the emulator serves, built from the org's records when queried.

A real dataset is a snapshot a dataflow or recipe extracted from Salesforce objects; here each one
is defined as a SOQL projection (Opportunity joined to its Account, and so on) that runs at query
time, so records a test just created show up in SAQL results without a "refresh". Field names and
types follow what the Salesforce extract produces: text and picklists become dimensions, booleans
become "true"/"false" dimensions, numbers become measures, and a date also yields its parts
(``CloseDate_Year``, ``_Quarter``, ``_Month``, ``_Day``) and epoch measures (``CloseDate_sec_epoch``,
``CloseDate_day_epoch``).

Dataset and version Ids are derived from the dataset name, so they are the same in every emulator
run and can be written into a query.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from airflow_provider_sfpy.emulator import ids
from airflow_provider_sfpy.emulator.defaults import LATEST_API_VERSION
from airflow_provider_sfpy.emulator.soql import compile_soql
from airflow_provider_sfpy.emulator.store import Store, quote

from .engine import NUMERIC, STRING, Table

DATASET_PREFIX = "0Fb"
VERSION_PREFIX = "0Fc"
#: Page size for reading a whole object in one query page.
_ALL_ROWS = 2**62
_EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class DatasetField:
    """One extracted field: its dataset name, the SOQL path it comes from, and how it is typed."""

    name: str
    source: str
    kind: str = "dimension"  # dimension | measure | boolean | date

    def columns(self) -> Iterator[tuple[str, str]]:
        if self.kind == "measure":
            yield self.name, NUMERIC
        elif self.kind == "date":
            yield self.name, STRING
            for part in ("Year", "Quarter", "Month", "Day"):
                yield f"{self.name}_{part}", STRING
            yield f"{self.name}_sec_epoch", NUMERIC
            yield f"{self.name}_day_epoch", NUMERIC
        else:
            yield self.name, STRING

    def values(self, value: Any) -> Iterator[tuple[str, Any]]:
        if self.kind == "measure":
            yield self.name, float(value) if value is not None else None
        elif self.kind == "boolean":
            yield self.name, None if value is None else ("true" if value else "false")
        elif self.kind == "date":
            yield from _date_values(self.name, value)
        else:
            yield self.name, str(value) if value is not None else None


def _date_values(name: str, value: str | None) -> Iterator[tuple[str, Any]]:
    day = date.fromisoformat(value[:10]) if value else None
    yield name, value
    yield f"{name}_Year", f"{day.year}" if day else None
    yield f"{name}_Quarter", f"{(day.month - 1) // 3 + 1}" if day else None
    yield f"{name}_Month", f"{day.month:02d}" if day else None
    yield f"{name}_Day", f"{day.day:02d}" if day else None
    days = (day - _EPOCH).days if day else None
    yield f"{name}_sec_epoch", float(days * 86400) if days is not None else None
    yield f"{name}_day_epoch", float(days) if days is not None else None


def _stable_id(prefix: str, name: str) -> str:
    digest = hashlib.sha256(f"{prefix}/{name}".encode()).digest()
    return ids.make_id(prefix, int.from_bytes(digest[:8], "big") % 62**ids.COUNTER_WIDTH)


@dataclass(frozen=True)
class Dataset:
    name: str
    label: str
    sobject: str
    fields: tuple[DatasetField, ...]
    #: Objects whose changes change the dataset (for ``lastModifiedDate``).
    sources: tuple[str, ...]

    @property
    def id(self) -> str:
        return _stable_id(DATASET_PREFIX, self.name)

    @property
    def version_id(self) -> str:
        return _stable_id(VERSION_PREFIX, self.name)

    def columns(self) -> dict[str, str]:
        return {name: kind for f in self.fields for name, kind in f.columns()}

    def table(self, store: Store) -> Table:
        """The dataset's current rows, read from the store with one SOQL query."""
        paths = [f.source for f in self.fields]
        compiled = compile_soql(f"SELECT {', '.join(paths)} FROM {self.sobject}")
        page = store.open_query(compiled.sql, compiled.params, _ALL_ROWS)
        rows = []
        for raw in page.rows:
            record = compiled.to_record(raw, LATEST_API_VERSION)
            rows.append({k: v for f in self.fields for k, v in f.values(_path_value(record, f.source))})
        return Table(self.columns(), rows)

    def last_modified(self, store: Store) -> str | None:
        """When a source record last changed (the latest ``SystemModstamp``, in storage form), which
        is when a real dataflow would have last had something new to extract."""
        stamps = [store.scalar(f"SELECT max(SystemModstamp) FROM {quote(name)}") for name in self.sources]
        return max((str(s) for s in stamps if s), default=None)


def _path_value(record: dict[str, Any], path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _dims(*names: str) -> tuple[DatasetField, ...]:
    return tuple(DatasetField(n, n) for n in names)


OPPORTUNITIES = Dataset(
    name="opportunities",
    label="Opportunities",
    sobject="Opportunity",
    fields=(
        *_dims("Id", "Name", "StageName", "Type", "LeadSource", "AccountId"),
        DatasetField("IsClosed", "IsClosed", "boolean"),
        DatasetField("IsWon", "IsWon", "boolean"),
        DatasetField("CloseDate", "CloseDate", "date"),
        DatasetField("Amount", "Amount", "measure"),
        DatasetField("Probability", "Probability", "measure"),
        *_dims("Account.Name", "Account.Industry", "Account.Type", "Account.BillingCountry", "Owner.Name"),
    ),
    sources=("Opportunity", "Account"),
)

ACCOUNTS = Dataset(
    name="accounts",
    label="Accounts",
    sobject="Account",
    fields=(
        *_dims("Id", "Name", "AccountNumber", "Type", "Industry", "Rating", "BillingCity", "BillingCountry"),
        DatasetField("Active__c", "Active__c", "boolean"),
        DatasetField("AnnualRevenue", "AnnualRevenue", "measure"),
        DatasetField("NumberOfEmployees", "NumberOfEmployees", "measure"),
        DatasetField("Owner.Name", "Owner.Name"),
    ),
    sources=("Account",),
)

DATASETS: tuple[Dataset, ...] = (ACCOUNTS, OPPORTUNITIES)


def find_dataset(reference: str) -> Dataset | None:
    """A dataset by Id (15 or 18 characters) or API name (case-insensitive), as the dataset
    resource accepts either."""
    normalized = ids.normalize(reference)
    for dataset in DATASETS:
        if dataset.id == normalized or dataset.name.lower() == reference.lower():
            return dataset
    return None


def resolve_load(reference: str) -> Dataset | None:
    """The dataset of a ``load "..."``: ``datasetId/versionId`` (the version must be current), a
    dataset Id, or an API name."""
    dataset_ref, slash, version_ref = reference.partition("/")
    dataset = find_dataset(dataset_ref.strip())
    if dataset is None or (slash and ids.normalize(version_ref.strip()) != dataset.version_id):
        return None
    return dataset
