"""The org's event bus: every change event and platform event, in order, kept in the store's SQLite.

Salesforce gives each event a replay id, an opaque position in the org's event stream, and keeps
events for 72 hours ("Event Message Durability",
https://developer.salesforce.com/docs/platform/pub-sub-api/guide/event-message-durability.html):
a subscriber resumes after a stored replay id while the events after it are still retained. Replay
ids need not be contiguous per channel, and an empty keepalive may carry a position beyond the last
event a subscriber saw (the Subscribe RPC method's keepalive,
https://developer.salesforce.com/docs/platform/pub-sub-api/references/methods/subscribe-rpc.html).

Here one org-wide counter numbers events (SQLite ``AUTOINCREMENT``: never reused, also after a
purge or a restart with ``--data-dir``); an event is visible on one or more channels (a change
event on ``/data/AccountChangeEvent`` and ``/data/ChangeEvents``). Retention drops events older than
``retention_seconds`` and remembers the newest position it dropped, so a replay id from before it
is recognised as beyond retention rather than silently skipping events. Subscribers wait on the bus
(``add_listener``) and are woken by each append, without polling.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow_provider_sfpy.emulator.store import Store

#: Salesforce keeps events for 72 hours.
DEFAULT_RETENTION_SECONDS = 72 * 3600.0
#: Expired events are dropped at most this often (each read would otherwise run a DELETE).
PURGE_INTERVAL_SECONDS = 1.0

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS event_bus_events ("
    " position INTEGER PRIMARY KEY AUTOINCREMENT, published_at REAL NOT NULL,"
    " schema_id TEXT NOT NULL, payload BLOB NOT NULL, event_uuid TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS event_bus_channels ("
    " channel TEXT NOT NULL, position INTEGER NOT NULL, PRIMARY KEY (channel, position)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS event_bus_state (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
)
_PURGED_THROUGH = "purged_through"

#: One event to append: (channels, schema id, Avro payload, event UUID).
EventSpec = tuple[Sequence[str], str, bytes, str]


@dataclass(frozen=True)
class StoredEvent:
    """An event as the bus keeps it: its replay position and what was published."""

    position: int
    schema_id: str
    payload: bytes
    event_uuid: str


class EventBus:
    """Append, read and wait for the org's events (thread-safe: SQL runs under the store's lock)."""

    def __init__(
        self,
        store: Store,
        *,
        retention_seconds: float = DEFAULT_RETENTION_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        #: How long events are kept; may be changed while serving (tests use seconds).
        self.retention_seconds = retention_seconds
        self._clock = clock
        self._listeners: set[Callable[[], None]] = set()
        self._listeners_lock = threading.Lock()
        self._next_purge = 0.0
        with self._sql() as conn:
            for statement in _SCHEMA:
                conn.execute(statement)

    @contextlib.contextmanager
    def _sql(self) -> Iterator[sqlite3.Connection]:
        """The store's connection, under its lock (the bus lives in the org's database, beside the records)."""
        with self._store.lock:
            yield self._store._conn

    # ------------------------------------------------------------------------------- writing

    def append(self, channels: Sequence[str], schema_id: str, payload: bytes, event_uuid: str) -> int:
        """Publish one event on ``channels``; returns its replay position."""
        return self.append_many([(channels, schema_id, payload, event_uuid)])[0]

    def append_many(self, events: Sequence[EventSpec]) -> list[int]:
        """Publish events in order, in one transaction; returns their replay positions."""
        if not events:
            return []
        now = self._clock()
        positions: list[int] = []
        with self._sql() as conn, self._store.transaction():
            for channels, schema_id, payload, event_uuid in events:
                cursor = conn.execute(
                    "INSERT INTO event_bus_events (published_at, schema_id, payload, event_uuid) VALUES (?, ?, ?, ?)",
                    (now, schema_id, bytes(payload), event_uuid),
                )
                position = int(cursor.lastrowid or 0)
                conn.executemany(
                    "INSERT OR IGNORE INTO event_bus_channels (channel, position) VALUES (?, ?)",
                    [(channel, position) for channel in channels],
                )
                positions.append(position)
        self._wake_listeners()
        return positions

    # ------------------------------------------------------------------------------- reading

    def latest_position(self) -> int:
        """The newest position handed out in this org (0 before the first event)."""
        with self._sql() as conn:
            row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'event_bus_events'").fetchone()
        return int(row[0]) if row else 0

    def purged_through(self) -> int:
        """The newest position dropped by retention (0 if none): replaying from before it would miss events."""
        self._purge_expired()
        with self._sql() as conn:
            row = conn.execute("SELECT value FROM event_bus_state WHERE key = ?", (_PURGED_THROUGH,)).fetchone()
        return int(row[0]) if row else 0

    def is_replayable(self, position: int) -> bool:
        """Whether a subscriber can resume after ``position``: handed out here, and nothing after it expired."""
        return self.purged_through() <= position <= self.latest_position()

    def read(self, channel: str, after: int, limit: int) -> list[StoredEvent]:
        """Up to ``limit`` retained events of ``channel`` after position ``after``, oldest first."""
        self._purge_expired()
        with self._sql() as conn:
            rows = conn.execute(
                "SELECT e.position, e.schema_id, e.payload, e.event_uuid FROM event_bus_channels c "
                "JOIN event_bus_events e ON e.position = c.position "
                "WHERE c.channel = ? AND c.position > ? ORDER BY c.position LIMIT ?",
                (channel, after, limit),
            ).fetchall()
        return [StoredEvent(int(p), str(s), bytes(b), str(u)) for p, s, b, u in rows]

    def _purge_expired(self) -> None:
        now = self._clock()
        if now < self._next_purge:
            return
        self._next_purge = now + PURGE_INTERVAL_SECONDS
        cutoff = now - self.retention_seconds
        with self._sql() as conn, self._store.transaction():
            row = conn.execute(
                "SELECT max(position) FROM event_bus_events WHERE published_at < ?", (cutoff,)
            ).fetchone()
            newest_expired = row[0] if row else None
            if newest_expired is None:
                return
            conn.execute("DELETE FROM event_bus_channels WHERE position <= ?", (newest_expired,))
            conn.execute("DELETE FROM event_bus_events WHERE position <= ?", (newest_expired,))
            conn.execute(
                "INSERT INTO event_bus_state (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)",
                (_PURGED_THROUGH, int(newest_expired)),
            )

    def expire_now(self) -> None:
        """Apply retention at once (the next read would anyway, within ``PURGE_INTERVAL_SECONDS``)."""
        self._next_purge = 0.0
        self._purge_expired()

    # ------------------------------------------------------------------------------- waiting

    def add_listener(self, wake: Callable[[], None]) -> None:
        """Call ``wake()`` (from the appending thread; it must not block) after every append."""
        with self._listeners_lock:
            self._listeners.add(wake)

    def remove_listener(self, wake: Callable[[], None]) -> None:
        with self._listeners_lock:
            self._listeners.discard(wake)

    @property
    def subscriber_count(self) -> int:
        """How many streams wait on the bus right now: lets a test see that a subscriber is listening before it
        publishes what the subscriber must receive (one subscribing from LATEST misses events before that)."""
        with self._listeners_lock:
            return len(self._listeners)

    def _wake_listeners(self) -> None:
        with self._listeners_lock:
            listeners = list(self._listeners)
        for wake in listeners:
            wake()
