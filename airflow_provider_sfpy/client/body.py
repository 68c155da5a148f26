"""Turning a response's bytes into Python: JSON, text, CSV or bytes, chosen by content type.

Kept apart from the client so the query stream can fetch a page's bytes on one thread and decode
them on another.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import requests


def _json_decoder() -> Callable[[bytes], Any]:
    """msgspec decodes JSON about twice as fast as the stdlib; Airflow installs it, the client doesn't need it."""
    try:
        from msgspec.json import decode

        return decode
    except ImportError:  # pragma: no cover - the client used without Airflow
        return json.loads


json_decode = _json_decoder()


def decode_body(response: requests.Response) -> Any:
    """JSON to Python, CSV/text to ``str`` (never ``None`` for CSV), other bytes as they are; 204 to ``None``."""
    content_type = response.headers.get("Content-Type", "")
    if content_type.startswith("text/csv"):
        # A CSV endpoint always yields text, even an empty one: callers never have to test for None.
        response.encoding = response.encoding or "utf-8"
        return response.text
    if response.status_code == 204 or not response.content:
        return None
    if "json" in content_type:
        return json_decode(response.content)
    if content_type.startswith("text/"):
        response.encoding = response.encoding or "utf-8"
        return response.text
    return response.content
