"""``SalesforceChangeEventTrigger``: run DAGs when Salesforce records change (Change Data Capture, Pub/Sub API).

Use it as an asset watcher (Airflow 3.3 and later)::

    closed_won = Asset(
        "salesforce_opportunities_closed_won",
        watchers=[AssetWatcher(name="closed_won", trigger=SalesforceChangeEventTrigger(
            channel="/data/OpportunityChangeEvent",
            condition={"field": "StageName", "op": "==", "value": "Closed Won"},
        ))],
    )

Nothing lost, nothing twice across triggerer restarts: the trigger runs in Airflow 3.3's
shared-stream **ack mode**, with a subscription of its own (the stream key and the stored position
name a digest of its serialized kwargs, see ``change_event_state``: no other trigger moves its
position, and no trigger joins a stream late and misses what another subscriber acknowledged). The
triggerer hands each change to the trigger's filter and tells the producer
(``change_event_producer``) once the trigger events made from it are stored in the metadata
database; only then is the change's replay id written to the watched assets' state stores
(``asset_state_store``), and a new triggerer subscribes right after it. While nothing is waiting
for Airflow, the position Salesforce reports in its keepalives is stored too, so a trigger that has
not fired yet resumes where it stood instead of starting from ``LATEST`` again. The one window where
an event can come twice is a crash between Airflow storing the asset event and the producer writing
the replay id (milliseconds); each event's payload carries its ``replay_id`` and ``event_id`` so a
consumer can tell.

Airflow 3.1 and 3.2 have neither ack mode nor asset state in the triggerer, so the trigger refuses
to be built there (there is no store that would survive a triggerer restart without losing or
repeating events).

The triggerer imports this module on its event loop: it imports nothing of the client (grpc,
fastavro, httpx) at module level.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Hashable, Mapping, Sequence
from typing import Any

from airflow import __version__ as airflow_version
from airflow.triggers.base import BaseEventTrigger, TriggerEvent
from packaging.version import Version

from airflow_provider_sfpy.triggers.change_event_filter import ChangeEventFilter
from airflow_provider_sfpy.triggers.change_event_state import (
    STREAM_OWNERS,
    ReplayPosition,
    StreamSettings,
    trigger_digest,
    watched_assets,
)

#: Ack mode (``create_shared_stream_producer``) and ``asset_state_store`` for watchers: Airflow 3.3.
ACK_MODE_AVAILABLE = Version(Version(airflow_version).base_version) >= Version("3.3") and hasattr(
    BaseEventTrigger, "create_shared_stream_producer"
)
REPLAY_PRESETS = ("LATEST", "EARLIEST")
ON_REPLAY_GAP = ("EARLIEST", "LATEST", "fail")
#: Salesforce sends at most 100 events per FetchRequest: the most a subscription runs ahead of Airflow.
MAX_WINDOW = 100
#: How long the first change of a batch waits for more when only ``batch_size`` is given.
DEFAULT_BATCH_SECONDS = 5.0


class SalesforceChangeEventTrigger(BaseEventTrigger):
    """Fire a trigger event for each change on a Pub/Sub channel that passes the filter (or per batch).

    Payload of a change: ``{"channel", "replay_id" (hex), "event_id", "header": {entityName, recordIds,
    changeType, changeOrigin, transactionKey, sequenceNumber, commitTimestamp, commitNumber, commitUser,
    changedFields, nulledFields, diffFields}, "values": {the changed fields' new values}}``. With
    batching: ``{"channel", "replay_id" (of the last change), "changes": [<change payloads>]}``.

    :param channel: ``/data/OpportunityChangeEvent``, ``/data/ChangeEvents`` (every selected object),
        or a custom channel.
    :param sfpy_conn_id: the ``sfpy`` connection (default ``"sfpy_default"``); its extra ``pubsub_url`` names the
        endpoint.
    :param entities: keep only changes of these objects (default ``None``: all).
    :param change_types: keep only these change types: ``CREATE``, ``UPDATE``, ``DELETE``, ``UNDELETE``,
        ``GAP_*`` (default ``None``: all).
    :param changed_fields: keep only changes to at least one of these fields (a create sets fields,
        so it counts) (default ``None``: any).
    :param condition: ``{"field": "StageName", "op": "==", "value": "Closed Won"}`` or a list of them
        (all must hold), on the values the change carries; ``op``: ``==``, ``!=``, ``in``, ``not in``,
        ``>``, ``>=``, ``<``, ``<=``. A field the change did not set never matches (default ``None``).
    :param batch_size: fire one event per batch of up to this many changes read from the channel
        (1 to 100; the filter then keeps what it keeps of them) (default ``None``: one event per change).
    :param batch_seconds: cut a batch this many seconds after its first change
        (default ``None``: 5 s when ``batch_size`` is given).
    :param replay_preset: where the very first subscription starts, before any position is stored:
        ``LATEST`` (changes from now on) or ``EARLIEST`` (every change Salesforce still keeps, 72 hours)
        (default ``'LATEST'``). It applies once: as soon as Salesforce reports a position (with the
        first events, or in a keepalive, which it sends within 270 seconds while nothing happens)
        and everything before it is stored in Airflow, the position is stored, and every later start
        resumes after it. So with ``LATEST``, changes made while the triggerer restarts are not lost,
        except in a brand-new trigger's first keepalive interval. Changing any argument of the
        trigger makes it a new trigger, which starts from ``replay_preset`` again.
    :param on_replay_gap: when Salesforce refuses the stored replay id (older than its 72-hour
        retention, or invalid): resume from ``EARLIEST`` (every retained change: what is lost is
        only what Salesforce no longer has), ``LATEST`` (from now on), or ``fail`` (a person decides)
        (default ``'EARLIEST'``).

    Every trigger has its own subscription and its own stored position, even on the same channel
    and watching the same assets as another: a position says how far *this* trigger's events are
    stored in Airflow, which says nothing about another filter's.
    """

    def __init__(
        self,
        channel: str,
        *,
        sfpy_conn_id: str = "sfpy_default",
        entities: Sequence[str] | None = None,
        change_types: Sequence[str] | None = None,
        changed_fields: Sequence[str] | None = None,
        condition: Mapping[str, Any] | Sequence[Mapping[str, Any] | Sequence[Any]] | None = None,
        batch_size: int | None = None,
        batch_seconds: float | None = None,
        replay_preset: str = "LATEST",
        on_replay_gap: str = "EARLIEST",
    ) -> None:
        if not ACK_MODE_AVAILABLE:
            raise RuntimeError(
                f"SalesforceChangeEventTrigger needs Airflow 3.3 or later (this is {airflow_version}): it keeps its "
                "place in the watched asset's state store and acknowledges Salesforce events only once Airflow "
                "stored them (the triggerer's shared-stream ack mode), neither of which older Airflow has. "
                "Upgrade Airflow, or poll with a scheduled DAG (SalesforceQueryToFileOperator with incremental_key)"
            )
        super().__init__()
        if not isinstance(channel, str) or not channel.startswith(("/data/", "/event/")):
            raise ValueError(
                f"channel {channel!r} is not a Pub/Sub channel such as /data/OpportunityChangeEvent or "
                "/data/ChangeEvents"
            )
        if replay_preset not in REPLAY_PRESETS:
            raise ValueError(f"replay_preset must be one of {', '.join(REPLAY_PRESETS)}, not {replay_preset!r}")
        if on_replay_gap not in ON_REPLAY_GAP:
            raise ValueError(f"on_replay_gap must be one of {', '.join(ON_REPLAY_GAP)}, not {on_replay_gap!r}")
        if batch_size is not None and not (isinstance(batch_size, int) and 1 <= batch_size <= MAX_WINDOW):
            raise ValueError(f"batch_size must be a whole number from 1 to {MAX_WINDOW}, not {batch_size!r}")
        if batch_seconds is not None and not (isinstance(batch_seconds, (int, float)) and batch_seconds > 0):
            raise ValueError(f"batch_seconds must be a positive number of seconds, not {batch_seconds!r}")
        self.channel = channel
        self.sfpy_conn_id = sfpy_conn_id
        self.filter = ChangeEventFilter.build(
            entities=entities, change_types=change_types, changed_fields=changed_fields, condition=condition
        )
        self.batch_size = batch_size
        self.batch_seconds = float(batch_seconds) if batch_seconds is not None else None
        self.replay_preset = replay_preset
        self.on_replay_gap = on_replay_gap

    @property
    def batching(self) -> bool:
        return self.batch_size is not None or self.batch_seconds is not None

    def serialize(self) -> tuple[str, dict[str, Any]]:
        criteria = self.filter
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "channel": self.channel,
                "sfpy_conn_id": self.sfpy_conn_id,
                "entities": sorted(criteria.entities) if criteria.entities is not None else None,
                "change_types": sorted(criteria.change_types) if criteria.change_types is not None else None,
                "changed_fields": sorted(criteria.changed_fields) if criteria.changed_fields is not None else None,
                "condition": [c.as_list() for c in criteria.conditions] or None,
                "batch_size": self.batch_size,
                "batch_seconds": self.batch_seconds,
                "replay_preset": self.replay_preset,
                "on_replay_gap": self.on_replay_gap,
            },
        )

    # ------------------------------------------------------------------ the triggerer's shared stream
    def shared_stream_key(self) -> Hashable | None:
        """(connection, channel, digest of the kwargs, watched assets): a stream of this trigger's own.

        Airflow's shared streams would let triggers with equal keys share one subscription, but a
        shared subscription has one position for triggers that store their events at different paces,
        and a trigger joining it late misses what the others acknowledged; so the key names the
        trigger (two watchers with equal kwargs are one trigger row in Airflow anyway).

        Also registers this instance so the producer the triggerer builds next (from the kwargs
        alone) reaches its ``asset_state_store`` (see ``change_event_state``). Not a watcher (no
        asset state): ``None``, and ``run()`` says why it cannot run.
        """
        assets = watched_assets(self.asset_state_store)
        if not assets:
            return None
        kwargs = self.serialize()[1]
        STREAM_OWNERS.register(kwargs, self)
        settings = _stream_settings(kwargs)
        return ("sfpy-pubsub", settings.sfpy_conn_id, settings.channel, settings.trigger, tuple(n for n, _ in assets))

    @classmethod
    def create_shared_stream_producer(cls, kwargs: dict[str, Any]) -> Any:
        from airflow_provider_sfpy.triggers.change_event_producer import ChangeEventProducer

        owner = STREAM_OWNERS.find(kwargs)
        assets = watched_assets(getattr(owner, "asset_state_store", None))
        if not assets:
            raise RuntimeError(
                f"no watched asset to keep the replay position of {kwargs.get('channel')} in: the trigger that "
                "opened this stream is gone or is not an asset watcher"
            )
        settings = _stream_settings(kwargs)
        return ChangeEventProducer(settings, ReplayPosition(assets, settings.state_key))

    async def filter_shared_stream(self, shared_stream: AsyncIterator[Any]) -> AsyncIterator[TriggerEvent]:
        """This trigger's events from the shared batches; each is yielded before the next batch is read,
        so Airflow binds it to the batch it came from (and stores the replay id only once it is persisted)."""
        async for batch in shared_stream:
            kept = [change for change in batch.changes if self.filter.matches(change.header, change.values)]
            if not kept:
                continue
            if self.batching:
                yield TriggerEvent(
                    {
                        "channel": batch.channel,
                        "replay_id": kept[-1].replay_id,
                        "changes": [change.payload() for change in kept],
                    }
                )
            else:
                for change in kept:
                    yield TriggerEvent({"channel": batch.channel, **change.payload()})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Only reached when the triggerer does not share a stream for this trigger: it is not an asset watcher."""
        raise RuntimeError(
            "SalesforceChangeEventTrigger runs only as an asset watcher (Asset(..., watchers=[AssetWatcher(name=..., "
            "trigger=SalesforceChangeEventTrigger(...))])) in Airflow 3.3's triggerer: it keeps its place in the "
            "watched asset's state store, which a deferred task does not have"
        )
        yield  # pragma: no cover - makes this an async generator

    async def cleanup(self) -> None:
        STREAM_OWNERS.forget(self.serialize()[1], self)


def _stream_settings(kwargs: Mapping[str, Any]) -> StreamSettings:
    """The subscription the kwargs describe (batch_size 1 and no timer when not batching), named by their digest."""
    batch_size, batch_seconds = kwargs.get("batch_size"), kwargs.get("batch_seconds")
    if batch_size is not None or batch_seconds is not None:
        batch_size = batch_size or MAX_WINDOW
        batch_seconds = float(batch_seconds) if batch_seconds is not None else DEFAULT_BATCH_SECONDS
    return StreamSettings(
        sfpy_conn_id=str(kwargs.get("sfpy_conn_id") or "sfpy_default"),
        channel=str(kwargs["channel"]),
        replay_preset=str(kwargs.get("replay_preset") or "LATEST"),
        on_replay_gap=str(kwargs.get("on_replay_gap") or "EARLIEST"),
        window=MAX_WINDOW,
        batch_size=int(batch_size or 1),
        batch_seconds=batch_seconds,
        trigger=trigger_digest(kwargs),
    )
