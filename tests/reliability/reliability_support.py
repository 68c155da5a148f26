"""Helpers shared by the reliability tests: connections, fast retries, request-log queries, trigger runs."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from typing import Any

from airflow_provider_sfpy.client import RetryPolicy
from airflow_provider_sfpy.hooks.salesforce import SalesforcePyHook

#: Retries as the product does them, minus the patience: 4 attempts, waits of 10-50 ms.
FAST_RETRY = RetryPolicy(max_attempts=4, initial_wait=0.01, max_wait=0.05, jitter=0.01)
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def connection_fields(emulator: Any, **extra: Any) -> dict[str, Any]:
    """An ``sfpy`` connection (password flow) to ``emulator``; ``extra`` adds or overrides extras."""
    connection: dict[str, Any] = emulator.airflow_connection(**extra)
    return connection


def with_fast_retries(operator: Any, conn_id: str | None = None) -> Any:
    """Give an operator a hook with ``FAST_RETRY`` (``hook`` is a cached_property, so it can be set)."""
    operator.hook = SalesforcePyHook(sfpy_conn_id=conn_id or operator.sfpy_conn_id, retry=FAST_RETRY)
    return operator


class FakeTI:
    """Collects what an operator pushes to XCom when it is executed outside a DAG run."""

    def __init__(self) -> None:
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


def task_context(ti: FakeTI | None = None, **values: Any) -> Any:
    """What an operator's ``execute``/``render_template_fields`` gets outside a DAG run: a plain dict
    (typed ``Any``: Airflow's ``Context`` wants a real task instance)."""
    context: dict[str, Any] = dict(values)
    if ti is not None:
        context["ti"] = ti
    return context


def requests_to(log: Iterable[dict[str, Any]], fragment: str, method: str | None = None) -> list[dict[str, Any]]:
    """Log entries whose path contains ``fragment`` (and whose method is ``method``)."""
    return [e for e in log if fragment in e["path"] and (method is None or e["method"] == method)]


def writes(log: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Write requests other than OAuth logins."""
    return [e for e in log if e["method"] in WRITE_METHODS and "/oauth2/" not in e["path"]]


def wait_until(condition: Callable[[], bool], timeout: float = 20.0, interval: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


def settle(emulator: Any, timeout: float = 10.0) -> list[dict[str, Any]]:
    """The request log once every logged request has been answered (or dropped)."""
    holder: list[list[dict[str, Any]]] = []

    def answered() -> bool:
        holder[:] = [emulator.requests_log()]
        return all(e["status"] is not None or e["drop"] is not None for e in holder[0])

    wait_until(answered, timeout)
    return holder[0]


async def first_event(trigger: Any) -> Any:
    async for event in trigger.run():
        return event
    raise AssertionError("the trigger yielded nothing")


def run_trigger(trigger: Any) -> Any:
    return asyncio.run(first_event(trigger))


class MemoryTaskStateStore:
    """Airflow 3.3's ``context["task_state_store"]`` API (get/set/delete/clear) over a dict.

    Values go through a JSON round trip, as the metastore does, so an operator that records
    something not JSON-friendly fails here as it would in Airflow. One instance stands for one task
    instance: give the same store to two ``execute`` calls to play a first try and its retry. The
    real store is exercised end to end in ``tests/deployment``.
    """

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.writes: list[str] = []  # keys in the order they were set

    def get(self, key: str, default: Any = None) -> Any:
        return json.loads(self.values[key]) if key in self.values else default

    def set(self, key: str, value: Any, *, retention: Any = None) -> None:
        if value is None:
            raise ValueError("Cannot set value as None")
        self.values[key] = json.dumps(value)
        self.writes.append(key)

    def delete(self, key: str) -> None:
        self.values.pop(key, None)

    def clear(self) -> None:
        self.values.clear()


@contextmanager
def serving(server: ThreadingHTTPServer, *, on_stop: Callable[[], None] | None = None) -> Iterator[None]:
    """Serve a test's own loopback server on a thread for the block; ``on_stop`` releases handlers
    still waiting (a stalled answer) before the server is shut down."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield
    finally:
        if on_stop is not None:
            on_stop()
        server.shutdown()
        server.server_close()
        thread.join()
