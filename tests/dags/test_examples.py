"""Every example DAG, run as a new user runs it: its own defaults, a fresh machine, triggered either way.

Each module in example_dags/ (found by listing the folder, so a new example is covered without a
line here) runs under dag.test() against the emulator twice: with a logical date, as the scheduler
creates runs, and without one, as ``airflow dags trigger`` and the UI's Trigger button do in Airflow 3.
Nothing is supplied by the test: no ``output_dir``, no folder prepared. ``$TMPDIR`` and ``$HOME`` are
empty folders; a default ``output_dir`` must lie in ``$TMPDIR/sfpy-example`` and receive the run's
files, and nothing may be written to ``$HOME``. Then what the example produced is checked, where a
check is registered in ``CHECKS``: file names carry the day the run is for (its logical date, else
its trigger time), so the two kinds of run must produce different, predictable names.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk import ObjectStoragePath
from dag_runner import EXAMPLE_MODULES, ExampleRun, FreshMachine, RunKind, airflow_too_old_for, run_dag

from airflow_provider_sfpy.client import Client
from airflow_provider_sfpy.soql import soql_quote

Check = Callable[[ExampleRun, Path, Client], None]
"""A check of one example's outputs: its run, its default output root ($TMPDIR/sfpy-example), a client."""

CHECKS: dict[str, Check] = {}


def checks(module: str) -> Callable[[Check], Check]:
    """Register the decorated function as the check of ``module``'s outputs."""

    def register(check: Check) -> Check:
        CHECKS[module] = check
        return check

    return register


def local(url: str) -> Path:
    """The local path of a ``file://`` URL an operator returned."""
    return Path(ObjectStoragePath(url).path)


@pytest.fixture
def checker(emulator: Any) -> Client:
    client: Client = emulator.password_client()
    client.login()
    return client


@pytest.mark.parametrize("kind", list(RunKind), ids=lambda kind: kind.value)
@pytest.mark.parametrize("module", EXAMPLE_MODULES)
def test_example_dag_runs_with_its_own_defaults_on_a_fresh_machine(
    module: str, kind: RunKind, sfpy_default: None, fresh_machine: FreshMachine, checker: Client
) -> None:
    too_old = airflow_too_old_for(module)
    if too_old:
        pytest.skip(too_old)
    outcome = run_dag(module, kind)
    output = fresh_machine.temp / "sfpy-example"
    if "output_dir" in outcome.dag.params:
        folder = local(outcome.dag.params["output_dir"])
        assert output in folder.parents, f"{module}'s default output_dir is not in $TMPDIR/sfpy-example: {folder}"
        assert any(path.is_file() for path in folder.rglob("*")), f"{module} wrote nothing to {folder}"
    assert not any(fresh_machine.home.rglob("*")), f"{module} wrote to $HOME: {list(fresh_machine.home.rglob('*'))}"
    check = CHECKS.get(module)
    if check:
        check(outcome, output, checker)


def test_apex_example_keeps_an_injection_attempt_in_the_run_conf_as_data(sfpy_default: None, checker: Client) -> None:
    """The example templates ``params.industry`` through ``apex_quote``: Apex in the value is not run."""
    attack = "Banking'); delete [SELECT Id FROM Contact]; //"
    contacts = checker.query("SELECT COUNT() FROM Contact").body["totalSize"]
    outcome = run_dag("example_sfpy_apex", RunKind.TRIGGERED_BY_HAND, {"industry": attack})
    assert outcome.xcoms["create_marker_account"]["success"] is True
    assert checker.query("SELECT COUNT() FROM Contact").body["totalSize"] == contacts > 0
    marker = f"SELECT COUNT() FROM Account WHERE Name LIKE 'Apex marker %' AND Industry = {soql_quote(attack)}"
    assert checker.query(marker).body["totalSize"] >= 1
    assert outcome.xcoms["industry_summary"]["industry"] == attack


@checks("example_sfpy_accounts")
def check_accounts(outcome: ExampleRun, output: Path, checker: Client) -> None:
    folder = output / "accounts"
    total = checker.query("SELECT COUNT() FROM Account").body["totalSize"]
    with (folder / "accounts.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == total
    assert list(rows[0]) == ["Id", "Name", "Industry", "AnnualRevenue", "BillingCity", "Owner.Name"]
    assert all(row["Owner.Name"] for row in rows)
    summary = json.loads((folder / "summary.json").read_text())
    top = checker.query(
        "SELECT Name, Rating FROM Account WHERE AnnualRevenue != null ORDER BY AnnualRevenue DESC LIMIT 3"
    ).body["records"]
    assert summary["flagged_hot"] == [r["Name"] for r in top]
    assert all(r["Rating"] == "Hot" for r in top)
    assert summary["export"]["rows"] == total


@checks("example_sfpy_apex")
def check_apex(outcome: ExampleRun, output: Path, checker: Client) -> None:
    assert outcome.xcoms["create_marker_account"]["success"] is True
    marker = f"SELECT COUNT() FROM Account WHERE Name = 'Apex marker {outcome.day}' AND Industry = 'Banking'"
    assert checker.query(marker).body["totalSize"] >= 1
    assert outcome.xcoms["industry_summary"]["industry"] == "Banking"
    assert outcome.xcoms["industry_summary"]["accounts"] >= 1


@checks("example_sfpy_approval")
def check_approval(outcome: ExampleRun, output: Path, checker: Client) -> None:
    (account_id,) = outcome.xcoms["create_account"]["ids"]
    (account,) = checker.query(f"SELECT Name FROM Account WHERE Id = '{account_id}'").body["records"]
    assert account["Name"] == f"Approval Example {outcome.moment:%Y%m%dT%H%M%S}"
    assert outcome.xcoms["submit"]["statuses"] == ["Pending"]
    assert outcome.xcoms["approve"]["statuses"] == ["Approved"]


@checks("example_sfpy_chatter")
def check_chatter(outcome: ExampleRun, output: Path, checker: Client) -> None:
    post_id, comment_id = outcome.xcoms["post"], outcome.xcoms["comment"]
    post = checker.request("GET", checker.data_path(f"chatter/feed-elements/{post_id}")).body
    segments = post["body"]["messageSegments"]
    assert any(s["type"] == "Mention" for s in segments)
    assert f"finished on {outcome.day}." in "".join(s["text"] for s in segments if s["type"] == "Text")
    assert comment_id.startswith("0D7")


@checks("example_sfpy_wave")
def check_wave(outcome: ExampleRun, output: Path, checker: Client) -> None:
    by_industry = {r["Account.Industry"]: r["count"] for r in outcome.xcoms["pipeline_by_industry"]}
    assert set(by_industry) <= {"Apparel", "Banking", "Biotechnology"} and by_industry
    path = local(outcome.xcoms["pipeline_by_industry_csv"]["path"])
    assert path == output / "wave" / f"by-industry-{outcome.day}.csv"
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    assert {r["Account.Industry"]: int(r["count"]) for r in rows} == by_industry
    assert outcome.xcoms["dataset"]["load"].count("/") == 1


@checks("example_sfpy_pipeline")
def check_pipeline(outcome: ExampleRun, output: Path, checker: Client) -> None:
    xcoms, folder = outcome.xcoms, output / "pipeline"
    exported = xcoms["export_accounts"]["rows"]
    assert local(xcoms["export_accounts"]["path"]) == folder / f"accounts-{outcome.day}.csv"
    assert exported > 0 and xcoms["upsert_accounts"]["success_count"] == exported
    managed = checker.query("SELECT COUNT() FROM Account WHERE External_Id__c != null").body["totalSize"]
    assert exported == managed
    unrated = checker.query("SELECT COUNT() FROM Account WHERE External_Id__c != null AND Rating = null")
    assert unrated.body["totalSize"] == 0
    created = [c for c in xcoms["upsert_accounts"]["created"] if c]
    assert created == [], "an upsert of exported accounts must update them, never create copies"
    assert xcoms["announce"].startswith("0D5")
    loaded = xcoms["bulk_load_contacts"]
    assert loaded["records_processed"] == exported and loaded["records_failed"] == 0
    (results,) = loaded["results"]["successful"].values()
    assert local(results).parent == folder / f"results-{outcome.day}"
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["bulk_load"]["processed"] == exported and summary["upserted"]["succeeded"] == exported


@checks("example_sfpy_query_to_file")
def check_query_to_file(outcome: ExampleRun, output: Path, checker: Client) -> None:
    xcoms, folder, day = outcome.xcoms, output / "exports", outcome.day
    accounts = xcoms["accounts_csv"]
    assert local(accounts["path"]) == folder / f"accounts-{day}.csv.gz"
    rows = list(csv.reader(io.StringIO(gzip.decompress(local(accounts["path"]).read_bytes()).decode())))
    assert rows[0] == ["Id", "Name", "Industry", "AnnualRevenue", "Owner.Name"]
    assert len(rows) - 1 == accounts["rows"] == checker.query("SELECT COUNT() FROM Account").body["totalSize"]
    assert local(xcoms["contacts_jsonl"]["path"]) == folder / f"contacts-{day}.jsonl"
    contacts = local(xcoms["contacts_jsonl"]["path"]).read_text().splitlines()
    assert all(json.loads(line)["Email"] for line in contacts)

    won_path = local(xcoms["won_opportunities_csv"]["path"])
    assert won_path == folder / f"won-{day}.csv"
    won = list(csv.DictReader(io.StringIO(won_path.read_text())))
    assert list(won[0]) == ["Id", "Name", "Amount", "CloseDate", "Account.Name"]
    expected_won = checker.query(f"SELECT COUNT() FROM Opportunity WHERE IsWon = true AND CloseDate <= {day}")
    assert len(won) == expected_won.body["totalSize"] > 0

    import pyarrow.parquet as pq

    parquet = local(xcoms["opportunities_parquet"]["path"])
    assert parquet == folder / f"opportunities-{day}.parquet"
    assert pq.read_table(parquet).num_rows == checker.query("SELECT COUNT() FROM Opportunity").body["totalSize"]


@checks("example_sfpy_sobject")
def check_sobject(outcome: ExampleRun, output: Path, checker: Client) -> None:
    xcoms = outcome.xcoms
    ids = xcoms["insert_contacts"]["ids"]
    assert len(ids) == 2 and xcoms["update_contacts"]["success_count"] == 2
    assert xcoms["delete_contacts"]["success_count"] == 2
    deleted = checker.query_all(f"SELECT Id, IsDeleted, Title FROM Contact WHERE Id IN ('{ids[0]}', '{ids[1]}')").body
    assert [(r["IsDeleted"], r["Title"]) for r in deleted["records"]] == [(True, "Pioneer"), (True, "Pioneer")]
    upserted = checker.query("SELECT Name FROM Account WHERE External_Id__c = 'EXAMPLE-1'").body["records"]
    assert upserted == [{"attributes": upserted[0]["attributes"], "Name": "Example Upsert Co"}]
    assert local(xcoms["write_file"]) == output / "sobject" / "notes.txt"
    content, _ = checker.sobjects(object_type="ContentVersion", id=xcoms["attach_notes"]).blob("VersionData")
    assert content == b"Contacts created by example_sfpy_sobject\n"


@checks("example_sfpy_bulk_ingest")
def check_bulk_ingest(outcome: ExampleRun, output: Path, checker: Client) -> None:
    load = outcome.xcoms["load_contacts"]
    assert load["records_processed"] == 1000 and load["records_failed"] == 0
    saved = [local(p) for p in load["results"]["successful"].values()]
    assert all(path.parent == output / "bulk-ingest" / "results" for path in saved)
    rows = [r for path in saved for r in csv.DictReader(io.StringIO(path.read_text()))]
    assert len(rows) == 1000 and all(r["sf__Created"] == "true" for r in rows)
    assert rows[0]["Title"].startswith('Senior "Engineer"\n')
    assert checker.query("SELECT COUNT() FROM Contact WHERE LastName LIKE 'Example, %'").body["totalSize"] >= 1000
    upsert = outcome.xcoms["upsert_accounts"]
    assert upsert["records_processed"] == 2
    (successes,) = upsert["results"]["successful"].values()
    assert "Bulk Example One" in successes


@checks("example_sfpy_bulk_sensor")
def check_bulk_sensor(outcome: ExampleRun, output: Path, checker: Client) -> None:
    (job_id,) = outcome.xcoms["start_partner_load"]
    waited = outcome.xcoms["wait_for_partner_load"]
    assert waited["jobs"][job_id]["state"] == "JobComplete" and waited["records_processed"] == 2
    saved = output / "bulk-sensor" / "partner-results" / f"{job_id}-successful.csv"
    assert waited["results"]["successful"][job_id] == saved.as_uri()
    assert "Partner Load One" in saved.read_text()


@checks("example_sfpy_bulk_query")
def check_bulk_query(outcome: ExampleRun, output: Path, checker: Client) -> None:
    folder = output / "bulk-query"
    parts = outcome.xcoms["contacts_parts"]
    contacts = checker.query("SELECT COUNT() FROM Contact").body["totalSize"]
    assert parts["rows"] == contacts and len(parts["paths"]) == -(-contacts // 20)
    assert all(local(p).parent == folder / f"contacts-{outcome.day}" for p in parts["paths"])
    part_rows = [r for p in parts["paths"] for r in csv.DictReader(io.StringIO(local(p).read_text()))]
    assert len(part_rows) == contacts and len({r["Id"] for r in part_rows}) == contacts
    combined = outcome.xcoms["accounts_combined"]
    (path,) = combined["paths"]
    assert local(path) == folder / f"accounts-{outcome.day}.csv"
    account_rows = list(csv.DictReader(io.StringIO(local(path).read_text())))
    assert len(account_rows) == combined["rows"] == checker.query("SELECT COUNT() FROM Account").body["totalSize"]
    assert list(account_rows[0]) == ["Id", "Name", "Industry", "AnnualRevenue"]


def _rating(revenue: float | None) -> str:
    return "Hot" if (revenue or 0) >= 10_000_000 else "Warm" if (revenue or 0) > 0 else "Cold"


@checks("example_sfpy_migrated")
def check_migrated(outcome: ExampleRun, output: Path, checker: Client) -> None:
    """The "after" DAG of docs/migrating.md: export, make_query, Bulk upsert of ratings, Apex REST summary."""
    folder = output / "migrated"
    stamp = outcome.moment.strftime("%Y%m%dT%H%M%S")
    export = outcome.xcoms["export_accounts"]
    assert local(export["path"]) == folder / f"accounts-{stamp}.csv"
    rows = list(csv.DictReader(io.StringIO(ObjectStoragePath(export["path"]).read_text())))
    assert len(rows) == export["rows"] == checker.query("SELECT COUNT() FROM Account").body["totalSize"]
    managed = checker.query("SELECT External_Id__c, AnnualRevenue, Rating FROM Account WHERE External_Id__c != null")
    accounts = managed.body["records"]
    assert outcome.xcoms["rate_accounts"]["records_processed"] == len(accounts) > 0
    assert outcome.xcoms["rate_accounts"]["records_failed"] == 0
    assert all(account["Rating"] == _rating(account["AnnualRevenue"]) for account in accounts)
    banking = checker.query("SELECT COUNT() FROM Account WHERE Industry = 'Banking'").body["totalSize"]
    assert outcome.xcoms["banking_summary"]["industry"] == "Banking"
    assert outcome.xcoms["banking_summary"]["accounts"] == banking
    assert any(path.is_dir() and path.name == f"rating-results-{stamp}" for path in folder.iterdir())
