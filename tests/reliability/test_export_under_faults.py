"""A 200k-row SOQL export to a file while Salesforce misbehaves: the same bytes, or a loud failure and no file.

One emulator with 200,000 generated Accounts (awkward text: commas, quotes, newlines, non-ASCII) serves
the module. A fault-free export is the reference; every faulty run must produce a byte-identical file,
spend exactly one extra request per injected fault (retries are bounded) and log each retry. A fault
that outlasts the retry budget must fail the task and leave nothing at the destination — not even a
temporary file, and not a truncated copy of yesterday's export.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from reliability_support import FAST_RETRY, connection_fields, requests_to, task_context, with_fast_retries

from airflow_provider_sfpy.client import (
    SalesforceConnectionError,
    SalesforceError,
    SalesforceLimitExceededError,
    SalesforceServerError,
    SalesforceSessionExpiredError,
)
from airflow_provider_sfpy.hooks.salesforce import SalesforcePyHook
from airflow_provider_sfpy.operators.query_to_file import SalesforceQueryToFileOperator

ROWS = 200_000
BATCH = 2000
CONN_ID = "sfpy_big"
READ_TIMEOUT = 4.0
# Text with commas, quotes, newlines and non-ASCII (Description), numbers and booleans; no ORDER BY, so the
# first page is not a 200k-row sort (the emulator returns rows in storage order, the same every run).
SOQL = "SELECT Id, Name, Industry, AnnualRevenue, Description, Active__c FROM Account"
NEXT_PAGE = r"/query/"  # nextRecordsUrl pages (the first page is /query?q=...)
ANY_PAGE = r"/query"


@pytest.fixture(scope="module")
def big_emulator() -> Iterator[Any]:
    from airflow_provider_sfpy.emulator.testing import start_emulator

    # Server and client share one process: a short GIL switch interval keeps the client's many small
    # socket reads from queueing behind the server thread (the "convoy" that triples wall time).
    interval = sys.getswitchinterval()
    sys.setswitchinterval(0.0005)
    try:
        with start_emulator(generate={"Account": ROWS}) as running:
            yield running
    finally:
        sys.setswitchinterval(interval)


@pytest.fixture
def big_conn(big_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(connection_fields(big_emulator)))
    return CONN_ID


def export(destination: Path) -> dict[str, Any]:
    operator = SalesforceQueryToFileOperator(
        task_id="export", soql=SOQL, destination=str(destination), batch_size=BATCH, sfpy_conn_id=CONN_ID
    )
    result: dict[str, Any] = with_fast_retries(operator).execute(context=task_context())
    return result


def digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


@pytest.fixture(scope="module")
def reference(big_emulator: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The fault-free export: its digest, size, row and page counts."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(connection_fields(big_emulator)))
        path = tmp_path_factory.mktemp("reference") / "accounts.csv"
        result = export(path)
    big_emulator.clear_requests_log()
    assert result["rows"] == big_emulator.store.count("Account") >= ROWS
    return {"digest": digest(path), "size": path.stat().st_size, "rows": result["rows"], "pages": result["pages"]}


def test_the_reference_export_is_complete(reference: dict[str, Any]) -> None:
    assert reference["pages"] == -(-reference["rows"] // BATCH)
    assert reference["size"] > ROWS * 50  # the generated text is long and awkward, not empty


# (rule, disruptive): a disruptive fault costs exactly one extra request; a short latency spike costs none.
FAULTS: dict[str, list[tuple[dict[str, Any], bool]]] = {
    "503-at-a-rate": [({"path": ANY_PAGE, "status": 503, "rate": 0.1, "seed": 11}, True)],
    "429-with-retry-after": [({"path": NEXT_PAGE, "status": 429, "retry_after": 1, "skip": 10, "times": 2}, True)],
    "dropped-connections": [
        ({"path": NEXT_PAGE, "drop": "before", "rate": 0.03, "seed": 21}, True),
        ({"path": NEXT_PAGE, "drop": "after", "rate": 0.03, "seed": 22}, True),
        ({"path": NEXT_PAGE, "drop": "partial", "rate": 0.03, "seed": 23}, True),
    ],
    "latency-spikes": [
        ({"path": NEXT_PAGE, "latency": READ_TIMEOUT + 0.5, "skip": 40, "times": 1}, True),  # read timeout
        ({"path": NEXT_PAGE, "latency": 0.3, "rate": 0.05, "seed": 31}, False),  # slow, within the timeout
    ],
    "401-mid-pagination": [
        ({"path": NEXT_PAGE, "expire_sessions": True, "skip": 20, "times": 1}, True),
        ({"path": NEXT_PAGE, "status": 401, "skip": 60, "times": 1}, True),
    ],
}
RELOGIN_FAULTS = {"401-mid-pagination"}


@pytest.mark.parametrize("name", list(FAULTS))
def test_faulty_export_is_byte_identical_with_bounded_logged_retries(
    name: str,
    big_emulator: Any,
    big_conn: str,
    reference: dict[str, Any],
    tmp_path: Path,
    provider_records: list[logging.LogRecord],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rules = FAULTS[name]
    if name == "latency-spikes":  # a read timeout of a few seconds, so that a longer spike is a timeout
        fields = connection_fields(big_emulator, timeout=READ_TIMEOUT)
        monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(fields))
    big_emulator.add_faults(*(rule for rule, _ in rules))
    destination = tmp_path / "accounts.csv"
    started = time.monotonic()
    result = export(destination)
    elapsed = time.monotonic() - started

    assert (result["rows"], result["pages"]) == (reference["rows"], reference["pages"])
    assert destination.stat().st_size == reference["size"]
    assert digest(destination) == reference["digest"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["accounts.csv"]  # no temporary file left behind

    fired = [rule["fired"] for rule in big_emulator.faults()]
    assert all(fired), f"every rule must have fired at least once: {big_emulator.faults()}"
    disruptions = sum(count for count, (_, disruptive) in zip(fired, rules, strict=True) if disruptive)
    log = big_emulator.requests_log()
    pages = requests_to(log, "/query", "GET")
    # Bounded: each fault cost exactly one more request, and no page was asked for too often.
    assert len(pages) == reference["pages"] + disruptions
    per_page: dict[str, int] = {}
    for entry in pages:
        key = entry["path"] + "?" + entry["query"]
        per_page[key] = per_page.get(key, 0) + 1
    assert max(per_page.values()) <= FAST_RETRY.max_attempts

    retries = [r for r in provider_records if r.levelno == logging.WARNING and "retry" in r.getMessage()]
    if name in RELOGIN_FAULTS:
        # The task's login, then one fresh login per expiry.
        assert len(requests_to(log, "/oauth2/token", "POST")) == 1 + disruptions
    else:
        assert len(retries) == disruptions, [r.getMessage() for r in retries]
        assert all("/query" in r.getMessage() and "token" not in r.getMessage().lower() for r in retries)
    if name == "429-with-retry-after":
        assert elapsed >= 2 * 1.0  # Retry-After: 1 honoured twice
        assert all("in 1.0s" in r.getMessage() for r in retries)


def test_a_relogin_mid_pagination_is_logged(
    big_emulator: Any, big_conn: str, provider_records: list[logging.LogRecord]
) -> None:
    client = SalesforcePyHook(sfpy_conn_id=CONN_ID, retry=FAST_RETRY).get_conn()
    big_emulator.add_faults({"path": NEXT_PAGE, "status": 401, "times": 1})
    rows = list(client.query_records("SELECT Id FROM Account LIMIT 6000", batch_size=BATCH))
    assert len(rows) == 6000
    assert len(requests_to(big_emulator.requests_log(), "/oauth2/token", "POST")) == 2  # get_conn, then the renewal
    messages = [r.getMessage().lower() for r in provider_records if r.levelno >= logging.INFO]
    assert any("session" in m or "log in" in m or "login" in m for m in messages), messages


PERSISTENT_FAULTS: dict[str, tuple[dict[str, Any], type[SalesforceError]]] = {
    "503-forever": ({"status": 503}, SalesforceServerError),
    "429-forever": ({"status": 429, "retry_after": 0}, SalesforceLimitExceededError),
    "connection-dropped-forever": ({"drop": "before"}, SalesforceConnectionError),
    "401-forever": ({"status": 401}, SalesforceSessionExpiredError),
}


@pytest.mark.parametrize(
    ("name", "yesterday"),
    [*((name, False) for name in PERSISTENT_FAULTS), ("503-forever", True)],
    ids=[*PERSISTENT_FAULTS, "503-forever-previous-file-kept"],
)
def test_a_fault_outlasting_the_retry_budget_fails_with_no_partial_file(
    name: str, yesterday: bool, big_emulator: Any, big_conn: str, tmp_path: Path
) -> None:
    rule, error = PERSISTENT_FAULTS[name]
    destination = tmp_path / "accounts.csv"
    previous = b"Id,Name\r\n001000000000001AAA,Yesterday's complete export\r\n"
    if yesterday:
        destination.write_bytes(previous)
    big_emulator.add_faults({"path": NEXT_PAGE, "skip": 5, **rule})  # 6 pages (12,000 rows) in, the outage begins

    with pytest.raises(error):
        export(destination)

    if yesterday:
        assert destination.read_bytes() == previous  # untouched, not truncated or half-replaced
        assert [p.name for p in tmp_path.iterdir()] == ["accounts.csv"]
    else:
        assert list(tmp_path.iterdir()) == []
    log = big_emulator.requests_log()
    failing_page = [e for e in requests_to(log, "/query/", "GET") if e["fault"] is not None]
    if name == "401-forever":
        # The task's login plus at most two fresh logins (a session refused right after a re-login gets
        # one more), the same page after each: bounded, not a loop.
        assert len(requests_to(log, "/oauth2/token", "POST")) == 3
        assert len(failing_page) == 3
    else:
        assert len(failing_page) == FAST_RETRY.max_attempts
