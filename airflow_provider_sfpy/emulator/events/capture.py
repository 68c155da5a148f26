"""Change Data Capture for the emulator's store: every committed write to a selected object becomes a change event.

Capture happens in SQLite, not in the write paths, so REST, Collections, composite, Bulk API 1.0 and
2.0, Apex DML and anything added later are covered alike: temporary triggers on each selected
object's table append the row's values before and after each insert, update and delete (as JSON
arrays) to a temporary table, inside the writer's transaction. When the store's outermost
transaction is about to commit, the rows are turned into change events and appended to the org's
event bus in the same transaction; a rolled-back transaction (a failed ``allOrNone`` call) takes its
rows with it, so nothing is published for it. An anonymous Apex run commits statement by statement
but is one Salesforce transaction: its changes are held (``holding``) until the run succeeds
(``release``: one transaction key for the whole run) or are dropped with its undo (``drop``).

How writes map to change types: an insert is CREATE; an update setting ``IsDeleted`` is DELETE (a
soft delete, cascades included), clearing it is UNDELETE, any other update of a live record is
UPDATE; removing a live row is DELETE, removing an already deleted one (Bulk ``hardDelete`` after
its soft delete) publishes nothing more. Header semantics ("ChangeEventHeader Fields",
https://developer.salesforce.com/docs/atlas.en-us.change_data_capture.meta/change_data_capture/cdc_event_fields_header.htm):
one ``transactionKey`` per transaction, ``sequenceNumber`` 1, 2, ... within it, ``commitTimestamp``
in epoch milliseconds, ``commitNumber`` increasing from commit to commit, ``commitUser`` the user
who saved (the first change's ``LastModifiedById``).

Nothing of this exists while capture is off (``Store.change_events is None``), and objects that are
not selected get no triggers: their writes (a million-row Bulk load) cost what they cost before.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_sfpy.emulator.events.origin import current_origin
from airflow_provider_sfpy.emulator.events.records import (
    CREATE,
    DELETE,
    UNDELETE,
    UPDATE,
    CommitInfo,
    RecordChange,
    avro_payload,
    change_event_record,
)
from airflow_provider_sfpy.emulator.events.schemas import change_event_schema
from airflow_provider_sfpy.emulator.events.values import epoch_millis_now

if TYPE_CHECKING:
    from airflow_provider_sfpy.emulator.events.bus import EventBus

CHANGES_TABLE = "cdc_changes"
ALL_CHANGES_CHANNEL = "/data/ChangeEvents"
#: Captured first in every row: what the event header and the change type need.
_KEY_COLUMNS = ("Id", "IsDeleted", "LastModifiedById")


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def captured_columns(entity: str) -> list[str]:
    """The columns a trigger copies for ``entity``: the key columns, then the event's source fields."""
    columns = list(_KEY_COLUMNS)
    columns += [name for name in change_event_schema(entity).source_fields() if name not in columns]
    return columns


class ChangeCapture:
    """The triggers and pending changes of one store (used under the store's lock)."""

    def __init__(self, conn: sqlite3.Connection, entities: frozenset[str], bus: Callable[[], EventBus]) -> None:
        self.entities = entities
        self._conn = conn
        self._bus = bus
        self._columns = {entity: captured_columns(entity) for entity in sorted(entities)}
        self._hold: int | None = None
        self._held: dict[int, list[RecordChange]] = {}
        self._last_commit_number = 0

    # ------------------------------------------------------------------------------- triggers

    def install(self) -> None:
        self._conn.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {CHANGES_TABLE} "
            "(seq INTEGER PRIMARY KEY, tbl TEXT NOT NULL, op TEXT NOT NULL, old TEXT, new TEXT)"
        )
        for entity, columns in self._columns.items():
            for op, when, old, new in (
                ("i", "AFTER INSERT", None, "new"),
                ("u", "AFTER UPDATE", "old", "new"),
                ("d", "AFTER DELETE", "old", None),
            ):
                values = ", ".join(
                    "NULL" if row is None else f"json_array({', '.join(f'{row}.{_quote(c)}' for c in columns)})"
                    for row in (old, new)
                )
                trigger = _quote(self._trigger(entity, op))
                self._conn.execute(
                    f"CREATE TEMP TRIGGER IF NOT EXISTS {trigger} {when} ON main.{_quote(entity)} "
                    f"BEGIN INSERT INTO {CHANGES_TABLE} (tbl, op, old, new) VALUES ('{entity}', '{op}', {values}); END"
                )

    def uninstall(self) -> None:
        for entity in self._columns:
            for op in "iud":
                self._conn.execute(f"DROP TRIGGER IF EXISTS temp.{_quote(self._trigger(entity, op))}")
        self._conn.execute(f"DROP TABLE IF EXISTS temp.{CHANGES_TABLE}")

    @staticmethod
    def _trigger(entity: str, op: str) -> str:
        return f"cdc_{entity}_{op}"

    # ------------------------------------------------------------------------------- transactions

    def before_commit(self) -> None:
        """The store's outermost transaction is about to commit: publish its changes (or hold them)."""
        changes = self._drain()
        if not changes:
            return
        if self._hold is not None:
            self._held.setdefault(self._hold, []).extend(changes)
        else:
            self._publish(changes)

    @contextlib.contextmanager
    def holding(self, key: int) -> Iterator[None]:
        """Hold the changes committed inside the block under ``key`` (one Apex run) instead of publishing them."""
        previous, self._hold = self._hold, key
        try:
            yield
        finally:
            self._hold = previous

    def release(self, key: int) -> None:
        """Publish what ``key`` held, as one transaction (the run succeeded)."""
        self._publish(self._held.pop(key, []))

    def drop(self, key: int) -> None:
        """Forget what ``key`` held and what the current transaction wrote so far (the run is being undone)."""
        self._held.pop(key, None)
        self._conn.execute(f"DELETE FROM temp.{CHANGES_TABLE}")

    def _drain(self) -> list[RecordChange]:
        rows = self._conn.execute(f"SELECT tbl, op, old, new FROM temp.{CHANGES_TABLE} ORDER BY seq").fetchall()
        if not rows:
            return []
        self._conn.execute(f"DELETE FROM temp.{CHANGES_TABLE}")
        changes = []
        for table, op, old, new in rows:
            change = self._record_change(table, op, old, new)
            if change is not None:
                changes.append(change)
        return changes

    def _record_change(self, entity: str, op: str, old_json: str | None, new_json: str | None) -> RecordChange | None:
        columns = self._columns[entity]
        old = dict(zip(columns, json.loads(old_json), strict=True)) if old_json else None
        new = dict(zip(columns, json.loads(new_json), strict=True)) if new_json else None
        if new is None:  # a row removed: a DELETE unless it was deleted already
            assert old is not None
            return None if old["IsDeleted"] else RecordChange(entity, DELETE, old["Id"], old["LastModifiedById"] or "")
        user = new["LastModifiedById"] or ""
        if old is None:
            return None if new["IsDeleted"] else RecordChange(entity, CREATE, new["Id"], user, new)
        if not old["IsDeleted"] and new["IsDeleted"]:
            return RecordChange(entity, DELETE, new["Id"], user)
        if old["IsDeleted"] and not new["IsDeleted"]:
            return RecordChange(entity, UNDELETE, new["Id"], user, new)
        if new["IsDeleted"]:
            return None  # a change to a deleted record is not published
        changed = {name for name in columns[len(_KEY_COLUMNS) :] if old.get(name) != new.get(name)}
        if old["LastModifiedById"] != new["LastModifiedById"]:
            changed.add("LastModifiedById")
        changed.add("LastModifiedDate")  # every save stamps it, even within the same millisecond
        return RecordChange(entity, UPDATE, new["Id"], user, new, frozenset(changed))

    # ------------------------------------------------------------------------------- publishing

    def _commit_info(self, changes: Sequence[RecordChange]) -> CommitInfo:
        self._last_commit_number = max(self._last_commit_number + 1, time.time_ns() // 1000)
        return CommitInfo(
            transaction_key=str(uuid.uuid4()),
            commit_timestamp=epoch_millis_now(),
            commit_number=self._last_commit_number,
            commit_user=changes[0].user_id,
            change_origin=current_origin(),
        )

    def _publish(self, changes: Sequence[RecordChange]) -> None:
        if not changes:
            return
        commit = self._commit_info(changes)
        events: list[tuple[Sequence[str], str, bytes, str]] = []
        for sequence, change in enumerate(changes, start=1):
            schema = change_event_schema(change.entity)
            record: dict[str, Any] = change_event_record(schema, change, commit, sequence)
            payload = avro_payload(schema.avro.parsed, record)
            events.append(([schema.channel, ALL_CHANGES_CHANNEL], schema.avro.schema_id, payload, str(uuid.uuid4())))
        self._bus().append_many(events)
