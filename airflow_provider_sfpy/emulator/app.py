"""``create_app``: the emulator as one Starlette application.

Routing is split per API family (``routes/``); this module wires them to one shared
``EmulatorState``, renders framework-level errors (unknown path, wrong method, crashes) in
Salesforce's error shape, and puts the fault-injection middleware *outside* Starlette's own error
middleware so that a fault can drop the raw connection.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp

from airflow_provider_sfpy.emulator.config import EmulatorConfig
from airflow_provider_sfpy.emulator.errors import ApiError, not_found
from airflow_provider_sfpy.emulator.faults import FaultInjectionMiddleware, FaultRegistry, RequestLog
from airflow_provider_sfpy.emulator.objects.bench_wide import bench_wide_object, fill_bench_wide
from airflow_provider_sfpy.emulator.routes import (
    admin,
    apex,
    apexrest,
    approvals,
    bulk1,
    bulk_ingest,
    bulk_query,
    chatter,
    composite,
    composite_requests,
    limits,
    oauth,
    query,
    search,
    soap,
    sobjects,
    tooling,
    versions,
    wave,
)
from airflow_provider_sfpy.emulator.sample_data import ensure_admin, generate, load_sample_data
from airflow_provider_sfpy.emulator.schema import register_sobject
from airflow_provider_sfpy.emulator.sessions import SessionRegistry
from airflow_provider_sfpy.emulator.state import EmulatorState
from airflow_provider_sfpy.emulator.store import Store
from airflow_provider_sfpy.emulator.usage import ApiUsage

__all__ = ["EmulatorConfig", "create_app"]

UNKNOWN_EXCEPTION_MESSAGE = (
    "An unexpected error occurred. Please include this ErrorId if you contact support: 1985232735-31337 (-1029104328)"
)


class EmulatorApp(Starlette):
    """Starlette whose outermost layer is the fault-injection middleware."""

    def __init__(self, state: EmulatorState, routes: list[BaseRoute]) -> None:
        super().__init__(
            routes=routes,
            exception_handlers={HTTPException: _http_error, Exception: _server_error},
            lifespan=_lifespan,
        )
        self.state.emulator = state

    def build_middleware_stack(self) -> ASGIApp:
        emulator: EmulatorState = self.state.emulator
        return FaultInjectionMiddleware(
            super().build_middleware_stack(),
            emulator.faults,
            emulator.request_log,
            emulator.expire_sessions,
            admin_token=emulator.config.admin_token,
        )


@contextlib.asynccontextmanager
async def _lifespan(app: Starlette) -> AsyncIterator[None]:
    yield
    app.state.emulator.bulk.close()  # stop Bulk API workers before the store they write to closes
    app.state.emulator.store.close()


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return not_found().response()
    if exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        message = f"HTTP Method '{request.method}' not allowed. Allowed are {allowed.replace(', ', ',')}"
        return ApiError(405, "METHOD_NOT_ALLOWED", message, headers={"Allow": allowed}).response()
    return ApiError(exc.status_code, "UNKNOWN_EXCEPTION", str(exc.detail)).response()


async def _server_error(request: Request, exc: Exception) -> Response:
    return ApiError(500, "UNKNOWN_EXCEPTION", UNKNOWN_EXCEPTION_MESSAGE).response()


def load_jwt_public_key(pem: str | bytes) -> Any:
    """The public key of an X.509 certificate (or of a bare public key) in PEM."""
    data = pem.encode() if isinstance(pem, str) else pem
    if b"BEGIN CERTIFICATE" in data:
        return x509.load_pem_x509_certificate(data).public_key()
    return load_pem_public_key(data)


def open_store(config: EmulatorConfig) -> tuple[Store, str]:
    """The org's store with its admin user; sample and generated data go into a fresh org only, so a
    persisted ``data_dir`` is not seeded twice (the wide benchmark object: into an org without its records).
    """
    wide = bench_wide_object() if config.bench_wide_records > 0 else None
    if wide is not None:
        register_sobject(wide)  # before the store opens: it creates a table per registered object
    store = Store.open(config.data_dir, cursor_timeout=config.cursor_timeout)
    fresh = store.count("User", include_deleted=True) == 0
    admin_id = ensure_admin(store, config.username)
    if fresh and config.sample_data:
        load_sample_data(store, admin_id)
    if fresh and config.generate:
        generate(store, config.generate, owner_id=admin_id)
    if wide is not None:
        fill_bench_wide(store, wide, config.bench_wide_records, admin_id)
    return store, admin_id


def create_app(config: EmulatorConfig | None = None) -> Starlette:
    """The emulator application for ``config`` (default: demo credentials, in-memory sample org)."""
    config = config or EmulatorConfig()
    store, admin_id = open_store(config)
    state = EmulatorState(
        config=config,
        store=store,
        sessions=SessionRegistry(store.org_id, timeout=config.session_timeout),
        usage=ApiUsage(config.daily_api_requests),
        faults=FaultRegistry(),
        request_log=RequestLog(),
        admin_user_id=admin_id,
        jwt_public_key=load_jwt_public_key(config.jwt_cert_pem) if config.jwt_cert_pem else None,
    )
    routes: list[BaseRoute] = [
        *admin.get_routes(),
        *oauth.get_routes(),
        *versions.get_routes(),
        *limits.get_routes(),
        *query.get_routes(),
        *sobjects.get_routes(),
        *composite.get_routes(),
        *chatter.get_routes(),
        *wave.get_routes(),
        *bulk_ingest.get_routes(),
        *bulk_query.get_routes(),
        *apex.get_routes(),
        *approvals.get_routes(),
        *apexrest.get_routes(),
        *soap.get_routes(),
        *bulk1.get_routes(),
        *search.get_routes(),
        *tooling.get_routes(),
        *composite_requests.get_routes(),
    ]
    return EmulatorApp(state, routes)
