"""One gRPC channel to the Pub/Sub API, and the calls made over it with credentials attached.

The service is called through grpc's generic API with the method paths and messages of
``airflow_provider_sfpy.pubsub_api`` (no generated stub module). Unary calls that change nothing
(``GetTopic``, ``GetSchema``) are retried with backoff on transient failures; any call whose
credentials are refused is made once more after a fresh login (``credentials(True)``).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator
from typing import Any

import grpc

from airflow_provider_sfpy.client.errors import Redactor
from airflow_provider_sfpy.client.pubsub.credentials import CredentialsCallback, CredentialSource, PubSubCredentials
from airflow_provider_sfpy.client.pubsub.errors import error_from_rpc, is_auth_failure, is_transient, never_connected
from airflow_provider_sfpy.client.retry import RetryPolicy
from airflow_provider_sfpy.client.transport import USER_AGENT
from airflow_provider_sfpy.pubsub_api import METHODS, SUBSCRIBE

log = logging.getLogger("airflow_provider_sfpy.client.pubsub")

#: A FetchResponse holds up to 100 events of up to 1 MB each; gRPC's 4 MB default would refuse big batches.
MAX_RECEIVE_BYTES = 128 * 1024 * 1024


def backoff_seconds(policy: RetryPolicy, attempt: int) -> float:
    """The wait before retry number ``attempt`` (1 for the first retry): exponential, capped, jittered."""
    return min(policy.max_wait, policy.initial_wait * 2 ** (attempt - 1)) + random.uniform(0, policy.jitter)


class PubSubConnection:
    """The channel (opened on first use, in the running event loop), the credentials and the retry policy."""

    def __init__(
        self,
        target: str,
        *,
        tls: bool,
        root_certificates: bytes | None,
        credentials: CredentialsCallback,
        retry: RetryPolicy,
        timeout: float,
    ) -> None:
        self.target = target
        self.tls = tls
        self.redactor = Redactor()
        self.credentials = CredentialSource(credentials, self.redactor)
        self.retry = retry
        self.timeout = timeout
        self._root_certificates = root_certificates
        self._channel: grpc.aio.Channel | None = None

    def __repr__(self) -> str:
        return f"PubSubConnection({self.target!r}, tls={self.tls})"

    @property
    def channel(self) -> grpc.aio.Channel:
        if self._channel is None:
            options = [
                ("grpc.max_receive_message_length", MAX_RECEIVE_BYTES),
                ("grpc.primary_user_agent", USER_AGENT),
                # gRPC waits up to 120 s between reconnection attempts by default; the retries here wait
                # at most the retry policy's max_wait, and a reconnection held back longer would waste them.
                ("grpc.max_reconnect_backoff_ms", int(self.retry.max_wait * 1000)),
            ]
            if self.tls:
                tls = grpc.ssl_channel_credentials(root_certificates=self._root_certificates)
                self._channel = grpc.aio.secure_channel(self.target, tls, options=options)
            else:
                self._channel = grpc.aio.insecure_channel(self.target, options=options)
        return self._channel

    async def aclose(self) -> None:
        if self._channel is not None:
            channel, self._channel = self._channel, None
            await channel.close()

    def _method(self, path: str, kind: str) -> Any:
        request_class, response_class = METHODS[path]
        factory = getattr(self.channel, kind)
        return factory(
            path, request_serializer=request_class.SerializeToString, response_deserializer=response_class.FromString
        )

    async def unary(self, path: str, request: Any, *, action: str, idempotent: bool) -> Any:
        """Call a unary method. Transient failures are retried when ``idempotent`` (or when the call never
        reached the server); refused credentials are refreshed once. Failures raise typed errors."""
        method = self._method(path, "unary_unary")
        refreshed = False
        attempt = 0
        while True:
            credentials = await self.credentials.current()
            try:
                return await method(request, metadata=credentials.metadata(), timeout=self.timeout)
            except grpc.aio.AioRpcError as error:
                if is_auth_failure(error) and not refreshed:
                    refreshed = True
                    await self.credentials.refresh(credentials)
                    continue
                attempt += 1
                retryable = is_transient(error) and (idempotent or never_connected(error))
                if not retryable or attempt >= self.retry.max_attempts:
                    raise self.error(error, action) from None
                wait = backoff_seconds(self.retry, attempt)
                log.warning("Pub/Sub API call to %s failed (%s); retrying in %.1fs", action, error.code().name, wait)
                await asyncio.sleep(wait)

    def open_subscribe(self, requests: AsyncIterator[Any], credentials: PubSubCredentials) -> Any:
        """Start a ``Subscribe`` stream that sends what ``requests`` yields."""
        return self._method(SUBSCRIBE, "stream_stream")(requests, metadata=credentials.metadata())

    def error(self, error: grpc.aio.AioRpcError, action: str) -> Exception:
        return error_from_rpc(error, action=action, redactor=self.redactor)
