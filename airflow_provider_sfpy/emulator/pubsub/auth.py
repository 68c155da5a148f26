"""Who is calling: the ``accesstoken``, ``instanceurl`` and ``tenantid`` metadata of every Pub/Sub API call.

Salesforce authorises every call from these three headers: the access token (or SOAP session id), the
instance URL (``instance_url`` of the OAuth answer, or ``serverUrl`` of SOAP ``login()`` without its path)
and the org id as tenant ("Authentication", https://developer.salesforce.com/docs/platform/pub-sub-api/guide/supported-auth.html;
"Include Authorization Headers in RPC Method Calls", .../guide/rpc-method-headers.html), and refuses a
missing or wrong one with ``UNAUTHENTICATED`` / ``sfdc.platform.eventbus.grpc.service.auth.error``.
A live stream keeps its session in use (the docs: the session timeout does not matter to a subscriber),
but a session ended by an admin (the admin API's ``expire-sessions``) ends the stream with that error.
The emulator checks the token against its live sessions (the REST API's), the tenant against its
org id (18 characters, or the 15-character form), and that the instance URL is an http(s) URL; it does
not compare the instance URL's host, since one emulator answers to ``127.0.0.1`` and ``localhost`` alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from airflow_provider_sfpy.emulator.pubsub.errors import PubSubFailure, auth_failure
from airflow_provider_sfpy.emulator.sessions import SessionRegistry

ACCESS_TOKEN = "accesstoken"
INSTANCE_URL = "instanceurl"
TENANT_ID = "tenantid"


@dataclass(frozen=True)
class Caller:
    """An authenticated caller: its session's user and the token (to re-check on a long-lived stream)."""

    user_id: str
    token: str = field(repr=False)


def authenticate(metadata: Iterable[tuple[str, str | bytes]], sessions: SessionRegistry, org_id: str) -> Caller:
    """The caller named by the call's metadata; raises ``PubSubFailure`` (UNAUTHENTICATED) otherwise."""
    headers: dict[str, str] = {}
    for key, value in metadata:
        if isinstance(value, str):
            headers[key.lower()] = value
    token, instance_url, tenant = (headers.get(name, "").strip() for name in (ACCESS_TOKEN, INSTANCE_URL, TENANT_ID))
    missing = [
        name for name, value in ((ACCESS_TOKEN, token), (INSTANCE_URL, instance_url), (TENANT_ID, tenant)) if not value
    ]
    if missing:
        raise auth_failure(f"emulator: missing metadata {', '.join(missing)}")
    if tenant not in (org_id, org_id[:15]):
        raise auth_failure("emulator: tenantid is not this org's id (the organizationId of the login, 00D...)")
    url = urlsplit(instance_url)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise auth_failure("emulator: instanceurl is not the instance URL of the login (http(s)://host:port)")
    session = sessions.resolve(token)
    if session is None:
        raise auth_failure("emulator: the access token is not a live session; log in again")
    return Caller(user_id=session.user_id, token=token)


def still_valid(caller: Caller, sessions: SessionRegistry) -> PubSubFailure | None:
    """``None`` while the caller's session lives, else the failure that ends its stream."""
    if sessions.resolve(caller.token) is None:
        return auth_failure("emulator: the session expired during the stream; log in again and resubscribe")
    return None
