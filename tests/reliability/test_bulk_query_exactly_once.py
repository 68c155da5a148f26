"""Bulk query output exactly once: whole part files, one run's parts, a manifest, and a job re-used across tries.

Every test runs the operator against an emulator over real HTTP. Downloads are cut mid-body with the
emulator's ``drop: "partial"`` fault (headers and half the body, then the connection is closed); the
files the operator leaves must be complete, or absent — never a truncated part, never a ``.partial``.
Retries are played with one ``MemoryTaskStateStore`` given to two ``execute`` calls.
"""

from __future__ import annotations

import csv
import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from reliability_support import FakeTI, MemoryTaskStateStore, connection_fields, task_context, with_fast_retries

from airflow_provider_sfpy.client import Client, SalesforceConnectionError, SalesforceServerError
from airflow_provider_sfpy.formats.csv_records import CsvRecordCounter
from airflow_provider_sfpy.operators import bulk_query as bulk_query_module
from airflow_provider_sfpy.operators.bulk_query import SalesforceBulkQueryOperator
from airflow_provider_sfpy.operators.query_to_file import SalesforceQueryToFileOperator

RESULTS = r"/jobs/query/[^/]+/results$"
QUEUED_CONN = "sfpy_queued"
QUEUED_ACCOUNTS = 25


@pytest.fixture(autouse=True)
def quick_page_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk_query_module, "PAGE_RETRY_WAIT_SECONDS", 0.01, raising=False)


@pytest.fixture(scope="module")
def queued_org() -> Iterator[Any]:
    """An org whose Bulk jobs sit queued for a second: long enough to time a try out, or abort the job."""
    from airflow_provider_sfpy.emulator.testing import start_emulator

    with start_emulator(sample_data=False, generate={"Account": QUEUED_ACCOUNTS}, bulk_queue_delay=1.0) as running:
        yield running


@pytest.fixture
def queued(queued_org: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv(f"AIRFLOW_CONN_{QUEUED_CONN.upper()}", json.dumps(connection_fields(queued_org)))
    yield queued_org
    queued_org.clear_faults()
    queued_org.clear_requests_log()


@pytest.fixture
def queued_checker(queued: Any) -> Client:
    client: Client = queued.password_client()
    client.login()
    return client


def operator(conn_id: str, destination: Any, soql: str, **kwargs: Any) -> SalesforceBulkQueryOperator:
    op = SalesforceBulkQueryOperator(
        task_id="extract",
        soql=soql,
        destination=str(destination),
        deferrable=False,
        poll_interval=0.05,
        max_poll_interval=0.1,
        sfpy_conn_id=conn_id,
        **kwargs,
    )
    return with_fast_retries(op)


def make_accounts(checker: Client, count: int) -> tuple[str, list[str]]:
    label = f"Once{uuid.uuid4().hex[:8]}"
    created = checker.collections.create(
        [{"Name": f"{label} {n:03d}", "Description": f'row {n}, "quoted"\nsecond line'} for n in range(count)],
        object_type="Account",
    ).body
    return label, [r["id"] for r in created]


def soql_for(label: str) -> str:
    return f"SELECT Id, Name, Description FROM Account WHERE Name LIKE '{label} %' ORDER BY Name"


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def job_posts(log: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in log if e["method"] == "POST" and e["path"].endswith("/jobs/query")]


def results_gets(log: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in log if e["method"] == "GET" and re.search(RESULTS, e["path"])]


def locator_of(entry: dict[str, Any]) -> str | None:
    found = re.search(r"locator=([^&]+)", entry["query"])
    return found.group(1) if found else None


def names(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


# ---------------------------------------------------------------------------------------- cut downloads


def test_a_download_cut_mid_stream_is_fetched_again_from_its_locator(
    sfpy_conn: str, emulator: Any, checker: Client, tmp_path: Path
) -> None:
    label, ids = make_accounts(checker, 30)
    out = tmp_path / "extract"
    # The second page is cut off half-way twice; the third attempt gets it whole.
    emulator.add_faults({"path": RESULTS, "method": "GET", "drop": "partial", "skip": 1, "times": 2})
    result = operator(sfpy_conn, out, soql_for(label), max_records_per_page=10, parallel=1).execute(
        task_context(FakeTI())
    )

    assert all(rule["fired"] == 2 for rule in emulator.faults())
    assert names(out) == {"part-00001.csv", "part-00002.csv", "part-00003.csv", "_manifest.json"}
    parts = [csv_rows(out / f"part-0000{n}.csv") for n in (1, 2, 3)]
    assert [len(p) for p in parts] == [10, 10, 10]
    assert sorted(r["Id"] for p in parts for r in p) == sorted(ids)
    assert all(r["Description"].endswith('"quoted"\nsecond line') for p in parts for r in p)
    manifest = json.loads((out / "_manifest.json").read_text())
    assert manifest["job_id"] == result["job_id"] and manifest["query"] == soql_for(label)
    assert manifest["rows"] == result["rows"] == 30 and manifest["completed_at"]
    assert manifest["parts"] == [
        {"name": f"part-0000{n}.csv", "rows": 10, "bytes": (out / f"part-0000{n}.csv").stat().st_size}
        for n in (1, 2, 3)
    ]
    gets = results_gets(emulator.requests_log())
    second_locator = locator_of(gets[1])
    assert second_locator is not None
    assert sum(locator_of(e) == second_locator for e in gets) >= 3  # the cut page, re-read from its locator
    assert len(job_posts(emulator.requests_log())) == 1


def test_a_download_cut_every_time_fails_typed_and_keeps_nothing_partial(
    sfpy_conn: str, emulator: Any, checker: Client, tmp_path: Path
) -> None:
    label, _ = make_accounts(checker, 30)
    out = tmp_path / "extract"
    emulator.add_faults({"path": RESULTS, "method": "GET", "drop": "partial", "skip": 1})
    with pytest.raises(SalesforceConnectionError, match=r"part-00002\.csv was cut off 4 times"):
        operator(sfpy_conn, out, soql_for(label), max_records_per_page=10, parallel=1).execute(task_context())
    assert names(out) == {"part-00001.csv"}  # whole, and no manifest: readers know the run is not done
    assert len(csv_rows(out / "part-00001.csv")) == 10


def test_a_combined_file_survives_a_cut_page_whole(
    sfpy_conn: str, emulator: Any, checker: Client, tmp_path: Path
) -> None:
    label, ids = make_accounts(checker, 30)
    out = tmp_path / "combined" / "accounts.csv"
    emulator.add_faults({"path": RESULTS, "method": "GET", "drop": "partial", "skip": 2, "times": 1})
    result = operator(sfpy_conn, out, soql_for(label), max_records_per_page=10, combine=True).execute(task_context())
    rows = csv_rows(out)
    assert sorted(r["Id"] for r in rows) == sorted(ids) and result["rows"] == 30
    assert out.read_text().count('"Id","Name","Description"') == 1
    assert names(out.parent) == {"accounts.csv"}


def test_the_record_counter_sees_a_body_that_ends_short() -> None:
    counter = CsvRecordCounter()
    body = b'"Id","Text"\n"1","a ""b""\nc"\n"2","d"\n'
    for n in range(0, len(body), 3):  # quotes and line ends split across chunks
        counter.feed(body[n : n + 3])
    assert (counter.records, counter.shortfall(2)) == (2, "")
    assert counter.shortfall(3) == "2 of 3 announced records"
    cut = CsvRecordCounter()
    cut.feed(body[:-4])
    assert cut.records == 2 and "ends inside a record" in cut.shortfall(2)


# ---------------------------------------------------------------------------------------- re-runs


def test_a_rerun_into_the_same_folder_leaves_exactly_its_own_parts(
    sfpy_conn: str, checker: Client, tmp_path: Path
) -> None:
    label, ids = make_accounts(checker, 11)
    out = tmp_path / "extract"
    first = operator(sfpy_conn, out, soql_for(label), max_records_per_page=4).execute(task_context())
    assert first["rows"] == 11 and names(out) == {
        "part-00001.csv",
        "part-00002.csv",
        "part-00003.csv",
        "_manifest.json",
    }
    (out / ".part-00002.csv.0123456789ab.partial").write_text("left by a killed worker")
    (out / "notes.txt").write_text("not ours")

    second = operator(sfpy_conn, out, soql_for(label) + " LIMIT 4", max_records_per_page=4).execute(task_context())

    assert second["rows"] == 4 and second["paths"] == [str(out / "part-00001.csv")]
    assert names(out) == {"part-00001.csv", "_manifest.json", "notes.txt"}
    assert [r["Id"] for r in csv_rows(out / "part-00001.csv")] == ids[:4]
    manifest = json.loads((out / "_manifest.json").read_text())
    assert (manifest["job_id"], manifest["rows"], [p["name"] for p in manifest["parts"]]) == (
        second["job_id"],
        4,
        ["part-00001.csv"],
    )


# ---------------------------------------------------------------------------------------- destinations


def test_query_to_file_into_an_existing_folder_is_refused_before_any_query(
    sfpy_conn: str, emulator: Any, tmp_path: Path
) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    op = SalesforceQueryToFileOperator(task_id="export", soql="SELECT Id FROM Account", destination=str(folder))
    with pytest.raises(IsADirectoryError, match=r"is an existing folder.*single file"):
        op.execute(task_context())
    assert list(folder.iterdir()) == []
    assert [e for e in emulator.requests_log() if "/query" in e["path"]] == []


def test_query_to_file_into_a_folder_url_is_refused(sfpy_conn: str, emulator: Any, tmp_path: Path) -> None:
    op = SalesforceQueryToFileOperator(task_id="export", soql="SELECT Id FROM Account", destination=f"{tmp_path}/new/")
    with pytest.raises(IsADirectoryError, match="names a folder"):
        op.execute(task_context())
    assert emulator.requests_log() == []


def test_bulk_combine_into_an_existing_folder_is_refused_before_any_job(
    sfpy_conn: str, emulator: Any, tmp_path: Path
) -> None:
    op = operator(sfpy_conn, tmp_path, "SELECT Id FROM Account", combine=True)
    with pytest.raises(IsADirectoryError, match="combine=True"):
        op.execute(task_context())
    assert list(tmp_path.iterdir()) == []
    assert job_posts(emulator.requests_log()) == []


def test_bulk_parts_into_an_existing_file_are_refused_before_any_job(
    sfpy_conn: str, emulator: Any, tmp_path: Path
) -> None:
    existing = tmp_path / "accounts.csv"
    existing.write_text("Id\n")
    op = operator(sfpy_conn, existing, "SELECT Id FROM Account")
    with pytest.raises(NotADirectoryError, match=r"existing file.*set combine=True"):
        op.execute(task_context())
    assert existing.read_text() == "Id\n"
    assert job_posts(emulator.requests_log()) == []


def test_missing_parent_folders_are_created(sfpy_conn: str, checker: Client, tmp_path: Path) -> None:
    label, _ = make_accounts(checker, 3)
    target = tmp_path / "a" / "b" / "c" / "accounts.csv"
    op = SalesforceQueryToFileOperator(task_id="export", soql=soql_for(label), destination=str(target))
    assert op.execute(task_context())["rows"] == 3
    assert len(csv_rows(target)) == 3 and names(target.parent) == {"accounts.csv"}
    combined = tmp_path / "x" / "y" / "accounts.csv"
    assert operator(sfpy_conn, combined, soql_for(label), combine=True).execute(task_context())["rows"] == 3
    assert len(csv_rows(combined)) == 3


# ---------------------------------------------------------------------------------------- across tries


def test_a_retry_waits_again_for_the_job_the_first_try_created(queued: Any, tmp_path: Path) -> None:
    store, soql = MemoryTaskStateStore(), "SELECT Id, Name FROM Account ORDER BY Name"
    out = tmp_path / "extract"
    first_ti = FakeTI()
    with pytest.raises(TimeoutError):  # the job is still queued when the first try gives up
        operator(QUEUED_CONN, out, soql, wait_timeout=0.01).execute(task_context(first_ti, task_state_store=store))
    retry_ti = FakeTI()
    result = operator(QUEUED_CONN, out, soql).execute(task_context(retry_ti, task_state_store=store))

    assert len(job_posts(queued.requests_log())) == 1
    assert result["job_id"] == first_ti.pushed["job_id"] == retry_ti.pushed["job_id"]
    assert result["rows"] == QUEUED_ACCOUNTS == len(csv_rows(out / "part-00001.csv"))
    recorded = store.get("sfpy_bulk_query")
    assert recorded["job_id"] == result["job_id"] and recorded["rows"] == QUEUED_ACCOUNTS and recorded["downloaded_at"]


def test_a_retry_after_a_failed_download_downloads_the_completed_job_again(queued: Any, tmp_path: Path) -> None:
    store, soql = MemoryTaskStateStore(), "SELECT Id FROM Account"
    out = tmp_path / "extract"
    queued.add_faults({"path": RESULTS, "method": "GET", "status": 503})
    with pytest.raises(SalesforceServerError):
        operator(QUEUED_CONN, out, soql).execute(task_context(task_state_store=store))
    queued.clear_faults()
    result = operator(QUEUED_CONN, out, soql).execute(task_context(task_state_store=store))
    assert len(job_posts(queued.requests_log())) == 1
    assert result["rows"] == QUEUED_ACCOUNTS and names(out) == {"part-00001.csv", "_manifest.json"}
    # A clear after success re-uses it too, and re-downloading is idempotent.
    again = operator(QUEUED_CONN, out, soql).execute(task_context(task_state_store=store))
    assert again["job_id"] == result["job_id"] and len(job_posts(queued.requests_log())) == 1
    assert names(out) == {"part-00001.csv", "_manifest.json"}


def test_an_aborted_recorded_job_leads_to_a_new_job(
    queued: Any, queued_checker: Client, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    store, soql = MemoryTaskStateStore(), "SELECT Id FROM Account"
    first_ti = FakeTI()
    with pytest.raises(TimeoutError):
        operator(QUEUED_CONN, tmp_path / "out", soql, wait_timeout=0.01).execute(
            task_context(first_ti, task_state_store=store)
        )
    aborted = first_ti.pushed["job_id"]
    queued_checker.jobs.query.abort(aborted)
    capfd.readouterr()
    result = operator(QUEUED_CONN, tmp_path / "out", soql).execute(task_context(task_state_store=store))
    logged = capfd.readouterr().out
    assert result["job_id"] != aborted and result["rows"] == QUEUED_ACCOUNTS
    assert len(job_posts(queued.requests_log())) == 2
    assert f"{aborted} of an earlier try ended Aborted" in logged
    assert store.get("sfpy_bulk_query")["job_id"] == result["job_id"]


def test_a_recorded_job_that_is_gone_leads_to_a_new_job(
    queued: Any, queued_checker: Client, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    store, soql = MemoryTaskStateStore(), "SELECT Id FROM Account"
    first_ti = FakeTI()
    queued.add_faults({"path": RESULTS, "method": "GET", "status": 503})
    with pytest.raises(SalesforceServerError):
        operator(QUEUED_CONN, tmp_path / "out", soql).execute(task_context(first_ti, task_state_store=store))
    queued.clear_faults()
    queued_checker.jobs.query.delete(first_ti.pushed["job_id"])
    capfd.readouterr()
    result = operator(QUEUED_CONN, tmp_path / "out", soql).execute(task_context(task_state_store=store))
    logged = capfd.readouterr().out
    assert result["job_id"] != first_ti.pushed["job_id"] and result["rows"] == QUEUED_ACCOUNTS
    assert len(job_posts(queued.requests_log())) == 2
    assert "is gone" in logged


def test_a_changed_query_does_not_reuse_the_recorded_job(
    queued: Any, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    store = MemoryTaskStateStore()
    first = operator(QUEUED_CONN, tmp_path / "a", "SELECT Id FROM Account").execute(
        task_context(task_state_store=store)
    )
    capfd.readouterr()
    second = operator(QUEUED_CONN, tmp_path / "b", "SELECT Id, Name FROM Account").execute(
        task_context(task_state_store=store)
    )
    assert f"An earlier try ran Bulk query job {first['job_id']} for another query" in capfd.readouterr().out
    assert second["job_id"] != first["job_id"] and len(job_posts(queued.requests_log())) == 2
    assert list(csv_rows(tmp_path / "b" / "part-00001.csv")[0]) == ["Id", "Name"]
    assert store.get("sfpy_bulk_query")["job_id"] == second["job_id"]
