"""Salesforce's Pub/Sub API contract (``eventbus.v1.PubSub``), shared by the client and the emulator.

``pubsub_api_pb2`` holds the protobuf messages generated from ``pubsub_api.proto``. The service is
called and served through grpc's generic API with the method paths below, so no generated gRPC stub
module (which pins a minimum grpcio version) is needed. Importing this package needs protobuf only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from airflow_provider_sfpy.pubsub_api import pubsub_api_pb2 as pb2

GENERATED_MODULE_PATH = Path(__file__).resolve().parent / "pubsub_api_pb2.py"

SERVICE = "eventbus.v1.PubSub"
SUBSCRIBE = f"/{SERVICE}/Subscribe"
GET_SCHEMA = f"/{SERVICE}/GetSchema"
GET_TOPIC = f"/{SERVICE}/GetTopic"
PUBLISH = f"/{SERVICE}/Publish"
PUBLISH_STREAM = f"/{SERVICE}/PublishStream"
MANAGED_SUBSCRIBE = f"/{SERVICE}/ManagedSubscribe"

#: The request and response message of each method: (request class, response class).
METHODS: dict[str, tuple[Any, Any]] = {
    SUBSCRIBE: (pb2.FetchRequest, pb2.FetchResponse),
    GET_SCHEMA: (pb2.SchemaRequest, pb2.SchemaInfo),
    GET_TOPIC: (pb2.TopicRequest, pb2.TopicInfo),
    PUBLISH: (pb2.PublishRequest, pb2.PublishResponse),
    PUBLISH_STREAM: (pb2.PublishRequest, pb2.PublishResponse),
    MANAGED_SUBSCRIBE: (pb2.ManagedFetchRequest, pb2.ManagedFetchResponse),
}

#: Salesforce caps each FetchRequest at 100 events.
MAX_NUM_REQUESTED = 100


def encode_replay_id(position: int) -> bytes:
    """The emulator's replay ids: the event's position in its org's stream, 8 bytes big-endian.

    Clients must treat replay ids as opaque bytes (Salesforce's are too); only the emulator reads them.
    """
    return position.to_bytes(8, "big")


def decode_replay_id(replay_id: bytes) -> int | None:
    """The position an emulator replay id names, or ``None`` when the bytes are not one."""
    if len(replay_id) != 8:
        return None
    return int.from_bytes(replay_id, "big")
