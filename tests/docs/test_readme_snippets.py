"""Every Python block in README.md runs as written.

A newcomer copies these first; a snippet that fails is the first hour lost. Each block is taken out of
README.md and run in a fresh namespace against the session's emulator: the only change made to it is the
port (the README's emulator listens on 127.0.0.1:8999; the test's on a free port). The blocks that
need an org's own secrets (the other login flows) only build their clients, which sends nothing.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
README_PORT = "127.0.0.1:8999"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.DOTALL)


def block_starting(first_line: str) -> str:
    found = [block for block in python_blocks() if block.startswith(first_line)]
    assert len(found) == 1, f"README.md should have one Python block starting {first_line!r}"
    return found[0]


def run(block: str, emulator: Any) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "readme_snippet"}
    exec(compile(block.replace(README_PORT, f"127.0.0.1:{emulator.port}"), str(README), "exec"), namespace)
    return namespace


@pytest.fixture
def sfpy_default(monkeypatch: pytest.MonkeyPatch, emulator: Any) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_SFPY_DEFAULT", json.dumps(emulator.airflow_connection()))


def test_every_readme_block_is_one_of_those_run_here() -> None:
    for block in python_blocks():
        matches = [start for start in STARTS if block.startswith(start)]
        assert len(matches) == 1, f"a README.md Python block is not run here (or is ambiguous): {block[:80]!r}"
    assert len(python_blocks()) == len(STARTS)


def test_the_client_tour_runs_against_a_local_emulator(emulator: Any, capsys: pytest.CaptureFixture[str]) -> None:
    namespace = run(block_starting(CLIENT_TOUR), emulator)
    client = namespace["client"]
    assert not client.is_logged_in  # the tour ends with logout()
    printed = capsys.readouterr().out.split()  # the streamed loop prints each Id
    assert len(printed) == sum(len(page["records"]) for page in namespace["pages"]) > 0
    checker = emulator.password_client()
    checker.login()
    deleted = checker.query_all(f"SELECT IsDeleted FROM Account WHERE Id = '{namespace['account_id']}'").body
    assert deleted["records"][0]["IsDeleted"] is True


def test_the_other_login_flows_build_their_clients(emulator: Any) -> None:
    namespace = run("from airflow_provider_sfpy.client import Client\n" + block_starting(OTHER_FLOWS), emulator)
    assert "Client" in namespace


def test_the_hook_snippet_gets_a_logged_in_client(emulator: Any, sfpy_default: None) -> None:
    client = run(block_starting(HOOK), emulator)["client"]
    assert client.is_logged_in


def test_the_operator_snippet_builds_its_operators(emulator: Any) -> None:
    namespace = run(block_starting(OPERATORS), emulator)
    for name in ("export", "upsert", "apex", "submit", "post", "saql"):
        assert namespace[name].task_id == name


def test_the_safe_template_snippet_builds_its_dag(emulator: Any) -> None:
    namespace = run(block_starting(SAFE_TEMPLATES), emulator)
    assert namespace["soql_quote"]("O'Brien") == "'O\\'Brien'"


def test_the_incremental_snippet_builds_on_airflow_3_3_and_is_refused_before(emulator: Any) -> None:
    from airflow_provider_sfpy.operators.watermark import asset_state_store_available

    block = block_starting(INCREMENTAL)
    if asset_state_store_available():
        run(block, emulator)
    else:
        with pytest.raises(Exception, match=r"needs Airflow 3\.3"):
            run(block, emulator)


def test_the_change_events_snippet_builds_its_asset_and_dag_on_airflow_3_3_and_is_refused_before(
    emulator: Any,
) -> None:
    from airflow_provider_sfpy.triggers.change_events import ACK_MODE_AVAILABLE

    block = block_starting(CHANGE_EVENTS)
    if not ACK_MODE_AVAILABLE:
        with pytest.raises(RuntimeError, match=r"needs Airflow 3\.3"):
            run(block, emulator)
        return
    namespace = run(block, emulator)
    [watcher] = namespace["closed_won"].watchers
    assert watcher.trigger.channel == "/data/OpportunityChangeEvent"
    assert namespace["dag"].dag_id == "on_closed_won" and "announce" in namespace["dag"].task_ids


CLIENT_TOUR = "from airflow_provider_sfpy import client as sfpy"
OTHER_FLOWS = "Client.with_jwt("
HOOK = "from airflow_provider_sfpy.hooks.salesforce import SalesforcePyHook"
OPERATORS = "from airflow_provider_sfpy.operators.query_to_file import SalesforceQueryToFileOperator\nfrom"
INCREMENTAL = "from airflow_provider_sfpy.operators.query_to_file import SalesforceQueryToFileOperator\n\n"
SAFE_TEMPLATES = "from airflow.sdk import DAG"
CHANGE_EVENTS = "# Airflow 3.3+: run a DAG when an Opportunity closes."
STARTS = [CLIENT_TOUR, OTHER_FLOWS, HOOK, OPERATORS, INCREMENTAL, SAFE_TEMPLATES, CHANGE_EVENTS]
