"""SalesforcePublishEventOperator against the emulator's Pub/Sub API: replay ids back, and never twice on a retry.

The emulator (``emulator_pubsub``) is the session's, and other tests put events of their own on the same topic
(some not even decodable): a test reads back only the events after where the bus stood when it began.
"""

from __future__ import annotations

import asyncio
import functools
import json
import socket
from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_sfpy.client.pubsub import PubSubError, PubSubPublishError, PubSubTopicNotFoundError
from airflow_provider_sfpy.operators.platform_event import PUBLISH_STATE_KEY, SalesforcePublishEventOperator
from airflow_provider_sfpy.operators.task_state import TaskState
from airflow_provider_sfpy.pubsub_api import encode_replay_id

try:
    from airflow.sdk.exceptions import AirflowFailException
except ImportError:  # Airflow 3.1
    from airflow.exceptions import AirflowFailException  # type: ignore[no-redef]

TOPIC = "/event/Order_Placed__e"


class TaskStateStore:
    """A task instance's ``task_state_store`` (get/set/delete), in a dict that outlives one try."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def set(self, key: str, value: Any) -> None:
        self.values[key] = json.loads(json.dumps(value))  # what the metastore keeps: JSON

    def delete(self, key: str) -> None:
        self.values.pop(key, None)


def context_with(store: TaskStateStore) -> Any:
    """A task's context holding only its task state store."""
    return {"task_state_store": store}


#: (replay id hex, event id, order number) of each event read back.
Published = list[tuple[str, str, str]]


def events_after(start: bytes, order_numbers: set[str]) -> Published:
    """Every event on the topic after replay id ``start`` with one of these order numbers."""
    from airflow_provider_sfpy.hooks.salesforce import SalesforcePyHook

    async def read() -> Published:
        found: Published = []
        async with SalesforcePyHook.apubsub_client("sfpy_default") as client:
            subscription = client.subscribe(TOPIC, replay_preset="CUSTOM", replay_id=start, batch=100)
            try:
                while True:
                    event = await asyncio.wait_for(anext(subscription), 1.5)
                    subscription.request(1)
                    if event.record.get("Order_Number__c") in order_numbers:
                        found.append((event.replay_id.hex(), event.event_id, event.record["Order_Number__c"]))
            except TimeoutError:
                return found

    return asyncio.run(read())


@pytest.fixture
def published(emulator_pubsub: Any, pubsub_connection: str) -> Callable[[set[str]], Published]:
    """Reads back what this test published: the events with the given order numbers since the test began."""
    return functools.partial(events_after, encode_replay_id(emulator_pubsub.event_bus.latest_position()))


def orders(*numbers: str) -> list[dict[str, Any]]:
    return [{"Order_Number__c": number, "Amount__c": 12.5, "Status__c": "New"} for number in numbers]


def test_publishes_and_returns_the_replay_ids_in_order(published: Callable[[set[str]], Published]) -> None:
    operator = SalesforcePublishEventOperator(task_id="p", topic=TOPIC, events=orders("A-1", "A-2"))
    replay_ids = operator.execute(context={})
    on_the_bus = published({"A-1", "A-2"})
    assert [(replay_id, number) for replay_id, _, number in on_the_bus] == list(
        zip(replay_ids, ["A-1", "A-2"], strict=True)
    )


def test_a_retry_returns_what_the_first_try_published_without_publishing_again(
    published: Callable[[set[str]], Published],
) -> None:
    store = TaskStateStore()
    first = SalesforcePublishEventOperator(task_id="p", topic=TOPIC, events=orders("B-1", "B-2")).execute(
        context=context_with(store)
    )
    again = SalesforcePublishEventOperator(task_id="p", topic=TOPIC, events=orders("B-1", "B-2")).execute(
        context=context_with(store)
    )
    assert again == first
    on_the_bus = published({"B-1", "B-2"})
    assert len(on_the_bus) == 2
    # each event's id on the bus is the EventUuid the operator recorded before publishing
    assert [event_id for _, event_id, _ in on_the_bus] == [e["uuid"] for e in store.values[PUBLISH_STATE_KEY]["events"]]


def test_a_retry_after_an_unanswered_publish_fails_naming_the_event_uuids(
    published: Callable[[set[str]], Published],
) -> None:
    store = TaskStateStore()
    earlier_try = TaskState({"task_state_store": store}, PUBLISH_STATE_KEY)
    earlier_try.save({"topic": TOPIC, "events": [{"uuid": "7b0c2f7e-doubt", "status": "sending"}]})
    operator = SalesforcePublishEventOperator(task_id="p", topic=TOPIC, events=orders("C-1"))
    with pytest.raises(AirflowFailException, match="7b0c2f7e-doubt"):
        operator.execute(context=context_with(store))
    assert published({"C-1"}) == []


def test_an_event_that_does_not_fit_the_schema_is_refused_and_a_retry_may_send_it(pubsub_connection: str) -> None:
    store = TaskStateStore()
    bad = SalesforcePublishEventOperator(task_id="p", topic=TOPIC, events=[{"Amount__c": "not a number"}])
    with pytest.raises(PubSubPublishError, match="does not fit the schema"):
        bad.execute(context=context_with(store))
    assert PUBLISH_STATE_KEY not in store.values  # refused before the Publish call: nothing recorded as sending


@pytest.fixture
def fast_pubsub_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pub/Sub clients the hook builds give up on an unreachable endpoint after two quick attempts (not ~8 s)."""
    import airflow_provider_sfpy.client.pubsub as pubsub
    from airflow_provider_sfpy.client.retry import RetryPolicy

    quick = RetryPolicy(max_attempts=2, initial_wait=0.05, max_wait=0.1, jitter=0.0)
    monkeypatch.setattr(pubsub, "PubSubClient", functools.partial(pubsub.PubSubClient, retry=quick))


def closed_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.usefixtures("fast_pubsub_retries")
def test_a_retry_after_the_pubsub_endpoint_was_unreachable_publishes(
    emulator_pubsub: Any, monkeypatch: pytest.MonkeyPatch, published: Callable[[set[str]], Published]
) -> None:
    """A try that failed before the Publish call (GetTopic found no server) sent nothing: the retry publishes."""
    good = emulator_pubsub.airflow_connection()
    unreachable = emulator_pubsub.airflow_connection(pubsub_url=f"grpc://127.0.0.1:{closed_port()}")
    store = TaskStateStore()
    monkeypatch.setenv("AIRFLOW_CONN_SFPY_DEFAULT", json.dumps(unreachable))
    with pytest.raises(PubSubError, match="get topic"):
        SalesforcePublishEventOperator(task_id="p", topic=TOPIC, events=orders("D-1")).execute(context_with(store))
    assert PUBLISH_STATE_KEY not in store.values

    monkeypatch.setenv("AIRFLOW_CONN_SFPY_DEFAULT", json.dumps(good))
    replay_ids = SalesforcePublishEventOperator(task_id="p", topic=TOPIC, events=orders("D-1")).execute(
        context_with(store)
    )
    assert [replay_id for replay_id, _, _ in published({"D-1"})] == replay_ids
    assert [e["status"] for e in store.values[PUBLISH_STATE_KEY]["events"]] == ["published"]


def test_a_missing_topic_records_nothing_so_a_retry_asks_again(pubsub_connection: str) -> None:
    """No such topic is known before anything is sent: a retry is not refused as a publish of unknown outcome."""
    store = TaskStateStore()
    for _try in range(2):
        operator = SalesforcePublishEventOperator(task_id="p", topic="/event/No_Such_Event__e", events=orders("E-1"))
        with pytest.raises(PubSubTopicNotFoundError):
            operator.execute(context_with(store))
    assert PUBLISH_STATE_KEY not in store.values


@pytest.mark.parametrize(
    ("topic", "events", "complaint"),
    [
        ("/data/AccountChangeEvent", orders("x"), "not a platform event channel"),
        (TOPIC, [], "nothing to publish"),
        (TOPIC, ["Order 1"], "not dicts"),
    ],
)
def test_mistakes_are_refused(topic: str, events: Any, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        SalesforcePublishEventOperator(task_id="p", topic=topic, events=events).execute(context={})
