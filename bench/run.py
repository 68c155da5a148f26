"""``make bench``: our Salesforce paths side by side with the transfer floor and the anchors.

The anchors — apache-airflow-providers-salesforce, simple-salesforce and SalesforcePy — are never
project dependencies: they live in ``.venv-bench`` (created here on first use), and every measured
run is a fresh ``.venv-bench`` process running ``bench/worker.py`` for one tool. This orchestrator
(project ``.venv``) starts the emulator over HTTPS, prepares data and jobs, runs the workers, reads
the emulator's request log, and prints a table and writes ``bench/RESULTS.md`` (+ ``results.json``).

``--smoke`` runs every scenario at a tiny size, once, with the current interpreter and only our own
paths and the floors (the anchors are not installed in ``.venv``): the CI check that the harness works.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import report
from _common import BENCH_DIR, DATA_DIR, ROOT, parse_result
from scenarios import Scenario, Variant, full_plan, smoke_plan

from airflow_provider_sfpy.emulator.objects.bench_wide import BENCH_WIDE_NAME

BENCH_VENV = ROOT / ".venv-bench"
AIRFLOW_VERSION = "3.3.2"
ANCHORS = ("apache-airflow-providers-salesforce", "simple-salesforce", "salesforcepy")
VERSION_PACKAGES = (
    "airflow-provider-sfpy",
    "apache-airflow",
    *ANCHORS,
    "requests",
    "httpx",
    "urllib3",
    "pandas",
    "pyarrow",
    "psutil",
    "uvicorn",
    "starlette",
)
#: The file format each anchor tool writes (ours and the floor take theirs from the variant's ``format``).
_ANCHOR_FORMATS = {
    "simple_salesforce_jsonl": "jsonl",
    "airflow_salesforce_ndjson": "jsonl",
    "simple_salesforce_parquet": "parquet",
    "airflow_salesforce_parquet": "parquet",
}
#: Scenario kinds that run against ``Bench.shared_emulator`` (the others start their own).
SHARED_EMULATOR_KINDS = frozenset({"query_csv", "query_formats", "bulk_query"})
WORKER_TIMEOUT = 3 * 3600.0
FULL_RUNS = 3


# ----------------------------------------------------------------------------------------- environment


def ensure_bench_venv() -> Path:
    """``.venv-bench``: the project (editable, dev extra), Airflow and the anchors — never in ``.venv``."""
    python = BENCH_VENV / "bin" / "python"
    marker = BENCH_VENV / ".installed"
    pyproject = ROOT / "pyproject.toml"
    if marker.exists() and python.exists() and marker.stat().st_mtime >= pyproject.stat().st_mtime:
        return python
    if not python.exists():
        base = shutil.which("python3.11") or sys.executable
        print(f"bench: creating {BENCH_VENV} (first run only)", flush=True)
        subprocess.run([base, "-m", "venv", str(BENCH_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--upgrade", "pip", "uv"], check=True)
    else:
        print(f"bench: pyproject.toml changed; updating {BENCH_VENV}", flush=True)
    subprocess.run(
        [
            str(BENCH_VENV / "bin" / "uv"),
            "pip",
            "install",
            "--python",
            str(python),
            "--quiet",
            "-e",
            f"{ROOT}[dev]",
            f"apache-airflow=={AIRFLOW_VERSION}",
            *ANCHORS,
        ],
        check=True,
    )
    marker.touch()
    return python


_VERSIONS_SNIPPET = """
import importlib.metadata as m, json, platform, sys
names = json.loads(sys.argv[1])
out = {"python": platform.python_version(), "executable": sys.executable}
for name in names:
    try:
        out[name] = m.version(name)
    except m.PackageNotFoundError:
        out[name] = None
print(json.dumps(out))
"""


def environment_info(python: str) -> dict[str, Any]:
    completed = subprocess.run(
        [python, "-c", _VERSIONS_SNIPPET, json.dumps(VERSION_PACKAGES)], capture_output=True, text=True, check=True
    )
    versions = json.loads(completed.stdout)
    cpu = "unknown"
    memory = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    commit = None
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        commit = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    return {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory": memory,
        "os": platform.platform(),
        "orchestrator_python": platform.python_version(),
        "commit": commit,
        "versions": versions,
    }


# ----------------------------------------------------------------------------------------- workers


def worker_env(tmp: Path, connection_env: dict[str, str]) -> dict[str, str]:
    home = tmp / "airflow-home"
    home.mkdir(parents=True, exist_ok=True)
    env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW_CONN_")}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
            "PYTHONUNBUFFERED": "1",
            **connection_env,
        }
    )
    env.pop("PYTHONPATH", None)
    return env


def launch(
    python: str,
    kind: str,
    tool: str,
    params: dict[str, Any],
    env: dict[str, str],
    log_path: Path,
    gate: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Run one worker process; its result line plus whole-process wall time and CPU time.

    The worker is started through ``sh`` (which forks it rather than exec-ing it): on Linux a process
    created by fork+exec inherits its parent's RSS high-water mark into ``ru_maxrss``, so a worker
    forked straight from this orchestrator could never report a peak below the orchestrator's own RSS.
    Forked from a small shell it starts from the shell's few MB instead.

    With ``gate``, the worker stops after its imports until ``gate()`` has run here; that pause is
    taken out of the whole-process time.
    """
    gate_file = log_path.with_suffix(".gate")
    if gate is not None:
        params = {**params, "gate": str(gate_file)}
    worker = [python, str(BENCH_DIR / "worker.py"), "--scenario", kind, "--tool", tool, "--params", json.dumps(params)]
    cmd = ["/bin/sh", "-c", '"$0" "$@"; exit $?', *worker]
    started = time.perf_counter()
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=str(BENCH_DIR), start_new_session=True
        )
    timer = threading.Timer(WORKER_TIMEOUT, lambda: os.killpg(proc.pid, signal.SIGKILL))
    timer.start()
    paused = 0.0
    finished: tuple[int, Any] | None = None  # (wait status, rusage) once the shell has exited
    try:
        if gate is not None:
            ready = Path(f"{gate_file}.ready")
            while finished is None and not ready.exists():
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    finished = (status, usage)
                else:
                    time.sleep(0.02)
            if finished is None:
                gate_started = time.perf_counter()
                gate()
                Path(f"{gate_file}.go").touch()
                paused = time.perf_counter() - gate_started
        if finished is None:
            # The shell waits for the worker, so its rusage includes the worker's CPU time.
            _, status, usage = os.wait4(proc.pid, 0)
            finished = (status, usage)
    finally:
        timer.cancel()
    elapsed = time.perf_counter() - started - paused
    status, usage = finished
    proc.returncode = os.waitstatus_to_exitcode(status)
    output = log_path.read_text(errors="replace")
    result = parse_result(output)
    if result is None:
        tail = " | ".join(output.strip().splitlines()[-5:])
        result = {"status": "crashed", "error": f"exit {proc.returncode}: {tail[-600:]}", "details": {}}
    result.update(
        {
            "process_s": elapsed,
            "process_cpu_s": usage.ru_utime + usage.ru_stime,
            "exit_code": proc.returncode,
            "log": str(log_path),
        }
    )
    return result


class Bench:
    def __init__(self, args: argparse.Namespace, python: str, tmp: Path, tls: tuple[str, str]) -> None:
        self.args = args
        self.python = python
        self.tmp = tmp
        self.tls = tls
        self.runs: list[dict[str, Any]] = []
        self.notes: dict[str, list[str]] = {}
        self.logs = tmp / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        #: The emulator kept running between scenarios over the same data: (data key, its exit stack, it).
        self._emulator: tuple[tuple[Any, ...], contextlib.ExitStack, Any] | None = None

    def variants(self, scenario: Scenario) -> list[Variant]:
        return [v for v in scenario.variants if not (self.args.smoke and v.anchor)]

    def measure(
        self,
        scenario: Scenario,
        variant: Variant,
        run: int,
        emu: Any,
        params: dict[str, Any],
        after: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        setup: Callable[[], None] | None = None,
    ) -> dict[str, Any]:
        """One run of one tool. ``setup`` runs while the worker, its imports done, waits at the gate;
        ``after`` reads what the run left (request log, jobs, files) into the run's ``extras``."""
        full = {**emu.base_params(), **scenario.options, **variant.params, **params}
        env = worker_env(self.tmp, emu.connection_env())
        log_path = self.logs / f"{scenario.key}-{variant.tool}-{len(self.runs)}.log"
        emulator_cpu = [0.0]

        def ready_to_go() -> None:
            if setup is not None:
                setup()
            emu.admin.clear_requests_log()
            emulator_cpu[0] = process_cpu_seconds(emu.pid)

        if setup is None:
            ready_to_go()
        load = os.getloadavg()[0]
        source = source_fingerprint()
        result = launch(self.python, scenario.kind, variant.tool, full, env, log_path, ready_to_go if setup else None)
        result.update(
            {"scenario": scenario.key, "variant": variant.label, "tool": variant.tool, "run": run, "source": source}
        )
        emulator_used = process_cpu_seconds(emu.pid) - emulator_cpu[0]
        result["extras"] = after(result) if after else {}
        result["extras"]["emulator_cpu_s"] = emulator_used
        result["extras"]["load_1min_before"] = load
        self.runs.append(result)
        status = result.get("status")
        summary = f"work {result.get('work_s', float('nan')):.2f}s, process {result['process_s']:.2f}s"
        rss = (result.get("peak_rss") or 0) / report.MB
        print(f"  [{scenario.key}] run {run + 1} {variant.label}: {status}, {summary}, peak {rss:.0f} MB", flush=True)
        if status != "ok":
            print(f"      {result.get('error')}  (log: {log_path})", flush=True)
        return result

    def note(self, scenario: Scenario, text: str) -> None:
        self.notes.setdefault(scenario.key, [])
        if text not in self.notes[scenario.key]:
            self.notes[scenario.key].append(text)

    # ------------------------------------------------------------------------------ scenarios

    def query_csv(self, scenario: Scenario) -> None:
        self.query_formats(scenario)

    def query_formats(self, scenario: Scenario) -> None:
        """Query -> file scenarios (CSV, JSON Lines, Parquet; Accounts or the wide object): every tool
        writes to a local file, whose records are counted after the run."""
        import fixtures

        emu = self.query_emulator(scenario)
        for run in range(self.args.runs):
            for variant in self.variants(scenario):
                file_format = variant.params.get("format") or _ANCHOR_FORMATS.get(variant.tool, "csv")
                out = self.tmp / f"query-{variant.tool}.{file_format}"

                def after(
                    result: dict[str, Any], out: Path = out, run: int = run, file_format: str = file_format
                ) -> dict[str, Any]:
                    extras: dict[str, Any] = {"requests": len(emu.admin.requests_log())}
                    ok = result.get("status") == "ok" and out.exists()
                    if ok:
                        extras["mb_written"] = out.stat().st_size / report.MB
                    if ok and run == 0:
                        count, header, multiline = fixtures.count_records(out, file_format)
                        extras["rows_in_file"] = count
                        extras["text_line_breaks_kept"] = int(multiline)
                        shown = ",".join(header) if len(header) <= 12 else f"{len(header)} columns"
                        self.note(
                            scenario,
                            f"{result['variant']}: header `{shown}`; {count:,} records; "
                            f"line breaks inside values {'kept' if multiline else 'REMOVED'}.",
                        )
                    elif result.get("status") == "ok" and isinstance(result["details"].get("rows"), int):
                        extras["rows_in_file"] = result["details"]["rows"]
                    out.unlink(missing_ok=True)
                    return extras

                self.measure(scenario, variant, run, emu, {"out": str(out)}, after)

    def query_emulator(self, scenario: Scenario) -> Any:
        """The emulator holding a query scenario's records, shared with the next scenario over the same data
        (query -> CSV, JSON Lines and Parquet at 1M rows start one emulator, not three)."""
        import fixtures

        if scenario.options.get("object") == BENCH_WIDE_NAME:
            # On disk rather than in the emulator's memory: 300 fields a record make a large org.
            data_dir = self.tmp / f"wide-org-{scenario.size}"
            options = ["--bench-wide-object", str(scenario.size), "--data-dir", str(data_dir)]
            key: tuple[Any, ...] = ("wide", scenario.size)
            what = f"{scenario.size:,} {BENCH_WIDE_NAME} records"
            return self.shared_emulator(key, what, lambda: fixtures.emulator(self.tls, *options))
        key = ("Account", scenario.size)
        what = f"{scenario.size:,} Accounts"
        return self.shared_emulator(
            key, what, lambda: fixtures.emulator(self.tls, "--generate", f"Account={scenario.size}")
        )

    def shared_emulator(
        self, key: tuple[Any, ...], what: str, start: Callable[[], contextlib.AbstractContextManager[Any]]
    ) -> Any:
        """A running emulator for ``key``; the one of the previous scenario if its key was the same (else
        that one is stopped first: two large orgs at once would not fit beside the workers)."""
        if self._emulator is not None and self._emulator[0] == key:
            return self._emulator[2]
        self.close()
        started = time.monotonic()
        stack = contextlib.ExitStack()
        emu = stack.enter_context(start())
        self._emulator = (key, stack, emu)
        print(f"  emulator with {what} ready in {time.monotonic() - started:.0f} s", flush=True)
        return emu

    def close(self) -> None:
        """Stop the shared emulator, if one runs."""
        if self._emulator is not None:
            self._emulator[1].close()
            self._emulator = None

    def bulk_ingest(self, scenario: Scenario) -> None:
        import fixtures

        if self.args.smoke:
            csv_path = self.tmp / "accounts-smoke.csv"
            records = fixtures.accounts_csv(csv_path, rows=scenario.size)
        else:
            csv_path = DATA_DIR / f"accounts-{scenario.size}-bytes.csv"
            print(f"  preparing {csv_path} (cached between runs)", flush=True)
            records = fixtures.accounts_csv(csv_path, target_bytes=scenario.size)
        size = csv_path.stat().st_size
        self.note(scenario, f"Source CSV: {size:,} bytes ({size / report.MB:.1f} MiB), {records:,} records.")
        for run in range(self.args.runs):
            for variant in self.variants(scenario):
                out_dir = self.tmp / f"ingest-results-{variant.tool}"
                out_dir.mkdir(exist_ok=True)
                with fixtures.emulator(self.tls) as emu:

                    def after(result: dict[str, Any], emu: Any = emu, out_dir: Path = out_dir) -> dict[str, Any]:
                        client = emu.client()
                        jobs = [client.jobs.ingest.info(j["id"]).body for j in fixtures.all_ingest_jobs(client)]
                        client.close()
                        shutil.rmtree(out_dir, ignore_errors=True)
                        states = Counter(str(j.get("state")) for j in jobs)
                        done = [_unix(j["systemModstamp"]) for j in jobs if j.get("state") in fixtures.TERMINAL]
                        marks = result.get("marks", {})
                        extras: dict[str, Any] = {
                            "jobs": len(jobs),
                            "rows_processed": sum(int(j.get("numberRecordsProcessed") or 0) for j in jobs),
                            "emulator_processing_s": sum(int(j.get("totalProcessingTime") or 0) for j in jobs) / 1000,
                            "job_states": dict(states),
                        }
                        if done and result.get("status") == "ok":
                            extras["idle_after_last_job_s"] = result["work_ended_unix"] - max(done)
                        if "wait_start" in marks:
                            extras["submit_s"] = marks["wait_start"]
                        if "results_start" in marks:
                            extras["results_s"] = marks["results_end"] - marks["results_start"]
                        if result.get("status") == "ok" and extras["rows_processed"] != records:
                            self.note(
                                scenario, f"{result['variant']}: {extras['rows_processed']:,} rows of {records:,}!"
                            )
                        return extras

                    self.measure(scenario, variant, run, emu, {"csv": str(csv_path), "out_dir": str(out_dir)}, after)

    def bulk_waits(self, scenario: Scenario) -> None:
        import fixtures

        with fixtures.emulator(self.tls) as emu:
            client = emu.client()
            for run in range(self.args.runs):
                for variant in self.variants(scenario):
                    ids_file = self.tmp / "wait-job-ids.json"
                    job_ids: list[str] = []

                    def setup(job_ids: list[str] = job_ids, ids_file: Path = ids_file) -> None:
                        started = time.monotonic()
                        job_ids.extend(fixtures.closed_jobs(client, scenario.size))
                        ids_file.write_text(json.dumps(job_ids))
                        print(f"  {len(job_ids)} jobs closed in {time.monotonic() - started:.1f} s", flush=True)

                    def after(result: dict[str, Any], job_ids: list[str] = job_ids) -> dict[str, Any]:
                        log = emu.admin.requests_log()
                        paths = [(entry.get("method"), str(entry.get("path", ""))) for entry in log]
                        polls = sum(1 for m, p in paths if m == "GET" and "/jobs/ingest/" in p)
                        logins = sum(1 for _, p in paths if p.endswith("/oauth2/token"))
                        outcomes = result.get("details", {}).get("outcomes", {})
                        n = len(job_ids)
                        return {
                            "requests": len(log),
                            "requests_per_job": len(log) / n,
                            "polls_per_job": polls / n,
                            "logins_per_job": logins / n,
                            "completed": int(outcomes.get("JobComplete", 0)),
                        }

                    self.measure(scenario, variant, run, emu, {"job_ids_file": str(ids_file)}, after, setup)
            client.close()

    def bulk_results(self, scenario: Scenario) -> None:
        import fixtures

        with fixtures.emulator(self.tls) as emu:
            csv_path = self.tmp / "results-source.csv"
            fixtures.narrow_csv(csv_path, scenario.size)
            started = time.monotonic()
            client = emu.client()
            info = fixtures.ingest_and_wait(client, csv_path)
            client.close()
            csv_path.unlink()
            print(
                f"  job {info['id']} ({info['numberRecordsProcessed']:,} rows) ready in "
                f"{time.monotonic() - started:.0f} s",
                flush=True,
            )
            for run in range(self.args.runs):
                for variant in self.variants(scenario):
                    out_dir = self.tmp / f"results-{variant.tool}"
                    out_dir.mkdir(exist_ok=True)

                    def after(result: dict[str, Any], out_dir: Path = out_dir) -> dict[str, Any]:
                        written = result.get("details", {}).get("bytes_written")
                        shutil.rmtree(out_dir, ignore_errors=True)
                        if not isinstance(written, int) or not result.get("work_s"):
                            return {}
                        return {"mb_written": written / report.MB, "mb_per_s": written / report.MB / result["work_s"]}

                    self.measure(scenario, variant, run, emu, {"job_id": info["id"], "out_dir": str(out_dir)}, after)

    def bulk_query(self, scenario: Scenario) -> None:
        """Bulk query export: every tool creates a job over the same Accounts and saves its results; the
        emulator serves ``page_rows``-record pages and takes ``page_delay`` s of server time for each."""
        import fixtures

        emu = self.shared_emulator(
            ("Account", scenario.size),
            f"{scenario.size:,} Accounts",
            lambda: fixtures.emulator(self.tls, "--generate", f"Account={scenario.size}"),
        )
        pages = {"page_records": scenario.options["page_rows"], "page_seconds": scenario.options["page_delay"]}
        for run in range(self.args.runs):
            for variant in self.variants(scenario):
                out_dir = self.tmp / f"bulk-query-{variant.tool}"
                shutil.rmtree(out_dir, ignore_errors=True)
                out_dir.mkdir()

                def after(result: dict[str, Any], out_dir: Path = out_dir, run: int = run) -> dict[str, Any]:
                    log = emu.admin.requests_log()
                    results = [e for e in log if str(e.get("path", "")).endswith("/results")]
                    listings = sum(1 for e in log if str(e.get("path", "")).endswith("/resultPages"))
                    extras: dict[str, Any] = {
                        "requests": len(log),
                        "result_requests": len(results),
                        "result_page_listings": listings,
                    }
                    first = min((float(e["time"]) for e in results), default=None)
                    if first is not None and result.get("status") == "ok":
                        extras["job_s"] = first - result["work_started_unix"]
                        extras["download_s"] = result["work_ended_unix"] - first
                    details = result.get("details", {})
                    if isinstance(details.get("bytes_written"), int):
                        extras["mb_written"] = details["bytes_written"] / report.MB
                    if result.get("status") == "ok" and run == 0:
                        extras["rows_in_files"] = fixtures.count_csv_folder(out_dir)
                    elif isinstance(details.get("rows"), int):
                        extras["rows_in_files"] = details["rows"]
                    if extras.get("rows_in_files") not in (None, scenario.size):
                        self.note(
                            scenario, f"{result['variant']}: {extras['rows_in_files']:,} rows of {scenario.size:,}!"
                        )
                    fixtures.delete_query_jobs(emu)
                    shutil.rmtree(out_dir, ignore_errors=True)
                    return extras

                def setup() -> None:
                    emu.admin.set_result_pages(**pages)

                self.measure(scenario, variant, run, emu, {"out_dir": str(out_dir)}, after, setup)


def source_fingerprint() -> str:
    """A short hash of the product's source files: the code under test changes between runs when
    others edit it while a long bench runs, and the report says so."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "airflow_provider_sfpy").rglob("*")):
        if path.suffix in (".py", ".lark") and path.is_file():
            digest.update(str(path.relative_to(ROOT)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def process_cpu_seconds(pid: int | None) -> float:
    """User+system CPU seconds a process has used so far (Linux ``/proc``; 0 elsewhere)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _unix(stamp: str) -> float:
    return dt.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


# ----------------------------------------------------------------------------------------- report


def render_markdown(
    plan: Sequence[Scenario],
    runs: Sequence[dict[str, Any]],
    notes: dict[str, list[str]],
    info: dict[str, Any],
    args: argparse.Namespace,
) -> str:
    summaries = report.summarize(runs)
    versions = info["versions"]
    command = "bench/run.py --smoke" if args.smoke else "make bench"
    commit = f" at commit {info['commit']}" if info.get("commit") else ""
    if info.get("merged"):
        commit += " (some scenarios were re-run later: each section says when it was measured, on which source)"
    lines = [
        "# Benchmarks: airflow-provider-sfpy side by side",
        "",
        f"Written by `{command}` on {info['date']}{commit}. "
        f"Every number is the **median of {args.runs} run(s)**; every run is a fresh process.",
        "",
        "## Machine and versions",
        "",
        f"- CPU: {info['cpu']}, {info['nproc']} logical CPUs; memory {info['memory']}; {info['os']}",
        f"- Workers: Python {versions.get('python')} (`{versions.get('executable')}`); "
        f"orchestrator and emulator: Python {info['orchestrator_python']}",
        "",
        "| package | version |",
        "|---|---|",
        *[f"| {name} | {versions.get(name) or '(not installed)'} |" for name in VERSION_PACKAGES],
        "",
        f"- Product source fingerprint(s) (hash of `airflow_provider_sfpy/`, taken before each run): "
        f"{_fingerprints(runs)}",
        "",
        "## How it is measured",
        "",
        "- The emulator (`sfpy-emulator`, a separate process) serves **HTTPS** with a self-signed certificate; "
        "every client verifies it against that certificate (`ca_bundle` for ours, `REQUESTS_CA_BUNDLE` / "
        "a `requests.Session(verify=...)` for the others). Emulator CPU is not in any number below.",
        "- **work s**: wall time from right after the tool's imports to the end of the work. **process s**: the "
        "whole worker process, interpreter start and imports included (what a task pays). **CPU s**: user+system "
        "CPU of the worker, all threads (work only / whole process). **extra RSS**: peak RSS minus RSS right after "
        "imports; **peak RSS**: `ru_maxrss` of the worker.",
        "- **work ÷ ours** > 1 means the other tool took longer than ours; **work ÷ floor** is how far a tool is "
        "from just moving the bytes.",
        "- The machine may be shared with other work while the bench runs: the 1-minute load average before each "
        "run is in the raw table (`load_1min_before`); medians damp that noise but do not remove it.",
        "- Logins: ours logs in itself (OAuth password flow) and so does SalesforcePy. simple-salesforce and "
        "the official provider log in with username/password through SOAP (or JWT), which the emulator does "
        "not serve, so they get a session id and instance URL obtained once with one OAuth request "
        "(simple-salesforce: `Salesforce(instance_url=, session_id=, session=)`; the provider: "
        "`SalesforceHook(session_id=, session=)` with a `salesforce_default` connection holding `instance_url` "
        "and `version`, its documented *Direct Session* option). Their work therefore skips one login request.",
        "",
        "## Results",
    ]
    for scenario in plan:
        group = [s for s in summaries if s.scenario == scenario.key]
        if not group:
            continue
        headers, rows = report.table_rows(group, scenario.columns)
        lines += ["", f"### {scenario.title}", ""]
        if scenario.description:
            lines += [scenario.description, ""]
        lines += [_when(scenario, runs), ""]
        lines += [report.markdown_table(headers, rows), ""]
        for note in notes.get(scenario.key, []):
            lines.append(f"- {note}")
        for tool, note in scenario.tool_notes.items():
            if any(s.tool == tool for s in group):
                lines.append(f"- `{tool}`: {note}")
        for s in group:
            if s.error:
                lines.append(f"- **{s.variant}** failed ({s.status}): `{s.error}`")
            states = next(
                (
                    r["extras"].get("job_states")
                    for r in runs
                    if r["scenario"] == s.scenario and r["variant"] == s.variant
                ),
                None,
            )
            if states:
                lines.append(f"- {s.variant}: Bulk job states after the run: {states}")
    analysis = _kept_analysis(args.out)
    if analysis:
        lines += ["", analysis]
    lines += [
        "",
        "## Raw numbers (every run)",
        "",
        report.markdown_table(report.RAW_HEADERS, report.raw_rows(runs)),
        "",
    ]
    return "\n".join(lines)


ANALYSIS_START = "<!-- analysis: hand-written, kept when RESULTS.md is regenerated -->"
ANALYSIS_END = "<!-- /analysis -->"


def _kept_analysis(path: Path) -> str:
    """A hand-written block between the analysis markers of the existing file, carried over verbatim."""
    if not path.exists():
        return ""
    text = path.read_text()
    start, end = text.find(ANALYSIS_START), text.find(ANALYSIS_END)
    return text[start : end + len(ANALYSIS_END)] if 0 <= start < end else ""


def _when(scenario: Scenario, runs: Sequence[dict[str, Any]]) -> str:
    mine = [r for r in runs if r["scenario"] == scenario.key]
    stamps = sorted(r["work_started_unix"] for r in mine if isinstance(r.get("work_started_unix"), (int, float)))
    sources = ", ".join(f"`{s}`" for s in dict.fromkeys(str(r.get("source")) for r in mine))
    if not stamps:
        return f"_Product source {sources}._"
    first, last = (dt.datetime.fromtimestamp(t, dt.timezone.utc) for t in (stamps[0], stamps[-1]))
    return f"_Measured {first:%Y-%m-%d %H:%M} to {last:%H:%M} UTC on product source {sources}._"


def _fingerprints(runs: Sequence[dict[str, Any]]) -> str:
    seen: dict[str, list[str]] = {}
    for run in runs:
        seen.setdefault(str(run.get("source")), []).append(f"{run['scenario']}#{run['run'] + 1}")
    if len(seen) <= 1:
        return f"`{next(iter(seen), '?')}` for every run."
    parts = [f"`{source}`: {len(names)} runs (first {names[0]}, last {names[-1]})" for source, names in seen.items()]
    return "the code changed during the bench — " + "; ".join(parts) + "."


def print_tables(plan: Sequence[Scenario], runs: Sequence[dict[str, Any]]) -> None:
    summaries = report.summarize(runs)
    for scenario in plan:
        group = [s for s in summaries if s.scenario == scenario.key]
        if group:
            headers, rows = report.table_rows(group, scenario.columns)
            print(f"\n{scenario.title} (median of runs)\n{report.text_table(headers, rows)}", flush=True)


@dataclass
class Previous:
    """What ``--merge`` keeps from the last results file: the runs of scenarios not run this time."""

    runs: list[dict[str, Any]] = field(default_factory=list)
    notes: dict[str, list[str]] = field(default_factory=dict)
    date: str | None = None


def load_previous(args: argparse.Namespace, plan: Sequence[Scenario]) -> Previous:
    if not args.merge or not args.json.exists():
        return Previous()
    data = json.loads(args.json.read_text())
    rerun = {s.key for s in plan}
    return Previous(
        runs=[r for r in data.get("runs", []) if r.get("scenario") not in rerun],
        notes={k: v for k, v in data.get("notes", {}).items() if k not in rerun},
        date=data.get("info", {}).get("date"),
    )


def write_outputs(
    plan: Sequence[Scenario], bench: Bench, info: dict[str, Any], args: argparse.Namespace, previous: Previous
) -> None:
    runs = [*previous.runs, *bench.runs]
    notes = {**previous.notes, **bench.notes}
    if previous.runs:
        info = {**info, "merged": {"previous_date": previous.date, "rerun": [s.key for s in plan]}}
    everything = smoke_plan() if args.smoke else full_plan()
    shown = [s for s in everything if any(r["scenario"] == s.key for r in runs)]
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"info": info, "runs": runs, "notes": notes}, indent=1, default=str))
    args.out.write_text(render_markdown(shown, runs, notes, info, args))


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one run, our paths and floors only")
    parser.add_argument("--runs", type=int, help=f"runs per tool (default {FULL_RUNS}; 1 with --smoke)")
    parser.add_argument("--only", nargs="*", default=[], help="scenario keys (or prefixes) to run")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every scenario's size (a quick try-out)")
    parser.add_argument("--python", help="worker interpreter (default: .venv-bench, or this one with --smoke)")
    parser.add_argument("--render-only", action="store_true", help="rewrite RESULTS.md from the results JSON")
    parser.add_argument(
        "--merge", action="store_true", help="keep the other scenarios' runs from the existing results JSON"
    )
    parser.add_argument("--out", type=Path, help="RESULTS.md path (default bench/RESULTS.md)")
    parser.add_argument("--json", type=Path, help="raw results JSON (default bench/results.json)")
    args = parser.parse_args(argv)
    args.runs = args.runs or (1 if args.smoke else FULL_RUNS)
    args.out = args.out or BENCH_DIR / "RESULTS.md"
    args.json = args.json or BENCH_DIR / "results.json"
    return args


def render_only(args: argparse.Namespace) -> int:
    """Rewrite RESULTS.md (and print the tables) from the results JSON, running nothing."""
    data = json.loads(args.json.read_text())
    everything = smoke_plan() if args.smoke else full_plan()
    shown = [s for s in everything if any(r["scenario"] == s.key for r in data["runs"])]
    args.out.write_text(render_markdown(shown, data["runs"], data.get("notes", {}), data["info"], args))
    print_tables(shown, data["runs"])
    print(f"\nwrote {args.out} from {args.json}", flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.render_only:
        return render_only(args)
    python = args.python or (sys.executable if args.smoke else str(ensure_bench_venv()))
    plan = smoke_plan() if args.smoke else full_plan()
    if args.only:
        plan = [s for s in plan if any(s.key.startswith(prefix) for prefix in args.only)]
    if args.scale != 1.0:
        plan = [s.scaled(args.scale) for s in plan]
    info = environment_info(python)
    previous = load_previous(args, plan)
    print(f"bench: {len(plan)} scenario(s), {args.runs} run(s) each, workers on {python}", flush=True)
    with _workdir() as tmp:
        from airflow_provider_sfpy.emulator.testing import write_tls_files

        tls = write_tls_files(tmp / "tls")
        bench = Bench(args, python, tmp, tls)
        try:
            for scenario in plan:
                print(f"\n== {scenario.title}", flush=True)
                if scenario.kind not in SHARED_EMULATOR_KINDS:
                    bench.close()
                getattr(bench, scenario.kind)(scenario)
                write_outputs(plan, bench, info, args, previous)
        finally:
            bench.close()
        print_tables(plan, bench.runs)
    print(f"\nwrote {args.out} and {args.json}", flush=True)
    failed = [r for r in bench.runs if r.get("status") == "crashed"]
    return 1 if failed else 0


class _workdir:
    """A temporary directory for outputs, logs and certificates (kept if BENCH_KEEP_TMP is set)."""

    def __enter__(self) -> Path:
        self.path = Path(tempfile.mkdtemp(prefix="sfpy-bench-"))
        return self.path

    def __exit__(self, *exc: object) -> None:
        if os.environ.get("BENCH_KEEP_TMP"):
            print(f"bench: kept {self.path}", flush=True)
        else:
            shutil.rmtree(self.path, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
