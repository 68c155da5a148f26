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
    #: Records of ``Bench_Wide__c`` (a 300-custom-field object for wide-export benchmarks,
    #: ``objects/bench_wide.py``); more than 0 adds the object and its records to the org at start-up.
    bench_wide_records: int = 0
    #: The ``instance_url`` handed out at login; ``None`` derives it from each request's Host header.
    base_url: str | None = None
    session_timeout: float = defaults.SESSION_TIMEOUT_SECONDS
    cursor_timeout: float = defaults.QUERY_CURSOR_TIMEOUT_SECONDS
    daily_api_requests: int = defaults.DAILY_API_REQUESTS
    #: Largest CSV one Bulk API 2.0 ingest upload may carry (Salesforce: 150 MB once base64-encoded,
    #: i.e. about 100 MB as sent).
    bulk_upload_limit_bytes: int = 100 * 1024 * 1024
    #: Jobs per page of ``GET /jobs/ingest`` and ``GET /jobs/query`` (Salesforce: 1000).
    bulk_jobs_page_size: int = 1000
    #: Bulk API 2.0 pacing: seconds a job waits queued (``UploadComplete``) before processing, records
    #: an ingest job applies per transaction, and the pause between two such chunks.
    bulk_queue_delay: float = 0.2
    bulk_chunk_rows: int = 2000
    bulk_chunk_delay: float = 0.002
    #: Anonymous Apex governor limits (Salesforce, synchronous: 10 s of CPU time, a 6 MB heap); past
    #: either, ``executeAnonymous`` reports ``System.LimitException``. Tests lower them to stay quick.
    apex_cpu_seconds: float = 10.0
    apex_heap_bytes: int = 6 * 1024 * 1024
    #: The secret the admin API (``/__emulator__/``: fault rules, the request log with every client's
    #: queries, session expiry) requires in an ``Authorization: Bearer`` or ``X-Emulator-Admin-Token``
    #: header. ``None`` (or empty) disables the admin API. ``start_emulator()`` makes a random one.
    admin_token: str | None = field(default=None, repr=False)
