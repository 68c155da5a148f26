"""The event bus on its own: positions, channels, retention and persistence in the store's SQLite."""

from __future__ import annotations

from pathlib import Path

from airflow_provider_sfpy.emulator.events.bus import EventBus
from airflow_provider_sfpy.emulator.store import Store


def test_positions_increase_per_org_across_channels_and_survive_a_restart(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    bus = EventBus(store)
    first = bus.append(["/data/AccountChangeEvent", "/data/ChangeEvents"], "s1", b"a", "u1")
    second, third = bus.append_many(
        [(["/event/Order_Placed__e"], "s2", b"b", "u2"), (["/data/ChangeEvents"], "s1", b"c", "u3")]
    )
    assert first < second < third == bus.latest_position()
    assert [e.payload for e in bus.read("/data/ChangeEvents", 0, 10)] == [b"a", b"c"]
    assert [e.position for e in bus.read("/data/ChangeEvents", first, 10)] == [third]
    assert bus.read("/data/ChangeEvents", 0, 1)[0].event_uuid == "u1"
    store.close()

    reopened = Store.open(tmp_path)
    bus = EventBus(reopened)
    assert [e.payload for e in bus.read("/event/Order_Placed__e", 0, 10)] == [b"b"]
    assert bus.append(["/data/ChangeEvents"], "s1", b"d", "u4") == third + 1
    reopened.close()


def test_retention_drops_old_events_and_remembers_where_replay_stops_being_possible() -> None:
    now = [1000.0]
    bus = EventBus(Store(), retention_seconds=60, clock=lambda: now[0])
    old = bus.append(["/event/X__e"], "s", b"old", "u1")
    now[0] += 61
    kept = bus.append(["/event/X__e"], "s", b"kept", "u2")
    bus.expire_now()
    assert [e.payload for e in bus.read("/event/X__e", 0, 10)] == [b"kept"]
    assert bus.purged_through() == old
    assert not bus.is_replayable(old - 1)  # the event after it is gone
    assert bus.is_replayable(old) and bus.is_replayable(kept)
    assert not bus.is_replayable(kept + 1)  # never handed out


def test_appends_wake_listeners() -> None:
    bus = EventBus(Store())
    woken: list[int] = []
    listener = lambda: woken.append(1)  # noqa: E731
    bus.add_listener(listener)
    bus.append(["/event/X__e"], "s", b"x", "u")
    bus.remove_listener(listener)
    bus.append(["/event/X__e"], "s", b"y", "u")
    assert woken == [1]


def test_subscriber_count_follows_listeners_added_and_removed() -> None:
    bus = EventBus(Store())
    first, second = (lambda: None), (lambda: None)
    assert bus.subscriber_count == 0
    bus.add_listener(first)
    bus.add_listener(second)
    assert bus.subscriber_count == 2
    bus.add_listener(first)  # the same stream waiting again is still one subscriber
    assert bus.subscriber_count == 2
    bus.remove_listener(first)
    assert bus.subscriber_count == 1
    bus.remove_listener(first)  # removing one that is gone changes nothing
    bus.remove_listener(second)
    assert bus.subscriber_count == 0
