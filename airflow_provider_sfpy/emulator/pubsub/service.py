"""The ``eventbus.v1.PubSub`` service: GetTopic, GetSchema, Subscribe, Publish and PublishStream.

Served through grpc's generic handler API with the contract in ``airflow_provider_sfpy.pubsub_api``
(no generated stubs). Every call is authenticated from its metadata first (``auth.py``); topics and
schemas come from the emulator's topic catalogue (``emulator/events/topics.py``), events from the
org's event bus (``emulator/events/bus.py``).

- GetTopic ("GetTopic RPC Method", https://developer.salesforce.com/docs/platform/pub-sub-api/references/methods/gettopic-rpc.html):
  the topic's name, the org id as ``tenant_guid``, ``can_publish`` (platform events; change events are
  published by Salesforce only) and ``can_subscribe``, and the schema id of events published now.
- Publish: each event is checked against the topic and the schema it names; a bad event gets an error in
  its own PublishResult (``ErrorCode.PUBLISH``, correlated by ``correlation_key`` = the event's id) while
  the others are published; an event over 1 MB is refused the same way ("Pub/Sub API and Event
  Allocations", https://developer.salesforce.com/docs/platform/pub-sub-api/guide/allocations.html).
- a change event channel of an object that is not selected (``--change-events``) does not exist, as in
  an org where the object is not selected for Change Data Capture.
- ManagedSubscribe is answered ``UNIMPLEMENTED``: the emulator keeps no managed subscriptions.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import grpc

from airflow_provider_sfpy.emulator.events.bus import EventBus, EventSpec
from airflow_provider_sfpy.emulator.pubsub.auth import Caller, authenticate, still_valid
from airflow_provider_sfpy.emulator.pubsub.errors import (
    PUBLISH_EVENT_COUNT,
    PUBLISH_TOPIC_MISMATCH,
    SCHEMA_EMPTY,
    SCHEMA_PERMISSION,
    TOPIC_PERMISSION,
    PubSubFailure,
    abort,
    new_rpc_id,
    topic_name_blank,
    topic_not_found,
)
from airflow_provider_sfpy.emulator.pubsub.subscription import (
    DEFAULT_KEEPALIVE_SECONDS,
    DEFAULT_SESSION_CHECK_SECONDS,
    Delivery,
    FlowControl,
    read_requests,
    requested_count,
    start_position,
)
from airflow_provider_sfpy.emulator.sessions import SessionRegistry
from airflow_provider_sfpy.pubsub_api import (
    GET_SCHEMA,
    GET_TOPIC,
    MANAGED_SUBSCRIBE,
    METHODS,
    PUBLISH,
    PUBLISH_STREAM,
    SERVICE,
    SUBSCRIBE,
    encode_replay_id,
)
from airflow_provider_sfpy.pubsub_api import pubsub_api_pb2 as pb2

#: Salesforce refuses a single event larger than 1 MB.
MAX_EVENT_BYTES = 1024 * 1024
CHANGE_EVENT_PREFIX, CHANGE_EVENT_SUFFIX = "/data/", "ChangeEvent"


def change_event_entity(topic_name: str) -> str | None:
    """The object of a single-entity change event channel (``/data/AccountChangeEvent`` -> ``Account``,
    ``/data/Invoice__ChangeEvent`` -> ``Invoice__c``); ``None`` for other topics."""
    if not (topic_name.startswith(CHANGE_EVENT_PREFIX) and topic_name.endswith(CHANGE_EVENT_SUFFIX)):
        return None
    entity = topic_name[len(CHANGE_EVENT_PREFIX) : -len(CHANGE_EVENT_SUFFIX)]
    return f"{entity}c" if entity.endswith("__") else entity


class Topic(Protocol):
    """What the service needs of a topic (``events.topics.TopicDef``)."""

    @property
    def name(self) -> str: ...
    @property
    def schema_id(self) -> str: ...
    @property
    def can_publish(self) -> bool: ...
    @property
    def can_subscribe(self) -> bool: ...


class TopicCatalog(Protocol):
    """Topics and schemas: the module ``emulator/events/topics.py`` (or a stand-in with its functions)."""

    def resolve_topic(self, name: str) -> Any: ...
    def schema_json(self, schema_id: str) -> str | None: ...
    def validate_publish(self, topic: Any, schema_id: str, payload: bytes) -> str | None: ...


def default_catalog() -> TopicCatalog:
    """The emulator's topic catalogue (change events of its objects, its platform events)."""
    from airflow_provider_sfpy.emulator.events import topics

    return topics


@dataclass
class PubSubSettings:
    """The Pub/Sub API's timing: keepalive interval and how often a stream re-checks its session."""

    keepalive_seconds: float = DEFAULT_KEEPALIVE_SECONDS
    session_check_seconds: float = DEFAULT_SESSION_CHECK_SECONDS


class PubSubService:
    """The service's RPC handlers over one org's sessions and event bus."""

    def __init__(
        self,
        *,
        sessions: SessionRegistry,
        bus: EventBus,
        org_id: str,
        selected_entities: Callable[[], frozenset[str] | None] = lambda: None,
        catalog: TopicCatalog | None = None,
        settings: PubSubSettings | None = None,
    ) -> None:
        self.sessions = sessions
        self.selected_entities = selected_entities
        self.bus = bus
        self.org_id = org_id
        self.catalog = catalog or default_catalog()
        self.settings = settings or PubSubSettings()

    # ------------------------------------------------------------------------------- helpers

    def _caller(self, context: grpc.ServicerContext) -> Caller:
        return authenticate(context.invocation_metadata(), self.sessions, self.org_id)

    def _topic(self, name: str) -> Topic:
        if not name.strip():
            raise topic_name_blank()
        topic: Topic | None = self.catalog.resolve_topic(name)
        entity = change_event_entity(name)
        if topic is None or (entity is not None and entity not in (self.selected_entities() or ())):
            # Salesforce has no channel for an object whose change events are not selected.
            raise topic_not_found(self.org_id, name)
        return topic

    def _unary(
        self, call: Callable[[Any, grpc.ServicerContext, str], Any]
    ) -> Callable[[Any, grpc.ServicerContext], Any]:
        """``call`` with an rpc id; a ``PubSubFailure`` it raises ends the call as Salesforce ends it."""

        def handle(request: Any, context: grpc.ServicerContext) -> Any:
            rpc_id = new_rpc_id()
            try:
                self._caller(context)
                return call(request, context, rpc_id)
            except PubSubFailure as failure:
                abort(context, failure, rpc_id)

        return handle

    # ------------------------------------------------------------------------------- unary calls

    def get_topic(self, request: pb2.TopicRequest, context: grpc.ServicerContext, rpc_id: str) -> pb2.TopicInfo:
        topic = self._topic(request.topic_name)
        return pb2.TopicInfo(
            topic_name=topic.name,
            tenant_guid=self.org_id,
            can_publish=topic.can_publish,
            can_subscribe=topic.can_subscribe,
            schema_id=topic.schema_id,
            rpc_id=rpc_id,
        )

    def get_schema(self, request: pb2.SchemaRequest, context: grpc.ServicerContext, rpc_id: str) -> pb2.SchemaInfo:
        if not request.schema_id.strip():
            raise PubSubFailure(
                grpc.StatusCode.INVALID_ARGUMENT, SCHEMA_EMPTY, "The schema ID is blank; pass TopicInfo.schema_id."
            )
        schema = self.catalog.schema_json(request.schema_id)
        if schema is None:
            raise PubSubFailure(
                grpc.StatusCode.NOT_FOUND,
                SCHEMA_PERMISSION,
                f"No schema with ID {request.schema_id} in this org; use the schema_id of GetTopic or of an event.",
            )
        return pb2.SchemaInfo(schema_json=schema, schema_id=request.schema_id, rpc_id=rpc_id)

    def publish(self, request: pb2.PublishRequest, context: grpc.ServicerContext, rpc_id: str) -> pb2.PublishResponse:
        topic = self._topic(request.topic_name)
        if not topic.can_publish:
            raise PubSubFailure(
                grpc.StatusCode.PERMISSION_DENIED,
                TOPIC_PERMISSION,
                f"Events can't be published on {topic.name}: Salesforce publishes change events itself. "
                "Publish platform events on /event/<Name>__e.",
            )
        if not request.events:
            raise PubSubFailure(
                grpc.StatusCode.INVALID_ARGUMENT, PUBLISH_EVENT_COUNT, "The publish request has no events; add one."
            )
        return pb2.PublishResponse(
            results=self._publish_events(topic, request.events), schema_id=topic.schema_id, rpc_id=rpc_id
        )

    def _publish_events(self, topic: Topic, events: Sequence[pb2.ProducerEvent]) -> list[pb2.PublishResult]:
        keys = [event.id or str(uuid.uuid4()) for event in events]
        errors = [self._event_error(topic, event) for event in events]
        accepted: list[EventSpec] = [
            ([topic.name], event.schema_id, event.payload, key)
            for event, key, error in zip(events, keys, errors, strict=True)
            if error is None
        ]
        positions = iter(self.bus.append_many(accepted))
        return [
            pb2.PublishResult(correlation_key=key, error=pb2.Error(code=pb2.ErrorCode.PUBLISH, msg=error))
            if error is not None
            else pb2.PublishResult(correlation_key=key, replay_id=encode_replay_id(next(positions)))
            for key, error in zip(keys, errors, strict=True)
        ]

    def _event_error(self, topic: Topic, event: pb2.ProducerEvent) -> str | None:
        if len(event.payload) > MAX_EVENT_BYTES:
            return f"The event is {len(event.payload)} bytes; an event can be at most 1 MB."
        return self.catalog.validate_publish(topic, event.schema_id, event.payload)

    # ------------------------------------------------------------------------------- streams

    def subscribe(self, requests: Iterator[pb2.FetchRequest], context: grpc.ServicerContext) -> Iterator[Any]:
        rpc_id = new_rpc_id()
        try:
            caller = self._caller(context)
            first = next(requests, None)
            if first is None:
                return
            topic = self._topic(first.topic_name)
            if not topic.can_subscribe:
                raise PubSubFailure(
                    grpc.StatusCode.PERMISSION_DENIED, TOPIC_PERMISSION, f"Subscribing to {topic.name} is not allowed."
                )
            flow = FlowControl(topic_name=topic.name)
            flow.request(requested_count(first))
            delivery = Delivery(
                bus=self.bus,
                flow=flow,
                cursor=start_position(first, self.bus),
                rpc_id=rpc_id,
                keepalive_seconds=self.settings.keepalive_seconds,
                session_check_seconds=self.settings.session_check_seconds,
            )
            self.bus.add_listener(flow.wake)
            context.add_callback(flow.wake)
            threading.Thread(
                target=read_requests, args=(requests, flow), name="sfpy-pubsub-fetch-requests", daemon=True
            ).start()
            try:
                yield from delivery.responses(context.is_active, lambda: still_valid(caller, self.sessions))
            finally:
                self.bus.remove_listener(flow.wake)
        except PubSubFailure as failure:
            abort(context, failure, rpc_id)

    def publish_stream(
        self, requests: Iterator[pb2.PublishRequest], context: grpc.ServicerContext
    ) -> Iterator[pb2.PublishResponse]:
        rpc_id = new_rpc_id()
        try:
            self._caller(context)
            topic_name = ""
            for request in requests:
                topic_name = topic_name or request.topic_name
                if request.topic_name and request.topic_name != topic_name:
                    raise PubSubFailure(
                        grpc.StatusCode.INVALID_ARGUMENT,
                        PUBLISH_TOPIC_MISMATCH,
                        f"The topic name {request.topic_name} differs from this stream's topic {topic_name}.",
                    )
                yield self.publish(request, context, rpc_id)
        except PubSubFailure as failure:
            abort(context, failure, rpc_id)

    def managed_subscribe(self, requests: Iterator[Any], context: grpc.ServicerContext) -> Iterator[Any]:
        context.abort(
            grpc.StatusCode.UNIMPLEMENTED,
            "ManagedSubscribe is not emulated: use Subscribe and keep the last replay id yourself.",
        )
        yield from ()

    # ------------------------------------------------------------------------------- wiring

    def handler(self) -> grpc.GenericRpcHandler:
        """The generic handler serving every method of the contract."""

        def serializers(path: str) -> dict[str, Any]:
            request_class, response_class = METHODS[path]
            return {
                "request_deserializer": request_class.FromString,
                "response_serializer": response_class.SerializeToString,
            }

        unary = grpc.unary_unary_rpc_method_handler
        streams = grpc.stream_stream_rpc_method_handler
        handlers = {
            GET_TOPIC: unary(self._unary(self.get_topic), **serializers(GET_TOPIC)),
            GET_SCHEMA: unary(self._unary(self.get_schema), **serializers(GET_SCHEMA)),
            PUBLISH: unary(self._unary(self.publish), **serializers(PUBLISH)),
            SUBSCRIBE: streams(self.subscribe, **serializers(SUBSCRIBE)),
            PUBLISH_STREAM: streams(self.publish_stream, **serializers(PUBLISH_STREAM)),
            MANAGED_SUBSCRIBE: streams(self.managed_subscribe, **serializers(MANAGED_SUBSCRIBE)),
        }
        return grpc.method_handlers_generic_handler(
            SERVICE, {path.rsplit("/", 1)[1]: h for path, h in handlers.items()}
        )
