"""Load an example DAG from example_dags/ and run it with dag.test(), returning its run and XComs."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

EXAMPLE_DAGS = Path(__file__).resolve().parents[2] / "example_dags"


def load_dag(module_name: str) -> Any:
    spec = importlib.util.spec_from_file_location(module_name, EXAMPLE_DAGS / f"{module_name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.dag


def run_dag(module_name: str, **run_conf: Any) -> tuple[Any, dict[str, Any]]:
    """Run the DAG once; return the DagRun and each task's return value (by task id)."""
    dag = load_dag(module_name)
    run = dag.test(run_conf=run_conf or None)
    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    assert str(run.state).endswith("success"), f"{module_name} ended {run.state}: {states}"
    return run, {ti.task_id: ti.xcom_pull(task_ids=ti.task_id) for ti in run.get_task_instances()}
