"""An asyncio client for Salesforce's Pub/Sub API (``eventbus.v1.PubSub`` over gRPC): topics, schemas,
subscriptions with flow control, and publishing Avro-encoded events.

Async (grpc.aio) because its main user, the change-event trigger, runs on the triggerer's event loop.
No Airflow imports, and nothing outside ``client/pubsub`` imports grpc or fastavro, so the provider's
other operators never load them.

Publishing (developer.salesforce.com/docs/platform/pub-sub-api/references/methods/publish-rpc.html):
each record is encoded with the schema the topic publishes with now (``GetTopic`` then ``GetSchema``)
and sent as a ``ProducerEvent`` whose ``id`` is the event's UUID; the answer has one ``PublishResult`` per
event, matched by that id (``correlation_key``). A platform event's schema requires ``CreatedDate`` and
``CreatedById``; records that leave them out get the current time and the credentials' ``user_id``.
A publish is not sent again after a failure that may have reached Salesforce (events would be
published twice): ``PubSubPublishError`` names the event ids to look for instead. A caller that must
remember what may have been published (the publish operator's task state) passes ``before_send``:
it is called once, after the topic, schema and encoding steps succeeded and right before the
``Publish`` call goes out, so a failure before it means nothing was sent.
"""

from __future__ import annotations

import inspect
import time
import uuid
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import grpc

from airflow_provider_sfpy.client.pubsub.connection import PubSubConnection
from airflow_provider_sfpy.client.pubsub.credentials import CredentialsCallback, PubSubCredentials
from airflow_provider_sfpy.client.pubsub.errors import (
    PubSubAuthError,
    PubSubError,
    PubSubPublishError,
    PubSubTopicNotFoundError,
)
from airflow_provider_sfpy.client.pubsub.models import PublishOutcome, TopicInfo
from airflow_provider_sfpy.client.pubsub.schema import Schema
from airflow_provider_sfpy.client.pubsub.subscription import DEFAULT_IDLE_TIMEOUT, Subscription
from airflow_provider_sfpy.client.retry import RetryPolicy
from airflow_provider_sfpy.pubsub_api import GET_SCHEMA, GET_TOPIC, MAX_NUM_REQUESTED, PUBLISH
from airflow_provider_sfpy.pubsub_api import pubsub_api_pb2 as pb2

#: Salesforce's public Pub/Sub API endpoint.
DEFAULT_TARGET = "api.pubsub.salesforce.com:7443"
#: Retries of calls that change nothing, and of subscriptions' streams that keep failing.
DEFAULT_RETRY = RetryPolicy(max_attempts=5, initial_wait=0.5, max_wait=30.0, jitter=0.5)


class PubSubClient:
    """Talks to the Pub/Sub API at ``target`` (``host:port``) as the callback's credentials.

    ``credentials(refresh)`` returns the current credentials; it is called with ``True`` after the
    server refused them (log in again). ``root_certificates`` (PEM) trust a private CA; ``tls=False`` only
    for a local emulator. ``timeout`` bounds each unary call; ``idle_timeout`` is how long a subscription
    waits for anything (an event or a keepalive) while events are owed before it reconnects.
    """

    def __init__(
        self,
        target: str = DEFAULT_TARGET,
        *,
        tls: bool = True,
        root_certificates: bytes | None = None,
        credentials: CredentialsCallback,
        retry: RetryPolicy = DEFAULT_RETRY,
        timeout: float = 60.0,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
    ) -> None:
        self._connection = PubSubConnection(
            target, tls=tls, root_certificates=root_certificates, credentials=credentials, retry=retry, timeout=timeout
        )
        self._idle_timeout = idle_timeout
        self._schemas: dict[str, Schema] = {}
        self._subscriptions: weakref.WeakSet[Subscription] = weakref.WeakSet()

    def __repr__(self) -> str:
        return f"PubSubClient({self._connection.target!r}, tls={self._connection.tls})"

    async def __aenter__(self) -> PubSubClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop every subscription of this client and close the channel."""
        for subscription in list(self._subscriptions):
            await subscription.aclose()
        await self._connection.aclose()

    async def get_topic(self, topic_name: str) -> TopicInfo:
        answer = await self._connection.unary(
            GET_TOPIC, pb2.TopicRequest(topic_name=topic_name), action=f"get topic {topic_name}", idempotent=True
        )
        return TopicInfo(
            name=answer.topic_name or topic_name,
            schema_id=answer.schema_id,
            can_publish=answer.can_publish,
            can_subscribe=answer.can_subscribe,
            tenant_guid=answer.tenant_guid,
        )

    async def get_schema(self, schema_id: str) -> Schema:
        """The Avro schema ``schema_id`` names, fetched once per client (a schema id never changes meaning)."""
        cached = self._schemas.get(schema_id)
        if cached is None:
            answer = await self._connection.unary(
                GET_SCHEMA, pb2.SchemaRequest(schema_id=schema_id), action=f"get schema {schema_id}", idempotent=True
            )
            try:
                cached = Schema.from_json(schema_id, answer.schema_json)
            except (ValueError, TypeError, KeyError) as error:
                raise PubSubError(
                    f"schema {schema_id} from the Pub/Sub API is not a usable Avro schema: {error}"
                ) from None
            self._schemas[schema_id] = cached
        return cached

    def subscribe(
        self,
        topic_name: str,
        *,
        replay_preset: str = "LATEST",
        replay_id: bytes | None = None,
        batch: int = MAX_NUM_REQUESTED,
    ) -> Subscription:
        """A subscription to ``topic_name`` that asks for ``batch`` events first; ask for more with
        ``request(n)`` as events are handled. ``replay_preset``: ``LATEST`` (new events only),
        ``EARLIEST`` (everything retained) or ``CUSTOM`` (after ``replay_id``)."""
        subscription = Subscription(
            self._connection,
            self.get_schema,
            topic_name,
            replay_preset=replay_preset,
            replay_id=replay_id,
            batch=batch,
            idle_timeout=self._idle_timeout,
        )
        self._subscriptions.add(subscription)
        return subscription

    async def publish(
        self,
        topic_name: str,
        records: Sequence[Mapping[str, Any]],
        *,
        before_send: Callable[[Sequence[str]], object] | None = None,
    ) -> list[PublishOutcome]:
        """Publish ``records`` (one event each) to ``topic_name``; one outcome per record, in order.

        ``PubSubPublishError`` if a record does not fit the topic's schema (nothing is sent then) or the
        call fails as a whole; a refused event shows as an outcome with ``error``. ``before_send(event_ids)``
        (a function or a coroutine function) is called with the events' ids right before the ``Publish``
        call is made, once; if anything fails before that (login, ``GetTopic``, ``GetSchema``, encoding),
        it is not called and nothing was sent.
        """
        if not records:
            return []
        topic = await self.get_topic(topic_name)
        if not topic.can_publish:
            raise PubSubPublishError(
                f"the topic {topic_name} does not accept publishing (it can only be subscribed to)"
            )
        schema = await self.get_schema(topic.schema_id)
        credentials = await self._connection.credentials.current()
        events = [self._producer_event(schema, record, index, credentials) for index, record in enumerate(records)]
        event_ids = [event.id for event in events]
        if before_send is not None:
            announced = before_send(event_ids)
            if inspect.isawaitable(announced):
                await announced
        try:
            answer = await self._connection.unary(
                PUBLISH,
                pb2.PublishRequest(topic_name=topic_name, events=events),
                action=f"publish {len(events)} events to {topic_name}",
                idempotent=False,
            )
        except (PubSubAuthError, PubSubTopicNotFoundError):
            raise
        except PubSubError as error:
            raise _publish_failed(error, event_ids) from None
        by_id = {result.correlation_key: result for result in answer.results}
        return [_outcome(event_id, by_id.get(event_id)) for event_id in event_ids]

    @staticmethod
    def _producer_event(schema: Schema, record: Mapping[str, Any], index: int, credentials: PubSubCredentials) -> Any:
        fields = {field["name"] for field in schema.fields}
        filled = dict(record)
        if "CreatedDate" in fields and filled.get("CreatedDate") is None:
            filled["CreatedDate"] = int(time.time() * 1000)
        if "CreatedById" in fields and filled.get("CreatedById") is None and credentials.user_id:
            filled["CreatedById"] = credentials.user_id
        event_id = str(filled.get("EventUuid") or uuid.uuid4())
        try:
            payload = schema.encode(filled)
        except ValueError as error:
            raise PubSubPublishError(
                f"record {index} does not fit the schema {schema.schema_id} of {schema.name or 'the topic'}: {error}. "
                "Nothing was published"
            ) from None
        return pb2.ProducerEvent(id=event_id, schema_id=schema.schema_id, payload=payload)


def _publish_failed(error: PubSubError, event_ids: list[str]) -> PubSubPublishError:
    unknown = error.reached_server and error.grpc_status in {
        grpc.StatusCode.UNAVAILABLE.name,
        grpc.StatusCode.DEADLINE_EXCEEDED.name,
        grpc.StatusCode.INTERNAL.name,
        grpc.StatusCode.UNKNOWN.name,
    }
    advice = (
        " The events may or may not have been published, and were not sent again: look for their EventUuid "
        f"values {', '.join(event_ids)} before publishing them again"
        if unknown
        else " Nothing was published"
    )
    return PubSubPublishError(
        f"{error.message}.{advice}",
        event_ids=event_ids,
        outcome_unknown=unknown,
        grpc_status=error.grpc_status,
        rpc_id=error.rpc_id,
        error_code=error.error_code,
        reached_server=error.reached_server,
    )


def _outcome(event_id: str, result: Any) -> PublishOutcome:
    if result is None:
        return PublishOutcome(event_id=event_id, replay_id=None, error="the Pub/Sub API returned no result for it")
    if result.HasField("error") and (result.error.code or result.error.msg):
        return PublishOutcome(
            event_id=event_id,
            replay_id=None,
            error=result.error.msg or "refused",
            error_code=pb2.ErrorCode.Name(result.error.code),
        )
    return PublishOutcome(event_id=event_id, replay_id=bytes(result.replay_id) or None)
