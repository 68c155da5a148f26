"""The SOAP operations served: ``login()`` and ``logout()``.

``login`` takes the credentials of the OAuth password flow (``routes/oauth.py``), with the same rules:
the org's username (case-insensitive), its password with the security token appended, an active
user; anything else is the single INVALID_LOGIN fault, which never says which part was wrong. The
session comes from the same registry, so it is a REST ``Bearer`` token too and expires alike.
https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_login.htm
https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_login_loginresult.htm

``logout`` ends the session named in the ``SessionHeader`` (whichever flow issued it) and returns an
empty ``logoutResponse``; a missing, expired or already ended session is INVALID_SESSION_ID.
https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_logout.htm
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from airflow_provider_sfpy.emulator.credentials import password_login_user
from airflow_provider_sfpy.emulator.soap.apis import metadata_server_url
from airflow_provider_sfpy.emulator.soap.envelope import SoapCall
from airflow_provider_sfpy.emulator.soap.faults import invalid_login, invalid_session, no_operation
from airflow_provider_sfpy.emulator.soap.messages import Fields, elements
from airflow_provider_sfpy.emulator.soap.user_info import organization, user_info
from airflow_provider_sfpy.emulator.state import EmulatorState


@dataclass(frozen=True)
class CallContext:
    """Where a call arrived: the org, this server's base URL and the API version in the URL."""

    state: EmulatorState
    base_url: str
    version: str


Operation = Callable[[CallContext, SoapCall], str]


def _authenticated_user(state: EmulatorState, username: str, password: str) -> dict[str, Any]:
    user = password_login_user(state, username, password)
    if user is None:
        raise invalid_login()
    return user


def login(ctx: CallContext, call: SoapCall) -> str:
    state = ctx.state
    user = _authenticated_user(state, call.argument("username"), call.argument("password"))
    session = state.sessions.issue(user["Id"], user["Username"])
    org_id = state.store.org_id
    org = organization(state.store)
    result: Fields = [
        ("metadataServerUrl", metadata_server_url(ctx.base_url, ctx.version, org_id)),
        ("passwordExpired", False),
        ("sandbox", org.is_sandbox),
        ("serverUrl", call.api.server_url(ctx.base_url, ctx.version, org_id)),
        ("sessionId", session.token),
        ("userId", session.user_id),
        ("userInfo", user_info(state.store, session.user_id, org, int(state.config.session_timeout))),
    ]
    return elements([("loginResponse", [("result", result)])])


def logout(ctx: CallContext, call: SoapCall) -> str:
    sessions = ctx.state.sessions
    if call.session_id is None or sessions.resolve(call.session_id) is None:
        raise invalid_session()
    sessions.revoke(call.session_id, known_refresh_tokens=set())
    return "<logoutResponse/>"


OPERATIONS: dict[str, Operation] = {"login": login, "logout": logout}


def perform(ctx: CallContext, call: SoapCall) -> str:
    """The response ``Body`` content of ``call``; a ``SoapFault`` when it fails or is not served."""
    operation = OPERATIONS.get(call.name)
    if operation is None:
        raise no_operation(call.api.namespace, call.name)
    return operation(ctx, call)
