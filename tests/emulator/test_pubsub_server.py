"""The emulator's Pub/Sub API over real gRPC: topics and schemas, flow control, replay, keepalives, auth, publish.

Events are appended straight to the org's event bus where a test needs exact control of what is on a
topic; publishing goes through the API. Each stream reads on a background thread into a queue, so a test
can both wait for what arrives and check that nothing more does.
"""

from __future__ import annotations

import contextlib
import io
import json
import queue
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import fastavro
import grpc
import pytest

from airflow_provider_sfpy.pubsub_api import (
    GET_SCHEMA,
    GET_TOPIC,
    MANAGED_SUBSCRIBE,
    METHODS,
    PUBLISH,
    SUBSCRIBE,
    decode_replay_id,
    encode_replay_id,
)
from airflow_provider_sfpy.pubsub_api import pubsub_api_pb2 as pb2

ORDER_TOPIC = "/event/Order_Placed__e"
ACCOUNT_TOPIC = "/data/AccountChangeEvent"
AUTH_ERROR = "sfdc.platform.eventbus.grpc.service.auth.error"
REPLAY_CORRUPTED = "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted"
WAIT = 20.0  # generous: the machine is shared


def error_code(error: grpc.RpcError) -> str | None:
    return dict(error.trailing_metadata() or ()).get("error-code")  # type: ignore[attr-defined]


class Api:
    """The Pub/Sub API of one emulator through grpc's generic client API, as a user's client calls it."""

    def __init__(self, emulator: Any) -> None:
        self.emulator = emulator
        self.channel = grpc.insecure_channel(emulator.pubsub_target)
        self.metadata = self.login()

    def login(self) -> tuple[tuple[str, str], ...]:
        token = self.emulator.login()
        return (
            ("accesstoken", token["access_token"]),
            ("instanceurl", token["instance_url"]),
            ("tenantid", self.emulator.store.org_id),
        )

    def call(self, path: str, request: Any, metadata: Any = None) -> Any:
        request_class, response_class = METHODS[path]
        method = self.channel.unary_unary(
            path, request_serializer=request_class.SerializeToString, response_deserializer=response_class.FromString
        )
        return method(request, metadata=self.metadata if metadata is None else metadata, timeout=WAIT)

    def subscribe(self, first: pb2.FetchRequest, metadata: Any = None) -> Stream:
        return Stream(self, first, self.metadata if metadata is None else metadata)

    def publish(self, topic: str, records: list[dict[str, Any]]) -> pb2.PublishResponse:
        info = self.call(GET_TOPIC, pb2.TopicRequest(topic_name=topic))
        schema = fastavro.parse_schema(
            json.loads(self.call(GET_SCHEMA, pb2.SchemaRequest(schema_id=info.schema_id)).schema_json)
        )
        events = []
        for record in records:
            buffer = io.BytesIO()
            fastavro.schemaless_writer(buffer, schema, filled(schema, record))
            events.append(pb2.ProducerEvent(id=str(uuid.uuid4()), schema_id=info.schema_id, payload=buffer.getvalue()))
        return self.call(PUBLISH, pb2.PublishRequest(topic_name=topic, events=events))


def filled(schema: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """``values`` plus a value of the right type for every other field (null where the field allows it)."""
    plain = {"long": 0, "int": 0, "double": 0.0, "float": 0.0, "string": "x", "boolean": False}
    record = {}
    for field in schema["fields"]:
        kind = field["type"]
        if field["name"] in values:
            record[field["name"]] = values[field["name"]]
        elif isinstance(kind, list) and "null" in kind:
            record[field["name"]] = None
        else:
            record[field["name"]] = plain.get(kind if isinstance(kind, str) else "string", "x")
    return record


class Stream:
    """A Subscribe call: FetchRequests go in through ``request``; responses collect in ``responses``."""

    def __init__(self, api: Api, first: pb2.FetchRequest, metadata: Any) -> None:
        self._requests: queue.Queue[pb2.FetchRequest | None] = queue.Queue()
        self._requests.put(first)
        self.responses: queue.Queue[pb2.FetchResponse | grpc.RpcError] = queue.Queue()
        request_class, response_class = METHODS[SUBSCRIBE]
        method = api.channel.stream_stream(
            SUBSCRIBE,
            request_serializer=request_class.SerializeToString,
            response_deserializer=response_class.FromString,
        )
        self.call = method(self._outgoing(), metadata=metadata)
        threading.Thread(target=self._read, daemon=True).start()

    def _outgoing(self) -> Iterator[pb2.FetchRequest]:
        while (request := self._requests.get()) is not None:
            yield request

    def _read(self) -> None:
        try:
            for response in self.call:
                self.responses.put(response)
        except grpc.RpcError as error:
            self.responses.put(error)

    def request(self, count: int) -> None:
        self._requests.put(pb2.FetchRequest(num_requested=count))

    def next(self, timeout: float = WAIT) -> pb2.FetchResponse:
        item = self.responses.get(timeout=timeout)
        if isinstance(item, grpc.RpcError):
            raise item
        return item

    def events(self, count: int) -> list[pb2.ConsumerEvent]:
        """The next ``count`` events (over as many responses as they come in)."""
        received: list[pb2.ConsumerEvent] = []
        while len(received) < count:
            received += list(self.next().events)
        return received

    def error(self) -> grpc.RpcError:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            item = self.responses.get(timeout=WAIT)
            if isinstance(item, grpc.RpcError):
                return item
        raise AssertionError("the stream did not end with an error")

    def close(self) -> None:
        self.call.cancel()
        self._requests.put(None)


@pytest.fixture(scope="module")
def emulator_pubsub(emulator_pubsub_of_module: Any) -> Any:
    """This module's own emulator: its tests put undecodable events (schema ``schema-x``) on shared topics,
    expire every session and shorten retention, which would break other modules' EARLIEST readers."""
    return emulator_pubsub_of_module


@pytest.fixture
def api(emulator_pubsub: Any) -> Iterator[Api]:
    client = Api(emulator_pubsub)
    yield client
    client.channel.close()


@pytest.fixture
def streams() -> Iterator[list[Stream]]:
    opened: list[Stream] = []
    yield opened
    for stream in opened:
        stream.close()


def append(emulator: Any, topic: str = ORDER_TOPIC, count: int = 1) -> list[int]:
    """Put ``count`` events on ``topic`` directly; returns their positions."""
    return [
        emulator.event_bus.append([topic], "schema-x", f"event {i}".encode(), str(uuid.uuid4())) for i in range(count)
    ]


def latest(first_count: int, topic: str = ORDER_TOPIC) -> pb2.FetchRequest:
    return pb2.FetchRequest(topic_name=topic, replay_preset=pb2.ReplayPreset.LATEST, num_requested=first_count)


def wait_until_subscribed(emulator: Any, stream: Stream, topic: str = ORDER_TOPIC) -> None:
    """A LATEST subscription starts when the server reads its first request: prove it sees new events."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        (position,) = append(emulator, topic)
        try:
            event = stream.next(timeout=0.5).events[0]
        except queue.Empty:
            continue
        assert decode_replay_id(event.replay_id) <= position
        return
    raise AssertionError("the subscription never delivered")


# ------------------------------------------------------------------------------------------ topics


def test_get_topic_answers_platform_and_change_event_topics_and_get_schema_their_avro(api: Api) -> None:
    order = api.call(GET_TOPIC, pb2.TopicRequest(topic_name=ORDER_TOPIC))
    account = api.call(GET_TOPIC, pb2.TopicRequest(topic_name=ACCOUNT_TOPIC))
    assert (order.topic_name, order.can_publish, order.can_subscribe) == (ORDER_TOPIC, True, True)
    assert (account.topic_name, account.can_publish, account.can_subscribe) == (ACCOUNT_TOPIC, False, True)
    assert order.tenant_guid == account.tenant_guid == api.emulator.store.org_id
    assert order.rpc_id and order.rpc_id != account.rpc_id
    schema = api.call(GET_SCHEMA, pb2.SchemaRequest(schema_id=order.schema_id))
    assert schema.schema_id == order.schema_id
    assert fastavro.parse_schema(json.loads(schema.schema_json))["type"] == "record"

    with pytest.raises(grpc.RpcError) as unknown:
        api.call(GET_TOPIC, pb2.TopicRequest(topic_name="/event/No_Such_Event__e"))
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
    assert error_code(unknown.value) == "sfdc.platform.eventbus.grpc.topic.not.found"
    assert "rpcId: " in unknown.value.details()
    with pytest.raises(grpc.RpcError) as no_schema:
        api.call(GET_SCHEMA, pb2.SchemaRequest(schema_id="no-such-schema"))
    assert no_schema.value.code() == grpc.StatusCode.NOT_FOUND


def test_every_call_needs_a_live_session_this_org_and_an_instance_url(api: Api) -> None:
    good = dict(api.metadata)
    refused = [
        {**good, "accesstoken": "00D000000000000!AQnot-a-session"},
        {**good, "tenantid": "00D000000000001AAA"},
        {k: v for k, v in good.items() if k != "instanceurl"},
        {},
    ]
    for metadata in refused:
        with pytest.raises(grpc.RpcError) as error:
            api.call(GET_TOPIC, pb2.TopicRequest(topic_name=ORDER_TOPIC), metadata=tuple(metadata.items()))
        assert error.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert error_code(error.value) == AUTH_ERROR
        assert good["accesstoken"] not in error.value.details()
    assert api.call(GET_TOPIC, pb2.TopicRequest(topic_name=ORDER_TOPIC)).topic_name == ORDER_TOPIC


def test_managed_subscribe_is_unimplemented(api: Api) -> None:
    request_class, response_class = METHODS[MANAGED_SUBSCRIBE]
    method = api.channel.stream_stream(
        MANAGED_SUBSCRIBE,
        request_serializer=request_class.SerializeToString,
        response_deserializer=response_class.FromString,
    )
    with pytest.raises(grpc.RpcError) as error:
        list(method(iter([pb2.ManagedFetchRequest(developer_name="x", num_requested=1)]), metadata=api.metadata))
    assert error.value.code() == grpc.StatusCode.UNIMPLEMENTED


# ------------------------------------------------------------------------------------------ flow control


def test_events_arrive_promptly_and_never_more_than_requested(api: Api, streams: list[Stream]) -> None:
    stream = api.subscribe(latest(3))
    streams.append(stream)
    wait_until_subscribed(api.emulator, stream)  # uses 1 of the 3
    positions = append(api.emulator, count=5)

    delivered = stream.events(2)
    assert [decode_replay_id(e.replay_id) for e in delivered] == positions[:2]
    with pytest.raises(queue.Empty):
        stream.next(timeout=1.0)  # 3 requested, 3 delivered: the other 3 wait

    stream.request(2)
    more = stream.events(2)
    assert [decode_replay_id(e.replay_id) for e in more] == positions[2:4]
    with pytest.raises(queue.Empty):
        stream.next(timeout=0.5)
    stream.request(10)
    last = stream.next()
    assert [decode_replay_id(e.replay_id) for e in last.events] == positions[4:]
    assert last.pending_num_requested == 9
    assert decode_replay_id(last.latest_replay_id) == positions[4]
    assert last.events[0].event.payload == b"event 4"


def test_more_than_100_requested_counts_as_100(api: Api, streams: list[Stream]) -> None:
    with short_keepalives(api.emulator):
        stream = api.subscribe(latest(80, topic="/data/ContactChangeEvent"))
        streams.append(stream)
        stream.request(90)  # 170 asked for, none delivered yet
        deadline = time.monotonic() + WAIT
        while (owed := stream.next().pending_num_requested) != 100 and time.monotonic() < deadline:
            pass
        assert owed == 100
        append(api.emulator, topic="/data/ContactChangeEvent", count=130)
        received = stream.events(100)
        assert len(received) == 100
        assert [r for r in iter_quiet(stream) if r.events] == []


@contextlib.contextmanager
def short_keepalives(emulator: Any, seconds: float = 0.3) -> Iterator[None]:
    """Keepalives every ``seconds`` for streams opened inside the block (the default is Salesforce's 270 s)."""
    settings = emulator.pubsub_server.service.settings
    saved, settings.keepalive_seconds = settings.keepalive_seconds, seconds
    try:
        yield
    finally:
        settings.keepalive_seconds = saved


def iter_quiet(stream: Stream, seconds: float = 1.0) -> list[pb2.FetchResponse]:
    """Whatever the stream sends within ``seconds`` (keepalives included)."""
    deadline = time.monotonic() + seconds
    seen = []
    while (left := deadline - time.monotonic()) > 0:
        try:
            seen.append(stream.next(timeout=left))
        except queue.Empty:
            break
    return seen


def test_keepalive_carries_the_latest_position_and_what_is_still_owed(api: Api, streams: list[Stream]) -> None:
    with short_keepalives(api.emulator):
        stream = api.subscribe(latest(5))
        streams.append(stream)
        (elsewhere,) = append(api.emulator, topic=ACCOUNT_TOPIC)  # another topic's event moves the org's position
        deadline = time.monotonic() + WAIT
        while True:
            keepalive = stream.next()
            if decode_replay_id(keepalive.latest_replay_id) >= elsewhere or time.monotonic() > deadline:
                break
        assert list(keepalive.events) == []
        assert keepalive.pending_num_requested == 5
        assert decode_replay_id(keepalive.latest_replay_id) >= elsewhere


def test_a_non_positive_request_ends_the_stream(api: Api, streams: list[Stream]) -> None:
    stream = api.subscribe(latest(0))
    streams.append(stream)
    error = stream.error()
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_code(error) == "sfdc.platform.eventbus.grpc.subscription.fetch.requested.events.invalid"


# ------------------------------------------------------------------------------------------ replay


def test_replay_presets_latest_earliest_custom(api: Api, streams: list[Stream]) -> None:
    before = append(api.emulator, count=3)

    custom = api.subscribe(
        pb2.FetchRequest(
            topic_name=ORDER_TOPIC,
            replay_preset=pb2.ReplayPreset.CUSTOM,
            replay_id=encode_replay_id(before[0]),
            num_requested=2,
        )
    )
    earliest = api.subscribe(
        pb2.FetchRequest(topic_name=ORDER_TOPIC, replay_preset=pb2.ReplayPreset.EARLIEST, num_requested=1)
    )
    newest = api.subscribe(latest(1))
    streams += [custom, earliest, newest]

    assert [decode_replay_id(e.replay_id) for e in custom.events(2)] == before[1:]  # strictly after the given id
    (oldest,) = earliest.events(1)
    assert decode_replay_id(oldest.replay_id) <= before[0]
    assert decode_replay_id(oldest.replay_id) > api.emulator.event_bus.purged_through()
    wait_until_subscribed(api.emulator, newest)  # only an event appended after the subscription comes


def test_malformed_missing_and_expired_replay_ids_are_refused(api: Api, streams: list[Stream]) -> None:
    def custom(replay_id: bytes) -> grpc.RpcError:
        stream = api.subscribe(
            pb2.FetchRequest(
                topic_name=ORDER_TOPIC, replay_preset=pb2.ReplayPreset.CUSTOM, replay_id=replay_id, num_requested=1
            )
        )
        streams.append(stream)
        return stream.error()

    for replay_id in (b"\x01\x02", encode_replay_id(api.emulator.event_bus.latest_position() + 1000)):
        error = custom(replay_id)
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert error_code(error) == REPLAY_CORRUPTED
        assert "EARLIEST" in error.details()
    missing = custom(b"")
    assert missing.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_code(missing) == "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.validation.failed"

    bus = api.emulator.event_bus
    (old,) = append(api.emulator)
    saved, bus.retention_seconds = bus.retention_seconds, 0.2
    try:
        time.sleep(0.5)
        bus.expire_now()
    finally:
        bus.retention_seconds = saved
    (kept,) = append(api.emulator)
    expired = custom(encode_replay_id(old - 1))
    assert error_code(expired) == REPLAY_CORRUPTED
    earliest = api.subscribe(
        pb2.FetchRequest(topic_name=ORDER_TOPIC, replay_preset=pb2.ReplayPreset.EARLIEST, num_requested=1)
    )
    streams.append(earliest)
    assert [decode_replay_id(e.replay_id) for e in earliest.events(1)] == [kept]


# ------------------------------------------------------------------------------------------ sessions


def test_an_expired_session_ends_the_stream_and_a_new_login_resumes_without_loss(
    api: Api, streams: list[Stream]
) -> None:
    stream = api.subscribe(latest(10))
    streams.append(stream)
    wait_until_subscribed(api.emulator, stream)
    (seen,) = append(api.emulator)
    (last,) = stream.events(1)
    assert decode_replay_id(last.replay_id) == seen

    api.emulator.expire_sessions()
    error = stream.error()
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert error_code(error) == AUTH_ERROR
    missed = append(api.emulator, count=2)  # published while the client logs in again

    api.metadata = api.login()
    resumed = api.subscribe(
        pb2.FetchRequest(
            topic_name=ORDER_TOPIC, replay_preset=pb2.ReplayPreset.CUSTOM, replay_id=last.replay_id, num_requested=10
        )
    )
    streams.append(resumed)
    assert [decode_replay_id(e.replay_id) for e in resumed.events(2)] == missed


# ------------------------------------------------------------------------------------------ publish


def test_publish_returns_replay_ids_delivers_the_events_and_refuses_bad_ones(api: Api, streams: list[Stream]) -> None:
    start = api.emulator.event_bus.latest_position()
    stream = api.subscribe(
        pb2.FetchRequest(
            topic_name=ORDER_TOPIC,
            replay_preset=pb2.ReplayPreset.CUSTOM,
            replay_id=encode_replay_id(start),
            num_requested=5,
        )
    )
    streams.append(stream)
    published = api.publish(ORDER_TOPIC, [{"Order_Number__c": "A-1"}, {"Order_Number__c": "A-2"}])
    assert all(not r.HasField("error") for r in published.results)
    received = stream.events(2)
    assert [e.replay_id for e in received] == [r.replay_id for r in published.results]
    assert [e.event.id for e in received] == [r.correlation_key for r in published.results]

    info = api.call(GET_TOPIC, pb2.TopicRequest(topic_name=ORDER_TOPIC))
    mixed = api.call(
        PUBLISH,
        pb2.PublishRequest(
            topic_name=ORDER_TOPIC,
            events=[
                pb2.ProducerEvent(id="bad-payload", schema_id=info.schema_id, payload=b"\xff\xff\xff"),
                pb2.ProducerEvent(id="bad-schema", schema_id="no-such-schema", payload=received[0].event.payload),
                pb2.ProducerEvent(id="good", schema_id=info.schema_id, payload=received[0].event.payload),
            ],
        ),
    )
    outcome = {r.correlation_key: r for r in mixed.results}
    assert outcome["bad-payload"].error.code == pb2.ErrorCode.PUBLISH and outcome["bad-payload"].error.msg
    assert outcome["bad-schema"].error.code == pb2.ErrorCode.PUBLISH
    assert not outcome["good"].HasField("error") and decode_replay_id(outcome["good"].replay_id)

    with pytest.raises(grpc.RpcError) as change_event:
        api.call(PUBLISH, pb2.PublishRequest(topic_name=ACCOUNT_TOPIC, events=[pb2.ProducerEvent(id="x", payload=b"")]))
    assert change_event.value.code() == grpc.StatusCode.PERMISSION_DENIED
