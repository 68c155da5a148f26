"""Test-session environment: a private AIRFLOW_HOME with a sqlite metadata DB, set before Airflow loads.

Airflow reads its configuration when first imported, so this root conftest (loaded before any test
module) points it at a temporary home and at ``example_dags/``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

_ROOT = Path(__file__).resolve().parent
_HOME = Path(tempfile.mkdtemp(prefix="sfpy-airflow-home-"))

os.environ["AIRFLOW_HOME"] = str(_HOME)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(_ROOT / "example_dags")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_HOME / 'airflow.db'}"
os.environ["AIRFLOW__LOGGING__BASE_LOG_FOLDER"] = str(_HOME / "logs")
os.environ.setdefault("AIRFLOW__CORE__EXECUTOR", "LocalExecutor")


def pytest_sessionfinish(session: object, exitstatus: int) -> None:
    shutil.rmtree(_HOME, ignore_errors=True)
