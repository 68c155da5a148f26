"""What every authenticated REST route shares: version check, session check, API usage accounting.

``api_endpoint`` turns ``handler(request, ctx)`` into a Starlette endpoint that answers 404 for an
API version the org does not serve, 401 ``INVALID_SESSION_ID`` without a live token (``Bearer`` or
the older ``OAuth`` scheme), counts the call, renders ``ApiError``s, and stamps the
``Sforce-Limit-Info`` header on whatever the handler returned.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from airflow_provider_sfpy.emulator.errors import ApiError, invalid_session, not_found
from airflow_provider_sfpy.emulator.events.origin import change_origin
from airflow_provider_sfpy.emulator.sessions import Session
from airflow_provider_sfpy.emulator.state import EmulatorState, get_state

VERSION_PREFIX = "/services/data/v{version}"


@dataclass
class ApiContext:
    """The authenticated caller of one REST request."""

    state: EmulatorState
    session: Session
    version: str

    @property
    def user_id(self) -> str:
        return self.session.user_id

    def data_url(self, path: str = "") -> str:
        """A server-relative REST URL in this request's version (``/services/data/v62.0/...``)."""
        return f"/services/data/v{self.version}{path}"


Handler = Callable[[Request, ApiContext], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() in ("bearer", "oauth") and token.strip():
        return token.strip()
    return None


def authenticate(request: Request, state: EmulatorState) -> Session:
    token = bearer_token(request)
    session = state.sessions.resolve(token) if token else None
    if session is None:
        raise invalid_session()
    return session


def api_endpoint(handler: Handler) -> Endpoint:
    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        state = get_state(request)
        version = request.path_params.get("version", "")
        try:
            if version not in state.config.api_versions:
                raise not_found()
            session = authenticate(request, state)
        except ApiError as exc:
            return exc.response()
        state.usage.consume()
        try:
            # Change events name the API that made each change (ChangeEventHeader.changeOrigin).
            api = "toolingrest" if "/tooling/" in request.url.path else "rest"
            with change_origin(api, version):
                response = await handler(request, ApiContext(state, session, version))
        except ApiError as exc:
            response = exc.response()
        response.headers["Sforce-Limit-Info"] = state.usage.limit_info()
        return response

    return endpoint


def routes(path: str, endpoint: Endpoint, methods: Sequence[str]) -> list[BaseRoute]:
    """The route with and without a trailing slash: clients differ (simple-salesforce sends
    ``.../query/?q=`` and ``.../sobjects/Account/``), Salesforce accepts both, and a redirect would
    turn a POST into a second request."""
    stripped = path.rstrip("/")
    return [Route(stripped, endpoint, methods=list(methods)), Route(stripped + "/", endpoint, methods=list(methods))]
