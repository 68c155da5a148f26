"""Run the emulator inside a test process: ``with start_emulator() as sf: ...``.

For this project's tests, ``make demo`` and users' own DAG test suites. The emulator runs in uvicorn
on a background thread, on a free port bound up front, and is a real HTTP(S) server: clients under
test talk to it exactly as to Salesforce. ``RunningEmulator`` carries the URLs and credentials (plus
a JWT signing key the emulator trusts, and a CA bundle in TLS mode) and wraps the admin API used to
inject faults and read the request log. The admin API needs the emulator's admin token:
``start_emulator()`` makes a random one (``admin_token=...`` to choose it, ``admin_token=None`` to
disable the admin API), and ``RunningEmulator`` sends it. ``start_emulator(pubsub=True)`` also serves
the Pub/Sub API (gRPC, ``pubsub_target``) with change events captured; a ``PubSubOptions`` instead of
``True`` chooses the entities, the retention (seconds: ``event_bus.retention_seconds`` can also be
changed while running) and the keepalive interval.
"""

from __future__ import annotations

import contextlib
import dataclasses
import secrets
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

from airflow_provider_sfpy.emulator import require_emulator_extra

# Without the ``emulator`` extra, say which packages to install rather than fail on the first missing import.
require_emulator_extra()

from airflow_provider_sfpy.emulator.app import create_app  # noqa: E402
from airflow_provider_sfpy.emulator.certs import jwt_key_pair, tls_key_pair  # noqa: E402
from airflow_provider_sfpy.emulator.config import EmulatorConfig  # noqa: E402
from airflow_provider_sfpy.emulator.faults import ADMIN_PREFIX, ADMIN_TOKEN_HEADER  # noqa: E402
from airflow_provider_sfpy.emulator.server import bind_socket, make_server, server_url, wait_started  # noqa: E402
from airflow_provider_sfpy.emulator.state import EmulatorState  # noqa: E402
from airflow_provider_sfpy.emulator.store import Store  # noqa: E402

if TYPE_CHECKING:
    from airflow_provider_sfpy.client import Client
    from airflow_provider_sfpy.emulator.events.bus import EventBus
    from airflow_provider_sfpy.emulator.pubsub.server import PubSubOptions, PubSubServer

__all__ = ["AdminClient", "RunningEmulator", "start_emulator"]

ADMIN_TIMEOUT = 30.0


class AdminClient:
    """The emulator's admin API (``/__emulator__/``) over HTTP; works for any running emulator,
    including one started with the ``sfpy-emulator`` command (give it that emulator's ``--admin-token``)."""

    def __init__(self, base_url: str, verify: bool | str = True, *, admin_token: str | None = None) -> None:
        self.admin_base_url = base_url.rstrip("/")
        self._verify = verify
        self._admin_token = admin_token
        self._http = requests.Session()

    def admin_headers(self) -> dict[str, str]:
        """The header that authorises an admin API request (none without a token)."""
        return {ADMIN_TOKEN_HEADER: self._admin_token} if self._admin_token else {}

    def admin_url(self, path: str) -> str:
        """``admin_url("faults")`` -> ``http://127.0.0.1:PORT/__emulator__/faults``."""
        return f"{self.admin_base_url}{ADMIN_PREFIX}{path}"

    def _call(self, method: str, path: str, json: Any = None) -> Any:
        response = self._http.request(
            method,
            self.admin_url(path),
            json=json,
            headers=self.admin_headers(),
            timeout=ADMIN_TIMEOUT,
            verify=self._verify,
        )
        response.raise_for_status()
        return response.json() if response.content else None

    def add_faults(self, *rules: dict[str, Any]) -> list[dict[str, Any]]:
        """Append fault rules (see ``faults.py`` for the keys); returns every active rule."""
        result: list[dict[str, Any]] = self._call("POST", "faults", {"rules": list(rules)})["rules"]
        return result

    def faults(self) -> list[dict[str, Any]]:
        """Active rules with their ``seen``/``fired`` counters."""
        result: list[dict[str, Any]] = self._call("GET", "faults")["rules"]
        return result

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def requests_log(self) -> list[dict[str, Any]]:
        """Every request received (admin API excepted): ``method, path, query, status, fault, drop, time``."""
        result: list[dict[str, Any]] = self._call("GET", "requests")
        return result

    def clear_requests_log(self) -> None:
        self._call("DELETE", "requests")

    def set_result_pages(self, **settings: Any) -> dict[str, Any]:
        """Bulk query result pages: ``page_records`` (None: one page) and ``page_seconds`` (server time per page)."""
        result: dict[str, Any] = self._call("PUT", "bulk/result-pages", settings)
        return result

    def expire_sessions(self) -> int:
        """Invalidate every issued access token; returns how many were live."""
        return int(self._call("POST", "expire-sessions")["expired"])

    def close(self) -> None:
        self._http.close()


class RunningEmulator(AdminClient):
    """A started emulator: where it is, how to log in, and its admin API."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        config: EmulatorConfig,
        state: EmulatorState,
        jwt_private_key_pem: str | None,
        ca_bundle_path: str | None,
        pubsub_server: PubSubServer | None = None,
    ) -> None:
        self.host = host
        self.pubsub_server = pubsub_server
        self.port = port
        self.base_url = server_url(host, port, tls=ca_bundle_path is not None)
        self.config = config
        self.state = state
        self.jwt_private_key_pem = jwt_private_key_pem
        self.ca_bundle_path = ca_bundle_path
        super().__init__(self.base_url, verify=ca_bundle_path or True, admin_token=config.admin_token)

    # credentials ------------------------------------------------------------------------
    @property
    def username(self) -> str:
        return self.config.username

    @property
    def password(self) -> str:
        return self.config.password

    @property
    def security_token(self) -> str:
        return self.config.security_token

    @property
    def client_id(self) -> str:
        return self.config.client_id

    @property
    def client_secret(self) -> str:
        return self.config.client_secret

    @property
    def refresh_token(self) -> str:
        return self.config.refresh_token

    @property
    def admin_token(self) -> str | None:
        """The admin API's token (``None``: the admin API is disabled)."""
        return self.config.admin_token

    @property
    def jwt_private_key(self) -> str | None:
        """Alias of ``jwt_private_key_pem``: the PEM private key that signs trusted JWT assertions."""
        return self.jwt_private_key_pem

    @property
    def jwt_cert_pem(self) -> str | None:
        return self.config.jwt_cert_pem

    # URLs -----------------------------------------------------------------------------------
    @property
    def token_url(self) -> str:
        return f"{self.base_url}/services/oauth2/token"

    @property
    def api_version(self) -> str:
        return self.config.api_versions[-1]

    def data_url(self, path: str = "", version: str | None = None) -> str:
        """Absolute REST URL, e.g. ``data_url("/query")`` -> ``http://127.0.0.1:PORT/services/data/v64.0/query``."""
        return f"{self.base_url}/services/data/v{version or self.api_version}{path}"

    @property
    def verify(self) -> bool | str:
        """What to pass as ``requests``' ``verify=``: the CA bundle in TLS mode."""
        return self.ca_bundle_path or True

    @property
    def store(self) -> Store:
        """The org's data, in process (for assertions and for setting up unusual data directly)."""
        return self.state.store

    # Pub/Sub API -------------------------------------------------------------------------------
    def _pubsub(self) -> PubSubServer:
        if self.pubsub_server is None:
            raise RuntimeError(
                "this emulator does not serve the Pub/Sub API: start it with start_emulator(pubsub=True)"
            )
        return self.pubsub_server

    @property
    def pubsub_target(self) -> str:
        """``host:port`` of the Pub/Sub API (what ``grpc.insecure_channel``/``secure_channel`` take)."""
        return self._pubsub().target

    @property
    def pubsub_url(self) -> str:
        """``grpc://host:port`` (``grpcs://`` with TLS): the ``pubsub_url`` connection extra."""
        return self._pubsub().url

    @property
    def pubsub_tls(self) -> bool:
        """Whether the Pub/Sub API serves TLS (with the REST server's certificate, ``ca_bundle_path``)."""
        return self._pubsub().tls

    @property
    def event_bus(self) -> EventBus:
        """The org's event bus, in process (append events directly; ``retention_seconds`` may be changed)."""
        return self._pubsub().service.bus

    # conveniences ---------------------------------------------------------------------------
    def login(self) -> dict[str, Any]:
        """Log in with the password flow; returns the token response (``access_token``, ``instance_url``...)."""
        response = requests.post(
            self.token_url,
            data={
                "grant_type": "password",
                "client_id": self.client_id,
                "client_secret": self.client_secret,
                "username": self.username,
                "password": self.password + self.security_token,
            },
            timeout=ADMIN_TIMEOUT,
            verify=self.verify,
        )
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def password_client(self, **kwargs: Any) -> Client:
        """Our ``Client`` for this emulator with the password flow, not yet logged in; ``kwargs`` go to ``Client``."""
        from airflow_provider_sfpy.client import Client

        return Client(
            self.username, self.password, self.client_id, self.client_secret, login_url=self.base_url, **kwargs
        )

    def airflow_connection(self, **extra: Any) -> dict[str, Any]:
        """An Airflow ``sfpy`` connection (password flow) to this emulator, as the JSON form of
        ``AIRFLOW_CONN_<ID>`` takes it; ``extra`` adds or overrides connection extras."""
        pubsub = {"pubsub_url": self.pubsub_url} if self.pubsub_server is not None else {}
        return {
            "conn_type": "sfpy",
            "host": self.base_url,
            "login": self.username,
            "password": self.password,
            "extra": {"client_id": self.client_id, "client_secret": self.client_secret, **pubsub, **extra},
        }

    def auth_headers(self) -> dict[str, str]:
        """``Authorization: Bearer`` headers of a fresh session."""
        return {"Authorization": f"Bearer {self.login()['access_token']}"}


@contextlib.contextmanager
def start_emulator(
    *,
    host: str = "127.0.0.1",
    tls: bool = False,
    jwt_private_key_pem: str | None = None,
    pubsub: bool | PubSubOptions = False,
    **config: Any,
) -> Iterator[RunningEmulator]:
    """Start an emulator on a free port; stop it on exit.

    ``config`` takes any ``EmulatorConfig`` field (``username``, ``sample_data=False``,
    ``generate={"Account": 50_000}``, ``data_dir``...; ``bench_wide_records=N`` adds the wide benchmark
    object to this process's schema for good, so emulators this process already runs would lack its
    table: start it first, or in a process of its own with ``sfpy-emulator --bench-wide-object N``).
    Unless ``jwt_cert_pem`` is given, an RSA key pair is generated and the emulator trusts its
    certificate, so ``jwt_private_key_pem`` can sign JWT bearer assertions. ``tls=True`` serves HTTPS
    with a fresh self-signed certificate for 127.0.0.1/localhost, whose path is ``ca_bundle_path``.
    Unless ``admin_token`` is given, the admin API gets a random token (``admin_token=None`` disables
    it); the ``RunningEmulator`` sends it.
    ``pubsub=True`` (or a ``PubSubOptions``) also serves the Pub/Sub API on a free port, with TLS when ``tls``.
    """
    unknown = set(config) - {f.name for f in dataclasses.fields(EmulatorConfig)}
    if unknown:
        raise TypeError(f"unknown emulator settings: {', '.join(sorted(unknown))}")
    if "admin_token" not in config:
        config["admin_token"] = secrets.token_urlsafe(32)
    if config.get("jwt_cert_pem") is None:
        pair = jwt_key_pair()
        config["jwt_cert_pem"], jwt_private_key_pem = pair.cert_pem, pair.private_key_pem
    with contextlib.ExitStack() as stack:
        sock = bind_socket(host, 0)
        stack.callback(sock.close)
        port = sock.getsockname()[1]
        tls_files: tuple[str, str] | None = None
        if tls:
            tls_files = write_tls_files(Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sfpy-tls-"))))
        settings = EmulatorConfig(**config)
        if settings.base_url is None:
            settings.base_url = server_url(host, port, tls=tls)
        app = create_app(settings)
        server = make_server(
            app,
            tls_cert=tls_files[0] if tls_files else None,
            tls_key=tls_files[1] if tls_files else None,
            log_config=None,
        )
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="sfpy-emulator", daemon=True)
        thread.start()

        def stop() -> None:
            server.should_exit = True
            thread.join(timeout=30)

        stack.callback(stop)
        if not wait_started(server, alive=thread.is_alive):
            raise RuntimeError("the emulator did not start (see the uvicorn log)")
        pubsub_server = None
        if pubsub:
            pubsub_server = _start_pubsub(app.state.emulator, host, tls_files, pubsub)
            stack.callback(pubsub_server.stop)  # before the REST server's shutdown closes the store
        emulator = RunningEmulator(
            host=host,
            port=port,
            config=settings,
            state=app.state.emulator,
            jwt_private_key_pem=jwt_private_key_pem,
            ca_bundle_path=tls_files[0] if tls_files else None,
            pubsub_server=pubsub_server,
        )
        stack.callback(emulator.close)
        yield emulator


def _start_pubsub(
    state: EmulatorState, host: str, tls_files: tuple[str, str] | None, pubsub: bool | PubSubOptions
) -> PubSubServer:
    """The Pub/Sub API beside the REST server (same host and certificate), with change events captured."""
    from airflow_provider_sfpy.emulator.pubsub.server import PubSubOptions, PubSubServer, enable_change_events

    options = pubsub if isinstance(pubsub, PubSubOptions) else PubSubOptions()
    enable_change_events(state.store, options.change_events)
    cert, key = tls_files if tls_files else (None, None)
    return PubSubServer(state, host=host, port=0, tls_cert=cert, tls_key=key, options=options)


def write_tls_files(directory: Path) -> tuple[str, str]:
    """A fresh self-signed certificate for 127.0.0.1/localhost and its key in ``directory``: (cert, key) paths.

    The certificate is its own CA, so clients verify against it (``ca_bundle``).
    """
    directory.mkdir(parents=True, exist_ok=True)
    pair = tls_key_pair()
    cert, key = directory / "emulator-cert.pem", directory / "emulator-key.pem"
    cert.write_text(pair.cert_pem)
    key.write_text(pair.private_key_pem)
    key.chmod(0o600)
    return str(cert), str(key)
