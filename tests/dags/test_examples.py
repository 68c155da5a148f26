"""Every example DAG, green under dag.test() against the emulator, with what it produced checked."""

from __future__ import annotations

import csv
import gzip
import io
import json
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk import ObjectStoragePath
from dag_runner import run_dag

from airflow_provider_sfpy.client import Client
from airflow_provider_sfpy.soql import soql_quote


@pytest.fixture
def checker(emulator: Any) -> Client:
    client = Client(
        emulator.username, emulator.password, emulator.client_id, emulator.client_secret, login_url=emulator.base_url
    )
    client.login()
    return client


def test_query_to_file_dag(sfpy_default: None, checker: Client, tmp_path: Path) -> None:
    _, xcoms = run_dag("example_sfpy_query_to_file", output_dir=tmp_path.as_uri())
    accounts = xcoms["accounts_csv"]
    rows = list(csv.reader(io.StringIO(gzip.decompress(ObjectStoragePath(accounts["path"]).read_bytes()).decode())))
    assert rows[0] == ["Id", "Name", "Industry", "AnnualRevenue", "Owner.Name"]
    assert len(rows) - 1 == accounts["rows"] == checker.query("SELECT COUNT() FROM Account").body["totalSize"]
    contacts = ObjectStoragePath(xcoms["contacts_jsonl"]["path"]).read_text().splitlines()
    assert all(json.loads(line)["Email"] for line in contacts)
    import pyarrow.parquet as pq

    won = list(csv.DictReader(io.StringIO(ObjectStoragePath(xcoms["won_opportunities_csv"]["path"]).read_text())))
    assert list(won[0]) == ["Id", "Name", "Amount", "CloseDate", "Account.Name"]
    import datetime as dt

    today = dt.date.today().isoformat()
    expected_won = checker.query(f"SELECT COUNT() FROM Opportunity WHERE IsWon = true AND CloseDate <= {today}")
    assert len(won) == expected_won.body["totalSize"] > 0
    table = pq.read_table(ObjectStoragePath(xcoms["opportunities_parquet"]["path"]).path)
    assert table.num_rows == checker.query("SELECT COUNT() FROM Opportunity").body["totalSize"]


def test_sobject_dag(sfpy_default: None, checker: Client, tmp_path: Path) -> None:
    _, xcoms = run_dag("example_sfpy_sobject", output_dir=tmp_path.as_uri())
    ids = xcoms["insert_contacts"]["ids"]
    assert len(ids) == 2 and xcoms["update_contacts"]["success_count"] == 2
    assert xcoms["delete_contacts"]["success_count"] == 2
    deleted = checker.query_all(f"SELECT Id, IsDeleted, Title FROM Contact WHERE Id IN ('{ids[0]}', '{ids[1]}')").body
    assert [(r["IsDeleted"], r["Title"]) for r in deleted["records"]] == [(True, "Pioneer"), (True, "Pioneer")]
    upserted = checker.query("SELECT Name FROM Account WHERE External_Id__c = 'EXAMPLE-1'").body["records"]
    assert upserted == [{"attributes": upserted[0]["attributes"], "Name": "Example Upsert Co"}]
    content, _ = checker.sobjects(object_type="ContentVersion", id=xcoms["attach_notes"]).blob("VersionData")
    assert content == b"Contacts created by example_sfpy_sobject\n"


def test_apex_dag(sfpy_default: None, checker: Client) -> None:
    _, xcoms = run_dag("example_sfpy_apex", industry="Biotechnology")
    assert xcoms["create_marker_account"]["success"] is True
    markers = checker.query(
        "SELECT COUNT() FROM Account WHERE Name LIKE 'Apex marker %' AND Industry = 'Biotechnology'"
    )
    assert markers.body["totalSize"] >= 1
    assert xcoms["industry_summary"]["industry"] == "Biotechnology"
    assert xcoms["industry_summary"]["accounts"] >= 1


def test_apex_dag_keeps_an_injection_attempt_in_the_run_conf_as_data(sfpy_default: None, checker: Client) -> None:
    """The example templates ``params.industry`` through ``apex_quote``: Apex in the value is not run."""
    attack = "Banking'); delete [SELECT Id FROM Contact]; //"
    contacts = checker.query("SELECT COUNT() FROM Contact").body["totalSize"]
    _, xcoms = run_dag("example_sfpy_apex", industry=attack)
    assert xcoms["create_marker_account"]["success"] is True
    assert checker.query("SELECT COUNT() FROM Contact").body["totalSize"] == contacts > 0
    marker = f"SELECT COUNT() FROM Account WHERE Name LIKE 'Apex marker %' AND Industry = {soql_quote(attack)}"
    assert checker.query(marker).body["totalSize"] >= 1
    assert xcoms["industry_summary"]["industry"] == attack


def test_approval_dag(sfpy_default: None) -> None:
    _, xcoms = run_dag("example_sfpy_approval")
    assert xcoms["submit"]["statuses"] == ["Pending"]
    assert xcoms["approve"]["statuses"] == ["Approved"]


def test_chatter_dag(sfpy_default: None, checker: Client) -> None:
    _, xcoms = run_dag("example_sfpy_chatter")
    post_id, comment_id = xcoms["post"], xcoms["comment"]
    post = checker.request("GET", checker.data_path(f"chatter/feed-elements/{post_id}")).body
    segments = post["body"]["messageSegments"]
    assert any(s["type"] == "Mention" for s in segments)
    assert comment_id.startswith("0D7")


def test_wave_dag(sfpy_default: None, tmp_path: Path) -> None:
    _, xcoms = run_dag("example_sfpy_wave", output_dir=tmp_path.as_uri())
    by_industry = {r["Account.Industry"]: r["count"] for r in xcoms["pipeline_by_industry"]}
    assert set(by_industry) <= {"Apparel", "Banking", "Biotechnology"} and by_industry
    text = ObjectStoragePath(xcoms["pipeline_by_industry_csv"]["path"]).read_text()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["Account.Industry"]: int(r["count"]) for r in rows} == by_industry
    assert xcoms["dataset"]["load"].count("/") == 1


def test_pipeline_dag(sfpy_default: None, checker: Client, tmp_path: Path) -> None:
    _, xcoms = run_dag("example_sfpy_pipeline", output_dir=tmp_path.as_uri())
    exported = xcoms["export_accounts"]["rows"]
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
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["bulk_load"]["processed"] == exported and summary["upserted"]["succeeded"] == exported


def test_bulk_ingest_dag_defers_and_saves_results(sfpy_default: None, checker: Client, tmp_path: Path) -> None:
    _, xcoms = run_dag("example_sfpy_bulk_ingest", output_dir=tmp_path.as_uri(), rows=300)
    load = xcoms["load_contacts"]
    assert load["records_processed"] == 300 and load["records_failed"] == 0
    saved = [ObjectStoragePath(p) for p in load["results"]["successful"].values()]
    rows = [r for p in saved for r in csv.DictReader(io.StringIO(p.read_text()))]
    assert len(rows) == 300 and all(r["sf__Created"] == "true" for r in rows)
    assert rows[0]["Title"].startswith('Senior "Engineer"\n')
    assert checker.query("SELECT COUNT() FROM Contact WHERE LastName LIKE 'Example, %'").body["totalSize"] >= 300
    upsert = xcoms["upsert_accounts"]
    assert upsert["records_processed"] == 2
    (successes,) = upsert["results"]["successful"].values()
    assert "Bulk Example One" in successes


def test_bulk_sensor_dag(sfpy_default: None, tmp_path: Path) -> None:
    _, xcoms = run_dag("example_sfpy_bulk_sensor", output_dir=tmp_path.as_uri())
    (job_id,) = xcoms["start_partner_load"]
    outcome = xcoms["wait_for_partner_load"]
    assert outcome["jobs"][job_id]["state"] == "JobComplete" and outcome["records_processed"] == 2
    saved = tmp_path / "partner-results" / f"{job_id}-successful.csv"
    assert outcome["results"]["successful"][job_id] == saved.as_uri()
    assert "Partner Load One" in saved.read_text()


def test_bulk_query_dag(sfpy_default: None, checker: Client, tmp_path: Path) -> None:
    _, xcoms = run_dag("example_sfpy_bulk_query", output_dir=tmp_path.as_uri())
    parts = xcoms["contacts_parts"]
    contacts = checker.query("SELECT COUNT() FROM Contact").body["totalSize"]
    assert parts["rows"] == contacts and len(parts["paths"]) == -(-contacts // 20)
    part_rows = [r for p in parts["paths"] for r in csv.DictReader(io.StringIO(ObjectStoragePath(p).read_text()))]
    assert len(part_rows) == contacts and len({r["Id"] for r in part_rows}) == contacts
    combined = xcoms["accounts_combined"]
    (path,) = combined["paths"]
    account_rows = list(csv.DictReader(io.StringIO(ObjectStoragePath(path).read_text())))
    assert len(account_rows) == combined["rows"] == checker.query("SELECT COUNT() FROM Account").body["totalSize"]
    assert list(account_rows[0]) == ["Id", "Name", "Industry", "AnnualRevenue"]
