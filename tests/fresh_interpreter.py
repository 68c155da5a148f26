"""``fresh_python``: run a probe script in a new interpreter, as a freshly started Airflow process would.

Imports are visible only the first time, and a worker or triggerer starts with an Airflow home of its own,
so footprint and weight probes (``tests/packaging/test_import_footprint.py``,
``tests/reliability/test_trigger_weight.py``) run their script here and read its last output line as JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import airflow_provider_sfpy


def fresh_python(script: str, *args: str) -> dict[str, Any]:
    """Run ``script`` in a new interpreter with this session's environment; its JSON output.

    It runs where this process found the provider, so it measures the same code, in an Airflow home of
    its own, as a triggerer started on its own would: with the test session's home (shared with the
    ``dag.test()`` runs of other modules), Airflow 3.1.8's connection look-up in the new interpreter
    failed after the secrets suite had run (``sfpy_default`` not found, though its environment variable
    was set); the cause inside Airflow was not pinned down.
    """
    with tempfile.TemporaryDirectory(prefix="sfpy-fresh-interpreter-") as home:
        env = {
            **os.environ,
            "AIRFLOW_HOME": home,
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        }
        result = subprocess.run(
            [sys.executable, "-c", script, *args],
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
            cwd=Path(airflow_provider_sfpy.__file__).parents[1],
        )
    assert result.returncode == 0, result.stderr[-4000:]
    output: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return output
