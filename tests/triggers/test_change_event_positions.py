"""Where a SalesforceChangeEventTrigger keeps its place: its own position, stored even while nothing matches.

Regression tests of two ways the trigger lost changes across triggerer restarts:

- a trigger that had not fired yet (``replay_preset="LATEST"``) stored no position, so after a restart it
  started from LATEST again and missed the changes made while the triggerer was down;
- two triggers on one connection and channel that watched a common asset wrote one position under one key,
  so one trigger's progress moved the other's, which then skipped an event it had never had stored.

This module runs its own emulator, whose keepalives come every 0.3 s instead of Salesforce's 270 s: the
position a quiet trigger stores is the one a keepalive reports.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("airflow.triggers.shared_stream", reason="Airflow before 3.3: no shared-stream ack mode")

from change_event_scenarios import closed_won, win
from shared_stream_support import MemoryAssetState, MemoryAssetStores, settle, watching

from airflow_provider_sfpy.client import Client


@pytest.fixture(scope="module")
def emulator_pubsub() -> Iterator[Any]:
    """This module's emulator (``pubsub_connection`` points there): keepalives every 0.3 s, no sample data."""
    from airflow_provider_sfpy.emulator.pubsub.server import PubSubOptions
    from airflow_provider_sfpy.emulator.pubsub.service import PubSubSettings
    from airflow_provider_sfpy.emulator.testing import start_emulator

    options = PubSubOptions(settings=PubSubSettings(keepalive_seconds=0.3))
    with start_emulator(pubsub=options, sample_data=False) as running:
        yield running


def state_key(trigger: Any) -> str:
    from airflow_provider_sfpy.triggers.change_events import _stream_settings

    return _stream_settings(trigger.serialize()[1]).state_key


def records(run: Any) -> list[Any]:
    return [event.payload["header"]["recordIds"] for event in run.events]


async def until(condition: Any, timeout: float) -> bool:
    """Whether ``condition()`` came true within ``timeout`` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


def test_a_latest_trigger_restarted_before_its_first_event_sees_the_changes_made_meanwhile(sf: Client) -> None:
    marker = uuid.uuid4().hex
    asset = MemoryAssetState()

    async def quiet_first_life() -> None:
        async with watching(closed_won(marker), MemoryAssetStores({"closed_won": asset})) as run:
            # Nothing happens on the channel; a keepalive reports where it stands (or the old code never stores).
            await until(lambda: bool(asset.values), 5.0)
            assert run.events == []

    asyncio.run(quiet_first_life())
    record_id = win(sf, marker)  # while the triggerer restarts

    async def second_life() -> list[Any]:
        async with watching(closed_won(marker), MemoryAssetStores({"closed_won": asset})) as run:
            await run.wait_for(1, timeout=10)
            await asyncio.sleep(0.5)  # time for a repeat that must not come
            return records(run)

    assert asyncio.run(second_life()) == [[record_id]], "the change made while the triggerer restarted was lost"


def test_triggers_watching_a_common_asset_keep_positions_of_their_own(sf: Client) -> None:
    """T1 (assets a, b) never got its event stored; T2 (asset a, another filter) got past it; T1 gets it again."""
    marker = uuid.uuid4().hex
    a, b = MemoryAssetState(), MemoryAssetState()
    record_id = win(sf, marker)

    async def life(trigger: Any, stores: dict[str, MemoryAssetState], *, confirm: bool = True) -> list[Any]:
        async with watching(trigger, MemoryAssetStores(stores), confirm=confirm) as run:
            await run.wait_for(1, timeout=10)
            await settle()
            return records(run)

    t1_first = asyncio.run(life(closed_won(marker, replay_preset="EARLIEST"), {"a": a, "b": b}, confirm=False))
    t2 = closed_won(marker, replay_preset="EARLIEST", change_types=["UPDATE"])
    t2_events = asyncio.run(life(t2, {"a": a}))
    t1_again = asyncio.run(life(closed_won(marker, replay_preset="EARLIEST"), {"a": a, "b": b}))

    assert t1_first == t2_events == [[record_id]]
    assert t1_again == [[record_id]], "T1's event that Airflow never stored did not come again"
    assert state_key(t2) != state_key(closed_won(marker, replay_preset="EARLIEST"))
    assert set(a.values) == {state_key(t2), state_key(closed_won(marker, replay_preset="EARLIEST"))}


def test_a_quiet_position_is_never_stored_past_an_event_airflow_has_not_stored(sf: Client) -> None:
    marker = uuid.uuid4().hex
    asset = MemoryAssetState()
    stores = MemoryAssetStores({"closed_won": asset})

    async def crashed_before_persisting() -> str:
        async with watching(closed_won(marker), stores, confirm=False) as run:
            await until(lambda: bool(asset.values), 5.0)  # subscribed, a keepalive's position stored
            await asyncio.to_thread(win, sf, marker)
            await run.wait_for(1, timeout=10)
            await asyncio.sleep(1.5)  # keepalives and position checks while the event waits for Airflow
            return str(run.events[0].payload["replay_id"])

    unstored = asyncio.run(crashed_before_persisting())
    stored = next(iter(asset.values.values()))["replay_id"]
    # The emulator's replay ids are big-endian positions, so bytes order is event order here.
    assert bytes.fromhex(stored) < bytes.fromhex(unstored)

    async def restarted() -> list[Any]:
        async with watching(closed_won(marker), stores) as run:
            await run.wait_for(1, timeout=10)
            return [event.payload["replay_id"] for event in run.events]

    assert asyncio.run(restarted()) == [unstored]


def test_watched_assets_that_disagree_resume_after_the_latest_write_and_the_warning_names_them(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from airflow_provider_sfpy.triggers.change_event_state import ReplayPosition

    key = "sfpy_pubsub_replay_id:sfpy_default:/data/OpportunityChangeEvent:0123456789abcdef"
    a, b, c = MemoryAssetState(), MemoryAssetState(), MemoryAssetState()
    a.values[key] = {"replay_id": "00000000000000ff", "write": 7}  # a write cut short after asset a
    b.values[key] = {"replay_id": "00000000000000fe", "write": 6}
    position = ReplayPosition([("a", a), ("b", b), ("c", c)], key)

    with caplog.at_level(logging.WARNING, logger="airflow_provider_sfpy.triggers.change_event_state"):
        loaded = asyncio.run(position.load())
    assert loaded == bytes.fromhex("00000000000000ff")
    warning = caplog.records[-1].getMessage()
    assert "a=00000000000000ff (write 7)" in warning and "b=00000000000000fe (write 6)" in warning
    assert "c=nothing" in warning and "Resuming after a's" in warning

    asyncio.run(position.save(bytes.fromhex("0000000000000100")))
    assert a.values[key] == b.values[key] == c.values[key] == {"replay_id": "0000000000000100", "write": 8}


def test_each_trigger_has_a_stream_and_a_position_of_its_own() -> None:
    """Only triggers with equal kwargs (one trigger row in Airflow) share a stream key and a state key."""
    stores = MemoryAssetStores({"closed_won": MemoryAssetState()})
    one, same, other = closed_won("m"), closed_won("m"), closed_won("m", change_types=["UPDATE"])
    for trigger in (one, same, other):
        trigger.asset_state_store = stores
    try:
        assert one.shared_stream_key() == same.shared_stream_key() != other.shared_stream_key()
        assert state_key(one) == state_key(same) != state_key(other)
    finally:
        for trigger in (one, same, other):
            asyncio.run(trigger.cleanup())
