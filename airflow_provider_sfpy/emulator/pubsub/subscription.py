"""One Subscribe stream: where it starts, how many events it still owes, and delivering them.

Salesforce's Subscribe is pull-based ("Pull Subscription and Flow Control",
https://developer.salesforce.com/docs/platform/pub-sub-api/guide/flow-control.html; "Subscribe RPC
Method", https://developer.salesforce.com/docs/platform/pub-sub-api/references/methods/subscribe-rpc.html):

- the first FetchRequest names the topic and where to start: LATEST (events published after the
  subscription starts), EARLIEST (the oldest retained), CUSTOM (after ``replay_id``); later requests only
  add to ``num_requested``, which must be positive;
- at most 100 events are ever owed: more requested in total "the server considers ... to be 100";
  a request made before the last amount is delivered is added to what is still owed;
- every FetchResponse carries ``pending_num_requested`` (what is still owed after it) and
  ``latest_replay_id``; the server never sends more than is owed;
- while events are owed but none arrive, an empty FetchResponse with the latest replay id is sent as
  a keepalive within 270 seconds; that replay id may be a position beyond the last delivered event.

The stream waits on the event bus (woken by each append, by each FetchRequest and by cancellation),
and re-checks the caller's session every ``session_check_seconds``: a session that ends (the admin
API's ``expire-sessions``) ends the stream with ``UNAUTHENTICATED``, as Salesforce does, and the client
logs in again and resubscribes after its last replay id.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import grpc

from airflow_provider_sfpy.emulator.events.bus import EventBus, StoredEvent
from airflow_provider_sfpy.emulator.pubsub.errors import (
    REPLAY_ID_CORRUPTED,
    REPLAY_ID_MISSING,
    REQUESTED_EVENTS_INVALID,
    TOPIC_MISMATCH,
    PubSubFailure,
)
from airflow_provider_sfpy.pubsub_api import MAX_NUM_REQUESTED, decode_replay_id, encode_replay_id
from airflow_provider_sfpy.pubsub_api import pubsub_api_pb2 as pb2

#: Salesforce sends a keepalive "within 270 seconds" while events are owed and none arrive.
DEFAULT_KEEPALIVE_SECONDS = 270.0
#: How often a waiting stream re-checks that its session still lives.
DEFAULT_SESSION_CHECK_SECONDS = 0.5


def requested_count(request: pb2.FetchRequest) -> int:
    """The request's ``num_requested``; raises ``PubSubFailure`` unless it is positive."""
    if request.num_requested <= 0:
        raise PubSubFailure(
            grpc.StatusCode.INVALID_ARGUMENT,
            REQUESTED_EVENTS_INVALID,
            f"The number of requested events must be greater than zero (num_requested={request.num_requested}); "
            "request between 1 and 100 events.",
        )
    return int(request.num_requested)


def start_position(request: pb2.FetchRequest, bus: EventBus) -> int:
    """The position the stream delivers events after, from the first FetchRequest's replay preset."""
    if request.replay_preset == pb2.ReplayPreset.LATEST:
        return bus.latest_position()
    if request.replay_preset == pb2.ReplayPreset.EARLIEST:
        return bus.purged_through()
    if not request.replay_id:
        raise PubSubFailure(
            grpc.StatusCode.INVALID_ARGUMENT,
            REPLAY_ID_MISSING,
            "The replay_preset field in FetchRequest is set to ReplayPreset.CUSTOM, but no Replay ID value is set. "
            "Pass the replay_id of the last event received, or subscribe with LATEST or EARLIEST.",
        )
    position = decode_replay_id(request.replay_id)
    if position is None or not bus.is_replayable(position):
        raise PubSubFailure(
            grpc.StatusCode.INVALID_ARGUMENT,
            REPLAY_ID_CORRUPTED,
            "The Replay ID validation failed: it is not a replay id of this org, or the events after it are "
            f"older than the retention window ({bus.retention_seconds:g} s). Resubscribe with EARLIEST "
            "(the oldest retained event) or LATEST (new events only).",
        )
    return position


@dataclass
class FlowControl:
    """What a stream owes its client, shared by the thread reading FetchRequests and the one sending events."""

    topic_name: str
    pending: int = 0
    client_done: bool = False
    failure: PubSubFailure | None = None

    def __post_init__(self) -> None:
        self.changed = threading.Condition()
        self._dirty = False

    def wake(self) -> None:
        with self.changed:
            self._dirty = True
            self.changed.notify_all()

    def request(self, count: int) -> None:
        with self.changed:
            self.pending = min(MAX_NUM_REQUESTED, self.pending + count)
            self._dirty = True
            self.changed.notify_all()

    def fail(self, failure: PubSubFailure) -> None:
        with self.changed:
            self.failure = failure
            self._dirty = True
            self.changed.notify_all()

    def finish(self) -> None:
        with self.changed:
            self.client_done = True
            self._dirty = True
            self.changed.notify_all()

    def delivered(self, count: int) -> int:
        """Record ``count`` events sent; returns what is still owed."""
        with self.changed:
            self.pending -= count
            return self.pending

    def begin_round(self) -> None:
        """Forget earlier wake-ups: whatever happens from now on wakes the next ``wait``."""
        with self.changed:
            self._dirty = False

    def wait(self, timeout: float) -> None:
        with self.changed:
            if not self._dirty:
                self.changed.wait(timeout)


def read_requests(requests: Iterator[pb2.FetchRequest], flow: FlowControl) -> None:
    """Feed the client's later FetchRequests into ``flow`` (runs on its own thread until the client stops)."""
    try:
        for request in requests:
            if request.topic_name and request.topic_name != flow.topic_name:
                flow.fail(
                    PubSubFailure(
                        grpc.StatusCode.INVALID_ARGUMENT,
                        TOPIC_MISMATCH,
                        f"The topic name {request.topic_name} differs from this stream's topic {flow.topic_name}; "
                        "keep one topic per Subscribe call.",
                    )
                )
                return
            try:
                flow.request(requested_count(request))
            except PubSubFailure as failure:
                flow.fail(failure)
                return
    except Exception:  # the call was cancelled or the connection dropped: the stream ends
        pass
    flow.finish()


@dataclass
class Delivery:
    """Sends a stream's events as FetchResponses, never more than ``flow`` says are owed."""

    bus: EventBus
    flow: FlowControl
    cursor: int
    rpc_id: str
    keepalive_seconds: float = DEFAULT_KEEPALIVE_SECONDS
    session_check_seconds: float = DEFAULT_SESSION_CHECK_SECONDS

    def responses(
        self, is_active: Callable[[], bool], session_failure: Callable[[], PubSubFailure | None]
    ) -> Iterator[pb2.FetchResponse]:
        """FetchResponses until the client goes away; raises ``PubSubFailure`` to end the stream with an error."""
        keepalive_due = time.monotonic() + self.keepalive_seconds
        next_session_check = 0.0
        while is_active():
            self.flow.begin_round()
            now = time.monotonic()
            if now >= next_session_check:
                failure = session_failure()
                if failure is not None:
                    raise failure
                next_session_check = now + self.session_check_seconds
            if self.flow.failure is not None:
                raise self.flow.failure
            owed = self.flow.pending
            if owed > 0:
                newest = self.bus.latest_position()
                events = self.bus.read(self.flow.topic_name, self.cursor, owed)
                if events:
                    yield self._batch(events)
                    keepalive_due = time.monotonic() + self.keepalive_seconds
                    continue
                # Nothing on this topic up to `newest`: a later resume may start there.
                self.cursor = max(self.cursor, newest)
                if now >= keepalive_due:
                    yield self._response([], owed)
                    keepalive_due = time.monotonic() + self.keepalive_seconds
                    continue
            elif self.flow.client_done:
                return
            waits = [next_session_check - now]
            if owed > 0:
                waits.append(keepalive_due - now)
            self.flow.wait(max(0.0, min(waits)))

    def _batch(self, events: list[StoredEvent]) -> pb2.FetchResponse:
        self.cursor = events[-1].position
        return self._response(events, self.flow.delivered(len(events)))

    def _response(self, events: list[StoredEvent], pending: int) -> pb2.FetchResponse:
        return pb2.FetchResponse(
            events=[
                pb2.ConsumerEvent(
                    event=pb2.ProducerEvent(id=e.event_uuid, schema_id=e.schema_id, payload=e.payload),
                    replay_id=encode_replay_id(e.position),
                )
                for e in events
            ],
            latest_replay_id=encode_replay_id(self.cursor),
            rpc_id=self.rpc_id,
            pending_num_requested=pending,
        )
