"""Where a change-event subscription keeps its place: the watched assets' state stores (Airflow 3.3).

Each trigger has a subscription and a position of its own. The replay id up to which Airflow
persisted the trigger's events is written under one key in the state store of every asset the
trigger watches (the triggerer hands a watcher ``asset_state_store`` accessors for exactly those
assets). The key names the connection, the channel and a digest of the trigger's serialized kwargs
(``trigger_digest``): Airflow keeps one trigger row per classpath and kwargs, so two watchers with
the same kwargs are one trigger, and a watcher with other kwargs (another filter, other batching)
never moves this trigger's position. Changing any argument of a trigger makes it a new trigger that
starts from its ``replay_preset``. A restarted triggerer resumes after the stored position.

The value is ``{"replay_id": <hex>, "write": <n>}`` (a bare hex replay id, as a person may set by
hand, reads as write 0). ``write`` counts the trigger's writes, because replay ids are opaque
(Salesforce documents no order for them) and the watched assets can disagree: a write cut short
between two assets, an asset watched again after a while with the position it had then. Every
position the trigger ever stored is one Airflow had persisted this trigger's events through, so the
most recent write is the one to resume after (the oldest would repeat events, possibly days of
them); the disagreement is logged as a warning naming each asset and what it holds.

The producer of a shared stream is built by the triggerer from the trigger's serialized kwargs
(``create_shared_stream_producer(kwargs)``), so it has no ``asset_state_store`` of its own.
The trigger instance registers itself in ``STREAM_OWNERS`` under its kwargs when the triggerer asks
for its ``shared_stream_key()`` — which ``run_trigger`` does *before* subscribing, and so before the
group's poll task builds the producer and opens the stream. Airflow keeps one trigger row per
(classpath, kwargs) for event triggers (``BaseEventTrigger.hash``), so in one triggerer the kwargs
name one live instance; the registry holds it weakly and forgets it when the trigger is cleaned up.
"""

from __future__ import annotations

import hashlib
import json
import logging
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StreamSettings:
    """What one subscription is: the trigger's kwargs that the shared stream depends on."""

    sfpy_conn_id: str
    channel: str
    replay_preset: str
    on_replay_gap: str
    window: int
    batch_size: int
    batch_seconds: float | None
    #: ``trigger_digest`` of the trigger's serialized kwargs: which trigger this subscription is.
    trigger: str

    @property
    def state_key(self) -> str:
        """The key of the trigger's replay position in the watched assets' state stores (see the module docstring)."""
        return f"sfpy_pubsub_replay_id:{self.sfpy_conn_id}:{self.channel}:{self.trigger}"


def kwargs_key(kwargs: Mapping[str, Any]) -> str:
    """The kwargs as canonical JSON: the same for the instance and for the producer built from its serialization."""
    return json.dumps(kwargs, sort_keys=True, default=str, separators=(",", ":"))


def trigger_digest(kwargs: Mapping[str, Any]) -> str:
    """A short, stable name of the trigger its serialized kwargs describe (the same in every process and triggerer)."""
    return hashlib.sha256(kwargs_key(kwargs).encode()).hexdigest()[:16]


class StreamOwners:
    """Live trigger instances by their serialized kwargs, so a producer can reach its trigger's state store."""

    def __init__(self) -> None:
        self._owners: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()

    def register(self, kwargs: Mapping[str, Any], trigger: Any) -> None:
        self._owners[kwargs_key(kwargs)] = trigger

    def forget(self, kwargs: Mapping[str, Any], trigger: Any) -> None:
        key = kwargs_key(kwargs)
        if self._owners.get(key) is trigger:
            del self._owners[key]

    def find(self, kwargs: Mapping[str, Any]) -> Any | None:
        return self._owners.get(kwargs_key(kwargs))


STREAM_OWNERS = StreamOwners()


def watched_assets(asset_state_store: Any) -> list[tuple[str, Any]]:
    """``[(asset name or uri, accessor), ...]`` of the assets the triggerer gave this watcher, sorted by name.

    The triggerer builds ``AssetStateStoreAccessors(inlets=[Asset(name, uri), ...])`` for the watched
    assets; its per-asset accessors are kept by name (and by URI for URI references), which is the
    only place that names them.
    """
    if asset_state_store is None:
        return []
    by_name: Mapping[str, Any] = getattr(asset_state_store, "_by_name", {}) or {}
    by_uri: Mapping[str, Any] = getattr(asset_state_store, "_by_uri", {}) or {}
    return sorted([*by_name.items(), *by_uri.items()])


class ReplayPosition:
    """The replay id Airflow has persisted up to, kept under ``key`` in each watched asset's state store."""

    def __init__(self, assets: Sequence[tuple[str, Any]], key: str) -> None:
        if not assets:
            raise ValueError("no watched asset to keep the replay position in")
        self.assets = list(assets)
        self.key = key
        self._writes = 0

    async def load(self) -> bytes | None:
        """The stored replay id, or ``None`` when none is stored yet.

        The watched assets normally hold the same value (it is written to all of them). When they
        differ, the most recent write wins (see the module docstring) and a warning names every
        asset and what it holds.
        """
        found: dict[str, tuple[int, bytes]] = {}
        for name, accessor in self.assets:
            stored = _parse(await accessor.aget(self.key, None), name, self.key)
            if stored is not None:
                found[name] = stored
        if not found:
            return None
        self._writes = max(write for write, _ in found.values())
        newest_name, (_, newest) = max(found.items(), key=lambda item: item[1][0])
        if len({replay_id for _, replay_id in found.values()}) > 1:
            held = {name: f"{replay_id.hex()} (write {write})" for name, (write, replay_id) in found.items()}
            held.update({name: "nothing" for name, _ in self.assets if name not in found})
            log.warning(
                "The watched assets disagree on the replay position under %r: %s. Resuming after %s's, the most "
                "recently written (every stored position is one Airflow had persisted through); the next "
                "position stored overwrites them all",
                self.key,
                ", ".join(f"{name}={value}" for name, value in sorted(held.items())),
                newest_name,
            )
        return newest

    async def save(self, replay_id: bytes) -> None:
        self._writes += 1
        value = {"replay_id": replay_id.hex(), "write": self._writes}
        for _name, accessor in self.assets:
            await accessor.aset(self.key, value)


def _parse(value: Any, asset: str, key: str) -> tuple[int, bytes] | None:
    """``(write, replay id)`` of a stored value (a bare hex string, as a person may set by hand, counts as write 0);
    ``None``, with a warning, for anything else."""
    if value is None:
        return None
    write, replay_id = (value.get("write"), value.get("replay_id")) if isinstance(value, dict) else (0, value)
    if isinstance(write, int) and isinstance(replay_id, str) and replay_id:
        try:
            return write, bytes.fromhex(replay_id)
        except ValueError:
            pass
    log.warning(
        "Ignoring the replay position %r stored under %r in asset %s: it is neither {'replay_id': <hex>, "
        "'write': <n>} nor a hex replay id",
        value,
        key,
        asset,
    )
    return None
