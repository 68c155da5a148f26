"""What one anonymous-Apex execution runs against: the org's store, the running user, governor limits.

Governor limits are enforced because they are part of the contract people test against (a loop of
single-record inserts fails on Salesforce at statement 151, so it fails here too) and because the CPU
and heap limits are what keep an endless loop or a runaway string from stalling the emulator: both
end the block with an uncatchable ``System.LimitException``, as on the platform.

The heap is an estimate (``values.heap_size``): Python objects are not Apex's, so what is counted is
what Apex would hold - the characters of each String, a few bytes per number and list slot - for the
values reachable from the block's variables. Walking them costs time, so it is done only once enough
new data was stored since the last walk (``note_allocation``); by then the walk is what tells.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from airflow_provider_sfpy.emulator.store import Store, UndoLog

from .errors import throw

SOQL_QUERIES = 100
DML_STATEMENTS = 150
DML_ROWS = 10_000
QUERY_ROWS = 50_000
CPU_SECONDS = 10.0
#: Synchronous Apex heap: 6 MB.
HEAP_BYTES = 6 * 1024 * 1024
#: ``System.debug`` output kept per execution; Salesforce truncates a debug log at 20 MB too.
DEBUG_LOG_BYTES = 20 * 1024 * 1024
DEBUG_LOG_TRUNCATED = "*********** MAXIMUM DEBUG LOG SIZE REACHED ***********"


@dataclass
class Limits:
    """Synchronous Apex governor limits, counted for one transaction."""

    cpu_seconds: float = CPU_SECONDS
    heap_bytes: int = HEAP_BYTES
    queries: int = 0
    query_rows: int = 0
    dml_statements: int = 0
    dml_rows: int = 0
    started: float = field(default_factory=time.monotonic)
    #: Bytes of values stored since the heap was last measured, and the heap then.
    unmeasured_bytes: int = 0
    heap_measured: int = 0

    def start(self) -> None:
        """Start the CPU clock: the block begins to run now."""
        self.started = time.monotonic()

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

    def note_allocation(self, size: int) -> None:
        """``size`` more bytes were stored (a variable, list slot or field set)."""
        self.unmeasured_bytes += size

    def heap_due(self) -> bool:
        """Enough was stored since the last measurement for the heap to be measured again.

        A sixteenth of the limit, or a quarter of the heap last measured if more: the walk over a
        large heap is then paid for by as much new data, and the heap cannot pass the limit by more
        than what one statement stores plus that margin before it is noticed.
        """
        return self.unmeasured_bytes > max(self.heap_bytes // 16, self.heap_measured // 4)

    def check_heap(self, size: int) -> None:
        """The heap was measured at ``size`` bytes."""
        self.unmeasured_bytes = 0
        self.heap_measured = size
        if size > self.heap_bytes:
            raise throw("LimitException", f"Apex heap size too large: {size}")


@dataclass
class ExecutionContext:
    """The org and user an execution runs as (anonymous Apex runs as the calling user)."""

    store: Store
    user_id: str
    api_version: str
    limits: Limits = field(default_factory=Limits)
    #: ``System.debug`` output; Salesforce writes it to a debug log rather than returning it.
    debug_lines: list[str] = field(default_factory=list)
    debug_bytes: int = 0
    #: The block's writes so far, undone if it ends with an uncaught exception (``None``: not recorded).
    changes: UndoLog | None = None

    @property
    def org_id(self) -> str:
        return self.store.org_id

    @property
    def username(self) -> str | None:
        user = self.store.user_by_id(self.user_id)
        return user["Username"] if user else None

    def debug(self, text: str) -> None:
        """Append a ``System.debug`` line, up to the debug log's size limit."""
        if self.debug_bytes > DEBUG_LOG_BYTES:
            return
        self.debug_bytes += len(text)
        self.debug_lines.append(text if self.debug_bytes <= DEBUG_LOG_BYTES else DEBUG_LOG_TRUNCATED)
