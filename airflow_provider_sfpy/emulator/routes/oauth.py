"""The OAuth 2.0 endpoints: ``/services/oauth2/token`` (password, JWT bearer, client credentials and
refresh token grants), ``/services/oauth2/revoke``, ``/services/oauth2/userinfo`` and the identity URL.

Errors use Salesforce's codes and descriptions (``invalid_grant`` / ``authentication failure``,
``invalid_client_id`` / ``client identifier invalid`` ...) because clients map exactly those to
their exception types. Parameters are read from the form body, the query string (older clients
put them there) and, for client credentials, an HTTP Basic ``Authorization`` header.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import jwt
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from airflow_provider_sfpy.emulator.credentials import password_login_user
from airflow_provider_sfpy.emulator.errors import ApiError, OAuthError
from airflow_provider_sfpy.emulator.responses import json_response
from airflow_provider_sfpy.emulator.routes.common import authenticate, routes
from airflow_provider_sfpy.emulator.sessions import Session
from airflow_provider_sfpy.emulator.state import EmulatorState, get_state

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
LOGIN_AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")
SCOPE = "api refresh_token id"


@dataclass
class Grant:
    """Outcome of a successful grant: the new session and whether to hand out the refresh token."""

    session: Session
    with_refresh_token: bool = False


GrantHandler = Callable[[EmulatorState, Mapping[str, str], str], Grant]


def _check_client_id(state: EmulatorState, params: Mapping[str, str]) -> None:
    if params.get("client_id") != state.config.client_id:
        raise OAuthError("invalid_client_id", "client identifier invalid")


def _check_client_secret(state: EmulatorState, params: Mapping[str, str], *, required: bool) -> None:
    secret = params.get("client_secret")
    if (secret is None and required) or (secret is not None and secret != state.config.client_secret):
        raise OAuthError("invalid_client", "invalid client credentials")


def _session_for(state: EmulatorState, username: str, refresh_token: str | None = None) -> Session:
    user = state.store.user_by_username(username)
    if user is None or not user["IsActive"]:
        raise OAuthError("invalid_grant", "authentication failure")
    return state.sessions.issue(user["Id"], user["Username"], refresh_token)


def password_grant(state: EmulatorState, params: Mapping[str, str], base_url: str) -> Grant:
    _check_client_id(state, params)
    _check_client_secret(state, params, required=True)
    user = password_login_user(state, params.get("username", ""), params.get("password", ""))
    if user is None:
        raise OAuthError("invalid_grant", "authentication failure")
    return Grant(
        state.sessions.issue(user["Id"], user["Username"], state.config.refresh_token), with_refresh_token=True
    )


def refresh_token_grant(state: EmulatorState, params: Mapping[str, str], base_url: str) -> Grant:
    _check_client_id(state, params)
    _check_client_secret(state, params, required=False)
    token = params.get("refresh_token", "")
    if token != state.config.refresh_token or not state.sessions.refresh_token_valid(token):
        raise OAuthError("invalid_grant", "expired access/refresh token")
    return Grant(_session_for(state, state.config.username, token))


def client_credentials_grant(state: EmulatorState, params: Mapping[str, str], base_url: str) -> Grant:
    if params.get("client_id") != state.config.client_id or params.get("client_secret") != state.config.client_secret:
        raise OAuthError("invalid_client", "invalid client credentials")
    return Grant(_session_for(state, state.config.username))


def jwt_bearer_grant(state: EmulatorState, params: Mapping[str, str], base_url: str) -> Grant:
    assertion = params.get("assertion", "")
    if state.jwt_public_key is None or not assertion:
        raise OAuthError("invalid_grant", "invalid assertion")
    try:
        claims = jwt.decode(
            assertion,
            state.jwt_public_key,
            algorithms=["RS256"],
            options={"require": ["exp", "iss", "sub", "aud"], "verify_aud": False},
        )
    except jwt.ExpiredSignatureError:
        raise OAuthError("invalid_grant", "expired authorization code") from None
    except jwt.InvalidTokenError:
        raise OAuthError("invalid_grant", "invalid assertion") from None
    if claims["iss"] != state.config.client_id:
        raise OAuthError("invalid_client_id", "client identifier invalid")
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    accepted = {*LOGIN_AUDIENCES, base_url}
    if not any(str(aud).rstrip("/") in accepted for aud in audiences):
        raise OAuthError("invalid_grant", "audience is invalid")
    user = state.store.user_by_username(str(claims["sub"]))
    if user is None or not user["IsActive"]:
        raise OAuthError("invalid_grant", "user hasn't approved this consumer")
    return Grant(state.sessions.issue(user["Id"], user["Username"]))


GRANTS: dict[str, GrantHandler] = {
    "password": password_grant,
    "refresh_token": refresh_token_grant,
    "client_credentials": client_credentials_grant,
    JWT_GRANT: jwt_bearer_grant,
}


async def _params(request: Request) -> dict[str, str]:
    params = dict(request.query_params)
    form = await request.form()
    params.update({key: value for key, value in form.items() if isinstance(value, str)})
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise OAuthError("invalid_client", "invalid client credentials") from None
        params.setdefault("client_id", client_id)
        params.setdefault("client_secret", secret)
    return params


def identity_url(state: EmulatorState, base_url: str, user_id: str) -> str:
    return f"{base_url}/id/{state.store.org_id}/{user_id}"


async def token(request: Request) -> Response:
    state = get_state(request)
    base_url = state.base_url(request)
    try:
        params = await _params(request)
        handler = GRANTS.get(params.get("grant_type", ""))
        if handler is None:
            raise OAuthError("unsupported_grant_type", "grant type not supported")
        grant = handler(state, params, base_url)
    except OAuthError as exc:
        return exc.response()
    issued_at = str(int(grant.session.issued_at * 1000))
    id_url = identity_url(state, base_url, grant.session.user_id)
    signature = hmac.new(state.config.client_secret.encode(), (id_url + issued_at).encode(), hashlib.sha256)
    body: dict[str, str] = {
        "access_token": grant.session.token,
        "instance_url": base_url,
        "id": id_url,
        "token_type": "Bearer",
        "issued_at": issued_at,
        "signature": base64.b64encode(signature.digest()).decode(),
        "scope": SCOPE,
    }
    if grant.with_refresh_token:
        body["refresh_token"] = state.config.refresh_token
    return json_response(body, headers={"Cache-Control": "no-cache,must-revalidate,max-age=0,no-store,private"})


async def revoke(request: Request) -> Response:
    state = get_state(request)
    params = dict(request.query_params)
    form = await request.form()
    params.update({key: value for key, value in form.items() if isinstance(value, str)})
    if not state.sessions.revoke(params.get("token", ""), {state.config.refresh_token}):
        return OAuthError("unsupported_token_type", "this token type is not supported").response()
    return Response(status_code=200)


def _identity(request: Request, state: EmulatorState, session: Session) -> dict[str, object]:
    user = state.store.user_by_id(session.user_id) or {}
    base_url = state.base_url(request)
    version = state.config.api_versions[-1]
    urls = {
        "enterprise": f"{base_url}/services/Soap/c/{version}/{state.store.org_id}",
        "partner": f"{base_url}/services/Soap/u/{version}/{state.store.org_id}",
        "rest": f"{base_url}/services/data/v{{version}}/",
        "sobjects": f"{base_url}/services/data/v{{version}}/sobjects/",
        "query": f"{base_url}/services/data/v{{version}}/query/",
        "limits": f"{base_url}/services/data/v{{version}}/limits/",
        "profile": f"{base_url}/{session.user_id}",
    }
    return {
        "id": identity_url(state, base_url, session.user_id),
        "user_id": session.user_id,
        "organization_id": state.store.org_id,
        "username": user.get("Username"),
        "display_name": user.get("Name"),
        "email": user.get("Email"),
        "first_name": user.get("FirstName"),
        "last_name": user.get("LastName"),
        "active": bool(user.get("IsActive")),
        "user_type": "STANDARD",
        "language": "en_US",
        "locale": "en_US",
        "utcOffset": 0,
        "timezone": "GMT",
        "urls": urls,
        "is_app_installed": True,
        "last_modified_date": time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime()),
    }


async def userinfo(request: Request) -> Response:
    state = get_state(request)
    try:
        session = authenticate(request, state)
    except ApiError:
        return Response("Bad_OAuth_Token", status_code=403, media_type="text/plain")
    identity = _identity(request, state, session)
    return json_response(
        {
            "sub": identity["id"],
            "user_id": identity["user_id"],
            "organization_id": identity["organization_id"],
            "preferred_username": identity["username"],
            "nickname": identity["display_name"],
            "name": identity["display_name"],
            "email": identity["email"],
            "email_verified": True,
            "given_name": identity["first_name"],
            "family_name": identity["last_name"],
            "zoneinfo": identity["timezone"],
            "active": identity["active"],
            "user_type": identity["user_type"],
            "language": identity["language"],
            "locale": identity["locale"],
            "utcOffset": identity["utcOffset"],
            "urls": identity["urls"],
        }
    )


async def identity(request: Request) -> Response:
    state = get_state(request)
    try:
        session = authenticate(request, state)
    except ApiError:
        return Response("Bad_OAuth_Token", status_code=403, media_type="text/plain")
    if request.path_params["user_id"] != session.user_id:
        return Response("Bad_Id", status_code=403, media_type="text/plain")
    return json_response(_identity(request, state, session))


def get_routes() -> list[BaseRoute]:
    return [
        *routes("/services/oauth2/token", token, ["POST"]),
        *routes("/services/oauth2/revoke", revoke, ["POST", "GET"]),
        *routes("/services/oauth2/userinfo", userinfo, ["GET", "POST"]),
        Route("/id/{org_id}/{user_id}", identity, methods=["GET", "POST"]),
    ]
