"""example_sfpy_incremental_sync, run the way a nightly schedule runs it, with changes in between.

Under dag.test() with Airflow 3.3's real asset state store: a first run exports everything (it is
started with ``{"full_refresh": true}``: the session's other tests may have run the example before);
then accounts and contacts are changed and deleted; a second run fails while exporting (the emulator
refuses its ``queryAll`` requests) and must leave both watermarks where they were, although one of
its files was already complete; the third run's files must hold exactly the changed and deleted rows
plus the rows in the first run's watermark millisecond, which the inclusive lower bound exports again.
"""

from __future__ import annotations

import csv
import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from airflow.sdk import ObjectStoragePath

from airflow_provider_sfpy.client import Client
from airflow_provider_sfpy.operators.watermark import asset_state_store_available
from airflow_provider_sfpy.soql import soql_quote

pytestmark = pytest.mark.skipif(
    not asset_state_store_available(), reason="incremental exports need Airflow 3.3's asset_state_store"
)

EXAMPLE = Path(__file__).resolve().parents[2] / "example_dags" / "example_sfpy_incremental_sync.py"


@pytest.fixture(scope="module")
def emulator() -> Iterator[Any]:
    """An org of its own: exact row sets need no other test's writes landing meanwhile (a Bulk job of an
    earlier test still committing rows stamped before this run's window end would not be in its file)."""
    from airflow_provider_sfpy.emulator.testing import start_emulator

    with start_emulator() as running:
        yield running


@pytest.fixture
def checker(emulator: Any) -> Client:
    """A client of its own, to change the org between runs and check what the files hold."""
    client: Client = emulator.password_client()
    client.login()
    return client


def run_example(output_dir: Path, **conf: Any) -> tuple[Any, dict[str, Any]]:
    """One run triggered by hand: the DagRun and each task's return value."""
    spec = importlib.util.spec_from_file_location(EXAMPLE.stem, EXAMPLE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    run = module.dag.test(logical_date=None, run_conf={"output_dir": output_dir.as_uri(), **conf})
    return run, {ti.task_id: ti.xcom_pull(task_ids=ti.task_id) for ti in run.get_task_instances()}


def rows_of(url: str) -> dict[str, dict[str, str]]:
    """A CSV the example wrote, by Id."""
    with Path(ObjectStoragePath(url).path).open(newline="", encoding="utf-8") as handle:
        return {row["Id"]: row for row in csv.DictReader(handle)}


def ids_of(client: Client, soql: str) -> set[str]:
    """Every Id ``soql`` selects, deleted records included (queryAll)."""
    return {record["Id"] for page in client.query_more(soql, include_deleted=True).body for record in page["records"]}


def id_list(ids: set[str]) -> str:
    return ", ".join(soql_quote(record_id) for record_id in sorted(ids))


def created_together(emulator: Any, checker: Client, object_type: str, records: list[dict[str, Any]]) -> set[str]:
    """Records created in one transaction, as a Bulk API batch creates them: one SystemModstamp
    millisecond for all (set up through the emulator's store, which stamps a batch once)."""
    from airflow_provider_sfpy.emulator.schema import SCHEMA

    owner = emulator.store.user_by_username(emulator.username)["Id"]
    created = set(emulator.store.insert_records(SCHEMA[object_type], records, owner))
    stamps = checker.query(f"SELECT SystemModstamp FROM {object_type} WHERE Id IN ({id_list(created)})").body
    assert len({record["SystemModstamp"] for record in stamps["records"]}) == 1
    return created


def soql_sent(emulator: Any) -> list[str]:
    """The export queries the emulator received, in order (the org id look-ups left out)."""
    texts = [
        text
        for entry in emulator.requests_log()
        if entry["path"].endswith(("/query", "/queryAll"))
        for text in parse_qs(entry["query"]).get("q", [])
    ]
    return [text for text in texts if "FROM Organization" not in text]


def test_nightly_runs_export_everything_then_only_what_changed_and_a_failed_run_moves_nothing(
    sfpy_default: None, emulator: Any, checker: Client, tmp_path: Path
) -> None:
    # The newest rows before the first run, two per object in one millisecond: its watermarks.
    boundary_accounts = created_together(
        emulator, checker, "Account", [{"Name": "Boundary One"}, {"Name": "Boundary Two"}]
    )
    boundary_contacts = created_together(
        emulator,
        checker,
        "Contact",
        [{"LastName": "Boundary", "AccountId": min(boundary_accounts)}, {"LastName": "Edge"}],
    )

    emulator.clear_requests_log()
    run, first = run_example(tmp_path / "first", full_refresh=True)
    assert str(run.state).endswith("success"), first
    first_soql = soql_sent(emulator)
    accounts_1, contacts_1 = first["sync_accounts"]["incremental"], first["sync_contacts"]["incremental"]
    for described, boundary in ((accounts_1, boundary_accounts), (contacts_1, boundary_contacts)):
        assert described["mode"] == "full" and described["full_reason"] == 'dag_run.conf["full_refresh"]'
        assert described["window"]["from"] is None and described["watermark"]["new"] is not None
        object_name, upper = described["object"], described["window"]["to"]
        everything = ids_of(checker, f"SELECT Id FROM {object_name} WHERE SystemModstamp <= {upper}")
        written = rows_of(described["path"])
        assert set(written) == everything and described["rows"] == len(everything)
        assert boundary <= set(written)
        stamp = checker.query(f"SELECT SystemModstamp FROM {object_name} WHERE Id = {soql_quote(min(boundary))}")
        assert stamp.body["records"][0]["SystemModstamp"].replace("+0000", "Z") == described["watermark"]["new"]
    contacts_deleted_1 = first["sync_contacts"]["incremental"]["deleted"]
    assert set(rows_of(contacts_deleted_1["path"])) == ids_of(
        checker, f"SELECT Id FROM Contact WHERE IsDeleted = true AND SystemModstamp <= {contacts_1['window']['to']}"
    )

    # Changes: an account renamed, one deleted (its contacts go with it), one created; a contact edited.
    old_accounts = checker.query(
        f"SELECT Id FROM Account WHERE Id NOT IN ({id_list(boundary_accounts)}) "
        "AND Id IN (SELECT AccountId FROM Contact) ORDER BY Name LIMIT 2"
    ).body["records"]
    renamed, deleted = old_accounts[0]["Id"], old_accounts[1]["Id"]
    deleted_contacts = ids_of(checker, f"SELECT Id FROM Contact WHERE AccountId = {soql_quote(deleted)}")
    edited_contact = checker.query(
        f"SELECT Id FROM Contact WHERE AccountId != {soql_quote(deleted)} "
        f"AND Id NOT IN ({id_list(boundary_contacts)}) LIMIT 1"
    ).body["records"][0]["Id"]
    checker.sobjects(object_type="Account", id=renamed).update({"Name": "Renamed Overnight"})
    checker.sobjects(object_type="Account", id=deleted).delete()
    created = checker.sobjects(object_type="Account").insert({"Name": "Created Overnight"}).body["id"]
    checker.sobjects(object_type="Contact", id=edited_contact).update({"Title": "Edited Overnight"})
    assert deleted_contacts

    # A run that fails mid-way: the accounts export, and the contacts' deleted-rows export after the
    # contacts file was already written. Neither watermark may move.
    emulator.add_faults(
        {"path": r"/queryAll$", "status": 400, "error_code": "INVALID_FIELD", "message": "refused", "times": 2}
    )
    run, failed = run_example(tmp_path / "failed")
    emulator.clear_faults()
    assert str(run.state).endswith("failed"), failed
    assert failed["sync_accounts"] is None and failed["sync_contacts"] is None
    assert not list((tmp_path / "failed" / "accounts").glob("*"))  # nothing, not even a partial file
    written_before_failing = tmp_path / "failed" / "contacts" / f"contacts-{run.run_after:%Y%m%dT%H%M%S}.csv"
    assert edited_contact in rows_of(written_before_failing.as_uri())
    assert not Path(f"{written_before_failing}.meta.json").exists()

    emulator.clear_requests_log()
    run, third = run_example(tmp_path / "third")
    assert str(run.state).endswith("success"), third
    accounts_3, contacts_3 = third["sync_accounts"]["incremental"], third["sync_contacts"]["incremental"]
    contacts_deleted_3 = contacts_3["deleted"]
    assert accounts_3["mode"] == contacts_3["mode"] == "incremental"
    assert accounts_3["window"]["from"] == accounts_1["watermark"]["new"]
    assert contacts_3["window"]["from"] == contacts_1["watermark"]["new"]

    accounts = rows_of(accounts_3["path"])
    assert set(accounts) == boundary_accounts | {renamed, deleted, created}
    assert {i for i, row in accounts.items() if row["IsDeleted"] == "true"} == {deleted}
    assert accounts[renamed]["Name"] == "Renamed Overnight"
    assert accounts_3["rows"] == 5 and accounts_3["deleted_rows"] == 1
    assert set(rows_of(contacts_3["path"])) == boundary_contacts | {edited_contact}
    deleted_rows = rows_of(contacts_deleted_3["path"])
    assert set(deleted_rows) == deleted_contacts
    assert {row["IsDeleted"] for row in deleted_rows.values()} == {"true"}

    # What was sent: the user's query narrowed to the window, sorted by the key.
    third_soql = soql_sent(emulator)
    assert sorted(third_soql) == sorted([accounts_3["soql"], contacts_3["soql"], contacts_deleted_3["soql"]])
    window = f"SystemModstamp >= {accounts_3['window']['from']} AND SystemModstamp <= {accounts_3['window']['to']}"
    assert accounts_3["soql"] == (
        "SELECT Id, Name, Industry, AnnualRevenue, OwnerId, SystemModstamp, IsDeleted FROM Account "
        f"WHERE {window} ORDER BY SystemModstamp"
    )
    for described in (accounts_3, contacts_3, contacts_deleted_3):
        sidecar = Path(ObjectStoragePath(described["metadata_path"]).path).read_text()
        assert f'"rows": {described["rows"]}' in sidecar and '"mode": "incremental"' in sidecar
    print_closing_note(first_soql, first, third_soql, third)


def print_closing_note(
    first_soql: list[str], first: dict[str, Any], third_soql: list[str], third: dict[str, Any]
) -> None:
    """What the issue's closing note reports (visible with ``pytest -s``)."""
    for title, soql, results in (("first run", first_soql, first), ("last run", third_soql, third)):
        print(f"\n{title}:")
        for text in soql:
            print(f"  SOQL: {text}")
        for task_id, result in results.items():
            described = result["incremental"]
            for what in (described, described.get("deleted")):
                if what:
                    print(f"  {task_id}: {what['contents']}: window {what['window']}, {what['rows']} rows")
