"""``EmulatorConfig``: everything that varies between emulator instances (credentials, data, URLs)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from airflow_provider_sfpy.emulator import defaults


@dataclass
class EmulatorConfig:
    """Settings of one emulated org. Defaults are the well-known demo credentials in ``defaults.py``."""

    username: str = defaults.DEFAULT_USERNAME
    password: str = defaults.DEFAULT_PASSWORD
    #: Appended to the password in the password flow, as Salesforce requires outside trusted IP ranges.
    security_token: str = defaults.DEFAULT_SECURITY_TOKEN
    client_id: str = defaults.DEFAULT_CLIENT_ID
    client_secret: str = defaults.DEFAULT_CLIENT_SECRET
    refresh_token: str = defaults.DEFAULT_REFRESH_TOKEN
    #: X.509 certificate (PEM) whose public key verifies JWT bearer assertions; no JWT flow without it.
    jwt_cert_pem: str | None = None
    api_versions: tuple[str, ...] = defaults.API_VERSIONS
    #: Where the SQLite file lives; ``None`` keeps the org in memory for the life of the process.
    data_dir: str | Path | None = None
    sample_data: bool = True
    #: Synthetic records to add at start-up, e.g. ``{"Account": 100_000}`` (see ``sample_data.generate``).
    generate: Mapping[str, int] = field(default_factory=dict)
    #: The ``instance_url`` handed out at login; ``None`` derives it from each request's Host header.
    base_url: str | None = None
    session_timeout: float = defaults.SESSION_TIMEOUT_SECONDS
    cursor_timeout: float = defaults.QUERY_CURSOR_TIMEOUT_SECONDS
    daily_api_requests: int = defaults.DAILY_API_REQUESTS
