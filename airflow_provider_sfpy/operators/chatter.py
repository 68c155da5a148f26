"""``SalesforceChatterPostOperator``: a Chatter post on a record, user or group, or a comment on a post."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import Context

from airflow_provider_sfpy.client.chatter import MAX_BODY_CHARACTERS, comment_body, feed_item_body
from airflow_provider_sfpy.operators.base import SalesforceBaseOperator, is_templated
from airflow_provider_sfpy.operators.task_state import send_once


class SalesforceChatterPostOperator(SalesforceBaseOperator):
    """Post text to Chatter, with @mentions; returns the new feed element's (or comment's) id.

    Mention people inline with ``@[005...]`` or list them in ``mentions``.

    Example::

        SalesforceChatterPostOperator(
            task_id="announce",
            subject_id="{{ params.account_id }}",
            text="Loaded {{ ti.xcom_pull(task_ids='upsert')['success_count'] }} accounts. @[005000000000001AAA]",
        )

    :param text: the message (templated), at most 10,000 characters.
    :param subject_id: the record, user or group to post on (``me`` for your own feed) (templated)
        (default ``None``; give it or ``feed_element_id``).
    :param feed_element_id: comment on this feed element instead of posting (templated) (default ``None``).
    :param mentions: user ids to mention after the text (templated) (default ``[]``).
    """

    template_fields: Sequence[str] = ("text", "subject_id", "feed_element_id", "mentions")
    ui_color = "#00a1e0"

    def __init__(
        self,
        *,
        text: str,
        subject_id: str | None = None,
        feed_element_id: str | None = None,
        mentions: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if bool(subject_id) == bool(feed_element_id):
            raise ValueError("give exactly one of subject_id (a new post) or feed_element_id (a comment)")
        if not text or not text.strip():
            raise ValueError("text is empty")
        if not is_templated(text):
            _check_length(text)
        self.text = text
        self.subject_id = subject_id
        self.feed_element_id = feed_element_id
        self.mentions = list(mentions or [])

    def execute(self, context: Context) -> str:
        _check_length(self.text)
        what = f"the Chatter comment on {self.feed_element_id}" if self.feed_element_id else "the Chatter post"
        return send_once(context, what=what, send=self._post, logger=self.log)

    def _post(self) -> str:
        chatter = self.client.chatter
        if self.feed_element_id:
            body, _ = chatter.feed_comment(self.feed_element_id, comment_body(self.text, self.mentions))
            self.log.info("Commented on feed element %s: %s", self.feed_element_id, body["id"])
        else:
            assert self.subject_id is not None
            body, _ = chatter.feed_item(feed_item_body(self.subject_id, self.text, self.mentions))
            self.log.info("Posted feed item %s on %s", body["id"], self.subject_id)
        return str(body["id"])


def _check_length(text: str) -> None:
    if len(text) > MAX_BODY_CHARACTERS:
        raise ValueError(
            f"Chatter text is {len(text):,} characters; Salesforce accepts at most {MAX_BODY_CHARACTERS:,}. "
            "Shorten it or attach the details as a file."
        )
