"""``make demo``: run the example DAG against the local Salesforce emulator and say what happened.

Everything is temporary and local: an emulator with sample data on a free port, an Airflow home
with a sqlite metadata DB, and an ``sfpy_default`` connection passed as an environment variable.
Airflow's own output goes to a log file; the terminal gets a short story instead.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from airflow_provider_sfpy.emulator import defaults
from airflow_provider_sfpy.emulator.process import EmulatorProcess

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "demo-output"
DAG_ID = "example_sfpy_accounts"


def airflow_env(home: Path, emulator_url: str) -> dict[str, str]:
    connection = {
        "conn_type": "sfpy",
        "host": emulator_url,
        "login": defaults.DEFAULT_USERNAME,
        "password": defaults.DEFAULT_PASSWORD,
        "extra": {
            "auth_type": "password",
            "client_id": defaults.DEFAULT_CLIENT_ID,
            "client_secret": defaults.DEFAULT_CLIENT_SECRET,
        },
    }
    return {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "example_dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW_CONN_SFPY_DEFAULT": json.dumps(connection),
    }


def run_logged(cmd: list[str], env: dict[str, str], log_path: Path, what: str) -> None:
    started = time.monotonic()
    with log_path.open("a") as log:
        log.write(f"\n$ {' '.join(cmd)}\n")
        log.flush()
        result = subprocess.run(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, check=False)
    if result.returncode != 0:
        tail = log_path.read_text().splitlines()[-40:]
        print("\n".join(tail))
        raise SystemExit(f"demo: {what} failed (exit {result.returncode}); full log: {log_path}")
    print(f"  {what} ({time.monotonic() - started:.1f} s)")


def main() -> int:
    OUTPUT.mkdir(exist_ok=True)
    log_path = OUTPUT / "airflow.log"
    log_path.write_text("")
    bin_dir = Path(sys.executable).parent
    airflow = str(bin_dir / "airflow")
    print("sfpy demo: a DAG exports Salesforce accounts to a file and flags the top ones, against a local emulator.")
    with tempfile.TemporaryDirectory(prefix="sfpy-demo-home-") as home_dir, EmulatorProcess() as emulator:
        print(f"  emulator with sample data on {emulator.base_url}")
        env = airflow_env(Path(home_dir), emulator.base_url)
        run_logged([airflow, "db", "migrate"], env, log_path, "Airflow metadata DB created (sqlite)")
        conf = json.dumps({"output_dir": OUTPUT.as_uri(), "top_n": 3})
        run_logged([airflow, "dags", "test", DAG_ID, "--conf", conf], env, log_path, f"DAG {DAG_ID} ran")
    summary = json.loads((OUTPUT / "summary.json").read_text())
    export = summary["export"]
    print()
    print(f"Exported {export['rows']} accounts to {export['path']}")
    print(f"Flagged as Hot: {', '.join(summary['flagged_hot'])}")
    print(f"Summary: {OUTPUT / 'summary.json'}   Airflow log: {log_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
