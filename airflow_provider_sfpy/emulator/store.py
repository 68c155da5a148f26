"""The emulated org's data: one SQLite database, one table per sObject (see ``schema.py`` conventions).

All SQL of the emulator lives here: DDL, validated DML (create/update/soft delete/upsert) raising the
REST API's errors, fast bulk loading for seeds and synthetic data, and query cursors.

Concurrency: a single connection (``check_same_thread=False``) guarded by one re-entrant lock, so the
async routes, the uvicorn thread and a test thread poking the store directly never interleave.
The lock is held for one operation (or one ``transaction()`` block) at a time, never for a whole
anonymous Apex run: that would let an endless loop stall every client. An Apex block's DML is
recorded instead (``recording``: temporary triggers copy each row it changes, for the length of one
statement) and undone if the block ends with an uncaught exception (``undo``).

Change events: with ``change_events`` set (the objects to capture; ``None``, the default, is off),
every committed change to those objects becomes a Change Data Capture event on ``event_bus``
(``events/capture.py``: temporary triggers, published when the outermost ``transaction()`` commits;
an Apex run's changes when the run succeeds).

Query cursors: a query's result is materialised once into a ``TEMP`` table and paged by ``rowid``
— one indexed range read per page whatever the size, and SQLite spills the table to a temp file
instead of holding a million rows in Python memory. Results that fit in one batch drop the table at
once; larger ones keep it as the cursor behind ``nextRecordsUrl``.
Like Salesforce's query locators, cursors expire after 15 minutes without use; a fully read cursor
is kept for a short grace period so a client retrying its last page after a dropped connection
still gets it, then dropped.
"""

from __future__ import annotations

import contextlib
import itertools
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_provider_sfpy.emulator import ids
from airflow_provider_sfpy.emulator.defaults import QUERY_CURSOR_TIMEOUT_SECONDS
from airflow_provider_sfpy.emulator.errors import ApiError, not_found
from airflow_provider_sfpy.emulator.events.capture import ChangeCapture
from airflow_provider_sfpy.emulator.events.schemas import selected_entities
from airflow_provider_sfpy.emulator.objects.derived import apply_derived, number_new_record
from airflow_provider_sfpy.emulator.objects.files import document_for_version, links_for_new_document
from airflow_provider_sfpy.emulator.objects.model import CURRENT_USER
from airflow_provider_sfpy.emulator.schema import (
    SCHEMA,
    FieldDef,
    SObjectDef,
    cascade_children,
    sobject_for_key_prefix,
)
from airflow_provider_sfpy.emulator.values import BodyLocator, now_string, to_storage

if TYPE_CHECKING:
    from airflow_provider_sfpy.emulator.events.bus import EventBus

DB_FILENAME = "emulator.sqlite3"
#: Counters start here so emulator Ids have the mixed case of real ones (``0015g00LsQ2...``).
FIRST_COUNTER = ids.decode_base62("0LsQ20000")
ORG_ID = ids.make_id("00D", ids.decode_base62("00SfPy000"))
CONTENT_DOCUMENT_PREFIX = "069"
QUERY_LOCATOR_PREFIX = "01g"
#: How long a fully read cursor survives, so that a retried last page is still answered.
FINISHED_CURSOR_GRACE_SECONDS = 60.0
MAX_OPEN_CURSORS = 50
INSERT_CHUNK = 5000
#: Lookups to User that every object has; not worth an index each.
_SYSTEM_REFS = frozenset({"CreatedBy", "LastModifiedBy", "Owner"})

_UPDATE_WARNING = (
    "Unable to create/update fields: {fields}. Please check the security settings of this field and "
    "verify that it is read/write for your profile or permission set."
)
#: Deleting a parent deletes these children too (Account -> its Contacts, Opportunities, Attachments ...).
_CASCADE = cascade_children()
#: Unique savepoint names for ``Store.transaction`` (nested blocks need distinct ones).
_SAVEPOINT_IDS = itertools.count(1)
#: Unique ids of ``UndoLog``s (each Apex run records its writes under its own).
_UNDO_LOG_IDS = itertools.count(1)
_UNDO_TABLE = "apex_undo"


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _collation(field: FieldDef) -> str:
    """How a lookup field's values compare: `` COLLATE NOCASE`` unless they are case-sensitive (Ids,
    unique case-sensitive external ids). SQLite folds ASCII letters only; Salesforce folds all."""
    if field.case_sensitive or field.type in ("id", "reference") or field.sqlite_type != "TEXT":
        return ""
    return " COLLATE NOCASE"


class MultipleMatches(Exception):
    """An external id matched more than one record (the REST API answers 300 with their URLs)."""

    def __init__(self, record_ids: list[str]) -> None:
        super().__init__(f"{len(record_ids)} records match")
        self.record_ids = record_ids


@dataclass
class QueryPage:
    """One page of query rows, the total row count and where the next page starts (if any)."""

    total_size: int
    rows: list[tuple[Any, ...]]
    cursor_id: str | None
    next_offset: int
    context: Any = None

    @property
    def done(self) -> bool:
        return self.cursor_id is None


@dataclass
class _Cursor:
    cursor_id: str
    table: str
    total_size: int
    batch_size: int
    context: Any
    last_used: float
    finished_at: float | None = None


@dataclass
class Blob:
    data: bytes
    content_type: str | None
    filename: str | None


@dataclass(frozen=True)
class UndoLog:
    """The writes of one anonymous Apex run, kept (in ``temp`` tables) until it ends; see ``Store.recording``."""

    log_id: int = field(default_factory=lambda: next(_UNDO_LOG_IDS))


class Store:
    """SQLite-backed records of the emulated org. ``path=None`` keeps everything in memory."""

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        cursor_timeout: float = QUERY_CURSOR_TIMEOUT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.lock = threading.RLock()
        self.org_id = ORG_ID
        self._clock = clock
        self._cursor_timeout = cursor_timeout
        self._cursors: dict[str, _Cursor] = {}
        self._next_counter: dict[str, int] = {}  # per key prefix
        self._undo_columns: dict[str, list[str]] | None = None  # per table, once the undo tables exist
        self._transaction_depth = 0
        self._capture: ChangeCapture | None = None
        self._event_bus: EventBus | None = None
        self._conn = sqlite3.connect(
            str(path) if path is not None else ":memory:", check_same_thread=False, isolation_level=None
        )
        if path is not None:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
        self._create_tables()

    @classmethod
    def open(cls, data_dir: str | Path | None = None, **kwargs: Any) -> Store:
        """An in-memory store, or one persisted in ``data_dir`` (created if needed)."""
        if data_dir is None:
            return cls(None, **kwargs)
        directory = Path(data_dir)
        directory.mkdir(parents=True, exist_ok=True)
        return cls(directory / DB_FILENAME, **kwargs)

    def close(self) -> None:
        with self.lock:
            self._conn.close()

    # ----------------------------------------------------------------------------------- change events

    @property
    def change_events(self) -> frozenset[str] | None:
        """The objects whose committed changes become change events; ``None``: capture is off."""
        return self._capture.entities if self._capture is not None else None

    @change_events.setter
    def change_events(self, entities: Iterable[str] | None) -> None:
        """Turn capture on for ``entities`` (``selected_entities`` checks the names), or off with ``None``.

        To capture every CDC-capable object: ``store.change_events = selected_entities(None)``.
        """
        with self.lock:
            if self._capture is not None:
                self._capture.uninstall()
                self._capture = None
            if entities is not None:
                capture = ChangeCapture(self._conn, selected_entities(entities), lambda: self.event_bus)
                capture.install()
                self._capture = capture

    @property
    def event_bus(self) -> EventBus:
        """The org's event bus (``events/bus.py``), created on first use."""
        with self.lock:
            if self._event_bus is None:
                from airflow_provider_sfpy.emulator.events.bus import EventBus

                self._event_bus = EventBus(self)
            return self._event_bus

    @event_bus.setter
    def event_bus(self, bus: EventBus) -> None:
        self._event_bus = bus

    # ----------------------------------------------------------------------------------- schema

    def _create_tables(self) -> None:
        with self.lock, self._transaction():
            existing = {row[0] for row in self._conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            for obj in SCHEMA.values():
                if obj.name in existing:
                    self._add_new_columns(obj)
                columns = []
                for f in obj.fields:
                    spec = f"{quote(f.name)} {f.sqlite_type}"
                    if f.name == "Id":
                        spec += " NOT NULL PRIMARY KEY"
                    elif f.name == "IsDeleted":
                        spec += " NOT NULL DEFAULT 0"
                    columns.append(spec)
                self._conn.execute(f"CREATE TABLE IF NOT EXISTS {quote(obj.name)} ({', '.join(columns)})")
                for f in obj.fields:
                    if f.name == "Id":
                        continue
                    if f.lookup_key or f.unique or (f.type == "reference" and f.relationship_name not in _SYSTEM_REFS):
                        self._conn.execute(
                            f"CREATE INDEX IF NOT EXISTS {quote(f'{obj.name}_{f.name}')} "
                            f"ON {quote(obj.name)} ({quote(f.name)}{_collation(f)})"
                        )

    def _add_new_columns(self, obj: SObjectDef) -> None:
        """Give a table kept in a ``data_dir`` the fields its object gained since (empty in old rows)."""
        present = {row[1] for row in self._conn.execute(f"PRAGMA main.table_info({quote(obj.name)})")}
        for f in obj.fields:
            if f.name not in present:
                self._conn.execute(f"ALTER TABLE {quote(obj.name)} ADD COLUMN {quote(f.name)} {f.sqlite_type}")

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        with self.transaction():
            yield

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """All store writes inside the block commit together, or none do if it raises.

        Savepoints rather than ``BEGIN``, so blocks nest: an sObject Collections call with
        ``allOrNone`` wraps many creates/deletes (each possibly its own transaction) in one outer
        block and rolls every record back when one fails. The store lock is held throughout, so no
        other thread's statements land inside the transaction.
        """
        name = f"sp_{next(_SAVEPOINT_IDS)}"
        with self.lock:
            self._conn.execute(f"SAVEPOINT {name}")
            self._transaction_depth += 1
            try:
                yield
                if self._transaction_depth == 1 and self._capture is not None:
                    self._capture.before_commit()  # the changes' events commit with them
            except BaseException:
                self._conn.execute(f"ROLLBACK TO {name}")
                self._conn.execute(f"RELEASE {name}")
                raise
            finally:
                self._transaction_depth -= 1
            self._conn.execute(f"RELEASE {name}")

    # ----------------------------------------------------------------------------------- Apex transactions

    @contextlib.contextmanager
    def recording(self, log: UndoLog, object_names: Iterable[str], op: str) -> Iterator[None]:
        """Hold the lock for one Apex DML statement (``op`` on records of ``object_names``) and copy every
        row it changes into ``log``.

        Temporary triggers write the prior state of each row the statement updates (a soft delete is an
        update, of the record and of the children it takes along) and the rowid of each row it inserts
        to ``temp`` tables. They exist only inside this block, under the lock, so they record this
        statement's writes and nobody else's, and cost nothing to other writes (a Bulk load) at any
        other time. Only the triggers the statement's writes can fire are made (each is DDL, ~0.1 ms).
        A statement that fails rolls back its savepoint, its undo rows with it.
        """
        fires: dict[str, set[str]] = {}
        for name in object_names:
            if op in ("insert", "upsert"):
                fires.setdefault(name, set()).add("i")
            if op in ("update", "upsert"):
                fires.setdefault(name, set()).add("u")
            if op == "delete":
                for table in _cascade_closure(name):
                    fires.setdefault(table, set()).add("u")
        with self.lock:
            columns = self._undo_tables()
            triggers: list[str] = []
            holding = self._capture.holding(log.log_id) if self._capture is not None else contextlib.nullcontext()
            try:
                for table, ops in fires.items():
                    triggers += self._create_undo_triggers(log, table, columns[table], ops)
                with holding:  # the run's change events wait for its end (``forget``) or go (``undo``)
                    yield
            finally:
                for trigger in triggers:
                    self._conn.execute(f"DROP TRIGGER IF EXISTS temp.{quote(trigger)}")

    def undo(self, log: UndoLog) -> None:
        """Put back every row ``log`` recorded, newest change first, then forget them."""
        with self.lock, self.transaction():
            columns = self._undo_tables()
            entries = self._conn.execute(
                f"SELECT seq, tbl, op, rid FROM temp.{_UNDO_TABLE} WHERE log = ? ORDER BY seq DESC", (log.log_id,)
            ).fetchall()
            for seq, table, op, rid in entries:
                names = columns[table]
                listed = ", ".join(map(quote, names))
                shadow = f"temp.{quote(_UNDO_TABLE + '_' + table)}"
                if op == "i":
                    self._conn.execute(f"DELETE FROM main.{quote(table)} WHERE rowid = ?", (rid,))
                elif op == "u":
                    self._conn.execute(
                        f"UPDATE main.{quote(table)} SET ({listed}) = (SELECT {listed} FROM {shadow} WHERE seq = ?) "
                        "WHERE rowid = ?",
                        (seq, rid),
                    )
                else:
                    self._conn.execute(
                        f"INSERT INTO main.{quote(table)} (rowid, {listed}) "
                        f"SELECT ?, {listed} FROM {shadow} WHERE seq = ?",
                        (rid, seq),
                    )
            if self._capture is not None:
                self._capture.drop(log.log_id)  # neither the run's changes nor their reversal are published
            self.forget(log)

    def forget(self, log: UndoLog) -> None:
        """Drop what ``log`` recorded (the run succeeded: its writes stay, and their change events go out)."""
        with self.lock, self.transaction():
            if self._capture is not None:
                self._capture.release(log.log_id)
            if self._undo_columns is not None:
                for table in self._undo_columns:
                    self._conn.execute(
                        f"DELETE FROM temp.{quote(_UNDO_TABLE + '_' + table)} WHERE seq IN "
                        f"(SELECT seq FROM temp.{_UNDO_TABLE} WHERE log = ? AND tbl = ?)",
                        (log.log_id, table),
                    )
                self._conn.execute(f"DELETE FROM temp.{_UNDO_TABLE} WHERE log = ?", (log.log_id,))

    def _undo_tables(self) -> dict[str, list[str]]:
        """The columns of each sObject table, creating the ``temp`` tables the undo triggers write to."""
        if self._undo_columns is None:
            columns: dict[str, list[str]] = {}
            self._conn.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {_UNDO_TABLE} "
                "(seq INTEGER PRIMARY KEY, log INTEGER NOT NULL, tbl TEXT NOT NULL, op TEXT NOT NULL, rid INTEGER)"
            )
            self._conn.execute(f"CREATE INDEX IF NOT EXISTS temp.{_UNDO_TABLE}_log ON {_UNDO_TABLE} (log)")
            for name in SCHEMA:
                names = [row[1] for row in self._conn.execute(f"PRAGMA main.table_info({quote(name)})")]
                columns[name] = names
                # Untyped columns: values are kept exactly as stored (no affinity conversion).
                self._conn.execute(
                    f"CREATE TEMP TABLE IF NOT EXISTS {quote(_UNDO_TABLE + '_' + name)} "
                    f"(seq INTEGER PRIMARY KEY, {', '.join(map(quote, names))})"
                )
            self._undo_columns = columns
        return self._undo_columns

    def _create_undo_triggers(self, log: UndoLog, table: str, names: Sequence[str], ops: Iterable[str]) -> list[str]:
        values = f"{log.log_id}, '{table}', '{{op}}', {{row}}.rowid"
        entry = f"INSERT INTO {_UNDO_TABLE} (log, tbl, op, rid) VALUES ({values});"
        # Inside a trigger, last_insert_rowid() is the rowid the trigger's own INSERT just gave.
        copy = (
            f"INSERT INTO {quote(_UNDO_TABLE + '_' + table)} (seq, {', '.join(map(quote, names))}) "
            f"VALUES (last_insert_rowid(), {', '.join('old.' + quote(n) for n in names)});"
        )
        bodies = {
            "i": ("AFTER INSERT", entry.format(op="i", row="new")),
            "u": ("BEFORE UPDATE", entry.format(op="u", row="old") + copy),
            "d": ("BEFORE DELETE", entry.format(op="d", row="old") + copy),
        }
        created = []
        for op in sorted(ops):
            when, body = bodies[op]
            trigger = f"{_UNDO_TABLE}_{log.log_id}_{table}_{op}"
            self._conn.execute(f"CREATE TEMP TRIGGER {quote(trigger)} {when} ON main.{quote(table)} BEGIN {body} END")
            created.append(trigger)
        return created

    # ----------------------------------------------------------------------------------- ids

    def new_ids(self, obj: SObjectDef | str, count: int) -> list[str]:
        """Reserve ``count`` fresh 18-character Ids for ``obj`` (or for a bare key prefix)."""
        prefix = obj if isinstance(obj, str) else obj.key_prefix
        with self.lock:
            start = self._next_counter.get(prefix)
            if start is None:
                start = self._first_free_counter(prefix)
            self._next_counter[prefix] = start + count
        return ids.make_ids(prefix, start, count)

    def _first_free_counter(self, prefix: str) -> int:
        if prefix == CONTENT_DOCUMENT_PREFIX:
            table, column = "ContentVersion", "ContentDocumentId"
        else:
            owner = sobject_for_key_prefix(prefix)
            if owner is None:
                return FIRST_COUNTER
            table, column = owner.name, "Id"
        (highest,) = self._conn.execute(f"SELECT max({quote(column)}) FROM {quote(table)}").fetchone()
        return ids.counter_of(highest) + 1 if highest else FIRST_COUNTER

    # ----------------------------------------------------------------------------------- reads

    def resolve_id(self, obj: SObjectDef, record_id: str, *, include_deleted: bool = False) -> str:
        """The canonical Id of a record of ``obj``, or the REST API's 404 for it."""
        normalized = ids.normalize(record_id)
        if normalized is None or normalized[:3] != obj.key_prefix:
            raise not_found(f"Provided external ID field does not exist or is not accessible: {record_id}")
        with self.lock:
            found = self._conn.execute(
                f"SELECT IsDeleted FROM {quote(obj.name)} WHERE Id = ?", (normalized,)
            ).fetchone()
        if found is None:
            raise not_found()
        if found[0] and not include_deleted:
            raise ApiError(404, "ENTITY_IS_DELETED", "entity is deleted")
        return normalized

    def get(self, obj: SObjectDef, record_id: str, fields: Sequence[FieldDef] | None = None) -> dict[str, Any]:
        """A live record's stored values (blob fields only say whether there is a body: 1 or None)."""
        canonical = self.resolve_id(obj, record_id)
        wanted = list(fields) if fields is not None else list(obj.fields)
        if not any(f.name == "Id" for f in wanted):
            wanted.append(obj.field("Id"))  # type: ignore[arg-type]
        select = ", ".join(
            f"CASE WHEN {quote(f.name)} IS NULL THEN NULL ELSE 1 END" if f.type == "base64" else quote(f.name)
            for f in wanted
        )
        with self.lock:
            row = self._conn.execute(f"SELECT {select} FROM {quote(obj.name)} WHERE Id = ?", (canonical,)).fetchone()
        return dict(zip((f.name for f in wanted), row, strict=True))

    def get_blob(self, obj: SObjectDef, record_id: str, blob_field: FieldDef) -> Blob | None:
        canonical = self.resolve_id(obj, record_id)
        extras = [name for name in ("ContentType", "Name", "PathOnClient") if obj.field(name)]
        select = ", ".join(quote(c) for c in [blob_field.name, *extras])
        with self.lock:
            row = self._conn.execute(f"SELECT {select} FROM {quote(obj.name)} WHERE Id = ?", (canonical,)).fetchone()
        if row[0] is None:
            return None
        meta = dict(zip(extras, row[1:], strict=True))
        return Blob(bytes(row[0]), meta.get("ContentType"), meta.get("Name") or meta.get("PathOnClient"))

    def find_by_external_id(self, obj: SObjectDef, ext_field: FieldDef, value: str) -> list[str]:
        """Ids of the live records whose external id (or other idLookup) field equals ``value``:
        case-insensitively unless the field is case-sensitive, as Salesforce matches upsert keys."""
        if ext_field.name == "Id":
            normalized = ids.normalize(value)
            if normalized is None:
                return []
            value = normalized
        column = quote(ext_field.name) + _collation(ext_field)
        with self.lock:
            rows = self._conn.execute(
                f"SELECT Id FROM {quote(obj.name)} WHERE {column} = ? AND IsDeleted = 0 ORDER BY rowid", (value,)
            ).fetchall()
        return [r[0] for r in rows]

    def user_by_username(self, username: str) -> dict[str, Any] | None:
        with self.lock:
            row = self._conn.execute(
                "SELECT Id, Username, Name, FirstName, LastName, Email, IsActive FROM User "
                "WHERE Username = ? COLLATE NOCASE AND IsDeleted = 0",
                (username,),
            ).fetchone()
        if row is None:
            return None
        keys = ("Id", "Username", "Name", "FirstName", "LastName", "Email", "IsActive")
        return dict(zip(keys, row, strict=True))

    def user_by_id(self, user_id: str) -> dict[str, Any] | None:
        with self.lock:
            row = self._conn.execute("SELECT Username FROM User WHERE Id = ?", (user_id,)).fetchone()
        return self.user_by_username(row[0]) if row else None

    def live_ids(self, object_name: str) -> list[str]:
        """Ids of every live record of an object, in insertion order."""
        with self.lock:
            rows = self._conn.execute(f"SELECT Id FROM {quote(object_name)} WHERE IsDeleted = 0 ORDER BY rowid")
            return [r[0] for r in rows]

    def count(self, object_name: str, *, include_deleted: bool = False) -> int:
        where = "" if include_deleted else " WHERE IsDeleted = 0"
        with self.lock:
            return int(self._conn.execute(f"SELECT count(*) FROM {quote(object_name)}{where}").fetchone()[0])

    # ----------------------------------------------------------------------------------- writes

    def create(
        self,
        obj: SObjectDef,
        values: Mapping[str, object],
        user_id: str,
        *,
        raw_body: str | None = None,
        blobs: Mapping[str, bytes] | None = None,
    ) -> str:
        """Validate and insert one record as the REST API does; returns its Id.

        ``blobs`` are binary field values that arrived as multipart parts rather than base64 JSON.
        """
        with self.lock, self.transaction():  # one transaction: a ContentVersion files its document with it
            row = self._validated(obj, values, user_id, existing=None, locator=BodyLocator(raw_body), blobs=blobs)
            record_id = self.new_ids(obj, 1)[0]
            self._stamp_new(obj, row, record_id, user_id, now_string())
            columns = list(row)
            self._conn.execute(
                f"INSERT INTO {quote(obj.name)} ({', '.join(map(quote, columns))}) "
                f"VALUES ({', '.join('?' * len(columns))})",
                [row[c] for c in columns],
            )
        return record_id

    def update(
        self,
        obj: SObjectDef,
        record_id: str,
        values: Mapping[str, object],
        user_id: str,
        *,
        raw_body: str | None = None,
    ) -> str:
        """Validate and apply a partial update; returns the canonical Id."""
        with self.lock, self.transaction():
            canonical = self.resolve_id(obj, record_id)
            existing = self._row(obj, canonical)
            changes = self._validated(obj, values, user_id, existing=existing, locator=BodyLocator(raw_body))
            now = now_string()
            changes.update(LastModifiedDate=now, SystemModstamp=now, LastModifiedById=user_id)
            assignments = ", ".join(f"{quote(c)} = ?" for c in changes)
            self._conn.execute(
                f"UPDATE {quote(obj.name)} SET {assignments} WHERE Id = ?", [*changes.values(), canonical]
            )
        return canonical

    def delete(self, obj: SObjectDef, record_id: str, user_id: str) -> str:
        """Soft-delete a record (and the children Salesforce deletes with it); returns its Id."""
        with self.lock, self._transaction():
            canonical = self.resolve_id(obj, record_id)
            self._soft_delete(obj.name, "Id", canonical, user_id, now_string())
        return canonical

    def upsert(
        self,
        obj: SObjectDef,
        ext_field: FieldDef,
        value: str,
        values: Mapping[str, object],
        user_id: str,
        *,
        update_only: bool = False,
        raw_body: str | None = None,
    ) -> tuple[str, bool]:
        """Create or update by external id; returns ``(id, created)``. Raises ``MultipleMatches``."""
        with self.lock:
            matches = self.find_by_external_id(obj, ext_field, value)
            if len(matches) > 1:
                raise MultipleMatches(matches)
            if matches:
                return self.update(obj, matches[0], values, user_id, raw_body=raw_body), False
            if update_only:
                raise not_found()
            body = {k: v for k, v in values.items() if k.lower() != ext_field.name.lower()}
            if ext_field.name != "Id":
                body[ext_field.name] = value
            return self.create(obj, body, user_id, raw_body=raw_body), True

    def insert_records(
        self,
        obj: SObjectDef,
        records: Sequence[Mapping[str, object]],
        user_id: str,
        *,
        record_ids: Sequence[str] | None = None,
    ) -> list[str]:
        """Insert trusted records without validation (seeding): system fields, defaults and computed
        fields are filled in exactly as for a validated create. Returns the new Ids."""
        with self.lock:
            new_ids = list(record_ids) if record_ids is not None else self.new_ids(obj, len(records))
            now = now_string()
            rows = []
            for record_id, record in zip(new_ids, records, strict=True):
                row = dict(record)
                self._apply_defaults(obj, row, user_id)
                apply_derived(obj.name, row)
                self._stamp_new(obj, row, record_id, user_id, now)
                rows.append(row)
            columns = sorted({c for row in rows for c in row})
            self.insert_rows(obj, columns, ([row.get(c) for c in columns] for row in rows))
        return new_ids

    def insert_rows(self, obj: SObjectDef, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> int:
        """The fast path for synthetic data: ``executemany`` in chunks inside one transaction.

        Rows must already hold every value (Id and system fields included); nothing is checked.
        """
        sql = (
            f"INSERT INTO {quote(obj.name)} ({', '.join(map(quote, columns))}) VALUES ({', '.join('?' * len(columns))})"
        )
        inserted = 0
        with self.lock, self._transaction():
            chunk: list[Sequence[object]] = []
            for row in rows:
                chunk.append(row)
                if len(chunk) >= INSERT_CHUNK:
                    self._conn.executemany(sql, chunk)
                    inserted += len(chunk)
                    chunk = []
            if chunk:
                self._conn.executemany(sql, chunk)
                inserted += len(chunk)
        return inserted

    # ----------------------------------------------------------------------------------- batched DML (Bulk API)

    def create_many(
        self, obj: SObjectDef, records: Sequence[Mapping[str, object]], user_id: str
    ) -> list[str | ApiError]:
        """Validate and insert many records at once, as Bulk API ingest does: each record succeeds or
        fails on its own with the error ``create`` would raise for it; the valid ones are inserted with
        one ``executemany`` in one transaction. Returns, per record and in order, its Id or its error.

        The checks are ``_validated``'s for a create, in the same order. What is hoisted out of the
        per-record loop is the work that does not depend on the record (field resolution, defaults,
        timestamp, Id reservation), and reference/uniqueness lookups are one query per batch instead of
        one per record; that is what lets a 100 MB upload finish in seconds.
        """
        with self.lock, self.transaction():
            batch = _CreateBatch(obj, user_id, self._defaults_for(obj, user_id))
            outcomes: list[dict[str, Any] | ApiError] = []
            for values in records:
                try:
                    outcomes.append(batch.row(values))
                except ApiError as exc:
                    outcomes.append(exc)
            self._check_batch_references(obj, outcomes)
            new_ids = iter(self.new_ids(obj, sum(isinstance(o, dict) for o in outcomes)))
            taken = self._taken_unique_values(obj, outcomes)
            now = now_string()
            results: list[str | ApiError] = []
            rows: list[dict[str, Any]] = []
            for outcome in outcomes:
                if isinstance(outcome, ApiError):
                    results.append(outcome)
                    continue
                clash = _unique_clash(obj, outcome, taken)
                if clash is not None:
                    results.append(clash)
                    continue
                record_id = next(new_ids)
                for name in _unique_fields(obj):
                    if outcome.get(name) is not None:
                        taken[name].setdefault(outcome[name], record_id)
                apply_derived(obj.name, outcome)
                self._stamp_new(obj, outcome, record_id, user_id, now)
                rows.append(outcome)
                results.append(record_id)
            if rows:
                columns = sorted({c for row in rows for c in row})
                self._conn.executemany(
                    f"INSERT INTO {quote(obj.name)} ({', '.join(map(quote, columns))}) "
                    f"VALUES ({', '.join('?' * len(columns))})",
                    [tuple(map(row.get, columns)) for row in rows],
                )
        return results

    def hard_delete(self, obj: SObjectDef, record_id: str, user_id: str) -> str:
        """Delete a record for good (Bulk API ``hardDelete``): children go as with ``delete``, and the
        record itself is removed, so not even ``queryAll`` returns it. Returns its Id."""
        with self.lock, self.transaction():
            canonical = self.delete(obj, record_id, user_id)
            self._conn.execute(f"DELETE FROM {quote(obj.name)} WHERE Id = ?", (canonical,))
        return canonical

    def _defaults_for(self, obj: SObjectDef, user_id: str) -> dict[str, Any]:
        defaults: dict[str, Any] = {}
        self._apply_defaults(obj, defaults, user_id)
        return defaults

    def _check_batch_references(self, obj: SObjectDef, outcomes: list[dict[str, Any] | ApiError]) -> None:
        """``_check_references`` for a whole batch: one lookup per referenced table, then per record the
        first bad reference (in the object's field order) replaces it with its error."""
        references = [f.name for f in obj.fields if f.type == "reference"]
        wanted: dict[str, set[str]] = {}
        for outcome in outcomes:
            if isinstance(outcome, dict):
                for name in references:
                    value = outcome.get(name)
                    if value is not None:
                        target = sobject_for_key_prefix(value)
                        assert target is not None  # to_storage checked the prefix
                        wanted.setdefault(target.name, set()).add(value)
        found: dict[str, int] = {}
        for table, values in wanted.items():
            for chunk in _chunks(sorted(values), _LOOKUP_CHUNK):
                found.update(
                    self._conn.execute(
                        f"SELECT Id, IsDeleted FROM {quote(table)} WHERE Id IN ({', '.join('?' * len(chunk))})",
                        chunk,
                    ).fetchall()
                )
        for index, outcome in enumerate(outcomes):
            if not isinstance(outcome, dict):
                continue
            for name in references:
                value = outcome.get(name)
                if value is None:
                    continue
                if value not in found:
                    outcomes[index] = ApiError(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [name])
                    break
                if found[value]:
                    outcomes[index] = ApiError(400, "ENTITY_IS_DELETED", "entity is deleted", [name])
                    break

    def _taken_unique_values(
        self, obj: SObjectDef, outcomes: list[dict[str, Any] | ApiError]
    ) -> dict[str, dict[object, str]]:
        """For each unique field: the values of this batch that live records already hold, and whose."""
        taken: dict[str, dict[object, str]] = {}
        for name in _unique_fields(obj):
            values = sorted({o[name] for o in outcomes if isinstance(o, dict) and o.get(name) is not None}, key=str)
            holders: dict[object, str] = {}
            for chunk in _chunks(values, _LOOKUP_CHUNK):
                for value, holder in self._conn.execute(
                    f"SELECT {quote(name)}, Id FROM {quote(obj.name)} WHERE IsDeleted = 0 AND "
                    f"{quote(name)} IN ({', '.join('?' * len(chunk))}) ORDER BY rowid",
                    chunk,
                ):
                    holders.setdefault(value, holder)
            taken[name] = holders
        return taken

    # ----------------------------------------------------------------------------------- validation

    def _validated(
        self,
        obj: SObjectDef,
        values: Mapping[str, object],
        user_id: str,
        *,
        existing: Mapping[str, Any] | None,
        locator: BodyLocator,
        blobs: Mapping[str, bytes] | None = None,
    ) -> dict[str, Any]:
        creating = existing is None
        if not (obj.createable if creating else obj.updateable):
            raise _operation_refused(obj, creating)
        changes: dict[str, Any] = dict(blobs or {})
        read_only: list[str] = []
        for key, raw in values.items():
            if key == "attributes":
                continue
            f = obj.field(key)
            if f is None:
                raise ApiError(400, "INVALID_FIELD", f"No such column '{key}' on sobject of type {obj.name}")
            changes[f.name] = to_storage(obj, f, raw, locator)
            if not (f.createable if creating else f.updateable):
                read_only.append(f.name)
        if read_only:
            raise ApiError(
                400, "INVALID_FIELD_FOR_INSERT_UPDATE", _UPDATE_WARNING.format(fields=", ".join(read_only)), read_only
            )
        if creating:
            self._apply_defaults(obj, changes, user_id)
            missing = [f.name for f in obj.fields if f.required_on_create and changes.get(f.name) is None]
        else:
            missing = [
                name
                for name, value in changes.items()
                if value is None and not obj.field(name).nillable  # type: ignore[union-attr]
            ]
        if missing:
            raise ApiError(
                400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing
            )
        self._check_references(obj, changes)
        self._check_unique(obj, changes, existing["Id"] if existing else None)
        apply_derived(obj.name, changes, existing)
        return changes

    def _check_references(self, obj: SObjectDef, changes: Mapping[str, Any]) -> None:
        for name, value in changes.items():
            f = obj.field(name)
            if f is None or f.type != "reference" or value is None:
                continue
            target = sobject_for_key_prefix(value)
            assert target is not None  # to_storage checked the prefix
            found = self._conn.execute(f"SELECT IsDeleted FROM {quote(target.name)} WHERE Id = ?", (value,)).fetchone()
            if found is None:
                raise ApiError(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [name])
            if found[0]:
                raise ApiError(400, "ENTITY_IS_DELETED", "entity is deleted", [name])

    def _check_unique(self, obj: SObjectDef, changes: Mapping[str, Any], own_id: str | None) -> None:
        for name, value in changes.items():
            f = obj.field(name)
            if f is None or not f.unique or value is None:
                continue
            clash = self._conn.execute(
                f"SELECT Id FROM {quote(obj.name)} WHERE {quote(name)} = ? AND IsDeleted = 0 AND Id IS NOT ? LIMIT 1",
                (value, own_id),
            ).fetchone()
            if clash is not None:
                raise ApiError(
                    400,
                    "DUPLICATE_VALUE",
                    f"duplicate value found: {name} duplicates value on record with id: {clash[0]}",
                    [],
                )

    def _apply_defaults(self, obj: SObjectDef, row: dict[str, Any], user_id: str) -> None:
        for f in obj.fields:
            if f.name in row:
                if f.type == "boolean" and row[f.name] is None:
                    row[f.name] = int(bool(f.default))
            elif f.default == CURRENT_USER:
                row[f.name] = user_id
            elif f.default is not None:
                row[f.name] = int(bool(f.default)) if f.type == "boolean" else f.default
            elif f.type == "boolean":
                row[f.name] = 0

    def _stamp_new(self, obj: SObjectDef, row: dict[str, Any], record_id: str, user_id: str, now: str) -> None:
        row.update(
            Id=record_id,
            IsDeleted=0,
            CreatedDate=now,
            LastModifiedDate=now,
            SystemModstamp=now,
            CreatedById=user_id,
            LastModifiedById=user_id,
        )
        number_new_record(obj.name, row, ids.counter_of(record_id) - FIRST_COUNTER)
        if obj.name == "ContentVersion":
            self._publish_version(row, user_id, now)

    def _publish_version(self, version: dict[str, Any], user_id: str, now: str) -> None:
        """File a new ContentVersion: a version without ``ContentDocumentId`` starts a new file (its
        ContentDocument and links); one with it becomes that file's latest version."""
        document_id = version.get("ContentDocumentId")
        if document_id is None:
            document_id = version["ContentDocumentId"] = self.new_ids(CONTENT_DOCUMENT_PREFIX, 1)[0]
            version["VersionNumber"] = "1"
            document = document_for_version(version)
            self.insert_records(SCHEMA["ContentDocument"], [document], user_id, record_ids=[document_id])
            self.insert_records(SCHEMA["ContentDocumentLink"], links_for_new_document(document_id, version), user_id)
            return
        (count,) = self._conn.execute(
            'SELECT count(*) FROM "ContentVersion" WHERE ContentDocumentId = ?', (document_id,)
        ).fetchone()
        version["VersionNumber"] = str(count + 1)
        self._conn.execute('UPDATE "ContentVersion" SET IsLatest = 0 WHERE ContentDocumentId = ?', (document_id,))
        changes = {k: v for k, v in document_for_version(version).items() if k not in ("OwnerId", "PublishStatus")}
        changes.update(LastModifiedDate=now, SystemModstamp=now, LastModifiedById=user_id)
        assignments = ", ".join(f"{quote(c)} = ?" for c in changes)
        self._conn.execute(f'UPDATE "ContentDocument" SET {assignments} WHERE Id = ?', [*changes.values(), document_id])

    def _row(self, obj: SObjectDef, canonical: str) -> dict[str, Any]:
        names = [f.name for f in obj.fields if f.type != "base64"]
        row = self._conn.execute(
            f"SELECT {', '.join(map(quote, names))} FROM {quote(obj.name)} WHERE Id = ?", (canonical,)
        ).fetchone()
        return dict(zip(names, row, strict=True))

    def _soft_delete(self, object_name: str, column: str, value: str, user_id: str, now: str) -> None:
        deleted = [
            r[0]
            for r in self._conn.execute(
                f"SELECT Id FROM {quote(object_name)} WHERE {quote(column)} = ? AND IsDeleted = 0", (value,)
            )
        ]
        if not deleted:
            return
        self._conn.execute(
            f"UPDATE {quote(object_name)} SET IsDeleted = 1, LastModifiedDate = ?, SystemModstamp = ?, "
            f"LastModifiedById = ? WHERE {quote(column)} = ? AND IsDeleted = 0",
            (now, now, user_id, value),
        )
        for record_id in deleted:
            for child, child_column in _CASCADE.get(object_name, ()):
                self._soft_delete(child, child_column, record_id, user_id, now)

    # ----------------------------------------------------------------------------------- queries

    def scalar(self, sql: str, params: Sequence[object] = ()) -> Any:
        with self.lock:
            row = self._conn.execute(sql, params).fetchone()
        return row[0] if row else None

    def open_query(self, sql: str, params: Sequence[object], batch_size: int, context: Any = None) -> QueryPage:
        """Run a compiled query and return its first page; larger results get a cursor for the rest."""
        with self.lock:
            self._expire_cursors()
            # Always materialise (a few tens of microseconds for a small result): the query runs once,
            # even when ORDER BY makes SQLite sort the whole table before the first row.
            cursor_id = self.new_ids(QUERY_LOCATOR_PREFIX, 1)[0]
            table = f"cursor_{cursor_id}"
            self._conn.execute(f"CREATE TEMP TABLE {quote(table)} AS {sql}", params)
            total = int(self._conn.execute(f"SELECT max(rowid) FROM temp.{quote(table)}").fetchone()[0] or 0)
            cursor = _Cursor(cursor_id, table, total, batch_size, context, self._clock())
            if total <= batch_size:
                page = self._page(cursor, 0, batch_size)
                self._drop_cursor(cursor)
                return page
            self._cursors[cursor_id] = cursor
            self._evict_cursors()
            return self._page(cursor, 0, batch_size)

    def cursor_context(self, cursor_id: str) -> Any:
        """The context an open cursor was opened with (``open_query``'s ``context``)."""
        with self.lock:
            cursor = self._cursors.get(cursor_id)
            if cursor is None:
                raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
            return cursor.context

    def query_page(self, cursor_id: str, offset: int, batch_size: int | None = None) -> QueryPage:
        """The page starting after ``offset`` rows of an open cursor (re-reading a page is allowed)."""
        with self.lock:
            self._expire_cursors()
            cursor = self._cursors.get(cursor_id)
            if cursor is None or offset < 0 or offset > cursor.total_size:
                raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
            cursor.last_used = self._clock()
            return self._page(cursor, offset, batch_size or cursor.batch_size)

    def _page(self, cursor: _Cursor, offset: int, batch_size: int) -> QueryPage:
        rows = self._conn.execute(
            f"SELECT * FROM temp.{quote(cursor.table)} WHERE rowid > ? AND rowid <= ? ORDER BY rowid",
            (offset, offset + batch_size),
        ).fetchall()
        next_offset = offset + len(rows)
        if next_offset >= cursor.total_size:
            cursor.finished_at = cursor.finished_at or self._clock()
            return QueryPage(cursor.total_size, rows, None, next_offset, cursor.context)
        return QueryPage(cursor.total_size, rows, cursor.cursor_id, next_offset, cursor.context)

    def open_cursor_count(self) -> int:
        with self.lock:
            return len(self._cursors)

    def close_query(self, cursor_id: str) -> None:
        """Drop an open cursor now (its reader has every row it needs) rather than when it expires."""
        with self.lock:
            cursor = self._cursors.get(cursor_id)
            if cursor is not None:
                self._drop_cursor(cursor)

    def _expire_cursors(self) -> None:
        now = self._clock()
        for cursor in list(self._cursors.values()):
            idle = now - cursor.last_used > self._cursor_timeout
            finished = cursor.finished_at is not None and now - cursor.finished_at > FINISHED_CURSOR_GRACE_SECONDS
            if idle or finished:
                self._drop_cursor(cursor)

    def _evict_cursors(self) -> None:
        while len(self._cursors) > MAX_OPEN_CURSORS:
            self._drop_cursor(min(self._cursors.values(), key=lambda c: c.last_used))

    def _drop_cursor(self, cursor: _Cursor) -> None:
        self._cursors.pop(cursor.cursor_id, None)
        self._conn.execute(f"DROP TABLE IF EXISTS temp.{quote(cursor.table)}")


# --------------------------------------------------------------------------------------- batched creates

#: Ids / values per ``IN (...)`` lookup of a batch (well under SQLite's bound-parameter limit).
_LOOKUP_CHUNK = 500
_UNIQUE_BY_OBJECT: dict[str, tuple[str, ...]] = {}
#: Text types ``to_storage`` stores exactly as given when the value is a non-empty ``str`` within length.
_VERBATIM_TEXT = frozenset({"string", "textarea", "picklist", "multipicklist", "phone", "url"})


def _operation_refused(obj: SObjectDef, creating: bool) -> ApiError:
    """The error for a create or update of an object that does not support it (Organization ...)."""
    return ApiError(400, "INVALID_TYPE_FOR_OPERATION", f"entity type cannot be {'inserted' if creating else 'updated'}")


def _cascade_closure(object_name: str) -> list[str]:
    """``object_name`` and every object a delete of it reaches through ``_CASCADE``."""
    found = [object_name]
    for name in found:
        found += [child for child, _ in _CASCADE.get(name, ()) if child not in found]
    return found


def _unique_fields(obj: SObjectDef) -> tuple[str, ...]:
    names = _UNIQUE_BY_OBJECT.get(obj.name)
    if names is None:
        names = _UNIQUE_BY_OBJECT[obj.name] = tuple(f.name for f in obj.fields if f.unique)
    return names


def _chunks(values: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _unique_clash(
    obj: SObjectDef, row: Mapping[str, Any], taken: Mapping[str, Mapping[object, str]]
) -> ApiError | None:
    """``_check_unique``'s error for a batched record, against live records and earlier records of the batch."""
    for name in _unique_fields(obj):
        value = row.get(name)
        if value is not None and value in taken[name]:
            message = f"duplicate value found: {name} duplicates value on record with id: {taken[name][value]}"
            return ApiError(400, "DUPLICATE_VALUE", message, [])
    return None


def checked_new_values(obj: SObjectDef, values: Mapping[str, object], user_id: str) -> dict[str, Any]:
    """The storage values of a new ``obj`` as ``create`` checks them before it reads the database
    (unknown, read-only and required fields, value types), without defaults: for platform events,
    which are published rather than stored."""
    return _CreateBatch(obj, user_id, {}).row(values)


class _CreateBatch:
    """The database-free part of ``_validated`` for creates, with field resolution, defaults and the
    required-field list worked out once per batch (``Store.create_many``)."""

    def __init__(self, obj: SObjectDef, user_id: str, defaults: Mapping[str, Any]) -> None:
        self.obj = obj
        self.defaults = defaults
        self.required = [f.name for f in obj.fields if f.required_on_create]
        self.fields: dict[str, FieldDef | None] = {}
        self.locator = BodyLocator(None)

    def _field(self, key: str) -> FieldDef | None:
        try:
            return self.fields[key]
        except KeyError:
            found = self.fields[key] = self.obj.field(key)
            return found

    def row(self, values: Mapping[str, object]) -> dict[str, Any]:
        """The record's storage row (defaults filled in), or the ``ApiError`` ``create`` would raise."""
        obj = self.obj
        if not obj.createable:
            raise _operation_refused(obj, creating=True)
        changes: dict[str, Any] = {}
        read_only: list[str] = []
        for key, raw in values.items():
            if key == "attributes":
                continue
            f = self._field(key)
            if f is None:
                raise ApiError(400, "INVALID_FIELD", f"No such column '{key}' on sobject of type {obj.name}")
            if f.type in _VERBATIM_TEXT and type(raw) is str and raw and (not f.length or len(raw) <= f.length):
                changes[f.name] = raw  # what to_storage returns for it, without the call (hot path)
            else:
                changes[f.name] = to_storage(obj, f, raw, self.locator)
            if not f.createable:
                read_only.append(f.name)
        if read_only:
            raise ApiError(
                400, "INVALID_FIELD_FOR_INSERT_UPDATE", _UPDATE_WARNING.format(fields=", ".join(read_only)), read_only
            )
        row = {**self.defaults, **changes}
        missing = [name for name in self.required if row.get(name) is None]
        if missing:
            raise ApiError(
                400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing
            )
        return row
