"""example_sfpy_accounts end to end under dag.test() against the emulator: file written, records updated."""

from __future__ import annotations

import csv
import importlib.util
import json
from pathlib import Path
from typing import Any

from airflow_provider_sfpy.client import Client

EXAMPLE_DAGS = Path(__file__).resolve().parents[2] / "example_dags"


def _load_dag(module_name: str) -> Any:
    spec = importlib.util.spec_from_file_location(module_name, EXAMPLE_DAGS / f"{module_name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.dag


def test_accounts_dag_exports_and_flags(sfpy_default: None, emulator: Any, tmp_path: Path) -> None:
    dag = _load_dag("example_sfpy_accounts")
    run = dag.test(run_conf={"output_dir": tmp_path.as_uri(), "top_n": 2})
    assert str(run.state) in ("success", "DagRunState.SUCCESS"), run.state

    client = Client(
        emulator.username, emulator.password, emulator.client_id, emulator.client_secret, login_url=emulator.base_url
    )
    expected_total = client.query("SELECT COUNT() FROM Account").body["totalSize"]
    with (tmp_path / "accounts.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == expected_total
    assert list(rows[0]) == ["Id", "Name", "Industry", "AnnualRevenue", "BillingCity", "Owner.Name"]
    assert all(row["Owner.Name"] for row in rows)

    summary = json.loads((tmp_path / "summary.json").read_text())
    top = client.query(
        "SELECT Name, Rating FROM Account WHERE AnnualRevenue != null ORDER BY AnnualRevenue DESC LIMIT 2"
    ).body["records"]
    assert summary["flagged_hot"] == [r["Name"] for r in top]
    assert all(r["Rating"] == "Hot" for r in top)
    assert summary["export"]["rows"] == expected_total
