"""The Pub/Sub API's failures as typed errors of the client's ``SalesforceError`` family.

Salesforce answers a failed RPC with a gRPC status and puts its own code in the ``error-code`` trailer
(and an ``rpc-id`` for support); the status alone is too coarse to act on, so the trailer decides first
and the status only when there is none (see "Handle Errors" and "Retry Long-Lived RPC Calls After an
Error Occurs", developer.salesforce.com/docs/platform/pub-sub-api/guide/handling-errors.html and
.../guide/retry-rpc-calls.html):

- ``sfdc.platform.eventbus.grpc.service.auth.error`` (status ``UNAUTHENTICATED``): the token was refused
  or expired; log in again and retry.
- ``sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted`` (``INVALID_ARGUMENT``): the replay
  id is unknown, malformed or older than the 72-hour retention; ``...replayid.validation.failed``
  likewise. The subscriber has to choose where to resume (``EARLIEST`` or ``LATEST``).
- ``UNAVAILABLE`` (e.g. "RST_STREAM closed stream") and ``sfdc.platform.eventbus.grpc.service.unavailable``:
  transient; retry with backoff.

A server's text may echo what it was sent, so every detail quoted from it passes through the client's
``Redactor`` (the access token is never in a message, repr or log).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import grpc

from airflow_provider_sfpy.client.errors import Redactor, SalesforceError

#: Salesforce's codes in the ``error-code`` trailer that this client acts on.
AUTH_ERROR_CODES = frozenset(
    {"sfdc.platform.eventbus.grpc.service.auth.error", "sfdc.platform.eventbus.grpc.service.auth.refresh.invalid"}
)
REPLAY_ID_ERROR_CODES = frozenset(
    {
        "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted",
        "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.validation.failed",
    }
)
UNAVAILABLE_ERROR_CODES = frozenset({"sfdc.platform.eventbus.grpc.service.unavailable"})
#: Statuses worth another try of a call that changes nothing (a read, or a stream resumed by replay id).
TRANSIENT_STATUSES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN})
#: What grpc reports when no connection could be made: nothing of the call reached the server.
NOT_CONNECTED_DETAILS = ("failed to connect to all addresses", "connection refused", "name resolution")


class PubSubError(SalesforceError):
    """Base of the Pub/Sub API client's errors.

    ``grpc_status`` is the gRPC status name (``"UNAUTHENTICATED"``...; ``None`` when no RPC failed),
    ``error_code`` Salesforce's ``error-code`` trailer, ``rpc_id`` the id Salesforce support asks for.
    ``reached_server`` is ``False`` when the call failed before any connection existed.
    """

    def __init__(
        self,
        message: str,
        *,
        grpc_status: str | None = None,
        rpc_id: str | None = None,
        reached_server: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.grpc_status = grpc_status
        self.rpc_id = rpc_id
        self.reached_server = reached_server

    def __str__(self) -> str:
        answer = [f"gRPC {self.grpc_status}"] if self.grpc_status else []
        if self.error_code:
            answer.append(f"error-code {self.error_code}")
        if self.rpc_id:
            answer.append(f"rpcId {self.rpc_id}")
        return f"{self.message} ({', '.join(answer)})" if answer else self.message


class PubSubAuthError(PubSubError):
    """The Pub/Sub API refused the credentials, even right after a fresh login."""


class PubSubTopicNotFoundError(PubSubError):
    """No such topic (channel), or the user may not see it."""


class PubSubReplayIdError(PubSubError):
    """The replay id to resume from is invalid or older than the event bus keeps events (72 hours).

    Events may have been missed: resubscribe from ``EARLIEST`` (everything still retained) or ``LATEST``
    (only new events), as the application's needs decide. ``replay_id`` is the refused id.
    """

    def __init__(self, message: str, *, replay_id: bytes | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.replay_id = replay_id


class PubSubPublishError(PubSubError):
    """Events could not be published: a record that does not fit the topic's schema (nothing was sent),
    a topic that does not accept publishing, or a call whose outcome is unknown.

    ``outcome_unknown``: the call may have reached Salesforce, so the events may have been published
    (they were not sent again); ``event_ids`` are their ``EventUuid`` values, to look for.
    """

    def __init__(
        self, message: str, *, event_ids: Sequence[str] = (), outcome_unknown: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(message, **kwargs)
        self.event_ids = list(event_ids)
        self.outcome_unknown = outcome_unknown


class PubSubUnavailableError(PubSubError):
    """The Pub/Sub API could not be reached, or kept dropping the stream, after the bounded retries."""


def trailer(error: grpc.aio.AioRpcError, key: str) -> str | None:
    """One value of the call's trailing metadata (``error-code``, ``rpc-id``), or ``None``."""
    for name, value in error.trailing_metadata() or ():
        if name == key:
            return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return None


def never_connected(error: grpc.aio.AioRpcError) -> bool:
    """Whether the call failed before a connection existed, so it certainly was not received."""
    details = (error.details() or "").lower()
    return error.code() == grpc.StatusCode.UNAVAILABLE and any(text in details for text in NOT_CONNECTED_DETAILS)


def is_auth_failure(error: grpc.aio.AioRpcError) -> bool:
    code = trailer(error, "error-code")
    return code in AUTH_ERROR_CODES or (code is None and error.code() == grpc.StatusCode.UNAUTHENTICATED)


def is_transient(error: grpc.aio.AioRpcError) -> bool:
    code = trailer(error, "error-code")
    return code in UNAVAILABLE_ERROR_CODES or (code is None and error.code() in TRANSIENT_STATUSES)


def is_replay_id_failure(error: grpc.aio.AioRpcError) -> bool:
    code = trailer(error, "error-code")
    if code is not None:
        return code in REPLAY_ID_ERROR_CODES
    details = (error.details() or "").lower()
    return error.code() == grpc.StatusCode.INVALID_ARGUMENT and "replay" in details


def error_from_rpc(error: grpc.aio.AioRpcError, *, action: str, redactor: Redactor) -> PubSubError:
    """The typed error for a failed RPC; ``action`` says what was attempted ("subscribe to /data/X")."""
    code = trailer(error, "error-code")
    details = redactor.redact(error.details() or "")
    context: dict[str, Any] = {
        "grpc_status": error.code().name,
        "error_code": code,
        "rpc_id": trailer(error, "rpc-id"),
        "reached_server": not never_connected(error),
    }
    said = f": {details}" if details else ""
    if is_auth_failure(error):
        return PubSubAuthError(
            f"could not {action}: the Pub/Sub API refused the credentials{said}. Check that the connection "
            "logs in, that the user has the API Enabled permission, and that the org id (tenantid) and "
            "instance URL belong to the same org as the access token",
            **context,
        )
    if is_replay_id_failure(error):
        return PubSubReplayIdError(
            f"could not {action}: the replay id was refused as invalid or older than the 72-hour "
            f"retention{said}. Events may have been missed: resubscribe from EARLIEST or LATEST",
            **context,
        )
    if error.code() == grpc.StatusCode.NOT_FOUND:
        return PubSubTopicNotFoundError(
            f"could not {action}: no such topic{said}. Check the channel name (e.g. /data/AccountChangeEvent, "
            "/data/ChangeEvents, /event/Order_Placed__e), that change data capture is enabled for the object, "
            "and that the user may read it",
            **context,
        )
    if error.code() == grpc.StatusCode.PERMISSION_DENIED:
        return PubSubError(f"could not {action}: permission denied{said}. Check the user's access", **context)
    if is_transient(error):
        return PubSubUnavailableError(
            f"could not {action}: the Pub/Sub API is unavailable{said}. Try again later", **context
        )
    return PubSubError(f"could not {action}{said}", **context)
