"""Serving the emulator with uvicorn on a socket we bind ourselves.

Binding first (``--port 0`` included) means the real port is known before uvicorn starts, so the
ready line and the test harness can name it, and nothing races for the port in between.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import uvicorn
from starlette.types import ASGIApp

from airflow_provider_sfpy.emulator.app import create_app
from airflow_provider_sfpy.emulator.config import EmulatorConfig

if TYPE_CHECKING:
    from airflow_provider_sfpy.emulator.pubsub.server import PubSubOptions, PubSubServer

ACCESS_LOG_LEVELS = frozenset({"trace", "debug", "info"})


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: any free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


def server_url(host: str, port: int, tls: bool) -> str:
    """The URL clients use; a wildcard bind address is announced as the loopback address."""
    shown = {"0.0.0.0": "127.0.0.1", "::": "[::1]", "": "127.0.0.1"}.get(host, host)
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"{'https' if tls else 'http'}://{shown}:{port}"


KEEP_ALIVE_SECONDS = 120


class EmulatorServer(uvicorn.Server):
    """uvicorn's server, running ``before_shutdown`` callbacks before the app's own shutdown closes the store
    (the Pub/Sub API's streams read the store until they are stopped)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.before_shutdown: list[Callable[[], None]] = []

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for callback in self.before_shutdown:
            callback()
        await super().shutdown(sockets)


def make_server(
    app: ASGIApp,
    *,
    tls_cert: str | None = None,
    tls_key: str | None = None,
    log_level: str = "warning",
    log_config: dict[str, Any] | str | None = uvicorn.config.LOGGING_CONFIG,
) -> EmulatorServer:
    config = uvicorn.Config(
        app,
        log_level=log_level,
        log_config=log_config,
        access_log=log_level in ACCESS_LOG_LEVELS,
        lifespan="on",
        ssl_certfile=tls_cert,
        ssl_keyfile=tls_key,
        timeout_graceful_shutdown=5,
        # Salesforce keeps idle connections open far longer than uvicorn's 5 s default; clients that
        # poll every 5 s (simple-salesforce's bulk2 does) would otherwise race the server's close.
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )
    return EmulatorServer(config)


def wait_started(server: uvicorn.Server, timeout: float = 30.0, alive: Callable[[], bool] = lambda: True) -> bool:
    """Block until uvicorn is accepting connections (``False`` on timeout or if it died first)."""
    deadline = time.monotonic() + timeout
    while not server.started:
        if time.monotonic() > deadline or not alive():
            return False
        time.sleep(0.01)
    return True


def ready_line(url: str, username: str) -> str:
    """The line scripts wait for (``process.EmulatorProcess`` matches ``sfpy-emulator ready on URL``)."""
    return f"sfpy-emulator ready on {url} (user {username})"


def run(
    config: EmulatorConfig,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    tls_cert: str | None = None,
    tls_key: str | None = None,
    log_level: str = "warning",
    on_ready: Callable[[str, PubSubServer | None], None] | None = None,
    pubsub_port: int | None = None,
    pubsub_options: PubSubOptions | None = None,
) -> None:
    """Serve until interrupted. Once connections are accepted, ``on_ready`` gets the server's URL and
    the Pub/Sub API server (default: print the ready line). ``pubsub_port`` (0: any free port) also serves
    the Pub/Sub API over gRPC, on the same host and with the same certificate."""
    sock = bind_socket(host, port)
    url = server_url(host, sock.getsockname()[1], tls=bool(tls_cert))
    app = create_app(config)
    server = make_server(app, tls_cert=tls_cert, tls_key=tls_key, log_level=log_level)
    pubsub = None
    if pubsub_port is not None:
        from airflow_provider_sfpy.emulator.pubsub.server import PubSubOptions, PubSubServer, enable_change_events

        options = pubsub_options or PubSubOptions()
        enable_change_events(app.state.emulator.store, options.change_events)
        pubsub = PubSubServer(
            app.state.emulator, host=host, port=pubsub_port, tls_cert=tls_cert, tls_key=tls_key, options=options
        )
        server.before_shutdown.append(pubsub.stop)
    announce = on_ready or (lambda served_at, _: print(ready_line(served_at, config.username), flush=True))

    def announce_when_started() -> None:
        if wait_started(server, timeout=3600):
            announce(url, pubsub)

    threading.Thread(target=announce_when_started, name="sfpy-emulator-ready", daemon=True).start()
    server.run(sockets=[sock])
