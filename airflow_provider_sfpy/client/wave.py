"""CRM Analytics (Wave) calls: dataset lookup and SAQL queries, as in SalesforcePy."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from airflow_provider_sfpy.client.result import Result

if TYPE_CHECKING:
    from airflow_provider_sfpy.client.client import Client


_LOAD = re.compile(r'load\s+"([^"/]+)"')


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

    def resolve_saql(self, saql: str) -> str:
        """Replace ``load "api_name"`` with ``load "datasetId/currentVersionId"``, as SAQL requires.

        Each dataset is looked up once; a name that already has the ``id/version`` form is kept.
        """
        resolved: dict[str, str] = {}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in resolved:
                body, _ = self.dataset(name)
                resolved[name] = f"{body['id']}/{body['currentVersionId']}"
            return f'load "{resolved[name]}"'

        return _LOAD.sub(replace, saql)
