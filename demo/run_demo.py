"""``make demo``: run the example DAG against the local Salesforce emulator and say what happened.

Everything is temporary and local: an emulator with sample data on a free port, an Airflow home
with a sqlite metadata DB, and an ``sfpy_default`` connection passed as an environment variable.
Airflow's own output goes to a log file; the terminal gets a short story instead.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_sfpy.emulator import defaults
from airflow_provider_sfpy.emulator.process import EmulatorProcess

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "demo-output"
DAG_ID = "example_sfpy_pipeline"


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


def local_path(url: str) -> str:
    """``file:///x/y`` or ``file:/x/y`` -> a path, relative to the repository when it is inside it."""
    path = Path(urlsplit(url).path) if url.startswith("file:") else Path(url)
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def print_story(summary: dict[str, Any]) -> None:
    exported, upserted, bulk = summary["exported"], summary["upserted"], summary["bulk_load"]
    states = ", ".join(f"{job} {state}" for job, state in bulk["jobs"].items())
    results = sorted({str(Path(local_path(p)).parent) for kind in bulk["results"].values() for p in kind.values()})
    print()
    print("What the DAG did:")
    print(f"  1. exported {exported['rows']} accounts with SOQL to {local_path(exported['path'])}")
    print(
        f"  2. re-rated them by revenue and upserted by External_Id__c: "
        f"{upserted['succeeded']} ok, {upserted['failed']} failed"
    )
    print(
        f"  3. bulk-loaded {bulk['processed']} contacts through Bulk API 2.0 ({states}), "
        f"waiting in the triggerer; {bulk['failed']} failed rows; result CSVs in {', '.join(results)}"
    )
    print(f"  4. posted the outcome to Chatter (feed item {summary['chatter_post']})")
    print()
    print(f"Summary: {local_path(str(OUTPUT / 'summary.json'))}    Airflow's own log: {local_path(str(log_path_of()))}")


def log_path_of() -> Path:
    return OUTPUT / "airflow.log"


def main() -> int:
    if OUTPUT.exists():
        shutil.rmtree(OUTPUT)
    OUTPUT.mkdir()
    log_path = log_path_of()
    bin_dir = Path(sys.executable).parent
    airflow = str(bin_dir / "airflow")
    print("sfpy demo: a nightly Salesforce sync DAG, run by Airflow against a local Salesforce emulator (no org).")
    with tempfile.TemporaryDirectory(prefix="sfpy-demo-home-") as home_dir, EmulatorProcess() as emulator:
        print(f"  emulator with sample accounts, contacts and opportunities on {emulator.base_url}")
        env = airflow_env(Path(home_dir), emulator.base_url)
        run_logged([airflow, "db", "migrate"], env, log_path, "Airflow metadata DB created (sqlite)")
        conf = json.dumps({"output_dir": OUTPUT.as_uri()})
        run_logged([airflow, "dags", "test", DAG_ID, "--conf", conf], env, log_path, f"DAG {DAG_ID} ran")
    print_story(json.loads((OUTPUT / "summary.json").read_text()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
