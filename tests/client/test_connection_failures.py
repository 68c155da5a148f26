"""A connection that cannot be made says where (host and port), why and what to try, in both clients.

Each case is a real failure on this machine: a closed loopback port, a ``.invalid`` host name (reserved:
it never resolves), ``https://`` to the plain-HTTP emulator, the TLS emulator's self-signed certificate
without ``ca_bundle``, a loopback server that answers the TLS ClientHello with a ``handshake_failure``
alert, and a closed port on this machine's own non-loopback address (a refusal from "another host").

What cannot be cured by waiting fails at once, with the product's default retry policy (no test policy
that would hide the waits): before this change a refused loopback port and an unknown host took about
8 s of retries and read ``could not complete the request to 127.0.0.1: ConnectionError (not sent)``.
A refusal from another host is still retried, and says so in each retry warning.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from airflow_provider_sfpy.client import Client, PasswordFlow, RetryPolicy, SalesforceConnectionError
from airflow_provider_sfpy.client.aio import AsyncClient

#: Loose bound for "failed at once": the default policy's retries took about 8 s.
FAST_FAILURE_SECONDS = 2.0
#: A TLS record: alert (21), TLS 1.2, 2 bytes: fatal (2), handshake_failure (40).
HANDSHAKE_FAILURE_ALERT = bytes([21, 3, 3, 0, 2, 2, 40])
UNKNOWN_HOST = "sfpy-no-such-host.invalid"
#: Where a retry is expected: the product's policy, minus the patience.
FAST_RETRY = RetryPolicy(max_attempts=3, initial_wait=0.01, max_wait=0.05, jitter=0.01)


def closed_port(address: str = "127.0.0.1") -> int:
    """A port on ``address`` that nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((address, 0))
        port: int = probe.getsockname()[1]
    return port


def this_machines_other_address() -> str | None:
    """This machine's address on its default route (not loopback), or None. A UDP "connect" sends nothing."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: only the route is looked up
            address: str = probe.getsockname()[0]
        except OSError:
            return None
    return None if ipaddress.ip_address(address).is_loopback else address


class _AlertHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.recv(4096)  # the ClientHello
        self.request.sendall(HANDSHAKE_FAILURE_ALERT)


@contextmanager
def tls_refusing_server() -> Iterator[int]:
    """A loopback server that refuses every TLS handshake (as a server sharing no cipher with us would)."""
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), _AlertHandler) as server:
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        thread.start()
        try:
            yield server.server_address[1]
        finally:
            server.shutdown()
            thread.join()


def password_client(emulator: Any, login_url: str, retry: RetryPolicy | None = None) -> Client:
    return Client(
        emulator.username,
        emulator.password,
        emulator.client_id,
        emulator.client_secret,
        login_url=login_url,
        retry=retry,
    )


def async_login(emulator: Any, login_url: str, retry: RetryPolicy | None = None) -> None:
    flow = PasswordFlow(emulator.username, emulator.password, emulator.client_id, emulator.client_secret)

    async def login() -> None:
        async with AsyncClient(login_url=login_url, auth=flow, retry=retry) as client:
            await client.login()

    asyncio.run(login())


def failure_of(login: Callable[[], object]) -> tuple[str, float]:
    """The connection error's text and how long the login took to fail."""
    started = time.monotonic()
    with pytest.raises(SalesforceConnectionError) as caught:
        login()
    return str(caught.value), time.monotonic() - started


def both_clients(emulator: Any, login_url: str, retry: RetryPolicy | None = None) -> list[tuple[str, float]]:
    """The failure as the sync client and the async client report it."""
    return [
        failure_of(lambda: password_client(emulator, login_url, retry).login()),
        failure_of(lambda: async_login(emulator, login_url, retry)),
    ]


def retry_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "retr" in r.getMessage()]


@pytest.fixture
def client_warnings(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.WARNING, logger="airflow_provider_sfpy.client")
    return caplog


def test_a_refused_loopback_port_is_named_and_fails_at_once(
    emulator: Any, client_warnings: pytest.LogCaptureFixture
) -> None:
    port = closed_port()
    for text, seconds in both_clients(emulator, f"http://127.0.0.1:{port}"):
        assert f"127.0.0.1:{port}: connection refused" in text, text
        assert "nothing is listening on that port on this machine" in text and "sfpy-emulator" in text
        assert seconds < FAST_FAILURE_SECONDS, (seconds, text)
    assert retry_warnings(client_warnings) == []


def test_an_unknown_host_name_is_named_and_fails_at_once(
    emulator: Any, client_warnings: pytest.LogCaptureFixture
) -> None:
    try:
        socket.getaddrinfo(UNKNOWN_HOST, 443)
    except socket.gaierror as exc:
        if exc.errno != socket.EAI_NONAME:
            pytest.skip(f"this machine's resolver cannot say a name does not exist ({exc.strerror})")
    for text, seconds in both_clients(emulator, f"https://{UNKNOWN_HOST}"):
        assert f"{UNKNOWN_HOST}:443: the host name '{UNKNOWN_HOST}' does not exist (DNS: " in text, text
        assert "login.salesforce.com, test.salesforce.com" in text
        assert seconds < FAST_FAILURE_SECONDS, (seconds, text)
    assert retry_warnings(client_warnings) == []


def test_https_to_the_plain_http_emulator_says_to_use_http(
    emulator: Any, client_warnings: pytest.LogCaptureFixture
) -> None:
    assert emulator.base_url.startswith("http://")
    address = emulator.base_url.removeprefix("http://")
    for text, seconds in both_clients(emulator, f"https://{address}"):
        assert f"the server at {address} answered the TLS handshake with something that is not TLS" in text, text
        assert f"use http://{address} as the login URL" in text
        assert "certificate" not in text and "ca_bundle" not in text  # not sent the wrong way
        assert seconds < FAST_FAILURE_SECONDS, (seconds, text)
    assert retry_warnings(client_warnings) == []


def test_an_untrusted_certificate_names_the_address_and_the_reason(emulator_tls: Any) -> None:
    address = emulator_tls.base_url.removeprefix("https://")
    for text, _ in both_clients(emulator_tls, emulator_tls.base_url):
        assert f"TLS certificate verification failed for {address} (self-signed certificate)" in text, text
        assert "ca_bundle" in text


def test_a_refused_tls_handshake_is_named_and_not_retried(
    emulator: Any, client_warnings: pytest.LogCaptureFixture
) -> None:
    with tls_refusing_server() as port:
        for text, seconds in both_clients(emulator, f"https://127.0.0.1:{port}"):
            assert f"the TLS handshake with 127.0.0.1:{port} failed (SSL: SSLV3_ALERT_HANDSHAKE_FAILURE)" in text
            assert seconds < FAST_FAILURE_SECONDS, (seconds, text)
    assert retry_warnings(client_warnings) == []


def test_a_refusal_from_another_host_is_retried_and_named(
    emulator: Any, client_warnings: pytest.LogCaptureFixture
) -> None:
    address = this_machines_other_address()
    if address is None:
        pytest.skip("this machine has no non-loopback address")
    port = closed_port(address)
    for text, _ in both_clients(emulator, f"https://{address}:{port}", FAST_RETRY):
        assert f"could not connect to {address}:{port}: connection refused: the host answered" in text, text
    warnings = retry_warnings(client_warnings)
    assert len(warnings) == 2 * (FAST_RETRY.max_attempts - 1), warnings  # every retry, in both clients
    assert all(f"{address}:{port}: connection refused (Connection refused)" in w for w in warnings), warnings
