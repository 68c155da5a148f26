"""What the incremental-export tests share: Airflow 3.3's state stores over dicts, and a task context.

``MemoryAssetStateStore`` has the API of ``context["asset_state_store"]`` (``store[asset].get/set``),
values through a JSON round trip as the metastore keeps them, and only the task's own assets, as
Airflow gives them; the real store is exercised under ``dag.test()`` in
``tests/dags/test_incremental_example.py``.
"""

from __future__ import annotations

import collections
import json
import types
import uuid
from typing import Any

from airflow.sdk import Asset


class MemoryAccessor:
    """One asset's state store."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def get(self, key: str, default: Any = None) -> Any:
        return json.loads(self.values[key]) if key in self.values else default

    def set(self, key: str, value: Any) -> None:
        if value is None:
            raise ValueError("Cannot set value as None")
        self.values[key] = json.dumps(value)

    def delete(self, key: str) -> None:
        self.values.pop(key, None)


class MemoryAssetStateStore:
    """``context["asset_state_store"]``: ``store[asset]`` for the assets the task declares."""

    def __init__(self, *assets: Asset) -> None:
        self.by_name = {asset.name: MemoryAccessor() for asset in assets}

    def __getitem__(self, asset: Asset) -> MemoryAccessor:
        try:
            return self.by_name[asset.name]
        except KeyError:
            raise KeyError(f"{asset!r} is not in this task's inlets or outlets") from None


class MemoryTaskStateStore(MemoryAccessor):
    """``context["task_state_store"]``: one task instance's store (``retention`` accepted and ignored)."""

    def set(self, key: str, value: Any, *, retention: Any = None) -> None:
        super().set(key, value)


def task_context(
    assets: MemoryAssetStateStore, *, conf: dict[str, Any] | None = None, task_state: MemoryTaskStateStore | None = None
) -> Any:
    """A task's context (a plain dict): the stores, ``dag_run.conf`` and ``outlet_events`` an export reads."""
    return {
        "asset_state_store": assets,
        "task_state_store": task_state if task_state is not None else MemoryTaskStateStore(),
        "dag_run": types.SimpleNamespace(conf=conf or {}),
        "outlet_events": collections.defaultdict(lambda: types.SimpleNamespace(extra={})),
    }


def unique_asset(object_name: str) -> Asset:
    """An outlet of its own per test, so no test sees another's watermark."""
    return Asset(f"salesforce://sfpy_default/{object_name}/{uuid.uuid4().hex[:12]}")
