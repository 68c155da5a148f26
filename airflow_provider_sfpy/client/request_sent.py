"""A signal at the moment a request has been written to the socket, before its answer is awaited.

``requests`` sends a request and waits for the answer in one call, so nothing else can happen
between the two on that thread. The query stream needs that moment: it hands page N to the
consumer only once the request for page N+1 is on the wire, because a consumer that starts
decoding first holds the GIL and the request would wait behind it (Salesforce would then build
page N+1 only after page N is written, instead of meanwhile).

The signal comes from urllib3 connection classes used only by the adapter below, which the
transport mounts on sessions it creates itself. Without it (a caller's own session, a proxy)
nothing is signalled and callers fall back to acting when the call returns.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_listener = threading.local()


@contextmanager
def on_request_sent(callback: Callable[[], object]) -> Iterator[None]:
    """Call ``callback`` on this thread after each request sent inside the block (retries included)."""
    previous = getattr(_listener, "callback", None)
    _listener.callback = callback
    try:
        yield
    finally:
        _listener.callback = previous


def _notify() -> None:
    callback = getattr(_listener, "callback", None)
    if callback is not None:
        callback()


class _SignallingHTTPConnection(HTTPConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        super().request(*args, **kwargs)
        _notify()


class _SignallingHTTPSConnection(HTTPSConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        super().request(*args, **kwargs)
        _notify()


class _SignallingHTTPPool(HTTPConnectionPool):
    ConnectionCls = _SignallingHTTPConnection


class _SignallingHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _SignallingHTTPSConnection


class SignallingAdapter(HTTPAdapter):
    """``requests``' default adapter whose connections call the ``on_request_sent`` listener."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _SignallingHTTPPool, "https": _SignallingHTTPSPool}
