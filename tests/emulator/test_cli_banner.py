"""``sfpy-emulator`` prints its base URL and an ``AIRFLOW_CONN_SFPY_DEFAULT`` line that works as printed.

Each process test starts the real command (``EmulatorProcess``), takes the printed line, hands it to
Airflow as the environment variable it names, and runs a query through the hook. Secrets the user
chose, and the admin token, must appear nowhere in what it prints.
"""

from __future__ import annotations

import json
import shlex
import time
from pathlib import Path

import pytest

from airflow_provider_sfpy.emulator import defaults
from airflow_provider_sfpy.emulator.cli import banner, build_parser, config_from_args
from airflow_provider_sfpy.emulator.process import EmulatorProcess
from airflow_provider_sfpy.emulator.testing import write_tls_files
from airflow_provider_sfpy.hooks.salesforce import SalesforcePyHook

CONN_PREFIX = "export AIRFLOW_CONN_SFPY_DEFAULT="
ADMIN_TOKEN = "admin-token-that-must-stay-hidden-1f9c"
CHOSEN = {"--password": "my-own-Pa55!", "--client-secret": "my-own-client-secret-77", "--security-token": "TOK3N"}


def printed_lines(emu: EmulatorProcess, timeout: float = 10.0) -> list[str]:
    """What the command printed: the ready line, then (in the same write) its banner."""
    deadline = time.monotonic() + timeout
    while not any(line.startswith(CONN_PREFIX) for line in emu.output) and time.monotonic() < deadline:
        time.sleep(0.01)
    return [line.rstrip("\n") for line in emu.output]


def connection_from(lines: list[str]) -> tuple[str, str]:
    """The (name, value) the printed ``export`` line sets, read as a shell would."""
    [line] = [line for line in lines if line.startswith(CONN_PREFIX)]
    [assignment] = shlex.split(line.removeprefix("export "))
    name, _, value = assignment.partition("=")
    return name, value


def query_through_hook(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> int:
    monkeypatch.setenv(name, value)
    with SalesforcePyHook(sfpy_conn_id="sfpy_default").get_conn() as client:  # closed: the server stops at once
        total: int = client.query("SELECT Id FROM Account").body["totalSize"]
    return total


def test_printed_connection_line_works_as_is(monkeypatch: pytest.MonkeyPatch) -> None:
    with EmulatorProcess(admin_token=ADMIN_TOKEN) as emu:
        lines = printed_lines(emu)
        assert lines[0] == f"sfpy-emulator ready on {emu.base_url} (user {defaults.DEFAULT_USERNAME})"
        assert any(line.startswith(f"Base URL: {emu.base_url} ") for line in lines)
        name, value = connection_from(lines)
        connection = json.loads(value)
        assert connection["host"] == emu.base_url and emu.base_url.startswith("http://")
        assert connection["password"] == defaults.DEFAULT_PASSWORD
        assert connection["extra"]["client_secret"] == defaults.DEFAULT_CLIENT_SECRET
        assert name == "AIRFLOW_CONN_SFPY_DEFAULT"
        assert query_through_hook(monkeypatch, name, value) > 0
    assert ADMIN_TOKEN not in "\n".join(lines)


def test_tls_line_names_the_ca_bundle_and_chosen_secrets_stay_hidden(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    cert, key = write_tls_files(tmp_path)
    chosen = [arg for option, value in CHOSEN.items() for arg in (option, value)]
    with EmulatorProcess(["--tls-cert", cert, "--tls-key", key, *chosen]) as emu:
        lines = printed_lines(emu)
        printed = "\n".join(lines)
        for secret in CHOSEN.values():
            assert secret not in printed
        name, value = connection_from(lines)
        connection = json.loads(value)
        assert connection["host"] == emu.base_url and emu.base_url.startswith("https://")
        assert connection["extra"]["ca_bundle"] == str(Path(cert).resolve())
        assert connection["password"] == "<your --password value>"
        assert connection["extra"]["security_token"] == "<your --security-token value>"
        # Filled in by the user, the same line logs in over TLS, verified against the printed CA bundle.
        for option, secret in CHOSEN.items():
            value = value.replace(f"<your {option} value>", secret)
        assert query_through_hook(monkeypatch, name, value) > 0


@pytest.mark.parametrize("option", sorted(CHOSEN))
def test_each_chosen_secret_becomes_a_placeholder(option: str) -> None:
    config = config_from_args(build_parser().parse_args([option, CHOSEN[option]]))
    printed = "\n".join(banner("http://127.0.0.1:8999", config))
    assert CHOSEN[option] not in printed
    assert f"<your {option} value>" in printed
    assert f"placeholders for your {option}" in printed
