"""The conformance suite: Salesforce clients nobody here wrote, unchanged, against the emulator.

Where a client hard-codes Salesforce's hosts (``login.salesforce.com``, ``test.salesforce.com``,
``<domain>.my.salesforce.com``), it gets a ``RoutingSession``: a plain ``requests.Session`` (as the
clients' documented ``session=`` parameter takes) that sends those hosts to the TLS emulator and
trusts its certificate. The clients themselves are never patched.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests

SALESFORCE_DOMAINS = ("salesforce.com", "force.com")


class RoutingSession(requests.Session):
    """A ``requests.Session`` that sends requests for Salesforce's hosts to ``base_url`` instead."""

    def __init__(self, base_url: str, ca_bundle: str | None) -> None:
        super().__init__()
        self._target = urlsplit(base_url)
        self._ca_bundle = ca_bundle

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        text = url.decode() if isinstance(url, bytes) else url
        parts = urlsplit(text)
        host = (parts.hostname or "").lower()
        if any(host == domain or host.endswith("." + domain) for domain in SALESFORCE_DOMAINS):
            text = urlunsplit((self._target.scheme, self._target.netloc, parts.path, parts.query, parts.fragment))
        if self._ca_bundle and kwargs.get("verify") is None:
            # Per request: requests lets $REQUESTS_CA_BUNDLE override a session-level ``verify``.
            kwargs["verify"] = self._ca_bundle
        return super().request(method, text, *args, **kwargs)


@pytest.fixture
def routing_session(emulator_tls: Any) -> Iterator[RoutingSession]:
    """A session for clients that call ``*.salesforce.com``: routed to the TLS emulator."""
    with RoutingSession(emulator_tls.base_url, emulator_tls.ca_bundle_path) as session:
        yield session


@pytest.fixture
def sf(emulator_tls: Any, routing_session: RoutingSession) -> Any:
    """simple-salesforce 1.12, logged in with a session id from the emulator's OAuth password flow
    (not its SOAP login), on ``instance_url`` = the TLS emulator."""
    from simple_salesforce import Salesforce

    token = emulator_tls.login()
    return Salesforce(
        instance_url=token["instance_url"],
        session_id=token["access_token"],
        session=routing_session,
        version=emulator_tls.api_version,
    )
