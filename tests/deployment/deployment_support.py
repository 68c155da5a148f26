"""A real Airflow deployment for tests: api-server, scheduler, dag-processor and triggerer as separate processes.

``Deployment`` runs each component as ``airflow <component>`` (the ``airflow`` next to
``sys.executable``) in its own process group, with its own environment: a temporary AIRFLOW_HOME
with a sqlite metadata DB (``airflow db migrate``), the LocalExecutor, tests/deployment/dags as the
DAGs folder, short heartbeat/health intervals (so a killed worker or triggerer is noticed in
seconds), free ports, and the ``sfpy_default`` connection pointing at the emulator. Nothing is
inherited from the pytest process's own Airflow settings (the root conftest's AIRFLOW_* variables).

The REST API is used without logging in (``simple_auth_manager_all_admins``). Each component's
output goes to ``AIRFLOW_HOME/components/<name>.log``; ``diagnostics()`` gathers the tails of those
and of the task logs, for a failed test's report.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import psutil
import requests

HERE = Path(__file__).resolve().parent
DAGS_FOLDER = HERE / "dags"
AIRFLOW_BIN = Path(sys.executable).with_name("airflow")
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
HEALTH_KEYS = {"scheduler": "scheduler", "triggerer": "triggerer", "dag-processor": "dag_processor"}
TERMINAL_TI_STATES = frozenset({"success", "failed", "skipped", "upstream_failed", "removed"})
T = TypeVar("T")


class DeploymentError(AssertionError):
    """The deployment did not get where a test waited for it to get."""


class ApiError(DeploymentError):
    """The REST API answered with an error status."""


def free_ports(count: int) -> list[int]:
    """``count`` distinct free ports (all held open while choosing, so none is handed out twice).

    Bound on every address (``[::]`` where there is IPv6), as Airflow's log servers bind.
    """
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(count):
            try:
                sock = stack.enter_context(socket.socket(socket.AF_INET6))
            except OSError:
                sock = stack.enter_context(socket.socket(socket.AF_INET))
            sock.bind(("", 0))
            ports.append(int(sock.getsockname()[1]))
        return ports


def wait_for(what: str, probe: Callable[[], T | None], timeout: float, interval: float = 0.5) -> T:
    """Call ``probe`` until it returns something other than ``None``/``False``; raise after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            value = probe()
            if value is not None and value is not False:
                return value
        except (requests.RequestException, OSError, ValueError, KeyError) as exc:
            last_error = exc
        if time.monotonic() > deadline:
            note = f" (last error: {last_error!r})" if last_error else ""
            raise DeploymentError(f"timed out after {timeout:.0f} s waiting for {what}{note}")
        time.sleep(interval)


def process_tree(pid: int) -> list[psutil.Process]:
    """A process and its descendants (children first); empty when it is gone."""
    try:
        root = psutil.Process(pid)
        return [*root.children(recursive=True), root]
    except psutil.NoSuchProcess:
        return []


def signal_all(procs: Iterable[psutil.Process], sig: int = signal.SIGKILL) -> list[int]:
    """Send ``sig`` to each process still running (psutil refuses a pid reused since); returns the pids signalled."""
    signalled = []
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            proc.send_signal(sig)
            signalled.append(proc.pid)
    return signalled


def tail(path: Path, lines: int, *, skip: str | None = None) -> str:
    """The last ``lines`` lines of a log (lines containing ``skip`` left out), JSON log lines made readable."""
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"<cannot read {path}: {exc}>"
    kept = [line for line in text.splitlines() if not (skip and skip in line)]
    return "\n".join(readable(line) for line in kept[-lines:])


def readable(line: str) -> str:
    """A task/trigger log line (one JSON object) as ``time level logger: event``, plus its exception if any."""
    if not line.startswith("{"):
        return line
    try:
        entry = json.loads(line)
    except ValueError:
        return line
    if not isinstance(entry, dict):
        return line
    text = f"{entry.get('timestamp', '')} {entry.get('level', '')} {entry.get('logger', '')}: {entry.get('event', '')}"
    for error in entry.get("error_detail") or []:
        frames = error.get("frames") or []
        where = " <- ".join(f"{f.get('filename')}:{f.get('lineno')} {f.get('name')}" for f in reversed(frames[-4:]))
        text += f"\n    {error.get('exc_type')}: {error.get('exc_value')}\n      at {where}"
    return text


class Component:
    """One ``airflow <name>`` process, in its own session so its whole tree can be killed."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.log_dir = log_dir
        self.generation = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        suffix = f"-{self.generation}" if self.generation > 1 else ""
        return self.log_dir / f"{self.name}{suffix}.log"

    def start(self) -> None:
        self.generation += 1
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=self.log_dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def tree(self) -> list[psutil.Process]:
        """The process and its descendants now (the scheduler's task processes have process groups of their own)."""
        return process_tree(self.proc.pid) if self.proc is not None else []

    def _signal_group(self, sig: int) -> None:
        # Only while the leader is not reaped: then the group id is surely still this component's.
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, sig)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the whole tree (descendants found by psutil, and the process group); reap it after SIGKILL."""
        if self.proc is None:
            return
        signal_all(self.tree(), sig)
        self._signal_group(sig)
        if sig == signal.SIGKILL:
            self.wait(10)

    def terminate(self) -> None:
        """SIGTERM to the process group (a graceful stop, not waited for)."""
        self._signal_group(signal.SIGTERM)

    def wait(self, timeout: float) -> None:
        if self.proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=timeout)


class Deployment:
    """Airflow's api-server, scheduler, dag-processor and triggerer, started against one emulator."""

    def __init__(self, home: Path, connection: dict[str, Any]) -> None:
        self.home = home
        self.api_port, *self.other_ports = free_ports(4)
        self.api_url = f"http://127.0.0.1:{self.api_port}"
        self.log_dir = home / "components"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.env = self._environment(connection)
        self.components: dict[str, Component] = {}
        self.http = requests.Session()

    # ------------------------------------------------------------------ set-up
    def _environment(self, connection: dict[str, Any]) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        settings = {
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.api_url}/execution/",
            "AIRFLOW__CORE__FERNET_KEY": "",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.home / 'airflow.db'}",
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.home / "logs"),
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(self.other_ports[0]),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(self.other_ports[1]),
            "AIRFLOW__API__PORT": str(self.api_port),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__BASE_URL": self.api_url,
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API__SECRET_KEY": secrets.token_hex(16),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
            # Parse the DAGs folder at once and rarely again; one parsing process (2 cores, shared).
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "60",
            "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
            "AIRFLOW__DAG_PROCESSOR__PRINT_STATS_INTERVAL": "600",
            # A worker killed mid-task is noticed after ~12 s (its supervisor heartbeats every 2 s).
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "12",
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "2",
            "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": "2",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(self.other_ports[2]),
            # A killed triggerer's triggers are adopted by a new one ~5 s after its last heartbeat.
            "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "1",
            "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "5",
            "AIRFLOW_CONN_SFPY_DEFAULT": json.dumps(connection),
        }
        env.update(settings)
        return env

    def airflow(self, *args: str, timeout: float = 180.0) -> subprocess.CompletedProcess[str]:
        """Run one ``airflow`` CLI command in the deployment's environment."""
        return subprocess.run(
            [str(AIRFLOW_BIN), *args],
            env=self.env,
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start(self, timeout: float = 240.0) -> None:
        """Migrate the DB, start every component, and wait until all report healthy."""
        migrated = self.airflow("db", "migrate")
        if migrated.returncode != 0:
            raise DeploymentError(f"airflow db migrate failed:\n{migrated.stdout[-3000:]}\n{migrated.stderr[-3000:]}")
        for name in COMPONENTS:
            argv = [str(AIRFLOW_BIN), name]
            if name == "api-server":
                argv += ["--host", "127.0.0.1", "--port", str(self.api_port), "--workers", "1"]
            self.components[name] = Component(name, argv, self.env, self.log_dir)
            self.components[name].start()
        wait_for("every component to be healthy", self._all_healthy, timeout, interval=1.0)

    def _all_healthy(self) -> bool:
        dead = [name for name, c in self.components.items() if not c.alive()]
        if dead:
            raise DeploymentError(f"component(s) exited during start-up: {', '.join(dead)}")
        try:
            health = self.api("GET", "/api/v2/monitor/health")
        except ApiError:  # still starting (or something else answers on the port: then the wait times out)
            return False
        return all(health.get(key, {}).get("status") == "healthy" for key in ("metadatabase", *HEALTH_KEYS.values()))

    def stop(self, grace: float = 3.0) -> None:
        """SIGTERM every component, then SIGKILL whatever is left of any of them after ``grace`` seconds."""
        trees = [proc for component in self.components.values() for proc in component.tree()]
        for component in self.components.values():
            component.terminate()
        deadline = time.monotonic() + grace
        for component in self.components.values():
            component.wait(max(0.0, deadline - time.monotonic()))
        signal_all(trees)
        for component in self.components.values():
            component.kill(signal.SIGKILL)
        self.http.close()

    # ------------------------------------------------------------------ REST API
    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, f"{self.api_url}{path}", timeout=30, **kwargs)
        if response.status_code >= 400:
            raise ApiError(f"{method} {path} -> {response.status_code}: {response.text[:2000]}")
        return response.json() if response.content else None

    def wait_for_dag(self, dag_id: str, timeout: float = 120.0) -> dict[str, Any]:
        """Wait until the dag-processor has parsed the DAG, and make sure it is not paused."""

        def parsed() -> dict[str, Any] | None:
            response = self.http.get(f"{self.api_url}/api/v2/dags/{dag_id}", timeout=30)
            return response.json() if response.status_code == 200 else None

        dag: dict[str, Any] = wait_for(f"DAG {dag_id} to be parsed", parsed, timeout)
        if dag.get("is_paused"):
            dag = self.api("PATCH", f"/api/v2/dags/{dag_id}", json={"is_paused": False})
        return dag

    def trigger(self, dag_id: str, conf: dict[str, Any]) -> str:
        run_id = f"deploy__{uuid.uuid4().hex[:12]}"
        self.api(
            "POST",
            f"/api/v2/dags/{dag_id}/dagRuns",
            json={"dag_run_id": run_id, "logical_date": None, "conf": conf},
        )
        return run_id

    def task_instance(self, dag_id: str, run_id: str, task_id: str = "load") -> dict[str, Any]:
        ti: dict[str, Any] = self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}")
        return ti

    def dag_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        run: dict[str, Any] = self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")
        return run

    def wait_for_ti(
        self,
        dag_id: str,
        run_id: str,
        states: Iterable[str],
        timeout: float,
        *,
        task_id: str = "load",
        interval: float = 0.5,
    ) -> dict[str, Any]:
        """Wait until the TI is in one of ``states``; fail at once if it ends in another terminal state."""
        wanted = set(states)

        def reached() -> dict[str, Any] | None:
            ti = self.task_instance(dag_id, run_id, task_id)
            if ti.get("state") in wanted:
                return ti
            if ti.get("state") in TERMINAL_TI_STATES - wanted:
                raise DeploymentError(f"task {dag_id}.{task_id} ended {ti.get('state')}, not {sorted(wanted)}")
            return None

        return wait_for(f"{dag_id}.{task_id} in {run_id} to be {sorted(wanted)}", reached, timeout, interval)

    def fail_run_if_unfinished(self, dag_id: str, run_id: str) -> None:
        """Stop a run a failed test left behind, so it does not disturb the next scenario."""
        with contextlib.suppress(DeploymentError, requests.RequestException):
            if self.dag_run(dag_id, run_id).get("state") not in ("success", "failed"):
                self.api("PATCH", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}", json={"state": "failed"})

    def set_ti_state(self, dag_id: str, run_id: str, state: str, task_id: str = "load") -> None:
        """What a person does with "Mark as failed/success" in the UI."""
        self.api(
            "PATCH",
            f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}",
            json={"new_state": state},
        )

    def wait_for_run(self, dag_id: str, run_id: str, states: Iterable[str], timeout: float) -> dict[str, Any]:
        """Wait until the DAG run is in one of ``states``."""
        wanted = set(states)

        def reached() -> dict[str, Any] | None:
            run = self.dag_run(dag_id, run_id)
            return run if run.get("state") in wanted else None

        return wait_for(f"run {run_id} of {dag_id} to be {sorted(wanted)}", reached, timeout)

    def clear_ti(self, dag_id: str, run_id: str, task_id: str = "load") -> None:
        """What a person does with "Clear" in the UI: the task instance gets a new try.

        Clear only a run the scheduler has finished with: on a SQLite metadata DB (no row locks) a
        scheduler that read the run's task states just before the clear writes its verdict just after
        it, and the cleared run stays failed with its task never scheduled again.
        """
        self.api(
            "POST",
            f"/api/v2/dags/{dag_id}/clearTaskInstances",
            json={"dry_run": False, "dag_run_id": run_id, "task_ids": [task_id], "only_failed": False},
        )

    # ------------------------------------------------------------------ faults
    def kill_task_process(self, ti_id: str) -> list[int]:
        """SIGKILL the LocalExecutor worker running the TI (its supervisor) and the task process under it.

        The worker's process title is ``airflow worker -- LocalExecutor: <TI id>``; the task process
        is its child (in a process group of its own). Returns the pids killed.
        """
        scheduler = self.components["scheduler"].proc
        assert scheduler is not None
        workers = [
            proc for proc in psutil.Process(scheduler.pid).children(recursive=True) if ti_id in " ".join(_cmdline(proc))
        ]
        if not workers:
            raise DeploymentError(f"no process of the scheduler runs task instance {ti_id}")
        return signal_all([proc for worker in workers for proc in process_tree(worker.pid)])

    def stop_triggerer(self) -> None:
        self.components["triggerer"].kill(signal.SIGKILL)

    def start_triggerer(self) -> None:
        self.components["triggerer"].start()

    def restart_triggerer(self, down_for: float) -> None:
        """SIGKILL the triggerer's process tree, wait ``down_for`` seconds, start a new triggerer."""
        triggerer = self.components["triggerer"]
        triggerer.kill(signal.SIGKILL)
        time.sleep(down_for)
        triggerer.start()

    # ------------------------------------------------------------------ diagnostics
    def diagnostics(self, run_ids: Iterable[str] = (), lines: int = 60, task_logs: int = 6) -> str:
        """The tails of every component's log and of the task logs of ``run_ids`` (else the newest ones)."""
        parts = []
        for path in sorted(self.log_dir.glob("*.log")):
            # The api-server's access log is mostly this test's own polling.
            parts.append(f"===== {path.name} (last {lines} lines) =====\n{tail(path, lines, skip='[http.access]')}")
        logs = sorted((self.home / "logs").rglob("*.log"), key=lambda p: p.stat().st_mtime)
        wanted = [f"run_id={run_id}" for run_id in run_ids]
        chosen = [p for p in logs if any(w in p.parts for w in wanted)] if wanted else logs[-task_logs:]
        for path in chosen:
            relative = path.relative_to(self.home / "logs")
            parts.append(f"===== logs/{relative} (last {lines} lines) =====\n{tail(path, lines)}")
        return "\n".join(parts)


def _cmdline(proc: psutil.Process) -> list[str]:
    try:
        return proc.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return []
