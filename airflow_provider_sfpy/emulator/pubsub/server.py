"""The Pub/Sub API's gRPC server, run beside the emulator's REST server over the same org.

grpcio's threaded server: each Subscribe stream holds one worker thread (plus one reading its
FetchRequests) for its lifetime, so the pool is sized for many concurrent subscribers. With TLS it
serves the REST server's certificate, so one CA bundle trusts both. Serving the Pub/Sub API is what
turns change-event capture on in the store (``Store.change_events``): without it, writes cost nothing extra.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from airflow_provider_sfpy.emulator.events.bus import DEFAULT_RETENTION_SECONDS
from airflow_provider_sfpy.emulator.events.schemas import selected_entities
from airflow_provider_sfpy.emulator.pubsub.service import PubSubService, PubSubSettings, TopicCatalog
from airflow_provider_sfpy.emulator.state import EmulatorState
from airflow_provider_sfpy.emulator.store import Store

#: Worker threads: one per live Subscribe stream or call in progress.
MAX_WORKERS = 64
STOP_GRACE_SECONDS = 1.0


@dataclass
class PubSubOptions:
    """How the emulator serves the Pub/Sub API (``sfpy-emulator --pubsub-port`` and its companions)."""

    #: Entities whose changes become change events; ``None``: every object that has change events.
    change_events: Iterable[str] | None = None
    retention_seconds: float = DEFAULT_RETENTION_SECONDS
    settings: PubSubSettings = field(default_factory=PubSubSettings)


def grpc_target(host: str, port: int) -> str:
    """``host:port`` as gRPC channels take it (an IPv6 address in brackets; a wildcard bind as loopback)."""
    shown = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    return f"[{shown}]:{port}" if ":" in shown else f"{shown}:{port}"


def enable_change_events(store: Store, entities: Iterable[str] | None) -> None:
    """Turn on change-event capture in ``store`` for ``entities`` (``None``: every object that has change events)."""
    store.change_events = selected_entities(entities)


class PubSubServer:
    """A started gRPC server serving ``eventbus.v1.PubSub`` for one emulator; ``stop()`` ends it."""

    def __init__(
        self,
        state: EmulatorState,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tls_cert: str | None = None,
        tls_key: str | None = None,
        options: PubSubOptions | None = None,
        catalog: TopicCatalog | None = None,
    ) -> None:
        options = options or PubSubOptions()
        bus = state.store.event_bus
        bus.retention_seconds = options.retention_seconds
        self.service = PubSubService(
            sessions=state.sessions,
            bus=bus,
            org_id=state.store.org_id,
            selected_entities=lambda: state.store.change_events,
            catalog=catalog,
            settings=options.settings,
        )
        self._server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=MAX_WORKERS, thread_name_prefix="sfpy-pubsub"),
            handlers=[self.service.handler()],
            options=[("grpc.so_reuseport", 0)],
        )
        address = grpc_target(host, port)
        if tls_cert and tls_key:
            credentials = grpc.ssl_server_credentials([(Path(tls_key).read_bytes(), Path(tls_cert).read_bytes())])
            bound = self._server.add_secure_port(address, credentials)
        else:
            bound = self._server.add_insecure_port(address)
        if not bound:
            raise OSError(f"the Pub/Sub API server could not listen on {address} (is the port in use?)")
        self.port = bound
        self.target = grpc_target(host, bound)
        self.tls = bool(tls_cert and tls_key)
        self._server.start()

    @property
    def url(self) -> str:
        """``grpc://host:port`` (``grpcs://`` with TLS): the connection's ``pubsub_url`` extra."""
        return f"{'grpcs' if self.tls else 'grpc'}://{self.target}"

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """Cancel live streams and stop listening."""
        self._server.stop(grace).wait()
