"""What one anonymous-Apex execution runs against: the org's store, the running user, governor limits.

Governor limits are enforced because they are part of the contract people test against (a loop of
single-record inserts fails on Salesforce at statement 151, so it fails here too) and because the CPU
limit is what keeps an endless loop from hanging the emulator.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from airflow_provider_sfpy.emulator.store import Store

from .errors import throw

SOQL_QUERIES = 100
DML_STATEMENTS = 150
DML_ROWS = 10_000
QUERY_ROWS = 50_000
CPU_SECONDS = 10.0


@dataclass
class Limits:
    """Synchronous Apex governor limits, counted for one transaction."""

    cpu_seconds: float = CPU_SECONDS
    queries: int = 0
    query_rows: int = 0
    dml_statements: int = 0
    dml_rows: int = 0
    started: float = field(default_factory=time.monotonic)

    def count_query(self) -> None:
        self.queries += 1
        if self.queries > SOQL_QUERIES:
            raise throw("LimitException", f"Too many SOQL queries: {self.queries}")

    def remaining_query_rows(self) -> int:
        return QUERY_ROWS - self.query_rows

    def count_query_rows(self, rows: int) -> None:
        self.query_rows += rows
        if self.query_rows > QUERY_ROWS:
            raise throw("LimitException", f"Too many query rows: {QUERY_ROWS + 1}")

    def count_dml(self, rows: int) -> None:
        self.dml_statements += 1
        if self.dml_statements > DML_STATEMENTS:
            raise throw("LimitException", f"Too many DML statements: {self.dml_statements}")
        self.dml_rows += rows
        if self.dml_rows > DML_ROWS:
            raise throw("LimitException", f"Too many DML rows: {DML_ROWS + 1}")

    def check_cpu(self) -> None:
        if time.monotonic() - self.started > self.cpu_seconds:
            raise throw("LimitException", "Apex CPU time limit exceeded")


@dataclass
class ExecutionContext:
    """The org and user an execution runs as (anonymous Apex runs as the calling user)."""

    store: Store
    user_id: str
    api_version: str
    limits: Limits = field(default_factory=Limits)
    #: ``System.debug`` output; Salesforce writes it to a debug log rather than returning it.
    debug_lines: list[str] = field(default_factory=list)

    @property
    def org_id(self) -> str:
        return self.store.org_id

    @property
    def username(self) -> str | None:
        user = self.store.user_by_id(self.user_id)
        return user["Username"] if user else None
