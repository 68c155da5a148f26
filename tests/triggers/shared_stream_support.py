"""Drive a change-event trigger the way Airflow 3.3's triggerer does, inside the test process.

``WatcherRun`` uses Airflow's own ``SharedStreamManager`` (the triggerer's), subscribes the trigger
under its ``shared_stream_key()``, feeds ``filter_shared_stream`` and, like ``run_trigger``, binds each
trigger event to its raw event before taking the next one. "Persisting" a trigger event is confirming
its sequence number (``confirm_persisted``), which the real triggerer does once the metadata DB stored
it; a test can hold confirmations back to play a crash before the persist.

The watched asset's state store is ``MemoryAssetState``: the same ``aget``/``aset`` methods as Airflow's
``AssetStateStoreAccessor``, kept in a dict the test can read and keep across "restarts" (the real
store talks to the triggerer's supervisor, which only a running triggerer has; the deployment test
uses it).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from airflow.triggers.base import TriggerEvent
from airflow.triggers.shared_stream import SharedStreamManager


class MemoryAssetState:
    """One asset's state store (``aget``/``aset``/``adelete``), in a dict."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    async def aget(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    async def aset(self, key: str, value: Any) -> None:
        self.values[key] = value

    async def adelete(self, key: str) -> None:
        self.values.pop(key, None)


class MemoryAssetStores:
    """What the triggerer injects as a watcher's ``asset_state_store``, for the named assets."""

    def __init__(self, stores: dict[str, MemoryAssetState]) -> None:
        self._by_name = stores
        self._by_uri: dict[str, MemoryAssetState] = {}


@dataclass
class WatcherRun:
    """One trigger subscribed to a shared stream; ``events`` fill as its filter yields them."""

    manager: SharedStreamManager
    trigger: Any
    trigger_id: int
    confirm: bool = True
    events: list[TriggerEvent] = field(default_factory=list)
    unconfirmed: list[int] = field(default_factory=list)
    task: asyncio.Task[None] | None = None
    key: Any = None

    async def _run(self) -> None:
        self.key = self.trigger.shared_stream_key()
        assert self.key is not None, "the trigger did not join a shared stream (no watched asset?)"
        stream = self.manager.subscribe(trigger_id=self.trigger_id, trigger=self.trigger, key=self.key)
        try:
            async for event in self.trigger.filter_shared_stream(stream):
                seq = self.manager.bind_pending_event(trigger_id=self.trigger_id, key=self.key)
                self.events.append(event)
                if seq is not None:
                    if self.confirm:
                        self.manager.confirm_persisted([seq])
                    else:
                        self.unconfirmed.append(seq)
        finally:
            await self.manager.unsubscribe(self.trigger_id, self.key)
            await self.trigger.cleanup()

    async def wait_for(self, count: int, timeout: float = 30.0) -> list[TriggerEvent]:
        """Until ``count`` events arrived (the run's own failure is raised at once)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.events) < count:
            assert self.task is not None
            if self.task.done():
                self.task.result()
                raise AssertionError(f"the trigger ended after {len(self.events)} of {count} events")
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{len(self.events)} of {count} trigger events after {timeout:.0f} s")
            await asyncio.sleep(0.05)
        return self.events


@contextlib.asynccontextmanager
async def watching(trigger: Any, stores: MemoryAssetStores, *, confirm: bool = True) -> AsyncIterator[WatcherRun]:
    """Run ``trigger`` as a triggerer runs an asset watcher; stopping it is a triggerer shutting down."""
    manager = SharedStreamManager(ack_timeout=60.0)
    trigger.asset_state_store = stores
    run = WatcherRun(manager=manager, trigger=trigger, trigger_id=1, confirm=confirm)
    run.task = asyncio.create_task(run._run())
    try:
        yield run
    finally:
        run.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await run.task
        await manager.stop_all()


async def settle(seconds: float = 0.3) -> None:
    """Give the advance pump a moment to write the replay id after the last confirmation."""
    await asyncio.sleep(seconds)
