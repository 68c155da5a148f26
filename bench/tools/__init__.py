"""One module per scenario; in each, one function per tool.

A tool function takes the run's parameters, does every import the tool needs (so the worker can
record RSS "after imports") and returns the work: a zero-argument callable that does the measured
thing and returns details (rows, pages, bytes, job ids, timing marks from ``time.perf_counter()``).
Module top levels import the standard library only: which heavy libraries a run loads is the
tool's business, not the harness's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Params = dict[str, Any]
Work = Callable[[], dict[str, Any]]
