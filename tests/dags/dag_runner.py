"""Load an example DAG from example_dags/ and run it with dag.test(), the way Airflow 3 creates runs.

A run has a logical date when the scheduler (or a backfill) creates it; a run triggered by hand
(``airflow dags trigger``, the UI's Trigger button) has none, and templates such as ``{{ ds }}`` are
undefined in it. ``dag.test(logical_date=None)`` creates such a run on Airflow 3.1 and 3.3 alike (its
``run_after`` is the current time); ``dag.test(logical_date=...)`` a run for that date.
"""

from __future__ import annotations

import ast
import datetime as dt
import enum
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EXAMPLE_DAGS = Path(__file__).resolve().parents[2] / "example_dags"
EXAMPLE_MODULES = sorted(path.stem for path in EXAMPLE_DAGS.glob("*.py"))


class RunKind(enum.Enum):
    """The two ways an Airflow 3 run comes about, as far as templates can tell."""

    WITH_LOGICAL_DATE = "with_logical_date"
    TRIGGERED_BY_HAND = "triggered_by_hand"

    def logical_date(self) -> dt.datetime | None:
        """None for a run by hand; else yesterday, a day apart from the trigger time, so names show which was used."""
        if self is RunKind.TRIGGERED_BY_HAND:
            return None
        return dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)


@dataclass(frozen=True)
class ExampleRun:
    """A finished run of an example DAG: the DAG, its DagRun and each task's return value (by task id)."""

    dag: Any
    run: Any
    xcoms: dict[str, Any]

    @property
    def moment(self) -> dt.datetime:
        """The time the run is for, as the examples' templates compute it: logical date, else run_after."""
        moment: dt.datetime = self.run.logical_date or self.run.run_after
        return moment.astimezone(dt.timezone.utc)

    @property
    def day(self) -> str:
        """``(dag_run.logical_date or dag_run.run_after) | ds``."""
        return self.moment.strftime("%Y-%m-%d")


@dataclass(frozen=True)
class FreshMachine:
    """An empty system temporary folder and home, as a new user's machine has."""

    temp: Path
    home: Path


def load_module(module_name: str) -> Any:
    spec = importlib.util.spec_from_file_location(module_name, EXAMPLE_DAGS / f"{module_name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_dag(module_name: str) -> Any:
    return load_module(module_name).dag


def required_airflow(module_name: str) -> str | None:
    """The example's ``REQUIRES_AIRFLOW``, read from its source without running it: an example may refuse to
    load on an older Airflow (``example_sfpy_change_events``: its trigger refuses to be built before 3.3)."""
    tree = ast.parse((EXAMPLE_DAGS / f"{module_name}.py").read_text())
    for node in tree.body:
        targets = (
            node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        )
        if any(isinstance(target, ast.Name) and target.id == "REQUIRES_AIRFLOW" for target in targets):
            assert node.value is not None
            return str(ast.literal_eval(node.value))
    return None


def airflow_too_old_for(module_name: str) -> str | None:
    """Why this Airflow cannot run the example (its ``REQUIRES_AIRFLOW``), or ``None`` when it can."""
    from airflow import __version__ as airflow_version
    from packaging.version import Version

    needed = required_airflow(module_name)
    if needed and Version(Version(airflow_version).base_version) < Version(needed):
        return f"{module_name} needs Airflow {needed} (this is {airflow_version}); its refusal is tested on its own"
    return None


def run_dag(module_name: str, kind: RunKind, run_conf: dict[str, Any] | None = None) -> ExampleRun:
    """Run the DAG once, with or without a logical date; fail with each task's state unless it succeeded."""
    dag = load_dag(module_name)
    run = dag.test(logical_date=kind.logical_date(), run_conf=run_conf)
    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    assert str(run.state).endswith("success"), f"{module_name} ({kind.value}) ended {run.state}: {states}"
    assert (run.logical_date is None) == (kind is RunKind.TRIGGERED_BY_HAND), run.logical_date
    # Unmapped tasks only: on Airflow 3.1 pulling a mapped instance's XCom this way fails inside Airflow.
    xcoms = {
        ti.task_id: ti.xcom_pull(task_ids=ti.task_id, map_indexes=ti.map_index)
        for ti in run.get_task_instances()
        if ti.map_index < 0
    }
    return ExampleRun(dag, run, xcoms)
