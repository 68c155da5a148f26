"""The README's connection for a local emulator works as written: the URI line is read out of README.md,
only its port changed to the test emulator's, and the hook logs in with it and runs a query."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_sfpy.hooks.salesforce import SalesforcePyHook

README = Path(__file__).resolve().parents[2] / "README.md"
EMULATOR_URI_LINE = re.compile(r"^export AIRFLOW_CONN_SFPY_DEFAULT='(sfpy://http://[^']+)'$", re.MULTILINE)


def readme_emulator_uri() -> str:
    found = EMULATOR_URI_LINE.findall(README.read_text())
    assert len(found) == 1, "README.md should show exactly one URI connection to a plain-http emulator"
    return str(found[0])


def test_the_readme_uri_for_a_local_emulator_logs_in(monkeypatch: pytest.MonkeyPatch, emulator: Any) -> None:
    uri = readme_emulator_uri().replace("127.0.0.1:8999", f"127.0.0.1:{emulator.port}")
    assert f":{emulator.port}?" in uri, "the README's example emulator listens on 127.0.0.1:8999"
    monkeypatch.setenv("AIRFLOW_CONN_SFPY_README", uri)
    client = SalesforcePyHook(sfpy_conn_id="sfpy_readme").get_conn()
    assert client.query("SELECT COUNT() FROM Account").body["totalSize"] > 0
