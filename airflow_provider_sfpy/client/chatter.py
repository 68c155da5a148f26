"""Chatter REST calls (``client.chatter.feed_item`` / ``feed_comment``), as in SalesforcePy."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from airflow_provider_sfpy.client.result import Result

if TYPE_CHECKING:
    from airflow_provider_sfpy.client.client import Client


MAX_BODY_CHARACTERS = 10_000
_MENTION = re.compile(r"@\[([a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?)\]")


def message_segments(text: str, mentions: Sequence[str] = ()) -> list[dict[str, str]]:
    """Text with ``@[005...]`` markers -> Chatter message segments (Text and Mention).

    ``mentions`` are appended as Mention segments after the text, each preceded by a space.
    """
    segments: list[dict[str, str]] = []
    position = 0
    for match in _MENTION.finditer(text):
        if match.start() > position:
            segments.append({"type": "Text", "text": text[position : match.start()]})
        segments.append({"type": "Mention", "id": match.group(1)})
        position = match.end()
    if position < len(text):
        segments.append({"type": "Text", "text": text[position:]})
    for user_id in mentions:
        segments.extend([{"type": "Text", "text": " "}, {"type": "Mention", "id": user_id}])
    return segments


def feed_item_body(subject_id: str, text: str, mentions: Sequence[str] = ()) -> dict[str, Any]:
    """The request body of a text post on a record, user or group (``subject_id``; ``me`` for yourself)."""
    return {
        "body": {"messageSegments": message_segments(text, mentions)},
        "feedElementType": "FeedItem",
        "subjectId": subject_id,
    }


def comment_body(text: str, mentions: Sequence[str] = ()) -> dict[str, Any]:
    return {"body": {"messageSegments": message_segments(text, mentions)}}


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
