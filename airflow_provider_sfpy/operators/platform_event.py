"""``SalesforcePublishEventOperator``: publish platform events over the Pub/Sub API; returns their replay ids.

A publish is not idempotent: every call makes new event messages, and subscribers receive each one.
So a retry must not publish again what an earlier try already published. Each event gets its
``EventUuid`` (the Pub/Sub event id) from the operator. The task instance's ``task_state_store``
(Airflow 3.3) records the UUIDs as ``sending`` at the last moment before the ``Publish`` call goes
out (the client's ``before_send`` hook, after login, ``GetTopic``, ``GetSchema`` and encoding
succeeded), and each event's outcome after it. A try that fails is classified by where it failed:

- before the ``Publish`` call (Pub/Sub endpoint unreachable, login or token refused, no such topic,
  an event that does not fit the schema): nothing was sent, nothing is recorded as ``sending``,
  and a retry publishes them;
- the ``Publish`` call answered with an error that says nothing was published (refused
  credentials, a refused request): the events are recorded ``refused`` and a retry publishes them
  again, with the same UUIDs;
- the call may have reached Salesforce without an answer (``PubSubPublishError.outcome_unknown``:
  the connection dropped or timed out mid-call), or the try died during it: they stay ``sending``.

A later try of the same task instance:

- re-uses the UUIDs and returns the replay ids of the events already published, without sending them;
- publishes again (same UUIDs) only the events that were refused or never sent;
- fails without retrying (``AirflowFailException``) when an earlier try left events ``sending``:
  those events may or may not exist, and the error names their EventUuids so a person can look for
  them (a subscriber sees them in each event's ``id``) and then delete the task state key to send
  them again.

Without a task state store (Airflow 3.1/3.2) a call whose outcome is unknown is not retried either.
The Pub/Sub API publishes synchronously: a replay id in the answer means the event is on the bus
(developer.salesforce.com/docs/platform/pub-sub-api/references/methods/publish-rpc.html; EventUuid:
developer.salesforce.com/docs/atlas.en-us.platform_events.meta/platform_events/platform_events_event_uuid.htm).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import Context

from airflow_provider_sfpy.operators.base import SalesforceBaseOperator
from airflow_provider_sfpy.operators.task_state import TaskState, no_blind_retry

try:
    from airflow.sdk.exceptions import AirflowException, AirflowFailException
except ImportError:  # Airflow 3.1
    from airflow.exceptions import AirflowException, AirflowFailException  # type: ignore[no-redef]

if TYPE_CHECKING:
    from airflow_provider_sfpy.client.pubsub import PublishOutcome

#: The task state key of this operator's progress.
PUBLISH_STATE_KEY = "sfpy_publish_events"
#: What a recorded event's ``status`` says about it (``unsent``: planned by this try, never recorded as sent).
UNSENT, SENDING, PUBLISHED, REFUSED = "unsent", "sending", "published", "refused"


class SalesforcePublishEventOperator(SalesforceBaseOperator):
    """Publish platform events to a topic (``/event/Order_Placed__e``); returns their replay ids (hex), in order.

    Each event is a dict of the event's fields, encoded with the topic's Avro schema
    (``CreatedDate`` and ``CreatedById`` are filled in when left out). See the module docstring for
    what a retry does: it never publishes an event twice.

    Example::

        SalesforcePublishEventOperator(
            task_id="announce_order",
            topic="/event/Order_Placed__e",
            events=[{"Order_Number__c": "{{ params.order }}", "Amount__c": 120.5, "Status__c": "New"}],
        )

    :param topic: the platform event channel, ``/event/<Name>__e`` (templated).
    :param events: the events to publish, one dict each (templated; an XComArg works too).
    """

    template_fields: Sequence[str] = ("topic", "events")
    ui_color = "#00a1e0"

    def __init__(self, *, topic: str, events: Sequence[Mapping[str, Any]] | Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(topic, str) and "{{" not in topic and not topic.startswith("/event/"):
            raise ValueError(f"topic {topic!r} is not a platform event channel such as /event/Order_Placed__e")
        self.topic = topic
        self.events = events

    def execute(self, context: Context) -> list[str]:
        events = _checked_events(self.events)
        state = TaskState(context, PUBLISH_STATE_KEY)
        recorded = _earlier_try(state.load(), self.topic, len(events))
        plan = recorded or [{"uuid": str(uuid.uuid4()), "status": UNSENT} for _ in events]
        doubtful = [entry["uuid"] for entry in plan if entry["status"] == SENDING]
        if doubtful:
            raise AirflowFailException(
                f"an earlier try of this task published {len(doubtful)} event(s) to {self.topic} and never learned "
                f"whether Salesforce accepted them, so they are not published again. Look for these EventUuids "
                f"on the channel: {', '.join(doubtful)}. To publish them again, delete this task instance's task "
                f"state key '{PUBLISH_STATE_KEY}' and clear the task."
            )
        to_send = [index for index, entry in enumerate(plan) if entry["status"] != PUBLISHED]
        if len(to_send) < len(plan):
            self.log.info(
                "%d event(s) were published by an earlier try; not publishing them again", len(plan) - len(to_send)
            )
        if to_send:
            outcomes = self._publish_recorded(state, plan, [(index, events[index]) for index in to_send])
            refused = [(index, outcome) for index, outcome in zip(to_send, outcomes, strict=True) if not outcome.ok]
            if refused:
                details = "; ".join(f"event {i}: {o.error} ({o.error_code or 'no code'})" for i, o in refused)
                raise AirflowException(
                    f"Salesforce refused {len(refused)} of {len(to_send)} event(s) published to {self.topic}: "
                    f"{details}. A retry publishes only those."
                )
        replay_ids = [str(entry["replay_id"]) for entry in plan]
        self.log.info("Published %d event(s) to %s", len(replay_ids), self.topic)
        return replay_ids

    def _publish_recorded(
        self, state: TaskState, plan: list[dict[str, Any]], batch: list[tuple[int, Mapping[str, Any]]]
    ) -> list[PublishOutcome]:
        """Publish ``batch`` ((index, event) pairs) with their planned UUIDs; record each outcome in ``plan``.

        The events are recorded ``sending`` only when the client is about to make the ``Publish`` call
        (``before_send``); how a failure is recorded depends on whether that moment was reached.
        """
        records = [{**event, "EventUuid": plan[index]["uuid"]} for index, event in batch]
        sent = unknown = False

        def record(status: str) -> None:
            for index, _ in batch:
                plan[index] = {"uuid": plan[index]["uuid"], "status": status}
            state.save({"topic": self.topic, "events": plan})

        def before_send(_event_ids: Sequence[str]) -> None:
            nonlocal sent
            record(SENDING)
            sent = True

        def what_reached() -> str | None:
            uuids = ", ".join(plan[index]["uuid"] for index, _ in batch)
            return f"{len(batch)} event(s) with EventUuids {uuids}" if unknown else None

        with no_blind_retry(state, retry_after_load=False, loaded=what_reached):
            try:
                outcomes = asyncio.run(self._publish(records, before_send))
            except BaseException as exc:
                if sent and _nothing_published(exc):
                    record(REFUSED)  # Salesforce answered that it published none of them: a retry sends them
                unknown = sent and not _nothing_published(exc)  # stays `sending`: a retry refuses
                raise  # not sent at all: nothing was recorded, a retry sends them
        for (index, _), outcome in zip(batch, outcomes, strict=True):
            plan[index] = (
                {"uuid": plan[index]["uuid"], "status": PUBLISHED, "replay_id": outcome.replay_id.hex()}
                if outcome.ok and outcome.replay_id is not None
                else {"uuid": plan[index]["uuid"], "status": REFUSED}
            )
        state.save({"topic": self.topic, "events": plan})
        return outcomes

    async def _publish(
        self, records: list[dict[str, Any]], before_send: Callable[[Sequence[str]], None]
    ) -> list[PublishOutcome]:
        from airflow_provider_sfpy.hooks.salesforce import SalesforcePyHook

        async with SalesforcePyHook.apubsub_client(self.sfpy_conn_id) as client:
            return await client.publish(self.topic, records, before_send=before_send)


def _nothing_published(error: BaseException) -> bool:
    """Whether a failure of the ``Publish`` call says for certain that none of its events was published.

    The client's typed errors say so (a refused call, refused credentials, an unreachable endpoint),
    except ``PubSubPublishError.outcome_unknown``; anything else (the try was killed mid-call, an
    unexpected error) leaves the outcome unknown.
    """
    from airflow_provider_sfpy.client.pubsub import PubSubError, PubSubPublishError

    if isinstance(error, PubSubPublishError):
        return not error.outcome_unknown
    return isinstance(error, PubSubError)


def _checked_events(events: Any) -> list[Mapping[str, Any]]:
    if not isinstance(events, Sequence) or isinstance(events, (str, bytes)):
        raise ValueError(f"events must be a list of dicts (one per event), not {type(events).__name__}")
    wrong = [index for index, event in enumerate(events) if not isinstance(event, Mapping)]
    if wrong:
        raise ValueError(f"events {wrong} are not dicts of the event's fields")
    if not events:
        raise ValueError("events is empty: nothing to publish")
    return list(events)


def _earlier_try(recorded: Mapping[str, Any] | None, topic: str, count: int) -> list[dict[str, Any]] | None:
    """An earlier try's plan for the same topic and number of events, or ``None`` (start afresh)."""
    if not recorded or recorded.get("topic") != topic:
        return None
    plan = recorded.get("events")
    if not isinstance(plan, list) or len(plan) != count:
        return None
    return [dict(entry) for entry in plan]
