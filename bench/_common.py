"""What the bench orchestrator (``run.py``) and its workers (``worker.py``) share. Standard library only.

Workers run in ``.venv-bench`` (the anchors installed) or, in smoke mode, in the project's ``.venv``;
the orchestrator always runs in the project's ``.venv``. Nothing here imports Airflow or a Salesforce
library, so importing it costs a worker nothing measurable.
"""

from __future__ import annotations

import json
import os
import resource
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
DATA_DIR = BENCH_DIR / "data"

#: The query every query -> CSV tool runs: 6 fields, two of them text with commas, double quotes and
#: line breaks (``Name`` has suffixes like ``"International"`` and ``, Inc.``; ``Description`` is multi-line).
SOQL = "SELECT Id, Name, Description, BillingCity, Industry, AnnualRevenue FROM Account"
FIELDS = ["Id", "Name", "Description", "BillingCity", "Industry", "AnnualRevenue"]
#: Salesforce's default (and the emulator's) REST query page.
PAGE_SIZE = 2000
API_VERSION = "64.0"

RESULT_PREFIX = "BENCH_RESULT "


def current_rss_bytes() -> int:
    """Resident set size now (psutil when the environment has it, else ``/proc/self/statm``)."""
    try:
        import psutil

        return int(psutil.Process().memory_info().rss)
    except ImportError:
        pass
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # not Linux: the peak so far is the best available stand-in
        return peak_rss_bytes()


def peak_rss_bytes() -> int:
    """Peak resident set size of this process (``ru_maxrss`` is KiB on Linux)."""
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def dump_result(payload: dict[str, Any]) -> str:
    return RESULT_PREFIX + json.dumps(payload, sort_keys=True, default=str)


def parse_result(text: str) -> dict[str, Any] | None:
    """The last result line a worker printed, or None."""
    for line in reversed(text.splitlines()):
        if line.startswith(RESULT_PREFIX):
            result: dict[str, Any] = json.loads(line[len(RESULT_PREFIX) :])
            return result
    return None
