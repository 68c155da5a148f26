"""Chatter feed items and their comments, as the emulated org stores them.

Kept apart from the HTTP layer (``routes/chatter.py``) because it is org state (one ``FeedStore`` per
``EmulatorState``), and apart from the SQLite ``Store`` because FeedItem/FeedComment are not sObjects
of the emulator's schema: they are only reachable through the Connect REST API. Posts live in memory,
so they are gone when the emulator stops, even with a ``data_dir``.

Message segments are stored as the client sent them (with Ids canonicalised) and rendered on every
read, the way Salesforce renders a mention with the user's *current* name.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime

FEED_ITEM_PREFIX = "0D5"
FEED_COMMENT_PREFIX = "0D7"


@dataclass(frozen=True)
class Segment:
    """One input message segment: ``Text`` (text), ``Mention`` (user Id), ``Hashtag`` (tag), ``Link`` (URL)."""

    type: str
    value: str


@dataclass
class FeedComment:
    id: str
    feed_element_id: str
    user_id: str
    segments: tuple[Segment, ...]
    created: datetime


@dataclass
class FeedItem:
    id: str
    parent_id: str
    actor_id: str
    segments: tuple[Segment, ...]
    visibility: str
    created: datetime
    comment_ids: list[str] = field(default_factory=list)


class FeedStore:
    """Feed items by Id, comments by Id, and each record's feed (newest first). Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, FeedItem] = {}
        self._comments: dict[str, FeedComment] = {}

    def add_item(self, item: FeedItem) -> None:
        with self._lock:
            self._items[item.id] = item

    def add_comment(self, comment: FeedComment) -> None:
        with self._lock:
            self._comments[comment.id] = comment
            self._items[comment.feed_element_id].comment_ids.append(comment.id)

    def item(self, item_id: str) -> FeedItem | None:
        with self._lock:
            return self._items.get(item_id)

    def comments(self, item_id: str) -> list[FeedComment]:
        """The comments of a feed item, oldest first."""
        with self._lock:
            item = self._items.get(item_id)
            return [self._comments[c] for c in item.comment_ids] if item else []

    def feed(self, parent_id: str) -> list[FeedItem]:
        """The feed items posted to a record or user, newest first."""
        with self._lock:
            items = [i for i in self._items.values() if i.parent_id == parent_id]
        return sorted(items, key=lambda i: (i.created, i.id), reverse=True)
