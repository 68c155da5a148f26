"""How the Pub/Sub API client names failures: Salesforce's ``error-code`` trailer first, the gRPC status second,
and never a token in a message or a repr.

The errors are built as grpc.aio builds them from a server's answer (status, details, trailing metadata);
the integration tests (test_pubsub_client.py) see the same answers come from the emulator's server.
"""

from __future__ import annotations

import grpc
import pytest

from airflow_provider_sfpy.client.errors import Redactor, SalesforceError
from airflow_provider_sfpy.client.pubsub import (
    PubSubAuthError,
    PubSubCredentials,
    PubSubError,
    PubSubReplayIdError,
    PubSubTopicNotFoundError,
    PubSubUnavailableError,
)
from airflow_provider_sfpy.client.pubsub.errors import error_from_rpc, is_transient, never_connected

TOKEN = "00D5g000004ABCD!AQ8AQLmQ3x.very.secret.session.token.value"


def rpc_error(code: grpc.StatusCode, details: str, error_code: str | None = None) -> grpc.aio.AioRpcError:
    trailers = [("rpc-id", "3f1c2d4e-rpc")] + ([("error-code", error_code)] if error_code else [])
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(*trailers), details=details)


def mapped(error: grpc.aio.AioRpcError) -> PubSubError:
    return error_from_rpc(error, action="subscribe to /data/AccountChangeEvent", redactor=Redactor([TOKEN]))


@pytest.mark.parametrize(
    ("code", "error_code", "expected"),
    [
        (grpc.StatusCode.UNAUTHENTICATED, "sfdc.platform.eventbus.grpc.service.auth.error", PubSubAuthError),
        (grpc.StatusCode.UNAUTHENTICATED, None, PubSubAuthError),
        (
            grpc.StatusCode.INVALID_ARGUMENT,
            "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted",
            PubSubReplayIdError,
        ),
        (
            grpc.StatusCode.INVALID_ARGUMENT,
            "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.validation.failed",
            PubSubReplayIdError,
        ),
        (grpc.StatusCode.NOT_FOUND, "sfdc.platform.eventbus.grpc.topic.not.found", PubSubTopicNotFoundError),
        (grpc.StatusCode.UNAVAILABLE, None, PubSubUnavailableError),
        (grpc.StatusCode.INTERNAL, "sfdc.platform.eventbus.grpc.service.unavailable", PubSubUnavailableError),
        (
            grpc.StatusCode.INVALID_ARGUMENT,
            "sfdc.platform.eventbus.grpc.subscription.fetch.topic.mismatch",
            PubSubError,
        ),
    ],
)
def test_the_trailer_and_status_choose_the_error_class(
    code: grpc.StatusCode, error_code: str | None, expected: type[PubSubError]
) -> None:
    error = mapped(rpc_error(code, "something happened rpcId: 3f1c2d4e-rpc", error_code))

    assert type(error) is expected
    assert isinstance(error, SalesforceError)
    assert error.grpc_status == code.name
    assert error.error_code == error_code
    assert error.rpc_id == "3f1c2d4e-rpc"
    assert "subscribe to /data/AccountChangeEvent" in str(error)


def test_an_invalid_argument_that_is_not_about_the_replay_id_is_not_a_replay_id_error() -> None:
    assert type(mapped(rpc_error(grpc.StatusCode.INVALID_ARGUMENT, "topic name is blank"))) is PubSubError
    assert type(mapped(rpc_error(grpc.StatusCode.INVALID_ARGUMENT, "Replay ID is invalid"))) is PubSubReplayIdError


def test_messages_say_what_to_do() -> None:
    replay = mapped(
        rpc_error(
            grpc.StatusCode.INVALID_ARGUMENT, "", "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted"
        )
    )
    assert "resubscribe from EARLIEST or LATEST" in str(replay)
    auth = mapped(rpc_error(grpc.StatusCode.UNAUTHENTICATED, "", "sfdc.platform.eventbus.grpc.service.auth.error"))
    assert "tenantid" in str(auth) and "gRPC UNAUTHENTICATED" in str(auth)


def test_a_token_echoed_by_the_server_is_redacted() -> None:
    error = mapped(rpc_error(grpc.StatusCode.UNAUTHENTICATED, f"bad accesstoken {TOKEN}"))

    assert TOKEN not in str(error)
    assert TOKEN not in repr(error)
    assert "***" in str(error)


def test_credentials_repr_hides_the_token() -> None:
    credentials = PubSubCredentials(TOKEN, "https://acme.my.salesforce.com", "00D5g000004ABCDEAA")

    assert TOKEN not in repr(credentials)
    assert "00D5g000004ABCDEAA" in repr(credentials)
    assert dict(credentials.metadata()) == {
        "accesstoken": TOKEN,
        "instanceurl": "https://acme.my.salesforce.com",
        "tenantid": "00D5g000004ABCDEAA",
    }


def test_a_call_that_never_connected_is_known_not_to_have_reached_the_server() -> None:
    refused = rpc_error(
        grpc.StatusCode.UNAVAILABLE, "failed to connect to all addresses; last error: Connection refused"
    )
    dropped = rpc_error(grpc.StatusCode.UNAVAILABLE, "Socket closed")

    assert never_connected(refused) and not never_connected(dropped)
    assert is_transient(refused) and is_transient(dropped)
    assert mapped(refused).reached_server is False
    assert mapped(dropped).reached_server is True
