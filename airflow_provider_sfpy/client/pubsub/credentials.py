"""Who the Pub/Sub API calls are made as: an access token, the instance URL and the org id.

Every RPC carries them as the metadata ``accesstoken``, ``instanceurl`` and ``tenantid``
(developer.salesforce.com/docs/platform/pub-sub-api/guide/supported-auth.html). They come from a callback
so that the caller decides how to log in (the hook's one login per connection in a triggerer) and
how to log in again when the server refuses the token: ``credentials(True)``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from airflow_provider_sfpy.client.errors import Redactor


@dataclass(frozen=True)
class PubSubCredentials:
    """One session's credentials for the Pub/Sub API; the token never shows in ``repr``.

    ``user_id`` (optional) fills a published platform event's required ``CreatedById`` field when a record
    does not set it.
    """

    access_token: str = field(repr=False)
    instance_url: str
    tenant_id: str
    user_id: str | None = None

    def metadata(self) -> tuple[tuple[str, str], ...]:
        return (
            ("accesstoken", self.access_token),
            ("instanceurl", self.instance_url),
            ("tenantid", self.tenant_id),
        )


CredentialsCallback = Callable[[bool], Awaitable[PubSubCredentials]]


class CredentialSource:
    """The current credentials, fetched once, and fetched again (once for all waiting calls) when refused."""

    def __init__(self, callback: CredentialsCallback, redactor: Redactor) -> None:
        self._callback = callback
        self._redactor = redactor
        self._current: PubSubCredentials | None = None
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"CredentialSource(logged_in={self._current is not None})"

    async def current(self) -> PubSubCredentials:
        if self._current is None:
            async with self._lock:
                if self._current is None:
                    self._remember(await self._callback(False))
        assert self._current is not None
        return self._current

    async def refresh(self, refused: PubSubCredentials) -> PubSubCredentials:
        """New credentials after ``refused`` was refused; calls refused at the same time share one login."""
        async with self._lock:
            if self._current is refused or self._current is None:
                self._remember(await self._callback(True))
        assert self._current is not None
        return self._current

    def _remember(self, credentials: PubSubCredentials) -> None:
        self._redactor.add(credentials.access_token, rotating=True)
        self._current = credentials
