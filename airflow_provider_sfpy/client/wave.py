"""CRM Analytics (Wave) calls: dataset lookup and SAQL queries, as in SalesforcePy."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from airflow_provider_sfpy.client.result import Result

if TYPE_CHECKING:
    from airflow_provider_sfpy.client.client import Client


class Wave:
    def __init__(self, client: Client) -> None:
        self._client = client

    def dataset(self, id_or_api_name: str) -> Result:
        """``GET /wave/datasets/{idOrApiName}``: id, name, currentVersionId, ..."""
        return self._client.request("GET", self._client.data_path(f"wave/datasets/{quote(id_or_api_name, safe='')}"))

    def query(self, query: Mapping[str, Any] | str) -> Result:
        """Run SAQL (``POST /wave/query`` with ``{"query": ...}``); read-only, so safe to retry."""
        body = {"query": query} if isinstance(query, str) else dict(query)
        return self._client.request("POST", self._client.data_path("wave/query"), json=body, idempotent=True)
