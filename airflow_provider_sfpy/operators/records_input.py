"""Normalising the records an operator is given: a literal, a rendered JSON template, or an XCom value."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any


def as_record_list(value: Any, *, what: str = "records") -> list[dict[str, Any]]:
    """One record or many, as a list of dicts; JSON text (a rendered template) is parsed."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return []
        try:
            value = json.loads(text)
        except ValueError:
            raise ValueError(f"{what} is text but not JSON: {text[:80]!r}...") from None
    if isinstance(value, Mapping):
        return [dict(value)]
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        records = []
        for index, item in enumerate(value):
            if not isinstance(item, Mapping):
                raise ValueError(f"{what}[{index}] is {type(item).__name__}, not a record (a dict of field values)")
            records.append(dict(item))
        return records
    if value is None:
        return []
    raise ValueError(f"{what} must be a dict, a list of dicts or JSON text, not {type(value).__name__}")


def as_id_list(value: Any) -> list[str]:
    """Record ids from a list, a comma-separated string, JSON text or records carrying ``Id``."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            value = json.loads(text)
        else:
            return [part.strip() for part in text.split(",") if part.strip()]
    ids = []
    for item in value or []:
        if isinstance(item, Mapping):
            item = item.get("Id") or item.get("id")
        if item:
            ids.append(str(item))
    return ids
