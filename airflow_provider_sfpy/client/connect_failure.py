"""Why a connection to the server could not be made, in words a user can act on.

``requests`` (urllib3) and ``httpx`` (httpcore, anyio) wrap the operating system's and OpenSSL's
errors in their own, and the reason a user needs sits at the bottom of the chain: nothing listening
on the port, a host name that does not exist, a certificate this machine does not trust, an
``https`` URL pointing at a plain-HTTP server. ``diagnose`` walks the chain (causes, contexts,
urllib3's wrapped ``reason``, exception groups) for it, so both transports name the host, the port,
the reason and what to try in the same words, and ``kind`` tells ``retry.py`` whether trying again
can help:

- a host name that does not exist, and a refused connection on this machine (nothing is listening
  on a loopback port: a local server that was not started, or one that closes every TLS handshake),
  fail at once;
- so do TLS failures (an untrusted certificate, a server answering the TLS handshake in plain HTTP,
  a handshake the server refuses): the same handshake would fail the same way;
- a refused connection to another host (a load balancer restarting), a connect timeout, a DNS
  server that cannot be reached, a proxy failing and a handshake cut off on the way are retried as
  before: nothing reached Salesforce, and they pass.

Only the operating system's or OpenSSL's own words are quoted (``Connection refused``,
``WRONG_VERSION_NUMBER``), never a wrapper's text: those include the request's URL, and with it the
query string, which may hold customer data (SOQL).

OpenSSL reports non-TLS bytes in answer to a ClientHello as ``WRONG_VERSION_NUMBER`` (1.1, 3.0 and
3.1) or ``RECORD_LAYER_FAILURE`` (3.2 and later; urllib3 recognises both, urllib3/urllib3#3271).
"""

from __future__ import annotations

import enum
import errno
import os
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

from airflow_provider_sfpy.client.retry import FailureKind
from airflow_provider_sfpy.client.urls import is_loopback_host

#: OpenSSL's reasons for a first answer that is not a TLS record (a plain-HTTP server's "HTTP/1.1 400").
NOT_TLS_REASONS = frozenset({"WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "UNKNOWN_PROTOCOL", "HTTP_REQUEST"})
#: OpenSSL's reasons for a handshake the other side closed before it was done.
CUT_OFF_REASONS = frozenset({"UNEXPECTED_EOF_WHILE_READING", "EOF"})
#: getaddrinfo errors meaning the name does not exist (as opposed to a DNS server that did not answer).
NO_SUCH_NAME_ERRORS = frozenset(
    code for code in (getattr(socket, "EAI_NONAME", None), getattr(socket, "EAI_NODATA", None)) if code is not None
)
LOGIN_URL_EXAMPLES = "login.salesforce.com, test.salesforce.com, or a My Domain such as acme.my.salesforce.com"


class Cause(enum.Enum):
    """Why no connection was made; the value is the short form shown in retry warnings."""

    REFUSED = "connection refused"
    NO_SUCH_HOST = "host name not found"
    DNS_UNAVAILABLE = "host name lookup failed"
    CONNECT_TIMEOUT = "connect timeout"
    PROXY = "proxy failed"
    TLS_CERTIFICATE = "TLS certificate not trusted"
    TLS_NOT_TLS = "not a TLS server"
    TLS_HANDSHAKE = "TLS handshake refused"
    TLS_CUT_OFF = "TLS handshake cut off"
    OTHER = "could not connect"


@dataclass(frozen=True)
class ConnectFailure:
    """A connection that could not be made (nothing was sent), why, and what to tell the user."""

    cause: Cause
    host: str
    port: int
    #: The operating system's or OpenSSL's words (never a URL).
    reason: str
    connect_timeout: float | None = None

    @property
    def address(self) -> str:
        return _address(self.host, self.port)

    @property
    def on_this_machine(self) -> bool:
        return is_loopback_host(self.host)

    @property
    def kind(self) -> FailureKind:
        """For ``retry.verdict_for_exception``: whether trying again can help."""
        if self.cause in (Cause.TLS_CERTIFICATE, Cause.TLS_NOT_TLS, Cause.TLS_HANDSHAKE):
            return FailureKind.TLS
        if self.cause is Cause.NO_SUCH_HOST:
            return FailureKind.UNREACHABLE
        if self.cause in (Cause.REFUSED, Cause.TLS_CUT_OFF) and self.on_this_machine:
            return FailureKind.UNREACHABLE
        return FailureKind.NOT_SENT

    @property
    def summary(self) -> str:
        """One line for a retry warning: ``10.0.0.5:443: connection refused (Connection refused)``."""
        return f"{self.address}: {self.cause.value} ({self.reason})"

    @property
    def message(self) -> str:
        """What happened, what it means and what to try."""
        return _MESSAGES[self.cause](self)


def _refused(f: ConnectFailure) -> str:
    if f.on_this_machine:
        return (
            f"could not connect to {f.address}: connection refused, nothing is listening on that port on this "
            "machine. Start the server first (a local emulator: run `sfpy-emulator`, which prints its URL) or "
            "correct the port in the login URL or instance URL. Not retried: a port nobody listens on here does "
            "not open by waiting."
        )
    return (
        f"could not connect to {f.address}: connection refused: the host answered, but nothing "
        "accepted the connection on that port (a server or load balancer restarting, or the wrong host or "
        "port). Check the host and port of the login URL or instance URL, and firewalls in between."
    )


def _no_such_host(f: ConnectFailure) -> str:
    return (
        f"could not connect to {f.address}: the host name {f.host!r} does not exist (DNS: {f.reason}). Check "
        f"its spelling in the login URL or instance URL ({LOGIN_URL_EXAMPLES}). Not retried: a name that does "
        "not exist does not appear by waiting."
    )


def _dns_unavailable(f: ConnectFailure) -> str:
    return (
        f"could not connect to {f.address}: the host name could not be looked up (DNS: {f.reason}). Check "
        "this machine's network and DNS settings."
    )


def _connect_timeout(f: ConnectFailure) -> str:
    within = f" within {f.connect_timeout:g} s" if f.connect_timeout else ""
    return (
        f"could not connect to {f.address}: no answer{within} (connect timeout). Check the host and port, "
        "the connection's proxies, and firewalls between this machine and the server."
    )


def _proxy(f: ConnectFailure) -> str:
    return (
        f"could not connect to {f.address} through the proxy ({f.reason}). Check the connection's proxies "
        f"setting (the proxy's host and port) and that the proxy lets this machine reach {f.host}."
    )


def _certificate(f: ConnectFailure) -> str:
    return (
        f"TLS certificate verification failed for {f.address} ({f.reason}). If the server uses a private CA "
        "(a TLS-inspecting proxy, an emulator started with --tls-cert), pass its certificate file as "
        "ca_bundle; verification cannot be disabled."
    )


def _not_tls(f: ConnectFailure) -> str:
    what = (
        f"the server at {f.address} answered the TLS handshake with something that is not TLS ({f.reason}), "
        "most likely plain HTTP: it does not speak https on that port."
    )
    if f.on_this_machine:
        return (
            f"{what} A local emulator (`sfpy-emulator` without --tls-cert) speaks plain HTTP: use "
            f"http://{f.address} as the login URL (the connection's host) or instance URL. Not retried."
        )
    return (
        f"{what} Check the port in the URL (https is usually 443) and the connection's proxies (a proxy "
        "that speaks plain HTTP given as https://). Not retried."
    )


def _handshake(f: ConnectFailure) -> str:
    return (
        f"the TLS handshake with {f.address} failed ({f.reason}): the server and this client share no TLS "
        "version or cipher, or something in between (a proxy, a firewall) interferes with TLS. Check that the "
        "URL points at Salesforce, and the connection's proxies. Not retried."
    )


def _cut_off(f: ConnectFailure) -> str:
    if f.on_this_machine:
        return (
            f"the server at {f.address} closed the connection during the TLS handshake ({f.reason}): it does "
            f"not seem to speak https on that port. For a local emulator without --tls-cert, use "
            f"http://{f.address} as the login URL (the connection's host) or instance URL. Not retried."
        )
    return (
        f"the connection to {f.address} was closed during the TLS handshake ({f.reason}): the server, or a "
        "proxy or load balancer in between, dropped it. Check the host and port, and the connection's proxies."
    )


def _other(f: ConnectFailure) -> str:
    return f"could not connect to {f.address} ({f.reason}). Check the host and port, and this machine's network."


_MESSAGES = {
    Cause.REFUSED: _refused,
    Cause.NO_SUCH_HOST: _no_such_host,
    Cause.DNS_UNAVAILABLE: _dns_unavailable,
    Cause.CONNECT_TIMEOUT: _connect_timeout,
    Cause.PROXY: _proxy,
    Cause.TLS_CERTIFICATE: _certificate,
    Cause.TLS_NOT_TLS: _not_tls,
    Cause.TLS_HANDSHAKE: _handshake,
    Cause.TLS_CUT_OFF: _cut_off,
    Cause.OTHER: _other,
}


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def host_and_port(url: str) -> tuple[str, int]:
    """The host and port a request to ``url`` connects to (the scheme's default port when none is given)."""
    parts = urlsplit(url)
    default = 80 if parts.scheme.lower() == "http" else 443
    try:
        port = parts.port or default
    except ValueError:  # a port out of range: the connection failed on it, name the default
        port = default
    return parts.hostname or "", port


def address_of(url: str) -> str:
    """``host:port`` of ``url``, for messages (``[::1]:8080`` for an IPv6 address)."""
    return _address(*host_and_port(url))


def exception_chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and every exception behind it: causes, contexts, wrapped arguments and ``reason``s
    (urllib3's ``MaxRetryError``), the members of exception groups. Each once, outermost first."""
    seen: set[int] = set()
    pending = [exc]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        linked = [current.__cause__, current.__context__, getattr(current, "reason", None), *current.args]
        linked.extend(getattr(current, "exceptions", None) or ())
        pending.extend(item for item in linked if isinstance(item, BaseException))


def _ssl_reason(error: ssl.SSLError) -> str:
    reason = error.reason or type(error).__name__
    return f"{error.library}: {reason}" if error.library else str(reason)


def _os_reason(error: OSError) -> str:
    """The system's words for an OS error (asyncio words a refusal "Connect call failed (address)")."""
    if not isinstance(error, socket.gaierror) and isinstance(error.errno, int) and error.errno > 0:
        return os.strerror(error.errno)
    return str(error.strerror or error)


def _cause_and_reason(exc: BaseException, *, timed_out: bool, via_proxy: bool) -> tuple[Cause, str]:
    chain = list(exception_chain(exc))
    for item in chain:
        if isinstance(item, ssl.SSLCertVerificationError):
            return Cause.TLS_CERTIFICATE, str(item.verify_message or item.reason or "certificate verify failed")
    for item in chain:
        if isinstance(item, ssl.SSLError) and not isinstance(item, ssl.SSLCertVerificationError):
            if item.reason in NOT_TLS_REASONS:
                return Cause.TLS_NOT_TLS, _ssl_reason(item)
            if item.reason in CUT_OFF_REASONS or isinstance(item, (ssl.SSLEOFError, ssl.SSLZeroReturnError)):
                return Cause.TLS_CUT_OFF, _ssl_reason(item)
            if not via_proxy:
                return Cause.TLS_HANDSHAKE, _ssl_reason(item)
    os_error = next((item for item in chain if isinstance(item, OSError) and item.errno is not None), None)
    reason = _os_reason(os_error) if os_error is not None else type(exc).__name__
    if via_proxy:
        return Cause.PROXY, reason
    if timed_out:
        return Cause.CONNECT_TIMEOUT, "timed out"
    if isinstance(os_error, socket.gaierror):
        return (Cause.NO_SUCH_HOST if os_error.errno in NO_SUCH_NAME_ERRORS else Cause.DNS_UNAVAILABLE), reason
    if isinstance(os_error, ConnectionRefusedError) or (os_error is not None and os_error.errno == errno.ECONNREFUSED):
        return Cause.REFUSED, reason
    return Cause.OTHER, reason


def diagnose(
    exc: BaseException,
    url: str,
    *,
    timed_out: bool = False,
    via_proxy: bool = False,
    connect_timeout: float | None = None,
) -> ConnectFailure:
    """Why connecting for ``url`` failed with ``exc`` (an error raised before anything was sent).

    ``timed_out``: the HTTP library reported a connect timeout; ``via_proxy``: it reported a proxy
    failure (the host and port named are then the target's, the reason the proxy's).
    """
    host, port = host_and_port(url)
    cause, reason = _cause_and_reason(exc, timed_out=timed_out, via_proxy=via_proxy)
    return ConnectFailure(cause=cause, host=host, port=port, reason=reason, connect_timeout=connect_timeout)
