"""The SQLite store directly: cursors (paging, expiry, grace, eviction), persistence, concurrency."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from airflow_provider_sfpy.emulator import store as store_module
from airflow_provider_sfpy.emulator.errors import ApiError
from airflow_provider_sfpy.emulator.sample_data import ensure_admin, generate, load_sample_data
from airflow_provider_sfpy.emulator.schema import SCHEMA
from airflow_provider_sfpy.emulator.store import Store

ACCOUNT = SCHEMA["Account"]
SQL = 'SELECT "Id" FROM "Account" WHERE "IsDeleted" = 0 ORDER BY rowid'


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(clock: FakeClock) -> Store:
    store = Store(clock=clock)
    admin = ensure_admin(store, "demo@sfpy.example")
    generate(store, {"Account": 1000}, owner_id=admin)
    return store


def test_small_results_need_no_cursor(store: Store) -> None:
    page = store.open_query(SQL + " LIMIT 10", (), 200)
    assert page.done and page.total_size == 10 and len(page.rows) == 10
    assert store.open_cursor_count() == 0


def test_cursor_pages_cover_the_result_in_order(store: Store) -> None:
    page = store.open_query(SQL, (), 300)
    assert not page.done and page.total_size == 1000
    rows = list(page.rows)
    while not page.done:
        assert page.cursor_id is not None and page.cursor_id.startswith("01g")
        page = store.query_page(page.cursor_id, page.next_offset)
        rows += page.rows
    assert [r[0] for r in rows] == store.live_ids("Account")


def test_cursor_expires_after_idle_timeout(store: Store, clock: FakeClock) -> None:
    page = store.open_query(SQL, (), 200)
    assert page.cursor_id is not None
    clock.now += 14 * 60
    store.query_page(page.cursor_id, 200)  # use keeps it alive
    clock.now += 14 * 60
    store.query_page(page.cursor_id, 400)
    clock.now += 15 * 60 + 1
    with pytest.raises(ApiError) as raised:
        store.query_page(page.cursor_id, 600)
    assert raised.value.error_code == "INVALID_QUERY_LOCATOR"
    assert store.open_cursor_count() == 0


def test_fully_read_cursor_is_dropped_after_a_grace_period(store: Store, clock: FakeClock) -> None:
    page = store.open_query(SQL, (), 600)
    assert page.cursor_id is not None
    last = store.query_page(page.cursor_id, 600)
    assert last.done
    assert store.query_page(page.cursor_id, 600).rows == last.rows  # a retried last page still works
    clock.now += store_module.FINISHED_CURSOR_GRACE_SECONDS + 1
    store.open_query(SQL + " LIMIT 1", (), 200)  # any query sweeps
    assert store.open_cursor_count() == 0


def test_oldest_cursors_are_evicted_beyond_the_cap(store: Store, clock: FakeClock) -> None:
    first = store.open_query(SQL, (), 200)
    for _ in range(store_module.MAX_OPEN_CURSORS):
        clock.now += 1
        store.open_query(SQL, (), 200)
    assert store.open_cursor_count() == store_module.MAX_OPEN_CURSORS
    with pytest.raises(ApiError):
        store.query_page(first.cursor_id or "", 200)


def test_offsets_past_the_end_are_invalid(store: Store) -> None:
    page = store.open_query(SQL, (), 200)
    with pytest.raises(ApiError):
        store.query_page(page.cursor_id or "", 5000)


def test_data_dir_persists_and_is_not_seeded_twice(tmp_path: Path) -> None:
    first = Store.open(tmp_path)
    admin = ensure_admin(first, "demo@sfpy.example")
    load_sample_data(first, admin)
    created = first.create(ACCOUNT, {"Name": "Persisted"}, admin)
    first.close()
    assert (tmp_path / store_module.DB_FILENAME).exists()
    second = Store.open(tmp_path)
    assert ensure_admin(second, "demo@sfpy.example") == admin
    assert second.get(ACCOUNT, created)["Name"] == "Persisted"
    fresh_id = second.create(ACCOUNT, {"Name": "After restart"}, admin)
    assert fresh_id not in second.live_ids("Account")[:-1]  # counters resume past existing Ids
    second.close()


def test_concurrent_writers_from_threads(store: Store) -> None:
    admin = store.live_ids("User")[0]
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(50):
                record_id = store.create(ACCOUNT, {"Name": f"T{n}-{i}"}, admin)
                store.update(ACCOUNT, record_id, {"Rating": "Hot"}, admin)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert store.count("Account") == 1200


def test_seed_is_deterministic() -> None:
    def snapshot() -> list[tuple[object, ...]]:
        store = Store()
        load_sample_data(store, ensure_admin(store, "demo@sfpy.example"))
        generate(store, {"Account": 200, "Contact": 200, "Opportunity": 200})
        rows = []
        for name in ("Account", "Contact", "Opportunity"):
            for record_id in store.live_ids(name):
                record = store.get(SCHEMA[name], record_id)
                rows.append(tuple(v for k, v in record.items() if not k.endswith(("Date", "Modstamp"))))
        return rows

    assert snapshot() == snapshot()


def test_sample_data_shape() -> None:
    store = Store()
    admin = ensure_admin(store, "demo@sfpy.example")
    load_sample_data(store, admin)
    assert store.count("User") == 4
    assert 20 <= store.count("Account") <= 30
    assert 45 <= store.count("Contact") <= 55
    assert 35 <= store.count("Opportunity") <= 45
    assert store.count("Attachment") == 1
    accounts = [store.get(ACCOUNT, i) for i in store.live_ids("Account")]
    assert {"Apparel", "Banking", "Biotechnology"} <= {a["Industry"] for a in accounts}
    assert any(a["ParentId"] for a in accounts) and any(a["Industry"] is None for a in accounts)
    assert "EXT-0001" in {a["External_Id__c"] for a in accounts}
    contacts = [store.get(SCHEMA["Contact"], i) for i in store.live_ids("Contact")]
    assert any(c["AccountId"] is None for c in contacts)
