"""What the Pub/Sub API client returns: plain frozen dataclasses, no gRPC or protobuf types."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TopicInfo:
    """A topic (channel) and what the caller may do with it; ``schema_id`` is the schema events are
    published with now (older events name their own)."""

    name: str
    schema_id: str
    can_publish: bool
    can_subscribe: bool
    tenant_guid: str


@dataclass(frozen=True)
class ReceivedEvent:
    """One delivered event. ``replay_id`` is opaque: store it to resume after this event."""

    replay_id: bytes
    event_id: str
    schema_id: str
    topic_name: str
    #: The Avro payload decoded with the schema named by ``schema_id``.
    record: dict[str, Any]


@dataclass(frozen=True)
class PublishOutcome:
    """The result of publishing one record, in the order the records were given.

    ``event_id`` is the id sent with it (its ``EventUuid``); on success ``replay_id`` is its position in
    the stream, on failure ``error`` says why (``error_code``: the API's ``PUBLISH``/``COMMIT``/``UNKNOWN``).
    """

    event_id: str
    replay_id: bytes | None
    error: str | None = None
    error_code: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.replay_id is not None
