"""What a task instance remembers across its tries: Airflow 3.3's ``task_state_store``, or nothing.

A second try of a task must know what the first try already did in Salesforce (jobs created, records
written), or it does it again. Airflow 3.3 gives every task instance a small JSON store that
survives retries, worker crashes and clears (``context["task_state_store"]``); operators keep their
progress there under one key each, written *before* the step it describes can take effect.

Airflow 3.1 and 3.2 have no such store. There a failure after data reached Salesforce cannot be
retried safely, so :func:`no_blind_retry` turns it into ``AirflowFailException`` (no automatic
retry) unless the user opted in with ``retry_after_load=True``, and the error says what was loaded.

What a clear does: Airflow keeps the store when a task instance is cleared (and, by default, after
it succeeds), so a cleared task resumes from what its earlier tries recorded, exactly as a retry
does. To load the same run's data again from scratch, delete the key (Airflow's REST API, or
``context["task_state_store"].delete(key)`` in a task) or start a new DAG run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

try:
    from airflow.sdk.exceptions import AirflowFailException
except ImportError:  # Airflow 3.1
    from airflow.exceptions import AirflowFailException  # type: ignore[no-redef]

#: Bumped when the layout of a recorded value changes; a value of another version is not trusted.
STATE_VERSION = 1


class TaskState:
    """One key of the task instance's state store; every method is a no-op where there is no store."""

    def __init__(self, context: Any, key: str) -> None:
        store = context.get("task_state_store") if isinstance(context, Mapping) else None
        self._store = store
        self.key = key

    @property
    def durable(self) -> bool:
        """Whether what is saved survives this try (Airflow 3.3+ with a task state store)."""
        return self._store is not None

    def load(self) -> dict[str, Any] | None:
        """What an earlier try recorded, or ``None`` (nothing recorded, another layout, or no store)."""
        if self._store is None:
            return None
        value = self._store.get(self.key)
        if not isinstance(value, dict) or value.get("version") != STATE_VERSION:
            return None
        return value

    def save(self, value: Mapping[str, Any]) -> None:
        """Record ``value`` (plain JSON) for later tries; it must be small (the store holds ~64 KB a value)."""
        if self._store is not None:
            self._store.set(self.key, {**value, "version": STATE_VERSION})

    def clear(self) -> None:
        if self._store is not None:
            self._store.delete(self.key)


def try_number(context: Any) -> int | None:
    """The running try's number, when the context has a task instance that knows it."""
    ti = context.get("ti") if isinstance(context, Mapping) else None
    number = getattr(ti, "try_number", None)
    return number if isinstance(number, int) else None


@contextmanager
def no_blind_retry(state: TaskState, *, retry_after_load: bool, loaded: Callable[[], str | None]) -> Iterator[None]:
    """Without a task state store, fail a task for good once data has reached Salesforce.

    ``loaded()`` describes what already reached Salesforce (job ids, record ids...) or returns
    ``None`` when nothing did (then an ordinary, retryable failure is raised as it is). With a store
    (Airflow 3.3+), or when the user allowed it (``retry_after_load=True``), errors pass unchanged.
    """
    try:
        yield
    except AirflowFailException:
        raise
    except Exception as exc:
        if state.durable or retry_after_load:
            raise
        what = loaded()
        if what is None:
            raise
        raise AirflowFailException(
            f"{exc}\nNot retried: {what} had already reached Salesforce, and this Airflow (before 3.3) has no "
            "task state store to tell a retry what was done, so a retry would load it a second time. Check "
            "Salesforce, then re-run what is missing; or set retry_after_load=True to allow automatic retries "
            "anyway (at the risk of duplicates), or upgrade to Airflow 3.3 for retries that resume."
        ) from exc
