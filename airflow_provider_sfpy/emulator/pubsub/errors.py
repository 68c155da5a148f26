"""How the emulated Pub/Sub API fails: a gRPC status, Salesforce's ``error-code`` trailer and an ``rpcId``.

Salesforce ends a failed call (and a Subscribe stream) with a gRPC status; the Pub/Sub API adds its own
error code in the trailers under ``error-code`` and appends ``rpcId: <id>`` to the message ("Handle
Errors", https://developer.salesforce.com/docs/platform/pub-sub-api/guide/handling-errors.html).
Statuses and messages as Salesforce answers them where that is on record:

- a bad session: ``UNAUTHENTICATED`` "An authentication exception occurred. Provide valid authentication
  via metadata headers." with ``sfdc.platform.eventbus.grpc.service.auth.error`` (seen on GetTopic and
  mid-stream on Subscribe: github.com/pozil/pub-sub-api-java-client/issues/3,
  github.com/pozil/pub-sub-api-node-client/issues/67);
- an unknown topic: ``NOT_FOUND`` "The topic information for org ... and topic ... not found. Ensure the
  topic name is correct and that the topic exists." (github.com/pozil/pub-sub-api-java-client/issues/2)
  with ``...topic.not.found``;
- an invalid or expired replay id: ``INVALID_ARGUMENT`` with ``...subscription.fetch.replayid.corrupted``
  (the exception example of "Handle Errors"; "Retry Long-Lived RPC Calls After an Error Occurs" names an
  id outside the 72-hour retention as one cause).

Where the docs give an error code but no status (CUSTOM without a replay id, a non-positive
``num_requested``, a blank topic or schema id, a topic changed mid-stream), the emulator answers
``INVALID_ARGUMENT``, the status gRPC defines for a malformed request. Each message also says what to do.
"""

from __future__ import annotations

import uuid
from typing import NoReturn

import grpc

PREFIX = "sfdc.platform.eventbus.grpc."
AUTH_ERROR = PREFIX + "service.auth.error"
TOPIC_NOT_FOUND = PREFIX + "topic.not.found"
TOPIC_EMPTY = PREFIX + "topic.validation.empty"
TOPIC_PERMISSION = PREFIX + "topic.meta.permission"
SCHEMA_PERMISSION = PREFIX + "schema.meta.permission"
SCHEMA_EMPTY = PREFIX + "schema.validation.failed"
REPLAY_ID_CORRUPTED = PREFIX + "subscription.fetch.replayid.corrupted"
REPLAY_ID_MISSING = PREFIX + "subscription.fetch.replayid.validation.failed"
REQUESTED_EVENTS_INVALID = PREFIX + "subscription.fetch.requested.events.invalid"
TOPIC_MISMATCH = PREFIX + "subscription.fetch.topic.mismatch"
PUBLISH_EVENT_COUNT = PREFIX + "publish.event.count.invalid"
PUBLISH_TOPIC_MISMATCH = PREFIX + "publish.topic.mismatch"

ERROR_CODE_TRAILER = "error-code"

AUTH_MESSAGE = "An authentication exception occurred. Provide valid authentication via metadata headers."


def new_rpc_id() -> str:
    """The id Salesforce gives each call (``rpc_id`` in responses, ``rpcId:`` in error messages)."""
    return str(uuid.uuid4())


class PubSubFailure(Exception):
    """A failure to end the call with: its gRPC status, Salesforce error code and message."""

    def __init__(self, status: grpc.StatusCode, error_code: str, message: str) -> None:
        super().__init__(f"{status.name} {error_code}: {message}")
        self.status = status
        self.error_code = error_code
        self.message = message


def auth_failure(hint: str) -> PubSubFailure:
    """Salesforce's authentication error; ``hint`` (no secret in it) says what the emulator found wrong."""
    return PubSubFailure(grpc.StatusCode.UNAUTHENTICATED, AUTH_ERROR, f"{AUTH_MESSAGE} ({hint})")


def topic_not_found(org_id: str, topic_name: str) -> PubSubFailure:
    return PubSubFailure(
        grpc.StatusCode.NOT_FOUND,
        TOPIC_NOT_FOUND,
        f"The topic information for org {org_id} and topic {topic_name} not found. Ensure the topic name is "
        "correct and that the topic exists (/data/<Object>ChangeEvent, /data/ChangeEvents, /event/<Name>__e).",
    )


def topic_name_blank() -> PubSubFailure:
    return PubSubFailure(
        grpc.StatusCode.INVALID_ARGUMENT, TOPIC_EMPTY, "The topic name is blank. Provide a topic name."
    )


def abort(context: grpc.ServicerContext, failure: PubSubFailure, rpc_id: str) -> NoReturn:
    """End the call with ``failure``: the ``error-code`` trailer and ``rpcId`` as Salesforce sends them."""
    context.set_trailing_metadata(((ERROR_CODE_TRAILER, failure.error_code),))
    context.abort(failure.status, f"{failure.message} rpcId: {rpc_id}")
    raise AssertionError("grpc's abort() returned")  # it raises; this keeps type checkers honest
