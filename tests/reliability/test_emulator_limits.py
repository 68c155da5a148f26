"""The emulator cannot be stalled: Apex governor limits, a store lock that no Apex run keeps, a guarded admin API.

- Anonymous Apex stops at Salesforce's synchronous limits, a 6 MB heap and 10 s of CPU time (both
  settable in ``EmulatorConfig``), with an uncatchable ``System.LimitException`` in the
  ``executeAnonymous`` result: a string doubled in a loop no longer grows the emulator to gigabytes,
  an endless loop ends.
- The store's lock is held per DML statement and query, never for a whole Apex run: while an endless
  loop runs, other clients' queries and writes answer at once. The block's writes are still undone if
  it fails, and only its own (another client's write made meanwhile stays).
- The admin API (fault rules, the request log with every client's queries, session expiry) answers
  only with the token the emulator was started with; without one it is disabled.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from airflow_provider_sfpy.emulator import defaults
from airflow_provider_sfpy.emulator.apex import execute_anonymous
from airflow_provider_sfpy.emulator.apex.context import DEBUG_LOG_BYTES, HEAP_BYTES, Limits
from airflow_provider_sfpy.emulator.cli import ADMIN_TOKEN_ENV, build_parser, config_from_args
from airflow_provider_sfpy.emulator.config import EmulatorConfig
from airflow_provider_sfpy.emulator.process import EmulatorProcess
from airflow_provider_sfpy.emulator.schema import SCHEMA
from airflow_provider_sfpy.emulator.testing import AdminClient, RunningEmulator, start_emulator

HEAP_TOO_LARGE = "System.LimitException: Apex heap size too large: "
CPU_EXCEEDED = "System.LimitException: Apex CPU time limit exceeded"
ENDLESS = "Integer i = 0;\nwhile (true) {\n  i++;\n}"


@pytest.fixture(scope="module")
def quick_cpu() -> Iterator[RunningEmulator]:
    """An emulator whose Apex CPU limit is 0.5 s (the heap limit is Salesforce's 6 MB)."""
    with start_emulator(apex_cpu_seconds=0.5) as running:
        yield running


@pytest.fixture(scope="module")
def patient_cpu() -> Iterator[RunningEmulator]:
    """An emulator whose Apex CPU limit (4 s) leaves time to talk to it while a loop runs."""
    with start_emulator(apex_cpu_seconds=4.0) as running:
        yield running


class Session:
    """One logged-in client of an emulator."""

    def __init__(self, emulator: RunningEmulator) -> None:
        self.emulator = emulator
        self.http = requests.Session()
        self.http.headers.update(emulator.auth_headers())

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.http.get(self.emulator.data_url(path), timeout=60, **kwargs)

    def apex(self, source: str) -> dict[str, Any]:
        response = self.get("/tooling/executeAnonymous/", params={"anonymousBody": source})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def query(self, soql: str) -> dict[str, Any]:
        response = self.get("/query/", params={"q": soql})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def names(self, prefix: str) -> list[str]:
        soql = f"SELECT Name FROM Account WHERE Name LIKE '{prefix}%' ORDER BY Name"
        return [r["Name"] for r in self.query(soql)["records"]]

    def create(self, name: str) -> str:
        response = self.http.post(self.emulator.data_url("/sobjects/Account/"), json={"Name": name}, timeout=60)
        assert response.status_code == 201, response.text
        record_id: str = response.json()["id"]
        return record_id


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def failed_with(body: dict[str, Any], message: str, line: int, column: int) -> None:
    assert body["compiled"] is True and body["success"] is False, body
    assert body["exceptionMessage"].startswith(message), body
    assert (body["line"], body["column"]) == (line, column), body
    assert body["exceptionStackTrace"] == f"AnonymousBlock: line {line}, column {column}"


# ------------------------------------------------------------------------------------------ heap


def test_a_string_doubled_in_a_loop_stops_at_the_6_mb_heap(quick_cpu: RunningEmulator) -> None:
    started = time.monotonic()
    body = Session(quick_cpu).apex("String s = 'x';\nwhile (true) {\n  s = s + s;\n}")
    failed_with(body, HEAP_TOO_LARGE, 3, 3)
    size = int(body["exceptionMessage"].rsplit(": ", 1)[1])
    assert HEAP_BYTES < size <= 2 * HEAP_BYTES  # stopped at the first measure past 6 MB, not at gigabytes
    assert time.monotonic() - started < 5


def test_a_list_grown_without_end_stops_at_the_heap_limit() -> None:
    with start_emulator(sample_data=False, apex_heap_bytes=200_000) as running:
        source = "List<String> l = new List<String>();\nwhile (true) {\n  l.add('row ' + l.size());\n}"
        body = Session(running).apex(source)
    failed_with(body, HEAP_TOO_LARGE, 3, 3)
    assert 200_000 < int(body["exceptionMessage"].rsplit(": ", 1)[1]) < 400_000


def test_the_heap_counts_what_is_held_not_what_was_ever_made(quick_cpu: RunningEmulator) -> None:
    """A 2 MB string held by three variables is 2 MB; a hundred 2 MB strings, each replacing the last, are 2 MB."""
    source = """
        String s = 'x';
        for (Integer i = 0; i < 21; i++) { s = s + s; }
        String t = s;
        String u = t;
        String latest = '';
        for (Integer i = 0; i < 100; i++) { latest = s + i; }
        System.assertEquals(2097152, u.length());
        System.assertEquals(2097154, latest.length());
    """
    body = Session(quick_cpu).apex(source)
    assert body["success"] is True, body


def test_a_limit_exception_is_not_caught_runs_no_finally_and_rolls_back(quick_cpu: RunningEmulator) -> None:
    session = Session(quick_cpu)
    prefix = unique("HeapRollback")
    source = (
        f"insert new Account(Name = '{prefix}-before');\n"
        "String s = 'x';\n"
        "try {\n"
        "  while (true) { s += s; }\n"
        "} catch (Exception e) {\n"
        f"  insert new Account(Name = '{prefix}-caught');\n"
        "} finally {\n"
        f"  insert new Account(Name = '{prefix}-finally');\n"
        "}"
    )
    failed_with(session.apex(source), HEAP_TOO_LARGE, 4, 18)
    assert session.names(prefix) == []


# ------------------------------------------------------------------------------------------ CPU time


def test_an_endless_loop_ends_at_the_configured_cpu_limit(quick_cpu: RunningEmulator) -> None:
    started = time.monotonic()
    body = Session(quick_cpu).apex(ENDLESS)
    elapsed = time.monotonic() - started
    assert body["exceptionMessage"] == CPU_EXCEEDED and body["success"] is False
    assert body["line"] in (2, 3)
    assert 0.5 <= elapsed < 5


def test_the_cpu_limit_is_not_caught_either(quick_cpu: RunningEmulator) -> None:
    session = Session(quick_cpu)
    prefix = unique("CpuCatch")
    source = (
        "Integer i = 0;\n"
        f"try {{ while (true) {{ i++; }} }} catch (Exception e) {{ insert new Account(Name = '{prefix}'); }}\n"
        f"finally {{ insert new Account(Name = '{prefix}-finally'); }}"
    )
    body = session.apex(source)
    assert body["exceptionMessage"] == CPU_EXCEEDED and body["line"] == 2
    assert session.names(prefix) == []


def test_limits_default_to_salesforces() -> None:
    config = EmulatorConfig()
    assert (config.apex_cpu_seconds, config.apex_heap_bytes) == (10.0, 6 * 1024 * 1024)
    assert (Limits().cpu_seconds, Limits().heap_bytes) == (10.0, 6 * 1024 * 1024)


def test_the_debug_log_is_capped(quick_cpu: RunningEmulator) -> None:
    """``System.debug`` of a fresh 1 MB string in a loop keeps at most the debug log's 20 MB."""
    result = execute_anonymous(
        "String s = 'x';\nfor (Integer i = 0; i < 20; i++) { s += s; }\nwhile (true) { System.debug(s + '!'); }",
        quick_cpu.store,
        user_id=quick_cpu.state.admin_user_id,
        api_version=quick_cpu.api_version,
        limits=Limits(cpu_seconds=0.5),
    )
    assert result.exception_message == CPU_EXCEEDED
    assert sum(map(len, result.debug_lines)) <= DEBUG_LOG_BYTES + 100


# ------------------------------------------------------------------------------------------ the store lock


def run_in_background(session: Session, source: str) -> tuple[threading.Thread, dict[str, Any]]:
    """Send ``source`` to executeAnonymous from a thread; returns once the emulator is running it."""
    outcome: dict[str, Any] = {}
    emulator = session.emulator
    emulator.clear_requests_log()

    def send() -> None:
        outcome["body"] = session.apex(source)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not any("executeAnonymous" in e["path"] for e in emulator.requests_log()):
        assert time.monotonic() < deadline, "the Apex request never arrived"
        time.sleep(0.02)
    time.sleep(0.3)  # well into the loop
    assert thread.is_alive()
    return thread, outcome


def test_an_endless_apex_loop_does_not_block_other_clients(patient_cpu: RunningEmulator) -> None:
    owner, other = Session(patient_cpu), Session(patient_cpu)
    prefix = unique("LockFree")
    other.create(f"{prefix}-existing")
    thread, outcome = run_in_background(owner, f"insert new Account(Name = '{prefix}-apex');\n{ENDLESS}")

    started = time.monotonic()
    rows = other.query("SELECT Id, Name FROM Account LIMIT 1")
    assert time.monotonic() - started < 2  # was: the whole CPU limit, waiting for the store lock
    assert rows["totalSize"] == 1

    started = time.monotonic()
    other.create(f"{prefix}-during")
    assert time.monotonic() - started < 2
    assert thread.is_alive()  # all of it while the loop was still running

    thread.join(timeout=30)
    assert outcome["body"]["exceptionMessage"] == CPU_EXCEEDED
    # The failed block's insert is undone; the other client's write, made meanwhile, stays.
    assert other.names(prefix) == [f"{prefix}-during", f"{prefix}-existing"]


def test_a_failed_block_undoes_every_kind_of_write_exactly(patient_cpu: RunningEmulator) -> None:
    """Insert, update, upsert (both ways) and a delete that cascades to children: all put back as they were."""
    store = patient_cpu.store
    session = Session(patient_cpu)
    prefix = unique("Undo")
    parent = session.create(f"{prefix}-parent")
    kept = session.create(f"{prefix}-kept")
    contact = {"LastName": f"{prefix}-child", "AccountId": parent}
    child = session.http.post(patient_cpu.data_url("/sobjects/Contact/"), json=contact, timeout=60)
    assert child.status_code == 201, child.text

    def snapshot() -> dict[str, list[tuple[Any, ...]]]:
        with store.lock:
            return {t: store._conn.execute(f'SELECT rowid, * FROM "{t}" ORDER BY rowid').fetchall() for t in SCHEMA}

    before = snapshot()
    source = f"""
        insert new Account(Name = '{prefix}-new');
        Account k = [SELECT Id, Name FROM Account WHERE Id = '{kept}'];
        k.Name = '{prefix}-renamed';
        k.AnnualRevenue = 12.5;
        update k;
        upsert new List<Account>{{k, new Account(Name = '{prefix}-upserted')}};
        delete [SELECT Id FROM Account WHERE Id = '{parent}'];
        System.assertEquals(0, [SELECT COUNT() FROM Contact WHERE AccountId = '{parent}']);
        Integer zero = 0;
        Integer boom = 1 / zero;
    """
    body = session.apex(source)
    assert body["exceptionMessage"] == "System.MathException: Divide by 0", body
    assert snapshot() == before


def test_a_successful_block_keeps_its_writes(patient_cpu: RunningEmulator) -> None:
    session = Session(patient_cpu)
    prefix = unique("Kept")
    assert session.apex(f"insert new Account(Name = '{prefix}');")["success"] is True
    assert session.names(prefix) == [prefix]


# ------------------------------------------------------------------------------------------ the admin API


ADMIN_CALLS = [("GET", "faults"), ("POST", "faults"), ("DELETE", "faults"), ("GET", "requests")]
ADMIN_CALLS += [("DELETE", "requests"), ("POST", "expire-sessions")]


def admin_call(emulator: RunningEmulator, method: str, path: str, headers: dict[str, str]) -> requests.Response:
    body = {"rules": [{"status": 503}]} if method == "POST" and path == "faults" else None
    return requests.request(method, emulator.admin_url(path), json=body, headers=headers, timeout=30)


@pytest.mark.parametrize(("method", "path"), ADMIN_CALLS)
@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"X-Emulator-Admin-Token": "wrong"}, {"Authorization": "Basic x"}],
    ids=["no-token", "wrong-bearer", "wrong-header", "other-scheme"],
)
def test_the_admin_api_refuses_requests_without_its_token(
    patient_cpu: RunningEmulator, method: str, path: str, headers: dict[str, str]
) -> None:
    session = Session(patient_cpu)
    response = admin_call(patient_cpu, method, path, headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    error = response.json()
    assert error["errorCode"] == "ADMIN_TOKEN_REQUIRED"
    assert "--admin-token" in error["error"] and "X-Emulator-Admin-Token" in error["error"]
    assert patient_cpu.admin_token is not None and patient_cpu.admin_token not in response.text
    # Nothing happened: no rule added, the session still valid.
    assert patient_cpu.faults() == []
    assert session.get("/limits").status_code == 200


@pytest.mark.parametrize("scheme", ["bearer", "header"])
def test_the_admin_api_answers_with_its_token(patient_cpu: RunningEmulator, scheme: str) -> None:
    token = patient_cpu.admin_token
    assert token
    headers = {"Authorization": f"Bearer {token}"} if scheme == "bearer" else {"X-Emulator-Admin-Token": token}
    response = requests.get(patient_cpu.admin_url("requests"), headers=headers, timeout=30)
    assert response.status_code == 200 and isinstance(response.json(), list)


def test_without_a_token_the_admin_api_is_disabled() -> None:
    with start_emulator(sample_data=False, admin_token=None) as running:
        assert running.admin_token is None
        for method, path in ADMIN_CALLS:
            response = admin_call(running, method, path, {"Authorization": "Bearer anything"})
            assert response.status_code == 403
            assert response.json()["errorCode"] == "ADMIN_API_DISABLED"
            assert "start the emulator with --admin-token" in response.json()["error"]
        with pytest.raises(requests.HTTPError):
            running.faults()


def test_start_emulator_makes_a_random_token_and_its_admin_client_sends_it() -> None:
    with start_emulator(sample_data=False) as first, start_emulator(sample_data=False, admin_token="chosen") as second:
        assert first.admin_token and len(first.admin_token) >= 32 and first.admin_token != "chosen"
        assert second.admin_token == "chosen"
        assert "chosen" not in repr(second.config)
        first.add_faults({"path": "/nowhere", "status": 503})
        assert [rule["status"] for rule in first.faults()] == [503]
        assert second.faults() == []
        assert AdminClient(second.base_url, admin_token="chosen").requests_log() == []
        with pytest.raises(requests.HTTPError, match="401"):
            AdminClient(second.base_url).faults()


def test_the_cli_takes_the_token_from_the_flag_or_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ADMIN_TOKEN_ENV, raising=False)
    assert config_from_args(build_parser().parse_args([])).admin_token is None
    assert config_from_args(build_parser().parse_args(["--admin-token", "t1"])).admin_token == "t1"
    monkeypatch.setenv(ADMIN_TOKEN_ENV, "from-env")
    assert config_from_args(build_parser().parse_args([])).admin_token == "from-env"
    assert config_from_args(build_parser().parse_args(["--admin-token", "t2"])).admin_token == "t2"


def test_a_token_that_starts_with_a_dash_is_a_value_not_an_option() -> None:
    """``secrets.token_urlsafe`` starts with ``-`` one time in 64; ``--admin-token=-x`` must still parse."""
    assert config_from_args(build_parser().parse_args(["--admin-token=-x1"])).admin_token == "-x1"


def test_the_command_line_emulator_guards_its_admin_api() -> None:
    token = "-" + uuid.uuid4().hex  # a leading dash once broke CI (argparse took it for an option)
    with EmulatorProcess(["--no-sample-data"], admin_token=token) as process:
        assert token not in " ".join(process._proc.args if process._proc else [])  # not on the command line (ps)
        assert AdminClient(process.base_url, admin_token=token).faults() == []
        refused = requests.get(f"{process.base_url}/__emulator__/requests", timeout=30)
        assert refused.status_code == 401
        login = requests.post(
            f"{process.base_url}/services/oauth2/token",
            data={
                "grant_type": "password",
                "client_id": defaults.DEFAULT_CLIENT_ID,
                "client_secret": defaults.DEFAULT_CLIENT_SECRET,
                "username": defaults.DEFAULT_USERNAME,
                "password": defaults.DEFAULT_PASSWORD + defaults.DEFAULT_SECURITY_TOKEN,
            },
            timeout=30,
        )
        assert login.status_code == 200  # the rest of the emulator needs no admin token
    assert token not in "".join(process.output)  # the token is never printed
