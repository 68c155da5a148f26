"""``@{referenceId.path}`` in a composite subrequest's URL or body: a value from an earlier subrequest's
response body.

A path walks the body with ``.name`` (an object member) and ``[n]`` (an array element):
``@{NewAccount.id}``, ``@{AccountInfo.records[0].Id}``. In a URL the value is written as text; in a
body, a string that is exactly one reference takes the value itself (a number stays a number), and
references inside a longer string are written as text. A reference to a subrequest that has not run,
failed, or lacks the path cannot be resolved: the subrequest that holds it is not sent, and answers
400 PROCESSING_HALTED with Salesforce's "Invalid reference specified" message.

Reference: Composite subrequest, https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/requests_composite.htm
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

_REFERENCE = re.compile(r"@\{([^{}]*)\}")
_STEP = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]")


class UnresolvedReference(Exception):
    """A reference without a value; ``message`` is Salesforce's text for it."""

    def __init__(self, expression: str) -> None:
        reference_id = re.split(r"[.\[]", expression, maxsplit=1)[0]
        self.message = (
            f"Invalid reference specified. No value for {expression} found in {reference_id}. "
            f"Provided referenceId ('{reference_id}') must start with a letter or a number, and it can "
            "contain only letters, numbers and underscores ('_')."
        )
        super().__init__(self.message)


def resolve_url(url: str, bodies: Mapping[str, Any]) -> str:
    """``url`` with each reference replaced by its value as text."""
    return _REFERENCE.sub(lambda m: _text(_lookup(m.group(1), bodies)), url)


def resolve_body(value: Any, bodies: Mapping[str, Any]) -> Any:
    """A subrequest body (any JSON value) with its references replaced."""
    if isinstance(value, dict):
        return {key: resolve_body(item, bodies) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve_body(item, bodies) for item in value]
    if not isinstance(value, str):
        return value
    whole = _REFERENCE.fullmatch(value)
    if whole is not None:
        return _lookup(whole.group(1), bodies)
    return _REFERENCE.sub(lambda m: _text(_lookup(m.group(1), bodies)), value)


def _lookup(expression: str, bodies: Mapping[str, Any]) -> Any:
    reference_id = re.split(r"[.\[]", expression, maxsplit=1)[0]
    if reference_id not in bodies:
        raise UnresolvedReference(expression)
    value = bodies[reference_id]
    rest = expression[len(reference_id) :]
    position = 0
    for step in _STEP.finditer(rest):
        if step.start() != position:
            raise UnresolvedReference(expression)
        position = step.end()
        value = _member(value, step.group(1)) if step.group(1) is not None else _element(value, int(step.group(2)))
        if value is None:
            raise UnresolvedReference(expression)
    if position != len(rest) or value is None:
        raise UnresolvedReference(expression)
    return value


def _member(value: Any, name: str) -> Any:
    """An object member by name (exactly, else ignoring case, as field names are)."""
    if not isinstance(value, dict):
        return None
    if name in value:
        return value[name]
    return next((item for key, item in value.items() if key.lower() == name.lower()), None)


def _element(value: Any, index: int) -> Any:
    return value[index] if isinstance(value, list) and index < len(value) else None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)
