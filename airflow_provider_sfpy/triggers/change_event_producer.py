"""The broker side of ``SalesforceChangeEventTrigger``: one Pub/Sub subscription per shared stream (Airflow 3.3).

Airflow 3.3's triggerer runs it in **ack mode** (``airflow/triggers/shared_stream.py``): ``open_stream``
yields batches of decoded change events, the triggerer hands them to every subscribed trigger's
filter, and calls ``advance`` with a batch only once every trigger event derived from it is stored
in the metadata database. So the replay id written in ``advance`` is never ahead of what Airflow
persisted, and a restarted triggerer resumes right after it: nothing lost, nothing twice (a crash
between the persist and the write replays at most the events of one advance, which become asset
events again; see the trigger's docstring).

While no event is waiting for Airflow (every event the subscription delivered has been advanced),
the subscription's own resume position is stored whenever it moves: it is where a keepalive says
the channel stands (the server sends one, with ``latest_replay_id``, within 270 seconds while
nothing happens) once every event delivered before it was handed on. Without it, a trigger that has
not fired yet would start from ``LATEST`` again after a restart and miss the changes made meanwhile.
It is the subscription's position, not ``latest_replay_id`` as such: that one stays where the
stream stood when a stream drops with events received but not yet handed on, and storing it then
would skip them.

Flow control follows the Pub/Sub API's ("Flow Control", developer.salesforce.com/docs/platform/
pub-sub-api/guide/flow-control.html): the subscription first asks for ``window`` events, and asks
for one more for every event advanced, so Salesforce is never more than one window ahead of the
replay id Airflow stored.

A stored replay id that Salesforce refuses (malformed, from another org, or older than the 72-hour
retention: "Replaying an Event Stream", developer.salesforce.com/docs/platform/pub-sub-api/guide/
replay-events.html) is reported as a warning naming the gap and the choice made, and the
subscription restarts from ``EARLIEST`` or ``LATEST`` as ``on_replay_gap`` says (or fails).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

try:
    from airflow.triggers.shared_stream import AdvanceItem, SharedStreamProducer
except ImportError:  # Airflow < 3.3: the trigger refuses to be built there, so no producer is ever made;
    # the module still imports (provider discovery and import checks load every trigger module).
    AdvanceItem = Any  # type: ignore[misc,assignment]
    SharedStreamProducer = object  # type: ignore[misc,assignment]

from airflow_provider_sfpy.triggers.change_event_filter import json_safe
from airflow_provider_sfpy.triggers.change_event_state import ReplayPosition, StreamSettings

if TYPE_CHECKING:
    from airflow_provider_sfpy.client.pubsub import PubSubClient, ReceivedEvent, Subscription

log = logging.getLogger(__name__)

#: How often, while nothing waits for Airflow, the subscription's position is checked for a move to store.
QUIET_POSITION_CHECK_SECONDS = 1.0


@dataclass(frozen=True)
class Change:
    """One change event as the subscribers see it: JSON-ready, never any credential."""

    replay_id: str  # hex
    event_id: str
    header: dict[str, Any]
    values: dict[str, Any]

    def payload(self) -> dict[str, Any]:
        return {"replay_id": self.replay_id, "event_id": self.event_id, "header": self.header, "values": self.values}


@dataclass(frozen=True)
class ChangeBatch:
    """The raw event of the shared stream: consecutive changes of one channel (one, unless batching)."""

    channel: str
    changes: tuple[Change, ...]


@dataclass(frozen=True)
class _Position:
    """The broker payload of a batch: which subscription delivered it and where it ends."""

    generation: int
    replay_id: bytes
    count: int


class ChangeEventsNotPersisted(RuntimeError):
    """Airflow could not persist the trigger events of a batch: the stream restarts from the stored replay id."""


class ChangeEventProducer(SharedStreamProducer):
    """Subscribes after the stored replay id, yields ``ChangeBatch`` es, stores the replay id as Airflow persists.

    :param settings: the subscription.
    :param position: the watched assets' state stores (reached through the trigger instance that
        registered itself, see ``change_event_state``).
    """

    def __init__(self, settings: StreamSettings, position: ReplayPosition) -> None:
        self.settings = settings
        self.position = position
        self._subscription: Subscription | None = None
        self._generation = 0
        self._delivered = 0  # events the current subscription delivered (generation `_generation`)
        self._advanced = 0  # of them, how many Airflow stored and `advance` saw
        self._stored: bytes | None = None  # the position last loaded or saved
        self._saving = asyncio.Lock()  # one save at a time, so positions are written in the order decided

    async def open_stream(self) -> AsyncIterator[tuple[Any, Any]]:
        from airflow_provider_sfpy.hooks.salesforce import SalesforcePyHook

        async with SalesforcePyHook.apubsub_client(self.settings.sfpy_conn_id) as client:
            stored = self._stored = await self.position.load()
            preset, replay_id = ("CUSTOM", stored) if stored is not None else (self.settings.replay_preset, None)
            while True:
                try:
                    async for item in self._read(client, preset, replay_id):
                        yield item
                except _ReplayGap as gap:
                    preset, replay_id = self._resume_after_gap(gap.error, gap.replay_id), None
                    continue
                raise RuntimeError(f"the Pub/Sub subscription to {self.settings.channel} ended")

    async def _read(
        self, client: PubSubClient, preset: str, replay_id: bytes | None
    ) -> AsyncIterator[tuple[ChangeBatch, _Position]]:
        from airflow_provider_sfpy.client.pubsub import PubSubReplayIdError

        self._generation += 1
        self._delivered = self._advanced = 0
        generation = self._generation
        channel = self.settings.channel
        where = f"after replay id {replay_id.hex()}" if replay_id is not None else f"from {preset}"
        log.info("Subscribing to %s %s (up to %d events ahead of Airflow)", channel, where, self.settings.window)
        subscription = client.subscribe(channel, replay_preset=preset, replay_id=replay_id, batch=self.settings.window)
        self._subscription = subscription
        keeper = asyncio.ensure_future(self._keep_quiet_position(subscription))
        try:
            async for events in self._batches(subscription):
                changes = tuple([await _decode(client, event) for event in events])
                yield ChangeBatch(channel, changes), _Position(generation, events[-1].replay_id, len(events))
        except PubSubReplayIdError as exc:
            if replay_id is None:
                raise
            raise _ReplayGap(exc, getattr(exc, "replay_id", None) or replay_id) from exc
        finally:
            self._subscription = None
            keeper.cancel()
            with contextlib.suppress(BaseException):
                await keeper
            await subscription.aclose()

    async def _batches(self, subscription: Subscription) -> AsyncIterator[list[ReceivedEvent]]:
        """The subscription's events in batches: each cut at ``batch_size`` events or ``batch_seconds`` after
        its first event, whichever comes first (one event per batch without batching)."""
        events = aiter(subscription)
        pending: asyncio.Task[ReceivedEvent] | None = None
        loop = asyncio.get_running_loop()
        try:
            while True:
                batch: list[ReceivedEvent] = []
                deadline: float | None = None
                while len(batch) < self.settings.batch_size:
                    if pending is None:
                        pending = asyncio.ensure_future(self._counted(anext(events)))
                    timeout = None if deadline is None else max(0.0, deadline - loop.time())
                    done, _ = await asyncio.wait({pending}, timeout=timeout)
                    if not done:
                        break
                    event, pending = pending.result(), None
                    batch.append(event)
                    if deadline is None and self.settings.batch_seconds is not None:
                        deadline = loop.time() + self.settings.batch_seconds
                yield batch
        except StopAsyncIteration:
            return
        finally:
            if pending is not None:
                pending.cancel()
                with contextlib.suppress(BaseException):
                    await pending

    async def _counted(self, delivery: Awaitable[ReceivedEvent]) -> ReceivedEvent:
        """The subscription's next event, counted as delivered in the same step as the subscription hands it
        over (no other task runs in between), so the quiet-position check never misses an event in transit."""
        event = await delivery
        self._delivered += 1
        return event

    async def _keep_quiet_position(self, subscription: Subscription) -> None:
        """Store the subscription's position whenever it moves while no event waits for Airflow."""
        while True:
            try:
                await self._store_quiet_position(subscription)
            except Exception:  # the stream goes on; the next event's advance stores a position (or fails the stream)
                log.warning("Could not store the position of %s", self.settings.channel, exc_info=True)
            await asyncio.sleep(QUIET_POSITION_CHECK_SECONDS)

    async def _store_quiet_position(self, subscription: Subscription) -> None:
        """Store where ``subscription`` would resume, if every event it delivered has been advanced.

        That position is the last event it handed on, or a keepalive's ``latest_replay_id`` received
        with nothing left to hand on: the channel holds no event for this subscription up to it. It is
        never past an event that Airflow has not stored, since all delivered events are advanced.
        """
        async with self._saving:
            position = subscription.resume_replay_id
            quiet = self._delivered == self._advanced and subscription.buffered == 0
            if not quiet or position is None or position == self._stored or subscription is not self._subscription:
                return
            log.debug("Nothing waits for Airflow on %s: storing its position %s", self.settings.channel, position.hex())
            await self.position.save(position)
            self._stored = position

    async def _save(self, replay_id: bytes) -> None:
        async with self._saving:
            await self.position.save(replay_id)
            self._stored = replay_id

    def _resume_after_gap(self, error: Exception, refused: bytes) -> str:
        """Where to resume after Salesforce refused the stored replay id, as ``on_replay_gap`` says."""
        choice = self.settings.on_replay_gap
        what = (
            f"Salesforce refused the stored replay id {refused.hex()} of {self.settings.channel} (kept under "
            f"{self.position.key!r} in the watched assets' state): it is invalid, or older than the event bus "
            f"keeps events (72 hours), so change events between it and the oldest retained event may be lost"
        )
        if choice == "fail":
            raise ChangeEventsGapError(f"{what}. on_replay_gap='fail': not resuming. {error}") from error
        meaning = "every event still retained" if choice == "EARLIEST" else "only events from now on"
        log.warning("%s. on_replay_gap=%r: resubscribing from %s (%s).", what, choice, choice, meaning)
        return choice

    async def advance(self, batch: Sequence[AdvanceItem]) -> None:
        """Store the replay id of the last batch Airflow persisted, then let Salesforce send that many more.

        A batch whose trigger events were not all persisted (an ack timeout, an overflowing
        subscriber) raises: the triggerer then ends this stream and its triggers, and starts them
        again, which resubscribes after the stored replay id (the events from there on come again).
        Batches of an earlier subscription (before a replay gap was handled) are ignored.
        """
        last: _Position | None = None
        advanced = 0
        for item in batch:
            position: _Position = item.broker_payload
            if position.generation != self._generation:
                continue
            if not item.outcome.is_clean:
                if last is not None:  # what was persisted before it stays persisted
                    await self._save(last.replay_id)
                raise ChangeEventsNotPersisted(
                    f"the trigger events of {self.settings.channel} events up to replay id "
                    f"{position.replay_id.hex()} were not all stored by Airflow ({item.outcome}); restarting the "
                    "subscription after the last stored replay id"
                )
            last, advanced = position, advanced + position.count
        if last is None:
            return
        self._advanced += advanced
        await self._save(last.replay_id)
        if self._subscription is not None:
            self._subscription.request(advanced)

    async def aclose(self) -> None:
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            await subscription.aclose()


class ChangeEventsGapError(RuntimeError):
    """The stored replay id was refused and ``on_replay_gap='fail'``: a person decides where to resume."""


class _ReplayGap(Exception):
    def __init__(self, error: Exception, replay_id: bytes) -> None:
        super().__init__(str(error))
        self.error, self.replay_id = error, replay_id


async def _decode(client: PubSubClient, event: ReceivedEvent) -> Change:
    """The event's header and changed values, decoded with the schema it was written with."""
    from airflow_provider_sfpy.client.pubsub import decode_change_event

    schema = await client.get_schema(event.schema_id)
    change = decode_change_event(event.record, schema)
    return Change(
        replay_id=event.replay_id.hex(),
        event_id=event.event_id,
        header=json_safe(change.header()),
        values=json_safe(change.values),
    )
