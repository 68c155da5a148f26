"""Register secrets with Airflow's log masker, whichever Airflow 3.x module provides it."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def _find_mask_secret() -> Callable[..., Any] | None:
    for module in ("airflow.sdk.log", "airflow.sdk.execution_time.secrets_masker"):
        try:
            return getattr(importlib.import_module(module), "mask_secret")  # noqa: B009
        except (ImportError, AttributeError):
            continue
    return None


_mask_secret = _find_mask_secret()


def mask(secret: str | None) -> None:
    """Hide ``secret`` in every log line Airflow writes from now on (multi-line keys line by line too)."""
    if not secret or _mask_secret is None:
        return
    _mask_secret(secret)
    if "\n" in secret:
        for line in secret.splitlines():
            if len(line.strip()) > 8 and not line.startswith("-----"):
                _mask_secret(line.strip())
