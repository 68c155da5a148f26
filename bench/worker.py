"""One measured run: ``worker.py --scenario query_csv --tool sfpy --params '{...}'``.

Started by ``run.py`` as a fresh process per run (so every run pays its own imports and owns its
RSS). It imports the tool (everything the tool needs), records RSS right after the imports, runs
the work, and prints one ``BENCH_RESULT {json}`` line: work wall time and CPU time (after imports),
RSS after imports, peak RSS (``ru_maxrss``), the tool's details, and ``status`` ``ok`` or ``error``
(a failing tool is a result too, e.g. a library refusing a file with its default settings).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from _common import current_rss_bytes, dump_result, peak_rss_bytes

SCENARIOS = ("query_csv", "query_formats", "bulk_ingest", "bulk_waits", "bulk_results", "bulk_query")


def _wait_at_gate(gate: str | None) -> float:
    """With a gate, say "imports done" (``<gate>.ready``) and wait for ``<gate>.go``: the orchestrator
    prepares time-sensitive state (e.g. closes Bulk jobs, which start finishing at once) only then,
    so every tool starts its work at the same point of that state whatever its import time."""
    if not gate:
        return 0.0
    started = time.perf_counter()
    Path(f"{gate}.ready").touch()
    go = Path(f"{gate}.go")
    while not go.exists():
        time.sleep(0.02)
    return time.perf_counter() - started


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenario", required=True, choices=SCENARIOS)
    parser.add_argument("--tool", required=True)
    parser.add_argument("--params", default="{}", help="JSON object of run parameters")
    args = parser.parse_args(argv)
    params: dict[str, Any] = json.loads(args.params)

    started = time.perf_counter()
    module = importlib.import_module(f"tools.{args.scenario}")
    prepare = getattr(module, args.tool, None)
    if prepare is None:
        parser.error(f"scenario {args.scenario} has no tool {args.tool!r}")
    work = prepare(params)
    imported = time.perf_counter()
    rss_after_imports = current_rss_bytes()
    peak_after_imports = peak_rss_bytes()
    gate_s = _wait_at_gate(params.get("gate"))

    cpu0, wall0, unix0 = time.process_time(), time.perf_counter(), time.time()
    status, error, details = "ok", None, {}
    try:
        details = work()
    except Exception as exc:
        status = "error"
        error = f"{type(exc).__name__}: {' '.join(str(exc).split())[:400]}"
        traceback.print_exc()
    wall1, cpu1, unix1 = time.perf_counter(), time.process_time(), time.time()
    peak = peak_rss_bytes()

    marks = details.pop("marks", None) or {}
    result = {
        "scenario": args.scenario,
        "tool": args.tool,
        "status": status,
        "error": error,
        "import_s": imported - started,
        "gate_s": gate_s,
        "work_s": wall1 - wall0,
        "work_cpu_s": cpu1 - cpu0,
        "rss_after_imports": rss_after_imports,
        "peak_rss_after_imports": peak_after_imports,
        "peak_rss": peak,
        "extra_rss": peak - rss_after_imports,
        "work_started_unix": unix0,
        "work_ended_unix": unix1,
        "marks": {name: value - wall0 for name, value in marks.items()},
        "details": details,
    }
    sys.stdout.flush()
    print(dump_result(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
