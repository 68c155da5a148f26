"""A real Airflow deployment (``Deployment``) running example DAG files, and what the change-event test reads.

The example's watcher runs in the real triggerer, its asset events reach the real scheduler, and the
DAG runs on the LocalExecutor: ``ExampleDeployment`` points the DAGs folder at a folder holding a
copy of the example, and parses it every few seconds: Airflow attaches an asset's watchers when a
parse finds the asset active and scheduling an unpaused DAG, which is only true from the second
parse on. The readers below use Airflow's public REST API (DAG runs, asset state store).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from deployment_support import Deployment


class ExampleDeployment(Deployment):
    """``Deployment`` whose DAGs folder holds only the given example DAG files."""

    def __init__(self, home: Path, connection: dict[str, Any], dag_files: list[Path]) -> None:
        super().__init__(home, connection)
        dags = home / "dags"
        dags.mkdir(parents=True, exist_ok=True)
        for path in dag_files:
            shutil.copy(path, dags / path.name)
        self.env["AIRFLOW__CORE__DAGS_FOLDER"] = str(dags)
        self.env["AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL"] = "3"

    def dag_runs(self, dag_id: str) -> list[dict[str, Any]]:
        body = self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns", params={"limit": 100, "order_by": "run_after"})
        runs: list[dict[str, Any]] = body["dag_runs"]
        return runs

    def asset_state(self, asset_name: str) -> dict[str, Any]:
        """The asset's state store entries, ``{key: value}`` (empty while the asset is not registered yet)."""
        assets = self.api("GET", "/api/v2/assets", params={"name_pattern": asset_name})["assets"]
        matching = [asset for asset in assets if asset["name"] == asset_name]
        if not matching:
            return {}
        body = self.api("GET", f"/api/v2/assets/{matching[0]['id']}/state-store")
        entries = next((value for value in body.values() if isinstance(value, list)), [])
        return {entry["key"]: entry["value"] for entry in entries}
