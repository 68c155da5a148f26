"""Chatter REST calls (``client.chatter.feed_item`` / ``feed_comment``), as in SalesforcePy."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from airflow_provider_sfpy.client.result import Result

if TYPE_CHECKING:
    from airflow_provider_sfpy.client.client import Client


class Chatter:
    def __init__(self, client: Client) -> None:
        self._client = client

    def feed_item(self, body: Mapping[str, Any]) -> Result:
        """Post a feed element (``POST /chatter/feed-elements``); 201 with the new element."""
        return self._client.request("POST", self._client.data_path("chatter/feed-elements"), json=dict(body))

    def feed_comment(self, feed_element_id: str, body: Mapping[str, Any]) -> Result:
        """Comment on a feed element (``.../feed-elements/{id}/capabilities/comments/items``)."""
        path = f"chatter/feed-elements/{quote(feed_element_id, safe='')}/capabilities/comments/items"
        return self._client.request("POST", self._client.data_path(path), json=dict(body))
