"""A ``Subscribe`` stream with the caller's flow control, that survives expired sessions and dropped streams.

The Pub/Sub API is pull-based: the client asks for events with ``FetchRequest.num_requested`` (at most
100 are outstanding at a time) and the server sends at most that many; while events are owed and none
arrive, the server sends an empty ``FetchResponse`` (a keepalive, with ``latest_replay_id``) within
270 seconds ("Subscribe RPC Method" and "Pull Subscription and Flow Control",
developer.salesforce.com/docs/platform/pub-sub-api/references/methods/subscribe-rpc.html and
.../guide/flow-control.html). Any error ends the stream; the client opens a new one ("Retry Long-Lived
RPC Calls After an Error Occurs").

Here the caller asks (``request(n)``) and iterates; the stream is opened when something is asked for.
When the server ends the stream for refused credentials, the subscription logs in again and resubscribes
after the last event it *yielded* (events received but not yet yielded are dropped and come again),
so the caller sees every event once. A dropped or silent stream (nothing, not even a keepalive, within
``idle_timeout`` while events are owed) is reopened the same way, with backoff and a bounded number of
consecutive failures. A refused replay id raises ``PubSubReplayIdError``: where to resume is the caller's
choice. One task iterates; ``request`` is called from the event loop's thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from airflow_provider_sfpy.client.pubsub.connection import PubSubConnection, backoff_seconds
from airflow_provider_sfpy.client.pubsub.errors import (
    PubSubError,
    PubSubReplayIdError,
    PubSubUnavailableError,
    is_auth_failure,
    is_replay_id_failure,
    is_transient,
)
from airflow_provider_sfpy.client.pubsub.models import ReceivedEvent
from airflow_provider_sfpy.client.pubsub.schema import Schema
from airflow_provider_sfpy.pubsub_api import MAX_NUM_REQUESTED
from airflow_provider_sfpy.pubsub_api import pubsub_api_pb2 as pb2

log = logging.getLogger("airflow_provider_sfpy.client.pubsub")

REPLAY_PRESETS = {"LATEST": pb2.LATEST, "EARLIEST": pb2.EARLIEST, "CUSTOM": pb2.CUSTOM}
#: Salesforce sends a keepalive within 270 s while events are owed; silence for longer means a dead stream.
DEFAULT_IDLE_TIMEOUT = 330.0
#: A session refused again right after a fresh login gets one more login (as the REST client), then an error.
MAX_LOGINS_WITHOUT_ANSWER = 2

_WAKE = object()  # request() or aclose() changed something the iterating task must look at
_END = object()  # the server ended the stream without an error


class Subscription:
    """An async iterator of ``ReceivedEvent`` from one topic; see the module's docstring."""

    def __init__(
        self,
        connection: PubSubConnection,
        schema_for: Callable[[str], Awaitable[Schema]],
        topic_name: str,
        *,
        replay_preset: str = "LATEST",
        replay_id: bytes | None = None,
        batch: int = MAX_NUM_REQUESTED,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
    ) -> None:
        preset = replay_preset.upper()
        if preset not in REPLAY_PRESETS:
            raise ValueError(f"replay_preset must be one of {', '.join(REPLAY_PRESETS)}, not {replay_preset!r}")
        if (preset == "CUSTOM") != (replay_id is not None):
            raise ValueError("a replay_id goes with replay_preset='CUSTOM', and CUSTOM needs one")
        if batch < 0:
            raise ValueError("batch (the events asked for at the start) cannot be negative")
        self.topic_name = topic_name
        self._connection = connection
        self._schema_for = schema_for
        self._preset = preset
        self._replay_id = replay_id
        self._idle_timeout = idle_timeout
        self._demand = batch  # asked for by the caller and not yet yielded
        self._in_flight = 0  # asked of the server on the current stream and not yet received
        self._buffer: deque[Any] = deque()  # received ConsumerEvents not yet yielded
        self._resume_after: bytes | None = None  # every event up to here was yielded
        self.latest_replay_id: bytes | None = None  # the server's latest position (keepalives too)
        self._inbox: asyncio.Queue[tuple[int, Any]] | None = None
        self._outbox: asyncio.Queue[Any] | None = None
        self._call: Any = None
        self._pump: asyncio.Task[None] | None = None
        self._generation = 0
        self._answered = False  # the current stream has delivered a response
        self._last_activity = 0.0
        self._failures = 0  # consecutive streams that failed without a response
        self._logins = 0  # logins again since a stream last answered
        self._credentials: Any = None  # what the current stream was opened with
        self._closed = False

    def __repr__(self) -> str:
        return f"Subscription({self.topic_name!r}, demand={self._demand}, open={self._call is not None})"

    # ------------------------------------------------------------------ the caller's side
    @property
    def resume_replay_id(self) -> bytes | None:
        """Where this subscription resumes after a dropped stream: every event up to it was yielded.

        Not ``latest_replay_id``: a dropped stream's last answer may be ahead of events received but
        never yielded (they are asked for again)."""
        return self._resume_after

    @property
    def buffered(self) -> int:
        """Events received from the server and not yet yielded (never more than were asked for)."""
        return len(self._buffer)

    @property
    def outstanding(self) -> int:
        """Events asked for and not yet yielded."""
        return self._demand

    def request(self, n: int) -> None:
        """Ask for ``n`` more events; the server is asked for at most 100 outstanding at a time."""
        if n < 1:
            raise ValueError("request(n) needs n >= 1")
        self._demand += n
        self._top_up()
        self._wake()

    def __aiter__(self) -> AsyncIterator[ReceivedEvent]:
        return self

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def __anext__(self) -> ReceivedEvent:
        while True:
            if self._closed:
                raise StopAsyncIteration
            if self._buffer:
                return await self._yield()
            if self._call is None and self._demand > 0:
                await self._open()
            generation, item = await self._next_item()
            if generation == self._generation:
                await self._handle(item)

    async def aclose(self) -> None:
        """Stop the stream; iteration ends. Events received but not yet yielded are dropped."""
        self._closed = True
        self._drop_stream()
        self._wake()

    # ------------------------------------------------------------------ the stream
    def _queue(self) -> asyncio.Queue[tuple[int, Any]]:
        if self._inbox is None:
            self._inbox = asyncio.Queue()
        return self._inbox

    def _wake(self) -> None:
        self._queue().put_nowait((self._generation, _WAKE))

    async def _open(self) -> None:
        credentials = self._credentials = await self._connection.credentials.current()
        self._generation += 1
        self._outbox = asyncio.Queue()
        self._in_flight = min(self._demand, MAX_NUM_REQUESTED)
        first = pb2.FetchRequest(topic_name=self.topic_name, num_requested=self._in_flight)
        if self._resume_after is not None:
            first.replay_preset, first.replay_id = pb2.CUSTOM, self._resume_after
        else:
            first.replay_preset = REPLAY_PRESETS[self._preset]
            if self._replay_id is not None:
                first.replay_id = self._replay_id
        self._outbox.put_nowait(first)
        self._call = self._connection.open_subscribe(_drain(self._outbox), credentials)
        self._answered = False
        self._last_activity = asyncio.get_running_loop().time()
        self._pump = asyncio.create_task(self._read_responses(self._call, self._generation))

    async def _read_responses(self, call: Any, generation: int) -> None:
        inbox = self._queue()
        try:
            while True:
                response = await call.read()
                if response is grpc.aio.EOF:
                    inbox.put_nowait((generation, _END))
                    return
                inbox.put_nowait((generation, response))
        except grpc.aio.AioRpcError as error:
            inbox.put_nowait((generation, error))
        except asyncio.CancelledError:
            pass  # the stream was dropped on purpose

    def _drop_stream(self) -> None:
        """Stop the current stream; what it delivered and was not yet yielded will be asked for again."""
        if self._outbox is not None:
            self._outbox.put_nowait(None)
        if self._call is not None:
            self._call.cancel()
        if self._pump is not None:
            self._pump.cancel()
        self._call = self._outbox = self._pump = None
        self._buffer.clear()
        self._in_flight = 0
        self._generation += 1

    def _top_up(self) -> None:
        if self._outbox is None:
            return
        wanted = self._demand - len(self._buffer) - self._in_flight
        more = min(wanted, MAX_NUM_REQUESTED - self._in_flight)
        if more > 0:
            self._outbox.put_nowait(pb2.FetchRequest(topic_name=self.topic_name, num_requested=more))
            self._in_flight += more

    async def _next_item(self) -> tuple[int, Any]:
        inbox = self._queue()
        timeout = None
        if self._call is not None and self._in_flight > 0:
            timeout = max(0.0, self._last_activity + self._idle_timeout - asyncio.get_running_loop().time())
        try:
            return await asyncio.wait_for(inbox.get(), timeout)
        except TimeoutError:
            return self._generation, TimeoutError()

    async def _handle(self, item: Any) -> None:
        if item is _WAKE:
            return
        if isinstance(item, pb2.FetchResponse):
            self._receive(item)
        elif item is _END:
            answered = self._answered
            self._drop_stream()
            if not answered:  # a stream that ends at once is a failure; one that served is resumed on demand
                await self._pause_before_retry("the server ended the stream before answering", None)
        elif isinstance(item, TimeoutError):
            self._drop_stream()
            await self._pause_before_retry(
                f"nothing arrived for {self._idle_timeout:.0f}s while events were owed", None
            )
        else:
            await self._stream_failed(item)

    def _receive(self, response: Any) -> None:
        self._last_activity = asyncio.get_running_loop().time()
        self._answered, self._failures, self._logins = True, 0, 0
        if response.latest_replay_id:
            self.latest_replay_id = bytes(response.latest_replay_id)
        if not response.events:  # a keepalive: everything delivered so far was yielded if nothing waits
            if not self._buffer and self.latest_replay_id is not None:
                self._resume_after = self.latest_replay_id
            return
        if len(response.events) > self._in_flight:
            log.warning(
                "the Pub/Sub API sent %d events on %s, more than the %d asked for",
                len(response.events),
                self.topic_name,
                self._in_flight,
            )
        self._in_flight = max(0, self._in_flight - len(response.events))
        self._buffer.extend(response.events)
        self._top_up()

    async def _yield(self) -> ReceivedEvent:
        """The first buffered event, decoded; it stays buffered if decoding fails."""
        consumer_event = self._buffer[0]
        event = consumer_event.event
        schema = await self._schema_for(event.schema_id)
        try:
            record = schema.decode(event.payload)
        except (ValueError, EOFError, IndexError, TypeError) as error:
            raise PubSubError(
                f"could not decode an event of {self.topic_name} with its schema {event.schema_id}: {error}"
            ) from None
        self._buffer.popleft()
        self._demand -= 1
        self._resume_after = bytes(consumer_event.replay_id)
        return ReceivedEvent(
            replay_id=self._resume_after,
            event_id=event.id,
            schema_id=event.schema_id,
            topic_name=self.topic_name,
            record=record,
        )

    # ------------------------------------------------------------------ failures
    def _action(self) -> str:
        return f"subscribe to {self.topic_name}"

    async def _stream_failed(self, error: grpc.aio.AioRpcError) -> None:
        self._drop_stream()
        if is_auth_failure(error) and self._logins < MAX_LOGINS_WITHOUT_ANSWER:
            log.info("Pub/Sub API refused the session on %s; logging in again and resubscribing", self.topic_name)
            self._logins += 1
            await self._connection.credentials.refresh(self._credentials)
            return
        if is_transient(error) and not is_replay_id_failure(error):
            await self._pause_before_retry(error.code().name, error)
            return
        self._closed = True
        failure = self._connection.error(error, self._action())
        if isinstance(failure, PubSubReplayIdError):
            failure.replay_id = self._resume_after if self._resume_after is not None else self._replay_id
        raise failure

    async def _pause_before_retry(self, why: str, error: grpc.aio.AioRpcError | None) -> None:
        self._failures += 1
        policy = self._connection.retry
        if self._failures >= policy.max_attempts:
            self._closed = True
            if error is not None:
                raise self._connection.error(error, self._action())
            raise PubSubUnavailableError(
                f"could not {self._action()}: {why}, {self._failures} times in a row. "
                "Check the network and the Pub/Sub API endpoint"
            )
        wait = backoff_seconds(policy, self._failures)
        log.warning("Pub/Sub API stream on %s lost (%s); resubscribing in %.1fs", self.topic_name, why, wait)
        await asyncio.sleep(wait)


async def _drain(outbox: asyncio.Queue[Any]) -> AsyncIterator[Any]:
    """The requests of one stream, as they are queued; ``None`` ends them."""
    while True:
        request = await outbox.get()
        if request is None:
            return
        yield request
