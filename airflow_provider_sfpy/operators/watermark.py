"""Where an incremental export keeps its watermark: the asset state store of its outlet asset.

Airflow 3.3 gives every asset a small key/value store that outlives DAG runs
(``context["asset_state_store"][asset]``, AIP-103). An incremental export keeps one JSON value
there, under ``sfpy_watermark``: the highest key it has written, and what that watermark is valid for
(the org, the task, the query's object, key and condition). The value is written only after the
export's files are in place, so a failed or killed run leaves the previous watermark.

**Which asset.** The operator's first ``Asset`` outlet. By default the operator declares
``Asset("salesforce://<sfpy_conn_id>/<Object>")``: assets must exist when the DAG is parsed, and the
org id is known only after a login, so the connection id names the org in the URI. The org id is
recorded in the value and checked on every run: if the connection now logs into another org (a
sandbox refreshed, a connection re-pointed), the run refuses instead of applying one org's watermark
to another's data.

**Airflow 3.1 and 3.2** have no asset state store. ``incremental_key`` is refused there when the DAG
is parsed (:func:`require_asset_state_store`); the watermark is not emulated with Variables, which
have no asset scope and no atomic hand-over between runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from airflow import __version__ as airflow_version
from airflow.sdk import Asset
from packaging.version import Version

#: The key of the watermark value in the outlet asset's state store.
WATERMARK_KEY = "sfpy_watermark"
#: Bumped when the layout of the stored value changes; a value of another version is not trusted.
RECORD_VERSION = 1
ASSET_SCHEME = "salesforce"
#: The first Airflow with ``context["asset_state_store"]``.
ASSET_STATE_STORE_SINCE = Version("3.3")


class AssetStateStoreUnavailableError(RuntimeError):
    """This Airflow has no asset state store, so there is nowhere to keep a watermark."""


def asset_state_store_available() -> bool:
    """Whether this Airflow gives tasks ``context["asset_state_store"]`` (3.3 and later)."""
    return Version(Version(airflow_version).base_version) >= ASSET_STATE_STORE_SINCE


def require_asset_state_store(feature: str = "incremental_key") -> None:
    """Refuse ``feature`` on an Airflow without an asset state store, saying what to do instead."""
    if not asset_state_store_available():
        raise AssetStateStoreUnavailableError(
            f"{feature} needs Airflow 3.3's asset_state_store, which keeps the watermark between runs; this is "
            f"Airflow {airflow_version}. Upgrade to Airflow 3.3 or later, or export without {feature} (for "
            "example with a fixed period: WHERE SystemModstamp = LAST_N_DAYS:1)."
        )


def default_outlet(sfpy_conn_id: str, object_name: str) -> Asset:
    """``Asset("salesforce://<conn id>/<Object>")``: the asset an incremental export declares by default."""
    return Asset(f"{ASSET_SCHEME}://{sfpy_conn_id}/{object_name}")


def watermark_asset(outlets: Sequence[Any]) -> Asset | None:
    """The outlet whose state store holds the watermark: the first ``Asset`` among ``outlets``."""
    return next((outlet for outlet in outlets if isinstance(outlet, Asset)), None)


class WatermarkStore:
    """The ``sfpy_watermark`` value of one asset's state store, as the running task sees it."""

    def __init__(self, context: Mapping[str, Any], asset: Asset) -> None:
        accessors = context.get("asset_state_store")
        if accessors is None:
            require_asset_state_store()
            raise AssetStateStoreUnavailableError(
                "this task was given no asset_state_store, so an incremental export cannot keep its watermark"
            )
        self.asset = asset
        self._accessor = accessors[asset]

    def load(self) -> dict[str, Any] | None:
        """The stored value, or ``None`` (nothing stored yet, or a layout this version does not know)."""
        value = self._accessor.get(WATERMARK_KEY)
        if not isinstance(value, dict) or value.get("version") != RECORD_VERSION:
            return None
        return value

    def save(self, value: Mapping[str, Any]) -> None:
        """Store ``value`` (plain JSON, a few hundred bytes) as the asset's watermark."""
        self._accessor.set(WATERMARK_KEY, {**value, "version": RECORD_VERSION})
