"""Incremental exports: each run exports what changed since the last one, deletes included on request.

A run of an export with ``incremental_key`` (``SystemModstamp`` by default):

1. reads the watermark from its outlet asset's state store (``watermark.py``) and checks it was
   recorded by this task, for this org and this query;
2. fixes its window ``[watermark, upper]`` *before* querying: ``upper`` is the time the run starts
   (this worker's clock, or Salesforce's when the worker's runs ahead). Both bounds are inclusive.
   Rows modified while the export runs get a key after ``upper`` and are left for the next run,
   however the query's pages are served, so no change made during an export is lost;
3. exports ``(user's WHERE) AND key >= watermark AND key <= upper ORDER BY key`` (the whole
   ``key <= upper`` on the first run, or with ``full_refresh``);
4. once every file is committed (each written atomically, then its ``<file>.meta.json``), stores the
   new watermark: the highest key actually written (never past ``upper``), or the old one when
   nothing was. A run that fails or is killed before that leaves the watermark where it was.

**The boundary is at-least-once.** The lower bound is inclusive, so rows modified in the same
millisecond as the previous watermark — possibly committed after the previous run read that
millisecond — are exported again by the next run. Rows carry their ``Id``: consumers upsert by it.

**Deletes** (``include_deleted=True``): the window is read with ``queryAll``, which also returns
records in the recycle bin, and ``IsDeleted`` is added to the columns; with ``deleted_destination``
the deleted rows (``IsDeleted = true``) go to a file of their own and the main file keeps live
rows only. Deleted records stay in the Recycle Bin, and so visible to ``queryAll``, for 15 days
(Apex Developer Guide, "Restoring Deleted Records":
https://developer.salesforce.com/docs/atlas.en-us.apexcode.meta/apexcode/langCon_apex_dml_examples_undelete.htm;
SOAP API, ``undelete()``: deleted records, merged ones too, are found with ``queryAll()``), so a sync
paused for longer should run once with ``full_refresh``. Deleting a parent deletes its children
(an account's contacts) in the same operation, so their deletion is exported too.

**Limits.** Rows whose key is null are never exported (no window holds them): use ``SystemModstamp``,
which Salesforce always sets. A change whose transaction commits only after a run has read past its
``SystemModstamp`` (a long-running transaction) can be missed: the inclusive lower bound covers the
watermark's own millisecond, no more. Salesforce's replication API (``getUpdated``) accounts for such
in-flight changes; this export does not use it.

The window literals and the key are written by ``incremental_soql``; nothing here splices text.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any

from airflow.sdk import Asset, ObjectStoragePath

from airflow_provider_sfpy.operators.incremental_pages import DELETED_FIELD
from airflow_provider_sfpy.operators.incremental_setup import IncrementalSettings
from airflow_provider_sfpy.operators.incremental_soql import (
    IncrementalQueryError,
    QueryParts,
    Window,
    parse_salesforce_datetime,
    soql_datetime,
    split_query,
    truncate_to_millisecond,
    windowed_query,
)
from airflow_provider_sfpy.operators.storage import atomic_write
from airflow_provider_sfpy.operators.watermark import WatermarkStore

try:
    from airflow.sdk.exceptions import AirflowFailException
except ImportError:  # Airflow 3.1
    from airflow.exceptions import AirflowFailException  # type: ignore[no-redef]

FULL_REFRESH_CONF_KEY = "full_refresh"
METADATA_SUFFIX = ".meta.json"
METADATA_VERSION = 1
#: A worker clock ahead of Salesforce's ``Date`` by more than this is wrong, not merely a second
#: apart: ``Date`` has whole seconds, and a busy server or a proxy may send one a few seconds old.
CLOCK_TOLERANCE = timedelta(seconds=60)
ORG_QUERY = "SELECT Id FROM Organization"
_TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
_FALSE_WORDS = frozenset({"false", "0", "no", "off", "", "none"})


def wants_full_refresh(value: object, context: Mapping[str, Any]) -> str | None:
    """Why this run exports everything (``full_refresh`` given, or in ``dag_run.conf``), or ``None``."""
    if _flag(value, "full_refresh"):
        return "full_refresh"
    conf = getattr(context.get("dag_run"), "conf", None)
    if isinstance(conf, Mapping) and _flag(conf.get(FULL_REFRESH_CONF_KEY), 'dag_run.conf["full_refresh"]'):
        return 'dag_run.conf["full_refresh"]'
    return None


def _flag(value: object, name: str) -> bool:
    """A flag given as a bool or as rendered template text (``"True"``, ``"false"``, ``""``)."""
    if value is None or isinstance(value, bool):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE_WORDS:
        return True
    if text in _FALSE_WORDS:
        return False
    raise ValueError(f"{name} must be true or false, not {value!r}")


# ---------------------------------------------------------------------------------------- one run


@dataclass(frozen=True)
class IncrementalRun:
    """One run's window and what its watermark will be valid for."""

    settings: IncrementalSettings
    parts: QueryParts
    asset: Asset
    window: Window
    previous: datetime | None
    full_reason: str | None
    org_id: str
    owner: str

    @property
    def mode(self) -> str:
        return "incremental" if self.full_reason is None else "full"

    def describe(self) -> str:
        """``Incremental export of Account by SystemModstamp, window [from, to]``, for the task log."""
        window = self.window.as_dict()
        why = f" ({self.full_reason})" if self.full_reason else ""
        return (
            f"{self.mode.capitalize()} export of {self.parts.object_name} by {self.settings.key}, "
            f"window [{window['from'] or 'the beginning'}, {window['to']}]{why}"
        )

    @property
    def fingerprint(self) -> str:
        return query_fingerprint(self.parts, self.settings.key)

    def query(self, *, ordered: bool = True) -> str:
        """The main query: live rows of the window, and deleted ones too when they share the file."""
        extra = (DELETED_FIELD,) if self.settings.deletes_in_main_file else ()
        return windowed_query(self.parts, self.settings.key, self.window, extra_fields=extra, ordered=ordered)

    def deleted_query(self, *, ordered: bool = True) -> str:
        """The rows deleted within the window, for ``deleted_destination`` (run with ``queryAll``)."""
        return windowed_query(
            self.parts,
            self.settings.key,
            self.window,
            extra_fields=(DELETED_FIELD,),
            deleted_only=True,
            ordered=ordered,
        )

    def next_watermark(self, highest: Iterable[datetime | None]) -> datetime | None:
        """The highest key written by this run's files, or the previous watermark when they hold none."""
        written = [moment for moment in highest if moment is not None]
        return max(written) if written else self.previous

    def to_json(self) -> dict[str, Any]:
        """What a resumed task (after a deferral) needs to finish this run."""
        return {
            "window": self.window.as_dict(),
            "previous": soql_datetime(self.previous) if self.previous else None,
            "full_reason": self.full_reason,
            "org_id": self.org_id,
            "owner": self.owner,
            "query": self.query(ordered=False),
        }

    def with_recorded_window(self, recorded: Mapping[str, Any] | None) -> IncrementalRun:
        """This run, with the window an earlier try of the same task instance planned, when that try
        started from the same watermark (so a retry re-sends the same query and can re-use its job)."""
        if not recorded or recorded.get("previous") != (soql_datetime(self.previous) if self.previous else None):
            return self
        if recorded.get("full_reason") != self.full_reason or recorded.get("org_id") != self.org_id:
            return self
        return dataclasses.replace(self, window=_recorded_window(recorded))

    @classmethod
    def restore(
        cls, recorded: Mapping[str, Any], *, settings: IncrementalSettings, soql: str, asset: Asset
    ) -> IncrementalRun:
        """The run ``to_json`` described, for a task resumed after a deferral."""
        previous = recorded.get("previous")
        return cls(
            settings=settings,
            parts=split_query(soql),
            asset=asset,
            window=_recorded_window(recorded),
            previous=parse_salesforce_datetime(previous) if previous else None,
            full_reason=recorded.get("full_reason"),
            org_id=str(recorded["org_id"]),
            owner=str(recorded["owner"]),
        )

    def file_metadata(self, *, path: str, soql: str, rows: int, deleted_rows: int, contents: str) -> dict[str, Any]:
        """The facts of one written file, for its ``.meta.json`` sidecar and the task's XCom."""
        return {
            "sfpy_incremental_export": METADATA_VERSION,
            "path": path,
            "object": self.parts.object_name,
            "incremental_key": self.settings.key,
            "mode": self.mode,
            "full_reason": self.full_reason,
            "window": self.window.as_dict(),
            "rows": rows,
            "deleted_rows": deleted_rows,
            "contents": contents,
            "soql": soql,
            "org_id": self.org_id,
            "asset": self.asset.uri,
        }

    def commit(
        self,
        context: Mapping[str, Any],
        store: WatermarkStore,
        watermark: datetime | None,
        files: Sequence[Mapping[str, Any]],
    ) -> None:
        """Store the new watermark — call only once every file is in place — and describe the run on
        the outlet asset's event, for DAGs scheduled on the asset."""
        summary = {
            "mode": self.mode,
            "window": self.window.as_dict(),
            "watermark": soql_datetime(watermark) if watermark else None,
            "files": [{"path": f["path"], "rows": f["rows"], "contents": f["contents"]} for f in files],
        }
        store.save(
            {
                "watermark": summary["watermark"],
                "incremental_key": self.settings.key,
                "object": self.parts.object_name,
                "fingerprint": self.fingerprint,
                "org_id": self.org_id,
                "owner": self.owner,
                "last_run": summary,
                "saved_at": soql_datetime(datetime.now(timezone.utc)),
            }
        )
        events = context.get("outlet_events")
        if events is not None:
            events[self.asset].extra.update(summary)


def _recorded_window(recorded: Mapping[str, Any]) -> Window:
    window = recorded["window"]
    lower = window.get("from")
    return Window(parse_salesforce_datetime(lower) if lower else None, parse_salesforce_datetime(window["to"]))


def query_fingerprint(parts: QueryParts, key: str) -> str:
    """What a watermark is valid for: the object, the key and the condition (not the column list)."""
    condition = " ".join((parts.condition or "").split())
    return hashlib.sha256(json.dumps([parts.object_name.lower(), key.lower(), condition]).encode()).hexdigest()


def plan_run(
    context: Mapping[str, Any],
    *,
    client: Any,
    settings: IncrementalSettings,
    soql: str,
    asset: Asset,
    full_refresh: object,
    owner: str,
    log: Any,
    now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
) -> tuple[IncrementalRun, WatermarkStore]:
    """This run's window, from the stored watermark (checked) and the time the run starts."""
    try:
        parts = split_query(soql)
    except IncrementalQueryError as exc:
        raise AirflowFailException(str(exc)) from None
    store = WatermarkStore(context, asset)
    full_reason = wants_full_refresh(full_refresh, context)
    org_id, salesforce_now = org_identity(client)
    previous: datetime | None = None
    if full_reason is None:
        recorded = store.load()
        if recorded is None:
            full_reason = "first run"
        else:
            _check_recorded(
                recorded, asset=asset, org_id=org_id, owner=owner, fingerprint=query_fingerprint(parts, settings.key)
            )
            previous = parse_salesforce_datetime(recorded["watermark"]) if recorded.get("watermark") else None
            if previous is None:
                full_reason = "no rows exported yet"
    upper = window_upper(now(), salesforce_now, log)
    if previous is not None and previous > upper:
        log.warning(
            "The stored watermark %s is later than this run's start %s (a clock was ahead); this run exports "
            "nothing new and keeps the watermark",
            soql_datetime(previous),
            soql_datetime(upper),
        )
    run = IncrementalRun(settings, parts, asset, Window(previous, upper), previous, full_reason, org_id, owner)
    return run, store


def _check_recorded(recorded: Mapping[str, Any], *, asset: Asset, org_id: str, owner: str, fingerprint: str) -> None:
    """Refuse a watermark recorded for another org, task or query: applying it would skip rows."""
    restart = (
        'Run once with full_refresh=True (or dag_run.conf {"full_refresh": true}) to export everything and '
        "start a new watermark"
    )
    if recorded.get("org_id") != org_id:
        raise AirflowFailException(
            f"the watermark of {asset.uri} was recorded for Salesforce org {recorded.get('org_id')}, but the "
            f"connection now logs into org {org_id}; continuing from it would skip this org's older changes. "
            f"{restart}, or give this task an outlet asset of its own."
        )
    if recorded.get("owner") != owner:
        raise AirflowFailException(
            f"the watermark of {asset.uri} belongs to task {recorded.get('owner')}, not {owner}: two incremental "
            "exports sharing one asset would each skip what the other exported. Give each its own outlet, e.g. "
            f"outlets=[Asset('{asset.uri}/{owner.rsplit('.', 1)[-1]}')]; or, to move the watermark to this "
            f"task, {restart[0].lower()}{restart[1:]}."
        )
    if recorded.get("fingerprint") != fingerprint:
        raise AirflowFailException(
            f"the query of this task changed since the watermark of {asset.uri} was recorded (its object, "
            "incremental_key or WHERE): rows the new query selects that have not changed since would never be "
            f"exported. {restart}."
        )


def org_identity(client: Any) -> tuple[str, datetime | None]:
    """The org's id (what the watermark is valid for) and Salesforce's clock, from one small query."""
    body, response = client.query(ORG_QUERY)
    records = body.get("records") or []
    if not records or not records[0].get("Id"):
        raise AirflowFailException(
            f"could not read the org's id ({ORG_QUERY} returned no row); the connection's user needs read "
            "access to the Organization object"
        )
    headers = {str(k).lower(): v for k, v in (getattr(response, "headers", None) or {}).items()}
    try:
        salesforce_now = parsedate_to_datetime(headers["date"]).astimezone(timezone.utc)
    except (KeyError, TypeError, ValueError):
        salesforce_now = None
    return str(records[0]["Id"]), salesforce_now


def window_upper(now: datetime, salesforce_now: datetime | None, log: Any) -> datetime:
    """The window's end: this worker's time, unless it runs clearly ahead of Salesforce's (a bound in
    Salesforce's future could let a row changed during the export carry the watermark past rows
    read earlier); then Salesforce's ``Date``, which is rounded down and so never ahead. An end
    that is too early only leaves rows for the next run."""
    upper = truncate_to_millisecond(now.astimezone(timezone.utc))
    if salesforce_now is not None and upper > salesforce_now + CLOCK_TOLERANCE:
        log.warning(
            "This worker's clock is %.1f s ahead of Salesforce's; the window ends at Salesforce's time %s. "
            "Synchronise the worker's clock (NTP).",
            (upper - salesforce_now).total_seconds(),
            soql_datetime(salesforce_now),
        )
        return salesforce_now
    return upper


def write_metadata(destination: ObjectStoragePath, metadata: Mapping[str, Any]) -> str:
    """``<file>.meta.json`` beside ``destination``, written atomically; returns its path."""
    sidecar = destination.parent / f"{destination.name}{METADATA_SUFFIX}"
    with atomic_write(sidecar) as out:
        out.write(json.dumps(metadata, indent=2).encode("utf-8"))
    return str(sidecar)
