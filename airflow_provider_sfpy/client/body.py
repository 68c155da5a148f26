"""Turning a response's bytes into Python: JSON, text, CSV or bytes, chosen by content type.

Kept apart from the client so the query stream can fetch a page's bytes on one thread and decode
them on another. An answer that cannot be what the endpoint serves (JSON that does not decode, an
HTML page from the REST API) raises ``SalesforceProtocolError`` naming the endpoint; its content is
never quoted (it may be customer data, or a login form echoed back).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests

from airflow_provider_sfpy.client.errors import SalesforceProtocolError


def _json_decoder() -> Callable[[bytes], Any]:
    """msgspec decodes JSON about twice as fast as the stdlib; Airflow installs it, the client doesn't need it."""
    try:
        from msgspec.json import decode

        return decode
    except ImportError:  # pragma: no cover - the client used without Airflow
        return json.loads


json_decode = _json_decoder()

#: REST API paths that serve files (a blob field, a file's content or rendition): any content type is
#: theirs to send. Every other ``/services/data/`` resource answers JSON, CSV or XML, never HTML.
_FILE_PATHS = re.compile(r"/sobjects/[^/]+/[^/]+/[^/]+/?$|/(?:content|rendition|versiondata)/?$", re.IGNORECASE)


def _endpoint(response: requests.Response) -> tuple[str | None, str]:
    method = response.request.method if response.request is not None else None
    return method, urlsplit(response.url).path


def looks_like_html(content: bytes, content_type: str) -> bool:
    head = content[:512].lstrip().lower()
    return "html" in content_type.lower() or head.startswith((b"<!doctype html", b"<html")) or b"<body" in head


def malformed_answer_error(
    problem: str, *, content: bytes, content_type: str, status: int, method: str | None, path: str
) -> SalesforceProtocolError:
    """The error for an answer the endpoint cannot have meant: what came, and the likely cause."""
    size = f"{len(content):,} bytes"
    if looks_like_html(content, content_type):
        cause = (
            "it is an HTML page, not the API's answer: a proxy, a login or maintenance page, or a wrong "
            "instance URL answered instead of Salesforce"
        )
    else:
        cause = "the answer was probably cut short or altered on the way (a dropped connection, a proxy)"
    return SalesforceProtocolError(
        f"the answer (HTTP {status}, {content_type or 'no content type'}, {size}) {problem}; {cause}",
        status=status,
        method=method,
        url=path,
    )


def decode_json_answer(content: bytes, *, content_type: str, status: int, method: str | None, path: str) -> Any:
    """JSON bytes to Python; anything that does not decode raises ``SalesforceProtocolError`` naming the endpoint."""
    try:
        return json_decode(content)
    except ValueError as exc:  # msgspec's DecodeError and json's JSONDecodeError are both ValueErrors
        # Their messages name a position and what was expected, never the content.
        reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
    error = malformed_answer_error(
        f"is not valid JSON ({reason})",
        content=content,
        content_type=content_type,
        status=status,
        method=method,
        path=path,
    )
    del content  # the answer may echo a token: keep it out of the locals a traceback printer shows
    raise error


def decode_body(response: requests.Response) -> Any:
    """JSON to Python, CSV/text to ``str`` (never ``None`` for CSV), other bytes as they are; 204 to ``None``.

    JSON that does not decode, and an HTML page from a REST API resource that never serves one,
    raise ``SalesforceProtocolError`` naming the endpoint.
    """
    content_type = response.headers.get("Content-Type", "")
    if content_type.startswith("text/csv"):
        # A CSV endpoint always yields text, even an empty one: callers never have to test for None.
        response.encoding = response.encoding or "utf-8"
        return response.text
    if response.status_code == 204 or not response.content:
        return None
    method, path = _endpoint(response)
    if "json" in content_type:
        return decode_json_answer(
            response.content, content_type=content_type, status=response.status_code, method=method, path=path
        )
    if content_type.startswith("text/html") and "/services/data/" in path and not _FILE_PATHS.search(path):
        raise malformed_answer_error(
            "is not JSON",
            content=response.content,
            content_type=content_type,
            status=response.status_code,
            method=method,
            path=path,
        )
    if content_type.startswith("text/"):
        response.encoding = response.encoding or "utf-8"
        return response.text
    return response.content
