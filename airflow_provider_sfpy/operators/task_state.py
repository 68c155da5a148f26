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

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

from airflow_provider_sfpy.client.errors import SalesforceOutcomeUnknownError

try:
    from airflow.sdk.exceptions import AirflowFailException
except ImportError:  # Airflow 3.1
    from airflow.exceptions import AirflowFailException  # type: ignore[no-redef]

T = TypeVar("T")
#: The task state store key of a single write call's progress (see :func:`send_once`).
SEND_ONCE_KEY = "sfpy_send_once"
log = logging.getLogger(__name__)

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


def send_once(
    context: Any,
    *,
    what: str,
    send: Callable[[], T],
    applied: Callable[[T], bool] = lambda _: True,
    retry_after_load: bool = False,
    logger: Any = None,
) -> T:
    """Make one write call (a Chatter post, an approval, anonymous Apex...) at most once per task instance.

    Before sending, the task state store records that the call is on its way; once answered, it
    records the answer (``send``'s JSON-friendly return value). A later try (a retry or a clear):

    - finds the answer: returns it without sending anything (the write is done);
    - finds the call on its way but no answer: an earlier try sent it and never learned whether it
      was applied (its worker was killed, or the answer was lost): fails with
      ``AirflowFailException`` rather than write twice; a person checks Salesforce, then deletes
      the key to send again;
    - finds nothing: sends. A call that failed for certain (Salesforce refused it), or whose answer
      says nothing was applied (``applied(answer)`` is false, e.g. Apex that rolled back), records
      nothing, so a later try sends it again.

    Without a store (Airflow < 3.3) a call whose outcome is unknown is not retried either (unless
    ``retry_after_load=True``): see :func:`no_blind_retry`.
    """
    logger = logger or log
    state = TaskState(context, SEND_ONCE_KEY)
    recorded = state.load()
    if recorded is not None and recorded.get("answered"):
        logger.info("An earlier try of this task already sent %s; not sending it again", what)
        result: T = recorded["result"]
        return result
    if recorded is not None:
        raise AirflowFailException(
            f"an earlier try of this task sent {what} and never learned whether Salesforce applied it (its "
            "worker stopped, or the answer was lost), so it is not sent again. Check Salesforce; to send it "
            f"again, delete this task instance's task state key '{SEND_ONCE_KEY}' and clear the task."
        )
    state.save({"answered": False})
    unknown = False
    with no_blind_retry(state, retry_after_load=retry_after_load, loaded=lambda: what if unknown else None):
        try:
            result = send()
        except SalesforceOutcomeUnknownError:
            unknown = True
            raise
        except BaseException:
            state.clear()  # refused or never sent: nothing was applied, a later try may send it
            raise
    if applied(result):
        state.save({"answered": True, "result": result})
    else:
        state.clear()
    return result
