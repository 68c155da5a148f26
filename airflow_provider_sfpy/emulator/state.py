"""The per-app state every route reaches through ``request.app.state.emulator``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from airflow_provider_sfpy.emulator.approvals import ApprovalRegistry
from airflow_provider_sfpy.emulator.bulk.jobs import BulkJobs
from airflow_provider_sfpy.emulator.bulk1.jobs import Bulk1Jobs
from airflow_provider_sfpy.emulator.config import EmulatorConfig
from airflow_provider_sfpy.emulator.faults import FaultRegistry, RequestLog
from airflow_provider_sfpy.emulator.feeds import FeedStore
from airflow_provider_sfpy.emulator.sessions import SessionRegistry
from airflow_provider_sfpy.emulator.store import Store
from airflow_provider_sfpy.emulator.usage import ApiUsage


@dataclass
class EmulatorState:
    config: EmulatorConfig
    store: Store
    sessions: SessionRegistry
    usage: ApiUsage
    faults: FaultRegistry
    request_log: RequestLog
    admin_user_id: str
    #: Public key that verifies JWT bearer assertions (from ``config.jwt_cert_pem``), if any.
    jwt_public_key: Any = None
    #: Chatter feed items and comments (``routes/chatter.py``), in memory.
    feeds: FeedStore = field(default_factory=FeedStore)
    #: Bulk API 2.0 ingest and query jobs (``routes/bulk_ingest.py``, ``routes/bulk_query.py``).
    bulk: BulkJobs = field(default_factory=BulkJobs)
    #: Approval process definitions and instances (``routes/approvals.py``), in memory.
    approvals: ApprovalRegistry = field(default_factory=ApprovalRegistry)
    #: Bulk API 1.0 jobs and batches (``routes/bulk1.py``), processed by ``bulk``'s worker threads.
    bulk1: Bulk1Jobs = field(init=False)

    def __post_init__(self) -> None:
        self.bulk1 = Bulk1Jobs(self.config.data_dir)

    def base_url(self, request: Request) -> str:
        """This server's own URL: the configured one, else scheme and Host of the request."""
        if self.config.base_url:
            return self.config.base_url.rstrip("/")
        return str(request.base_url).rstrip("/")

    def expire_sessions(self) -> int:
        return self.sessions.expire_all()


def get_state(request: Request) -> EmulatorState:
    state: EmulatorState = request.app.state.emulator
    return state
