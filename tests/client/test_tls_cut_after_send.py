"""A TLS session cut after the request was written: a write is never reported as "not sent".

urllib3 raises the same ``SSLError`` for a TLS failure while the answer is read as for one in the
handshake. Only handshake-only causes (an untrusted certificate, a server that does not speak TLS, a
refused handshake) prove nothing was sent; an abrupt end of the session after the request (no TLS
close_notify: a middlebox or a crashed server) may follow a create Salesforce applied. A create must
then come back as ``SalesforceOutcomeUnknownError``, which operators never re-send, not as a plain
connection failure, which they would send again on a retry.
"""

from __future__ import annotations

import socket
import ssl
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_provider_sfpy.client import (
    Client,
    RetryPolicy,
    SalesforceConnectionError,
    SalesforceOutcomeUnknownError,
)
from airflow_provider_sfpy.emulator.certs import tls_key_pair

VERSIONS = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: 61\r\n\r\n"
    b'[{"label":"x","url":"/services/data/v62.0","version":"62.0"}]'
)


@pytest.fixture
def cuts_after_reading(tmp_path: Path) -> Iterator[tuple[str, str, list[bytes]]]:
    """A TLS server on loopback that reads each request, then resets the TCP connection under the TLS session
    (no close_notify alert): the client's read ends in ``SSLEOFError``, an ``SSLError`` to requests."""
    pair = tls_key_pair()
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_text(pair.cert_pem)
    key.write_text(pair.private_key_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    received: list[bytes] = []

    def serve() -> None:
        while True:
            try:
                raw, _ = listener.accept()
            except OSError:
                return
            try:
                with context.wrap_socket(raw, server_side=True) as tls:
                    request = tls.recv(65536)
                    if request.startswith(b"GET /services/data/ "):  # the version check: answered
                        tls.sendall(VERSIONS)
                        continue
                    received.append(request)
                    tls.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # reset on close
            except OSError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{listener.getsockname()[1]}", str(cert), received
    finally:
        listener.close()
        thread.join(timeout=5)


def test_a_create_cut_off_after_sending_is_an_unknown_outcome_sent_once(
    cuts_after_reading: tuple[str, str, list[bytes]],
) -> None:
    url, ca_bundle, received = cuts_after_reading
    client = Client.from_session(
        url,
        "00Dtls!session",
        version="62.0",
        ca_bundle=ca_bundle,
        retry=RetryPolicy(max_attempts=3, initial_wait=0.01, max_wait=0.01),
    )
    with pytest.raises(SalesforceOutcomeUnknownError, match="may or may not have been applied"):
        client.sobjects(object_type="Account").insert({"Name": "Acme"})
    assert len(received) == 1 and received[0].startswith(b"POST /services/data/v62.0/sobjects/Account")


def test_a_read_cut_off_the_same_way_is_retried_as_a_connection_failure(
    cuts_after_reading: tuple[str, str, list[bytes]],
) -> None:
    url, ca_bundle, received = cuts_after_reading
    client = Client.from_session(
        url,
        "00Dtls!session",
        version="62.0",
        ca_bundle=ca_bundle,
        retry=RetryPolicy(max_attempts=3, initial_wait=0.01, max_wait=0.01),
    )
    with pytest.raises(SalesforceConnectionError) as caught:
        client.query("SELECT Id FROM Account")
    assert not isinstance(caught.value, SalesforceOutcomeUnknownError)
    assert len(received) >= 1
