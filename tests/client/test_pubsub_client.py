"""The Pub/Sub API client against the emulator's gRPC server: topics, schemas, publishing, subscribing with
flow control, and the resumptions (expired session mid-stream) and refusals (replay id) of a long stream.

Credentials come as a trigger gets them: a password login with the repository's async client, the org id
and user id taken from the login's identity URL. Each test publishes its own platform events
(``Order_Placed__e``, ``Order_Number__c`` unique to the test) and subscribes from a marker event it published
first (CUSTOM), so events of other tests on the shared emulator never get in the way.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest

from airflow_provider_sfpy.client.aio import AsyncClient
from airflow_provider_sfpy.client.auth import PasswordFlow
from airflow_provider_sfpy.client.pubsub import (
    ChangeEvent,
    PubSubAuthError,
    PubSubClient,
    PubSubCredentials,
    PubSubPublishError,
    PubSubReplayIdError,
    PubSubTopicNotFoundError,
    PubSubUnavailableError,
    ReceivedEvent,
    Subscription,
    decode_change_event,
)
from airflow_provider_sfpy.client.retry import RetryPolicy

TOPIC = "/event/Order_Placed__e"
FAST_RETRY = RetryPolicy(max_attempts=4, initial_wait=0.05, max_wait=0.2, jitter=0.05)
#: Generous: seven helpers share two cores.
DEADLINE = 60.0


class Logins:
    """The credentials callback: a password login per call; counts them, and the ones asked as refreshes."""

    def __init__(self, emulator: Any) -> None:
        self.emulator = emulator
        self.refreshes = 0
        self.logins = 0

    async def __call__(self, refresh: bool) -> PubSubCredentials:
        self.logins += 1
        self.refreshes += refresh
        flow = PasswordFlow(
            username=self.emulator.username,
            password=self.emulator.password,
            client_id=self.emulator.client_id,
            client_secret=self.emulator.client_secret,
        )
        ca_bundle = getattr(self.emulator, "ca_bundle_path", None)
        async with AsyncClient(login_url=self.emulator.base_url, auth=flow, ca_bundle=ca_bundle) as client:
            await client.login()
            assert client.session is not None
            token, _ = client.session
        assert token.id_url is not None
        org_id, user_id = token.id_url.rstrip("/").split("/")[-2:]
        return PubSubCredentials(token.access_token, token.instance_url, org_id, user_id=user_id)


def make_client(emulator: Any, logins: Logins | None = None, **options: Any) -> PubSubClient:
    root = None
    if emulator.pubsub_tls:
        with open(emulator.ca_bundle_path, "rb") as pem:
            root = pem.read()
    return PubSubClient(
        emulator.pubsub_target,
        tls=emulator.pubsub_tls,
        root_certificates=root,
        credentials=logins or Logins(emulator),
        retry=FAST_RETRY,
        **options,
    )


def run(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    async def bounded() -> None:
        async with asyncio.timeout(DEADLINE):
            await scenario()

    asyncio.run(bounded())


def orders(tag: str, count: int) -> list[dict[str, Any]]:
    return [{"Order_Number__c": f"{tag}-{n}", "Amount__c": 10.0 * n, "Status__c": "New"} for n in range(count)]


async def publish_marker(client: PubSubClient, tag: str) -> bytes:
    """Publish one event to subscribe after; its replay id."""
    (outcome,) = await client.publish(TOPIC, [{"Order_Number__c": f"{tag}-marker", "Amount__c": 0.0}])
    assert outcome.ok, outcome
    assert outcome.replay_id is not None
    return outcome.replay_id


async def take(subscription: Subscription, count: int) -> list[ReceivedEvent]:
    events: list[ReceivedEvent] = []
    async for event in subscription:
        events.append(event)
        if len(events) == count:
            break
    return events


async def nothing_more(subscription: Subscription, seconds: float = 0.7) -> bool:
    """Whether the subscription yields nothing for ``seconds``."""
    try:
        await asyncio.wait_for(anext(aiter(subscription)), seconds)
    except TimeoutError:
        return True
    return False


def numbers(events: list[ReceivedEvent]) -> list[str]:
    return [event.record["Order_Number__c"] for event in events]


@pytest.fixture
def tag() -> str:
    return uuid.uuid4().hex[:10]


# ---------------------------------------------------------------------------------- topics and schemas
def test_get_topic_and_a_cached_schema(emulator_pubsub: Any) -> None:
    async def scenario() -> None:
        async with make_client(emulator_pubsub) as client:
            topic = await client.get_topic(TOPIC)
            schema = await client.get_schema(topic.schema_id)
            again = await client.get_schema(topic.schema_id)

        assert topic.name == TOPIC
        assert topic.can_publish and topic.can_subscribe
        assert topic.tenant_guid.startswith("00D")
        assert again is schema
        assert {"Order_Number__c", "Amount__c", "CreatedDate", "CreatedById"} <= {f["name"] for f in schema.fields}

    run(scenario)


def test_an_unknown_topic_is_reported_as_not_found(emulator_pubsub: Any) -> None:
    async def scenario() -> None:
        async with make_client(emulator_pubsub) as client:
            with pytest.raises(PubSubTopicNotFoundError, match="no such topic") as raised:
                await client.get_topic("/event/No_Such_Event__e")
        assert raised.value.grpc_status == "NOT_FOUND"

    run(scenario)


def test_credentials_refused_again_after_a_fresh_login_raise_an_auth_error_without_the_token(
    emulator_pubsub: Any,
) -> None:
    bogus = "00D5g000SfPy000!AQbogus.token.that.is.no.session.of.this.org.at.all"
    asked: list[bool] = []

    async def refused(refresh: bool) -> PubSubCredentials:
        asked.append(refresh)
        real = await Logins(emulator_pubsub)(refresh)
        return PubSubCredentials(bogus, real.instance_url, real.tenant_id)

    async def scenario() -> None:
        async with PubSubClient(emulator_pubsub.pubsub_target, tls=False, credentials=refused) as client:
            with pytest.raises(PubSubAuthError) as unary:
                await client.get_topic(TOPIC)
            assert asked == [False, True]  # one fresh login, then the error
            subscription = client.subscribe(TOPIC, batch=1)
            with pytest.raises(PubSubAuthError) as streamed:
                await take(subscription, 1)
            assert asked == [False, True, True, True]  # refused again after a login: one more, then the error
        for error in (unary.value, streamed.value):
            assert error.error_code == "sfdc.platform.eventbus.grpc.service.auth.error"
            assert bogus not in str(error) and bogus not in repr(error)

    run(scenario)


# ---------------------------------------------------------------------------------- publish and subscribe
def test_publish_then_subscribe_after_a_replay_id_round_trips_platform_events(emulator_pubsub: Any, tag: str) -> None:
    async def scenario() -> None:
        async with make_client(emulator_pubsub) as client:
            marker = await publish_marker(client, tag)
            outcomes = await client.publish(TOPIC, orders(tag, 3))
            subscription = client.subscribe(TOPIC, replay_preset="CUSTOM", replay_id=marker, batch=3)
            events = await take(subscription, 3)
            await subscription.aclose()

        assert [outcome.ok for outcome in outcomes] == [True, True, True]
        assert numbers(events) == [f"{tag}-0", f"{tag}-1", f"{tag}-2"]
        assert [event.replay_id for event in events] == [outcome.replay_id for outcome in outcomes]
        assert [event.event_id for event in events] == [outcome.event_id for outcome in outcomes]
        assert events[1].record["Amount__c"] == 10.0
        assert events[0].record["CreatedById"].startswith("005")  # filled from the login's identity
        assert events[0].record["CreatedDate"] > 0
        assert all(event.topic_name == TOPIC for event in events)

    run(scenario)


def test_a_record_that_does_not_fit_the_schema_or_a_change_event_topic_publishes_nothing(
    emulator_pubsub: Any, tag: str
) -> None:
    async def scenario() -> None:
        async with make_client(emulator_pubsub) as client:
            marker = await publish_marker(client, tag)
            with pytest.raises(PubSubPublishError, match=r"record 1 does not fit .*Amount__c.*Nothing was published"):
                await client.publish(TOPIC, [orders(tag, 1)[0], {"Order_Number__c": f"{tag}-bad", "Amount__c": "ten"}])
            with pytest.raises(PubSubPublishError, match="does not accept publishing"):
                await client.publish("/data/AccountChangeEvent", [{"Name": "Acme"}])
            await client.publish(TOPIC, orders(f"{tag}-good", 1))
            subscription = client.subscribe(TOPIC, replay_preset="CUSTOM", replay_id=marker, batch=1)
            (first,) = await take(subscription, 1)
            await subscription.aclose()

        assert first.record["Order_Number__c"] == f"{tag}-good-0"  # neither record of the refused call went out

    run(scenario)


def test_latest_delivers_only_events_published_after_subscribing(emulator_pubsub: Any, tag: str) -> None:
    async def scenario() -> None:
        async with make_client(emulator_pubsub) as client:
            await publish_marker(client, tag)
            subscription = client.subscribe(TOPIC, batch=1)
            first = asyncio.ensure_future(anext(aiter(subscription)))
            published: list[str] = []
            while not first.done():  # the stream starts asynchronously: publish until it sees one
                (order,) = orders(f"{tag}-after{len(published)}", 1)
                await client.publish(TOPIC, [order])
                published.append(order["Order_Number__c"])
                await asyncio.wait({first}, timeout=0.3)
            event = first.result()
            await subscription.aclose()

        assert event.record["Order_Number__c"] in published
        assert event.record["Order_Number__c"] != f"{tag}-marker"

    run(scenario)


def test_earliest_starts_at_the_oldest_retained_event(emulator_pubsub: Any, tag: str) -> None:
    async def scenario() -> None:
        async with make_client(emulator_pubsub) as client:
            await publish_marker(client, tag)
            subscription = client.subscribe(TOPIC, replay_preset="EARLIEST", batch=100)
            seen: list[ReceivedEvent] = []
            async for event in subscription:
                seen.append(event)
                if event.record["Order_Number__c"] == f"{tag}-marker":
                    break
                subscription.request(1)
            await subscription.aclose()
            # The same oldest event comes first again: EARLIEST is a position, not "what this client missed".
            again = client.subscribe(TOPIC, replay_preset="EARLIEST", batch=1)
            (first_again,) = await take(again, 1)
            await again.aclose()

        assert seen[-1].record["Order_Number__c"] == f"{tag}-marker"  # published before the subscription
        assert first_again.replay_id == seen[0].replay_id

    run(scenario)


def test_flow_control_never_delivers_more_than_requested(
    emulator_pubsub: Any, tag: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="airflow_provider_sfpy.client.pubsub")

    async def scenario() -> None:
        async with make_client(emulator_pubsub) as client:
            marker = await publish_marker(client, tag)
            await client.publish(TOPIC, orders(tag, 6))
            subscription = client.subscribe(TOPIC, replay_preset="CUSTOM", replay_id=marker, batch=2)

            first = await take(subscription, 2)
            assert await nothing_more(subscription)  # two asked for, two received: the stream stays quiet
            assert subscription.buffered == 0 and subscription.outstanding == 0

            subscription.request(3)
            second = await take(subscription, 3)
            assert await nothing_more(subscription)
            assert subscription.buffered == 0

            subscription.request(1)
            third = await take(subscription, 1)
            await subscription.aclose()

        assert numbers(first + second + third) == [f"{tag}-{n}" for n in range(6)]

    run(scenario)
    assert not [r for r in caplog.records if "more than the" in r.getMessage()], "the server sent unasked events"


# ---------------------------------------------------------------------------------- long streams
def test_an_expired_session_mid_stream_is_renewed_and_the_stream_resumes_after_the_last_event(
    emulator_pubsub: Any, tag: str
) -> None:
    subscriber_logins = Logins(emulator_pubsub)

    async def scenario() -> None:
        async with make_client(emulator_pubsub) as publisher, make_client(emulator_pubsub, subscriber_logins) as client:
            marker = await publish_marker(publisher, tag)
            await publisher.publish(TOPIC, orders(tag, 2))
            subscription = client.subscribe(TOPIC, replay_preset="CUSTOM", replay_id=marker, batch=3)
            before = await take(subscription, 2)  # the third is owed: the stream stays open, waiting

            emulator_pubsub.expire_sessions()  # the server ends the waiting stream: UNAUTHENTICATED
            subscription.request(2)  # asked of the ending stream: carried over to the next one
            rest = asyncio.ensure_future(take(subscription, 3))
            while not subscriber_logins.refreshes:  # the client logs in again and resubscribes
                await asyncio.sleep(0.05)
            await publisher.publish(TOPIC, orders(f"{tag}-late", 3))
            after = await rest
            assert await nothing_more(subscription)
            await subscription.aclose()

        assert numbers(before) == [f"{tag}-0", f"{tag}-1"]
        assert numbers(after) == [f"{tag}-late-0", f"{tag}-late-1", f"{tag}-late-2"]  # none lost, none twice
        assert subscriber_logins.refreshes == 1

    run(scenario)


def test_a_malformed_replay_id_raises_a_replay_id_error(emulator_pubsub: Any) -> None:
    async def scenario() -> None:
        async with make_client(emulator_pubsub) as client:
            subscription = client.subscribe(TOPIC, replay_preset="CUSTOM", replay_id=b"\x01\x02", batch=1)
            with pytest.raises(PubSubReplayIdError, match="EARLIEST or LATEST") as raised:
                await take(subscription, 1)
        assert raised.value.replay_id == b"\x01\x02"
        assert raised.value.error_code == "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted"

    run(scenario)


def test_a_replay_id_beyond_retention_raises_a_replay_id_error(emulator_pubsub: Any, tag: str) -> None:
    bus = emulator_pubsub.event_bus
    retention = bus.retention_seconds

    async def scenario() -> None:
        async with make_client(emulator_pubsub) as client:
            marker = await publish_marker(client, tag)
            await client.publish(TOPIC, orders(tag, 1))
            bus.retention_seconds = 0.2
            try:
                await asyncio.sleep(0.5)  # the events after the marker are now older than the retention
                subscription = client.subscribe(TOPIC, replay_preset="CUSTOM", replay_id=marker, batch=1)
                with pytest.raises(PubSubReplayIdError) as raised:
                    await take(subscription, 1)
            finally:
                bus.retention_seconds = retention
        assert raised.value.replay_id == marker

    run(scenario)


# ---------------------------------------------------------------------------------- dropped streams, keepalives
@pytest.fixture
def own_server(emulator_pubsub: Any) -> Iterator[Callable[..., Any]]:
    """Start extra Pub/Sub API servers in front of the shared emulator's org (stopped after the test)."""
    from airflow_provider_sfpy.emulator.pubsub.server import PubSubOptions, PubSubServer
    from airflow_provider_sfpy.emulator.pubsub.service import PubSubSettings

    started: list[Any] = []
    retention = emulator_pubsub.event_bus.retention_seconds

    def start(port: int = 0, keepalive_seconds: float | None = None) -> Any:
        settings = PubSubSettings(keepalive_seconds=keepalive_seconds) if keepalive_seconds else PubSubSettings()
        options = PubSubOptions(retention_seconds=retention, settings=settings)
        server = PubSubServer(emulator_pubsub.state, port=port, options=options)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop(0)


def test_a_dropped_stream_is_reopened_after_the_last_event(emulator_pubsub: Any, own_server: Any, tag: str) -> None:
    server = own_server()
    retry = RetryPolicy(max_attempts=8, initial_wait=0.2, max_wait=1.0, jitter=0.05)
    logins = Logins(emulator_pubsub)

    async def scenario() -> None:
        nonlocal server
        client = PubSubClient(server.target, tls=False, credentials=logins, retry=retry)
        async with make_client(emulator_pubsub) as publisher, client:
            marker = await publish_marker(publisher, tag)
            await publisher.publish(TOPIC, orders(tag, 2))
            subscription = client.subscribe(TOPIC, replay_preset="CUSTOM", replay_id=marker, batch=3)
            before = await take(subscription, 2)

            server.stop(0)  # the connection drops under the waiting stream
            subscription.request(1)
            rest = asyncio.ensure_future(take(subscription, 2))
            await asyncio.sleep(0.5)  # the client notices and retries while nothing listens
            server = own_server(port=server.port)
            await publisher.publish(TOPIC, orders(f"{tag}-late", 2))
            after = await rest
            assert await nothing_more(subscription)
            await subscription.aclose()

        assert numbers(before) == [f"{tag}-0", f"{tag}-1"]
        assert numbers(after) == [f"{tag}-late-0", f"{tag}-late-1"]  # none lost, none twice
        assert logins.refreshes == 0  # a dropped connection is not a refused session

    run(scenario)


def test_a_server_that_stays_away_ends_the_subscription_after_bounded_retries(
    emulator_pubsub: Any, own_server: Any
) -> None:
    server = own_server()

    async def scenario() -> None:
        client = PubSubClient(server.target, tls=False, credentials=Logins(emulator_pubsub), retry=FAST_RETRY)
        async with client:
            subscription = client.subscribe(TOPIC, batch=1)
            waiting = asyncio.ensure_future(take(subscription, 1))
            await asyncio.sleep(0.3)
            server.stop(0)
            with pytest.raises(PubSubUnavailableError, match="unavailable"):
                await waiting

    run(scenario)


def test_keepalives_are_absorbed_and_keep_a_quiet_stream_alive(
    emulator_pubsub: Any, own_server: Any, tag: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="airflow_provider_sfpy.client.pubsub")
    server = own_server(keepalive_seconds=0.2)

    async def scenario() -> None:
        client = PubSubClient(server.target, tls=False, credentials=Logins(emulator_pubsub), idle_timeout=1.0)
        async with client, make_client(emulator_pubsub) as publisher:
            subscription = client.subscribe(TOPIC, batch=1)
            waiting = asyncio.ensure_future(take(subscription, 1))
            while subscription.latest_replay_id is None:  # keepalives: empty responses, never yielded
                await asyncio.sleep(0.05)
            await asyncio.sleep(2.0)  # twice the idle timeout: the keepalives keep the stream open
            assert not waiting.done()
            (order,) = orders(tag, 1)
            await publisher.publish(TOPIC, [order])
            (event,) = await waiting
            await subscription.aclose()

        assert event.record["Order_Number__c"] == f"{tag}-0"

    run(scenario)
    assert not [r for r in caplog.records if "lost" in r.getMessage()], "the stream was reopened"


def test_a_record_update_arrives_as_a_decoded_change_event(emulator_pubsub: Any, own_server: Any, tag: str) -> None:
    server = own_server(keepalive_seconds=0.2)
    rest = emulator_pubsub.password_client()
    rest.login()
    created, _ = rest.sobjects(object_type="Account").insert({"Name": f"Acme {tag}", "BillingCity": "Paris"})

    async def scenario() -> ChangeEvent:
        client = PubSubClient(server.target, tls=False, credentials=Logins(emulator_pubsub))
        async with client:
            subscription = client.subscribe("/data/AccountChangeEvent", batch=1)
            waiting = asyncio.ensure_future(take(subscription, 1))
            while subscription.latest_replay_id is None:  # a keepalive: the stream is open, LATEST is fixed
                await asyncio.sleep(0.05)
            update = {"BillingCity": "Lyon", "Description": None, "Rating": "Hot"}
            await asyncio.to_thread(rest.sobjects(object_type="Account", id=created["id"]).update, update)
            (event,) = await waiting
            await subscription.aclose()
            return decode_change_event(event.record, await client.get_schema(event.schema_id))

    change = asyncio.run(asyncio.wait_for(scenario(), DEADLINE))

    assert change.entity_name == "Account"
    assert change.change_type == "UPDATE"
    assert change.record_ids == [created["id"]]
    assert {"BillingAddress.City", "Rating"} <= set(change.changed_fields)
    assert change.values["Rating"] == "Hot"
    assert change.values["BillingAddress"] == {"City": "Lyon"}
    assert change.commit_timestamp > 0 and change.transaction_key
