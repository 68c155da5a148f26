"""API version handling: Salesforce versions are numbers ("9.0" < "60.0"), never compared as strings."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from airflow_provider_sfpy.client.errors import SalesforceConfigError, SalesforceError


def normalize_version(version: str | float | int) -> str:
    """``60``, ``60.0``, ``"v60.0"`` -> ``"60.0"``."""
    text = str(version).strip().lstrip("vV")
    try:
        number = float(text)
    except ValueError:
        raise SalesforceConfigError(f"API version {version!r} is not a number like '60.0'") from None
    if number <= 0:
        raise SalesforceConfigError(f"API version {version!r} must be positive, like '60.0'")
    return f"{number:.1f}"


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def pick_highest_version(versions: Iterable[dict[str, Any]]) -> str:
    """The highest ``version`` in a ``GET /services/data/`` answer, compared numerically."""
    found = [normalize_version(str(entry["version"])) for entry in versions if entry.get("version")]
    if not found:
        raise SalesforceError("the server listed no API versions at /services/data/")
    return max(found, key=version_key)
