"""``changeOrigin`` of the changes made while handling one API call.

Salesforce fills ``changeOrigin`` only for changes made through an API (or Lightning Experience), as
``com/salesforce/api/<api>/<version>`` (``;client=<id>`` when the caller set a client id), where
``<api>`` is one of soap, rest, bulkapi, xmlrpc, oldsoap, toolingsoap, toolingrest, apex,
apexdebuggerrest; otherwise it is empty ("ChangeEventHeader Class",
https://developer.salesforce.com/docs/platform/apex-ref/references/apex-ref/apex-class-eventbus-changeeventheader.html).
A route says which API it serves with ``change_origin(...)``; the store's change capture reads it
when the transaction commits (a context variable, so it follows the request into worker threads
started with ``run_in_threadpool``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

_ORIGIN: ContextVar[str] = ContextVar("sfpy_change_origin", default="")


def origin_text(api: str, version: str, client: str | None = None) -> str:
    """``origin_text("rest", "64.0")`` -> ``com/salesforce/api/rest/64.0``."""
    text = f"com/salesforce/api/{api}/{version}"
    return f"{text};client={client}" if client else text


def current_origin() -> str:
    """The origin of the changes being made now ("" outside an API call)."""
    return _ORIGIN.get()


@contextlib.contextmanager
def change_origin(api: str, version: str, client: str | None = None) -> Iterator[None]:
    """Attribute the changes made inside the block to ``api`` at ``version``."""
    token = _ORIGIN.set(origin_text(api, version, client))
    try:
        yield
    finally:
        _ORIGIN.reset(token)
