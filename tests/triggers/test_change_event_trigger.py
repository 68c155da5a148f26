"""SalesforceChangeEventTrigger against the emulator's Pub/Sub API, run by Airflow's own shared-stream manager.

Each scenario changes Opportunities through REST and watches ``/data/OpportunityChangeEvent`` for
``StageName == 'Closed Won'`` (plus a marker in ``Description``, so scenarios sharing the module's
emulator see only their own changes). The triggerer's ack mode is Airflow's code
(``shared_stream_support``); what stands in is only the asset state store, a dict.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import Any

import pytest
from airflow import __version__ as airflow_version
from change_event_scenarios import CHANNEL, closed_won, win
from packaging.version import Version

from airflow_provider_sfpy.client import Client

AIRFLOW_3_3 = Version(Version(airflow_version).base_version) >= Version("3.3")
needs_3_3 = pytest.mark.skipif(not AIRFLOW_3_3, reason=f"Airflow {airflow_version}: no shared-stream ack mode")


@pytest.fixture(scope="module")
def emulator_pubsub(emulator_pubsub_of_module: Any) -> Any:
    """This module's own emulator: its triggers read the channel from EARLIEST, and one test expires every session."""
    return emulator_pubsub_of_module


def closed_won_trigger(marker: str, **kwargs: Any) -> Any:
    """This module's triggers read the channel from EARLIEST unless told otherwise."""
    return closed_won(marker, **{"replay_preset": "EARLIEST", **kwargs})


def stores() -> Any:
    from shared_stream_support import MemoryAssetState, MemoryAssetStores

    return MemoryAssetStores({"closed_won": MemoryAssetState()})


def stored_replay_id(asset_stores: Any) -> str | None:
    """The replay id (hex) the trigger stored in the asset's state, if any."""
    values = asset_stores._by_name["closed_won"].values
    stored = next(iter(values.values()), None)
    return str(stored["replay_id"]) if stored is not None else None


async def quiet(run: Any, seconds: float = 1.5) -> None:
    """Wait a while for events that must not come."""
    await asyncio.sleep(seconds)
    assert run.task is not None
    if run.task.done():
        run.task.result()  # its failure, if it failed


def watch_for_one(trigger: Any, asset_stores: Any) -> list[Any]:
    """A watcher's run (a triggerer's life) until its first event, then a quiet while in which no more must come,
    then time for the replay id to be stored: every event it fired."""
    from shared_stream_support import settle, watching

    async def scenario() -> list[Any]:
        async with watching(trigger, asset_stores) as run:
            await run.wait_for(1)
            await quiet(run)
            await settle()
            return list(run.events)

    return asyncio.run(scenario())


@needs_3_3
def test_a_closed_won_change_fires_one_event_and_its_replay_id_is_stored_once_persisted(sf: Client) -> None:
    marker = uuid.uuid4().hex
    record_id = win(sf, marker)
    asset_stores = stores()
    token = sf.session_id

    events = watch_for_one(closed_won_trigger(marker), asset_stores)
    assert len(events) == 1, [e.payload for e in events]
    payload = events[0].payload
    assert payload["channel"] == CHANNEL
    assert payload["header"]["entityName"] == "Opportunity"
    assert payload["header"]["recordIds"] == [record_id]
    assert payload["header"]["changeType"] == "UPDATE"
    assert "StageName" in payload["header"]["changedFields"]
    assert payload["values"]["StageName"] == "Closed Won"
    assert payload["header"]["transactionKey"] and payload["header"]["commitTimestamp"] > 0
    assert token not in json.dumps(payload)
    assert stored_replay_id(asset_stores) == payload["replay_id"]


@needs_3_3
def test_a_restarted_watcher_resumes_after_the_stored_replay_id(sf: Client) -> None:
    """Nothing twice, nothing lost: a change made while the watcher was down comes once, the earlier one not again."""
    from shared_stream_support import settle, watching

    marker = uuid.uuid4().hex
    first = win(sf, marker)
    asset_stores = stores()

    async def first_run() -> list[Any]:
        async with watching(closed_won_trigger(marker), asset_stores) as run:
            await run.wait_for(1)
            await settle()
            return list(run.events)

    before = asyncio.run(first_run())
    second = win(sf, marker)  # while no triggerer runs
    after = watch_for_one(closed_won_trigger(marker), asset_stores)
    assert [e.payload["header"]["recordIds"] for e in before] == [[first]]
    assert [e.payload["header"]["recordIds"] for e in after] == [[second]]
    assert stored_replay_id(asset_stores) == after[0].payload["replay_id"]


@needs_3_3
def test_an_event_airflow_never_stored_comes_again_after_a_restart(sf: Client) -> None:
    from shared_stream_support import settle, watching

    marker = uuid.uuid4().hex
    record_id = win(sf, marker)
    asset_stores = stores()

    async def crashed_before_persisting() -> Any:
        async with watching(closed_won_trigger(marker), asset_stores, confirm=False) as run:
            await run.wait_for(1)
            await settle()
            return run.events[0]

    lost = asyncio.run(crashed_before_persisting())
    # the position stops before the event Airflow never stored (at the skipped events before it, if any)
    stored = stored_replay_id(asset_stores)
    assert stored is None or bytes.fromhex(stored) < bytes.fromhex(lost.payload["replay_id"])
    again = watch_for_one(closed_won_trigger(marker), asset_stores)
    assert [e.payload["header"]["recordIds"] for e in again] == [[record_id]]


@needs_3_3
def test_a_refused_replay_id_is_reported_and_resumes_from_earliest(
    sf: Client, caplog: pytest.LogCaptureFixture
) -> None:
    from shared_stream_support import watching

    from airflow_provider_sfpy.triggers.change_events import _stream_settings

    marker = uuid.uuid4().hex
    record_id = win(sf, marker)
    asset_stores = stores()
    trigger = closed_won_trigger(marker, replay_preset="LATEST")
    key = _stream_settings(trigger.serialize()[1]).state_key
    asset_stores._by_name["closed_won"].values[key] = "00ff"  # not a replay id this org ever gave

    async def scenario() -> list[Any]:
        async with watching(trigger, asset_stores) as run:
            await run.wait_for(1)
            return list(run.events)

    with caplog.at_level(logging.WARNING, logger="airflow_provider_sfpy.triggers.change_event_producer"):
        events = asyncio.run(scenario())
    assert [e.payload["header"]["recordIds"] for e in events] == [[record_id]]
    warning = "\n".join(r.getMessage() for r in caplog.records)
    assert "refused the stored replay id 00ff" in warning and "resubscribing from EARLIEST" in warning


@needs_3_3
def test_on_replay_gap_fail_stops_with_a_clear_error(sf: Client) -> None:
    from shared_stream_support import watching

    from airflow_provider_sfpy.triggers.change_event_producer import ChangeEventsGapError
    from airflow_provider_sfpy.triggers.change_events import _stream_settings

    trigger = closed_won_trigger(uuid.uuid4().hex, on_replay_gap="fail")
    asset_stores = stores()
    asset_stores._by_name["closed_won"].values[_stream_settings(trigger.serialize()[1]).state_key] = "00ff"

    async def scenario() -> None:
        async with watching(trigger, asset_stores) as run:
            assert run.task is not None
            await asyncio.wait_for(asyncio.shield(run.task), 30)

    with pytest.raises(ChangeEventsGapError, match="on_replay_gap='fail'"):
        asyncio.run(scenario())


@needs_3_3
def test_an_expired_session_mid_stream_is_renewed_through_the_hook(sf: Client, emulator_pubsub: Any) -> None:
    from shared_stream_support import watching

    marker = uuid.uuid4().hex
    first = win(sf, marker)

    async def scenario() -> list[Any]:
        async with watching(closed_won_trigger(marker), stores()) as run:
            await run.wait_for(1)
            await asyncio.to_thread(emulator_pubsub.expire_sessions)
            sf.login()
            await asyncio.to_thread(win, sf, marker)
            await run.wait_for(2)
            await quiet(run)
            return list(run.events)

    events = asyncio.run(scenario())
    seen = [(e.payload["replay_id"], e.payload["header"]["recordIds"]) for e in events]
    assert len(events) == 2 and events[0].payload["header"]["recordIds"] == [first], seen


@needs_3_3
def test_batches_carry_every_matching_change_of_a_batch_in_one_event(sf: Client) -> None:
    marker = uuid.uuid4().hex
    won = [win(sf, marker) for _ in range(3)]
    asset_stores = stores()

    events = watch_for_one(closed_won_trigger(marker, batch_size=100, batch_seconds=1.0), asset_stores)
    assert len(events) == 1
    changes = events[0].payload["changes"]
    assert [c["header"]["recordIds"] for c in changes] == [[record_id] for record_id in won]
    assert events[0].payload["replay_id"] == changes[-1]["replay_id"]
    # the batch ended at the subscription's last event, which may be a later non-matching one
    assert stored_replay_id(asset_stores) is not None


@needs_3_3
def test_outside_an_asset_watcher_it_says_where_it_runs() -> None:
    trigger = closed_won_trigger("x")
    assert trigger.shared_stream_key() is None

    async def run() -> None:
        async for _ in trigger.run():
            pass

    with pytest.raises(RuntimeError, match="runs only as an asset watcher"):
        asyncio.run(run())


@needs_3_3
@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        ({"channel": "OpportunityChangeEvent"}, "not a Pub/Sub channel"),
        ({"channel": CHANNEL, "replay_preset": "CUSTOM"}, "replay_preset"),
        ({"channel": CHANNEL, "on_replay_gap": "skip"}, "on_replay_gap"),
        ({"channel": CHANNEL, "batch_size": 500}, "batch_size"),
        ({"channel": CHANNEL, "change_types": ["MODIFY"]}, "MODIFY"),
    ],
)
def test_mistakes_are_refused_when_the_dag_is_parsed(arguments: dict[str, Any], complaint: str) -> None:
    from airflow_provider_sfpy.triggers.change_events import SalesforceChangeEventTrigger

    with pytest.raises(ValueError, match=complaint):
        SalesforceChangeEventTrigger(**arguments)


@needs_3_3
def test_serialize_rebuilds_the_same_trigger() -> None:
    from airflow_provider_sfpy.triggers.change_events import SalesforceChangeEventTrigger

    trigger = closed_won_trigger("m", batch_size=10, change_types=["UPDATE", "CREATE"])
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_sfpy.triggers.change_events.SalesforceChangeEventTrigger"
    assert SalesforceChangeEventTrigger(**kwargs).serialize() == (classpath, kwargs)
    json.dumps(kwargs)


@pytest.mark.skipif(AIRFLOW_3_3, reason="the refusal is for Airflow before 3.3")
def test_before_airflow_3_3_construction_is_refused_saying_why() -> None:
    from airflow_provider_sfpy.triggers.change_events import SalesforceChangeEventTrigger

    with pytest.raises(RuntimeError, match=r"needs Airflow 3\.3 or later .*ack mode"):
        SalesforceChangeEventTrigger(channel=CHANNEL)


@needs_3_3
def test_airflow_links_the_watcher_to_the_asset_its_kwargs_hash_the_same_once_stored() -> None:
    """Airflow links an asset to its watcher's trigger row by a hash of the kwargs, computed before and after
    they are stored; a dict nested in the kwargs hashes differently after (the watcher then never runs)."""
    from airflow.models.trigger import Trigger
    from airflow.serialization.encoders import encode_trigger
    from airflow.triggers.base import BaseEventTrigger

    trigger = closed_won_trigger("m", change_types=["UPDATE"], batch_size=5)
    encoded = encode_trigger(trigger)
    stored = Trigger(classpath=encoded["classpath"], kwargs=encoded["kwargs"])
    assert BaseEventTrigger.hash(stored.classpath, stored.kwargs) == BaseEventTrigger.hash(
        encoded["classpath"], encoded["kwargs"]
    )
