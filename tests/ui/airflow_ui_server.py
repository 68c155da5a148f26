"""What the UI tests run against: Debian's Chromium, and ``airflow api-server`` in its own Airflow home.

Airflow 3 serves its React UI from the API server, so one ``airflow api-server`` process (no
scheduler) is all the connection pages need. It gets a private ``AIRFLOW_HOME`` with a fresh sqlite
metadata DB, the simple auth manager with every user an admin (no login page), and connection
testing enabled. Its output goes to a log file the tests read afterwards.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import requests

CHROMIUM = "/usr/bin/chromium"
# Known to work with Debian's Chromium in containers; Playwright adds its own temporary profile.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

START_TIMEOUT = 120.0
STOP_TIMEOUT = 20.0
SIMPLE_AUTH_MANAGER = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"


def ensure_chromium() -> str:
    """Path of Debian's Chromium, installed with apt-get first if it is missing (CI starts bare)."""
    if os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    if shutil.which("apt-get") is None:
        raise RuntimeError(f"{CHROMIUM} is missing and there is no apt-get to install Debian's chromium with")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", "chromium"]):
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(
                f"`{' '.join(command)}` failed with exit code {result.returncode}:\n{result.stderr[-3000:]}"
            )
    if not os.access(CHROMIUM, os.X_OK):
        raise RuntimeError(f"apt-get installed chromium but {CHROMIUM} is still not executable")
    return CHROMIUM


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def airflow_env(home: Path) -> dict[str, str]:
    """The subprocess environment: ours minus every inherited Airflow setting, plus a private home."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")}
    dags = home / "dags"
    dags.mkdir(parents=True, exist_ok=True)
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__AUTH_MANAGER": SIMPLE_AUTH_MANAGER,
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
            # A full-length key for the UI's session tokens (the generated default is short and warns).
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
        }
    )
    return env


class AirflowApiServer:
    """``airflow api-server`` on a free port of 127.0.0.1; ``start()`` returns once it answers."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = home / "api-server.log"
        self.env = airflow_env(home)
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def _airflow(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "airflow", *args]

    def start(self) -> None:
        migrate = subprocess.run(
            self._airflow("db", "migrate"), env=self.env, capture_output=True, text=True, check=False
        )
        if migrate.returncode != 0:
            raise RuntimeError(f"airflow db migrate failed:\n{migrate.stdout[-3000:]}{migrate.stderr[-3000:]}")
        self._log = self.log_path.open("wb")
        self._process = subprocess.Popen(
            self._airflow("api-server", "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1"),
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() ends uvicorn's workers too
        )
        self._wait_until_healthy()

    def _wait_until_healthy(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise RuntimeError(f"airflow api-server exited with {self._process.returncode}:\n{self.log_tail()}")
            try:
                if requests.get(f"{self.url}/api/v2/monitor/health", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.25)  # polling interval while the server boots
        raise RuntimeError(f"airflow api-server did not answer within {START_TIMEOUT:.0f} s:\n{self.log_tail()}")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=STOP_TIMEOUT)
            except ProcessLookupError:
                pass
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_text(self) -> str:
        """Everything the api-server wrote to stdout and stderr so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, chars: int = 5000) -> str:
        return self.log_text()[-chars:]
