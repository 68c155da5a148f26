"""Bulk query results downloaded in parallel (``parallel=N``, ``resultPages``) and in mapped mode.

Every test runs the operators against the session's emulator over real HTTP: parallel files must be
byte for byte what the sequential download writes, a retry must finish only the missing parts, and the
mapped set must be committed only when every part is right.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from airflow.sdk.exceptions import AirflowException

from airflow_provider_sfpy.client import Client, SalesforceConnectionError
from airflow_provider_sfpy.client.bulk2_result_pages import link_locator
from airflow_provider_sfpy.operators import bulk_query as bulk_query_module
from airflow_provider_sfpy.operators.bulk_query import SalesforceBulkQueryOperator
from airflow_provider_sfpy.operators.bulk_query_mapped import (
    JOB_XCOM_KEY,
    SalesforceBulkQueryCommitOperator,
    SalesforceBulkQueryPageOperator,
    SalesforceBulkQueryPagesOperator,
)
from airflow_provider_sfpy.operators.bulk_query_parallel import part_name

RESULTS = r"/jobs/query/[^/]+/results$"
ACCOUNTS = 35


class StateStore:
    """``context["task_state_store"]`` of one task instance (Airflow 3.3), JSON round trip included."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def get(self, key: str, default: Any = None) -> Any:
        return json.loads(self.values[key]) if key in self.values else default

    def set(self, key: str, value: Any, *, retention: Any = None) -> None:
        self.values[key] = json.dumps(value)

    def delete(self, key: str) -> None:
        self.values.pop(key, None)


def context(**values: Any) -> Any:
    """A task's context outside a DAG run (typed ``Any``: Airflow's ``Context`` wants real objects)."""
    return values


def with_store(store: StateStore) -> Any:
    return context(task_state_store=store)


class TI:
    def __init__(self) -> None:
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


@pytest.fixture(autouse=True)
def quick_page_retries(monkeypatch: pytest.MonkeyPatch, emulator: Any) -> Any:
    monkeypatch.setattr(bulk_query_module, "PAGE_RETRY_WAIT_SECONDS", 0.01)
    yield
    emulator.clear_faults()


@pytest.fixture
def label(checker: Client) -> str:
    name = f"Par{uuid.uuid4().hex[:8]}"
    checker.collections.create(
        [{"Name": f"{name} {n:03d}", "Description": f'row {n}, "quoted"\nline two'} for n in range(ACCOUNTS)],
        object_type="Account",
    )
    return name


def soql(label: str) -> str:
    return f"SELECT Id, Name, Description FROM Account WHERE Name LIKE '{label} %' ORDER BY Name"


def operator(label: str, destination: Path, **kwargs: Any) -> SalesforceBulkQueryOperator:
    return SalesforceBulkQueryOperator(
        task_id="extract",
        soql=soql(label),
        destination=str(destination),
        max_records_per_page=10,
        deferrable=False,
        poll_interval=0.05,
        max_poll_interval=0.1,
        **kwargs,
    )


def files(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir()) if path.name != "_manifest.json"}


def manifest(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / "_manifest.json").read_text())
    return data


def calls(emulator: Any, pattern: str) -> list[dict[str, Any]]:
    return [e for e in emulator.requests_log() if e["method"] == "GET" and re.search(pattern, e["path"])]


def test_parallel_parts_and_combined_file_are_byte_identical_to_sequential(
    sfpy_conn: str, emulator: Any, label: str, tmp_path: Path
) -> None:
    emulator.clear_requests_log()
    sequential = operator(label, tmp_path / "seq", parallel=1).execute({})
    assert calls(emulator, "/resultPages$") == []  # parallel=1 follows the locators
    emulator.clear_requests_log()
    parallel = operator(label, tmp_path / "par", parallel=3).execute({})
    assert len(calls(emulator, "/resultPages$")) == 1  # 4 links: one answer
    gets = calls(emulator, RESULTS)
    assert len(gets) == 4 and all("locator=" in e["query"] for e in gets)

    assert list(files(tmp_path / "par")) == ["part-00001.csv", "part-00002.csv", "part-00003.csv", "part-00004.csv"]
    assert files(tmp_path / "par") == files(tmp_path / "seq")
    assert manifest(tmp_path / "par")["parts"] == manifest(tmp_path / "seq")["parts"]
    assert parallel["rows"] == sequential["rows"] == ACCOUNTS
    assert [Path(p).name for p in parallel["paths"]] == [Path(p).name for p in sequential["paths"]]

    operator(label, tmp_path / "seq.csv", parallel=1, combine=True).execute({})
    operator(label, tmp_path / "par.csv", parallel=3, combine=True).execute({})
    assert (tmp_path / "par.csv").read_bytes() == (tmp_path / "seq.csv").read_bytes()
    assert (tmp_path / "par.csv").read_bytes().count(b'"Id","Name","Description"') == 1


def test_default_parallel_uses_result_pages_and_a_cut_page_is_fetched_again(
    sfpy_conn: str, emulator: Any, label: str, tmp_path: Path
) -> None:
    emulator.add_faults({"path": RESULTS, "method": "GET", "drop": "partial", "skip": 1, "times": 2})
    emulator.clear_requests_log()
    result = operator(label, tmp_path / "out").execute({})
    assert len(calls(emulator, "/resultPages$")) == 1  # parallel by default
    assert all(rule["fired"] == 2 for rule in emulator.faults())
    assert result["rows"] == ACCOUNTS == manifest(tmp_path / "out")["rows"]
    assert sorted(files(tmp_path / "out")) == [f"part-0000{n}.csv" for n in (1, 2, 3, 4)]
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.endswith(".partial")]


def test_without_result_pages_the_locators_are_followed(
    sfpy_conn: str, emulator: Any, label: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An org or proxy that answers 404 to resultPages: the download follows the locators instead.
    emulator.add_faults({"path": "/resultPages$", "method": "GET", "status": 404})
    emulator.clear_requests_log()
    operator(label, tmp_path / "404").execute({})
    assert len(calls(emulator, "/resultPages$")) == 1
    assert manifest(tmp_path / "404")["rows"] == ACCOUNTS
    emulator.clear_faults()
    # API 57.0 has no resultPages: it is not even asked for.
    monkeypatch.setenv("AIRFLOW_CONN_SFPY_OLD", json.dumps(emulator.airflow_connection(version="57.0")))
    emulator.clear_requests_log()
    operator(label, tmp_path / "v57", sfpy_conn_id="sfpy_old").execute({})
    assert calls(emulator, "/resultPages$") == []
    assert files(tmp_path / "v57") == files(tmp_path / "404")


def locator(entry: dict[str, Any]) -> str:
    """The ``locator`` a logged results request asked for: which page it was."""
    (value,) = parse_qs(entry["query"])["locator"]
    return value


def test_a_retry_after_a_failed_parallel_download_fetches_only_the_missing_parts(
    sfpy_conn: str, emulator: Any, checker: Client, label: str, tmp_path: Path
) -> None:
    store = StateStore()
    out = tmp_path / "out"
    # The first two results GETs arrive whole and every later one is cut. Which two pages those are is up to
    # the threads (one may finish page 1 and ask for page 3 before the other's page 2 arrives), and a fault
    # rule matches the path, not the locator, so the pages that came whole are read from the request log.
    emulator.add_faults({"path": RESULTS, "method": "GET", "drop": "partial", "skip": 2})
    emulator.clear_requests_log()
    with pytest.raises(SalesforceConnectionError, match=r"part-\d{5}\.csv was cut off 4 times") as failed:
        operator(label, out, parallel=2).execute(with_store(store))
    links = checker.jobs.query.result_links(store.get("sfpy_bulk_query")["job_id"], max_records=10)
    assert links is not None and len(links) == 4
    page_of = {link_locator(link): number for number, link in enumerate(links, start=1)}
    whole = {page_of[locator(e)] for e in calls(emulator, RESULTS) if e["fault"] is None}
    missing = {1, 2, 3, 4} - whole
    assert len(whole) == 2
    assert sorted(files(out)) == [part_name(n) for n in sorted(whole)] and not (out / "_manifest.json").exists()
    named = re.search(r"part-\d{5}\.csv", str(failed.value))
    assert named is not None and named[0] in {part_name(n) for n in missing}  # the failure names a missing page
    emulator.clear_faults()
    emulator.clear_requests_log()

    result = operator(label, out, parallel=2).execute(with_store(store))
    retried = [page_of[locator(e)] for e in calls(emulator, RESULTS)]
    assert sorted(retried) == sorted(missing)  # each missing page once, none of the saved ones
    assert not [e for e in emulator.requests_log() if e["path"].endswith("/jobs/query")]  # the same job
    operator(label, tmp_path / "fresh", parallel=1).execute({})
    assert files(out) == files(tmp_path / "fresh")
    assert manifest(out)["parts"] == manifest(tmp_path / "fresh")["parts"] and result["rows"] == ACCOUNTS
    assert "parallel_parts" not in store.get("sfpy_bulk_query")  # done: a clear downloads everything again


def test_parallel_is_checked_when_the_dag_is_parsed(tmp_path: Path) -> None:
    for wrong in (0, 11):
        with pytest.raises(ValueError, match="parallel must be from 1"):
            SalesforceBulkQueryOperator(
                task_id="x", soql="SELECT Id FROM Account", destination=str(tmp_path), parallel=wrong
            )


def run_mapped(label: str, out: Path) -> tuple[list[dict[str, Any]], dict[str, Any], list[dict[str, Any]]]:
    ti = TI()
    pages = SalesforceBulkQueryPagesOperator(
        task_id="pages", soql=soql(label), destination=str(out), max_records_per_page=10, poll_interval=0.05
    ).execute(context(ti=ti))
    parts = [SalesforceBulkQueryPageOperator(task_id="page", page=page).execute({}) for page in reversed(pages)]
    return pages, ti.pushed[JOB_XCOM_KEY], parts


def test_mapped_mode_commits_the_same_set_as_one_task(sfpy_conn: str, label: str, tmp_path: Path) -> None:
    pages, job, parts = run_mapped(label, tmp_path / "mapped")
    assert [page["number"] for page in pages] == [1, 2, 3, 4] and job["pages"] == 4
    assert all(page["link"] and page["part"].endswith(f"part-0000{page['number']}.csv") for page in pages)
    assert not (tmp_path / "mapped" / "_manifest.json").exists()  # not a set until the commit
    result = SalesforceBulkQueryCommitOperator(task_id="commit", job=job, parts=parts).execute({})
    operator(label, tmp_path / "one", parallel=1).execute({})
    assert files(tmp_path / "mapped") == files(tmp_path / "one")
    committed = manifest(tmp_path / "mapped")
    assert committed["parts"] == manifest(tmp_path / "one")["parts"]
    assert committed["job_id"] == job["job_id"] and committed["query"] == soql(label) and result["rows"] == ACCOUNTS


def test_mapped_commit_refuses_an_incomplete_set(sfpy_conn: str, label: str, tmp_path: Path) -> None:
    out = tmp_path / "mapped"
    _, job, parts = run_mapped(label, out)
    commit = SalesforceBulkQueryCommitOperator(task_id="commit", job=job, parts=parts[1:])
    with pytest.raises(AirflowException, match="no part for page"):
        commit.execute({})
    (out / "part-00002.csv").write_bytes(b'"Id","Name","Description"\n')
    with pytest.raises(
        AirflowException, match=r"part-00002\.csv is \d+ bytes.*the parts hold|part-00002\.csv is \d+ bytes"
    ):
        SalesforceBulkQueryCommitOperator(task_id="commit", job=job, parts=parts).execute({})
    assert not (out / "_manifest.json").exists()


def test_a_mapped_page_task_retry_replaces_its_part_whole(
    sfpy_conn: str, emulator: Any, label: str, tmp_path: Path
) -> None:
    """A page task whose download is cut every time fails and leaves what was there (here a stale part of
    an earlier run) untouched; its retry, given the same page item, writes the whole part, and the commit
    then publishes the same set one task would have."""
    out = tmp_path / "mapped"
    ti = TI()
    pages = SalesforceBulkQueryPagesOperator(
        task_id="pages", soql=soql(label), destination=str(out), max_records_per_page=10, poll_interval=0.05
    ).execute(context(ti=ti))
    parts = {
        page["number"]: SalesforceBulkQueryPageOperator(task_id="page", page=page).execute({}) for page in pages[1:]
    }
    stale = b'"Id","Name","Description"\n"001stale","an earlier run",""\n'
    (out / part_name(1)).write_bytes(stale)
    emulator.add_faults({"path": RESULTS, "method": "GET", "drop": "partial"})
    with pytest.raises(SalesforceConnectionError, match=r"part-00001\.csv was cut off"):
        SalesforceBulkQueryPageOperator(task_id="page", page=pages[0]).execute({})
    assert (out / part_name(1)).read_bytes() == stale  # nothing half-written over it
    assert not [p for p in out.iterdir() if p.name.endswith(".partial")]
    emulator.clear_faults()

    parts[1] = SalesforceBulkQueryPageOperator(task_id="page", page=pages[0]).execute({})  # the retry
    result = SalesforceBulkQueryCommitOperator(
        task_id="commit", job=ti.pushed[JOB_XCOM_KEY], parts=[parts[n] for n in sorted(parts)]
    ).execute({})
    operator(label, tmp_path / "one", parallel=1).execute({})
    assert files(out) == files(tmp_path / "one")
    assert manifest(out)["parts"] == manifest(tmp_path / "one")["parts"] and result["rows"] == ACCOUNTS
