"""Serving the emulator with uvicorn on a socket we bind ourselves.

Binding first (``--port 0`` included) means the real port is known before uvicorn starts, so the
ready line and the test harness can name it, and nothing races for the port in between.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from airflow_provider_sfpy.emulator.app import create_app
from airflow_provider_sfpy.emulator.config import EmulatorConfig

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


def make_server(
    app: ASGIApp,
    *,
    tls_cert: str | None = None,
    tls_key: str | None = None,
    log_level: str = "warning",
    log_config: dict[str, Any] | str | None = uvicorn.config.LOGGING_CONFIG,
) -> uvicorn.Server:
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
    return uvicorn.Server(config)


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
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve until interrupted. Once connections are accepted, ``on_ready`` gets the server's URL
    (default: print the ready line)."""
    sock = bind_socket(host, port)
    url = server_url(host, sock.getsockname()[1], tls=bool(tls_cert))
    server = make_server(create_app(config), tls_cert=tls_cert, tls_key=tls_key, log_level=log_level)
    announce = on_ready or (lambda served_at: print(ready_line(served_at, config.username), flush=True))

    def announce_when_started() -> None:
        if wait_started(server, timeout=3600):
            announce(url)

    threading.Thread(target=announce_when_started, name="sfpy-emulator-ready", daemon=True).start()
    server.run(sockets=[sock])
