"""SalesforceQueryToFileOperator with incremental_key, against the emulator (Airflow 3.3 only).

Each test exports its own records (a unique name prefix in the WHERE) into an outlet asset of its
own, so tests share neither rows nor watermarks. The asset state store is an in-memory one with
Airflow's API; the real one runs under dag.test() in tests/dags/test_incremental_example.py.
"""

from __future__ import annotations

import csv
import json
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk import Asset
from incremental_support import MemoryAssetStateStore, task_context, unique_asset

from airflow_provider_sfpy.client import Client
from airflow_provider_sfpy.operators.query_to_file import SalesforceQueryToFileOperator
from airflow_provider_sfpy.operators.watermark import WATERMARK_KEY, asset_state_store_available
from airflow_provider_sfpy.soql import soql_like

pytestmark = pytest.mark.skipif(
    not asset_state_store_available(), reason="incremental exports need Airflow 3.3's asset_state_store"
)

try:
    from airflow.sdk.exceptions import AirflowFailException
except ImportError:  # Airflow 3.1
    from airflow.exceptions import AirflowFailException  # type: ignore[no-redef]


class Export:
    """One incremental export task of a test: its records (names starting with a tag), asset and store."""

    def __init__(self, emulator: Any, checker: Client, tmp_path: Path, **kwargs: Any) -> None:
        self.emulator, self.checker, self.tmp_path = emulator, checker, tmp_path
        self.tag = f"inc-{uuid.uuid4().hex[:10]}"
        self.asset = unique_asset("Account")
        self.assets = MemoryAssetStateStore(self.asset)
        self.kwargs = {
            "soql": f"SELECT Id, Name, Rating FROM Account WHERE Name LIKE {soql_like(self.tag, suffix='%')}",
            "incremental_key": True,
            "outlets": [self.asset],
            **kwargs,
        }
        self.runs = 0

    def operator(self, **overrides: Any) -> SalesforceQueryToFileOperator:
        self.runs += 1
        destination = str(self.tmp_path / f"run-{self.runs}.csv")
        arguments = {"destination": destination, **self.kwargs, **overrides}
        return SalesforceQueryToFileOperator(task_id="export", **arguments)

    def run(self, conf: dict[str, Any] | None = None, **overrides: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.operator(**overrides).execute(task_context(self.assets, conf=conf))
        return result

    def create(self, count: int, *, start: int = 0) -> list[str]:
        """``count`` accounts created in one transaction: they share one SystemModstamp millisecond."""
        from airflow_provider_sfpy.emulator.schema import SCHEMA

        owner = self.emulator.store.user_by_username(self.emulator.username)["Id"]
        records = [{"Name": f"{self.tag}-{n:04d}", "Rating": "Cold"} for n in range(start, start + count)]
        created: list[str] = self.emulator.store.insert_records(SCHEMA["Account"], records, owner)
        time.sleep(0.002)  # what the test writes next falls in a later millisecond
        return created

    def update(self, record_id: str, **fields: Any) -> None:
        self.checker.sobjects(object_type="Account", id=record_id).update(fields)

    def org(self) -> dict[str, dict[str, Any]]:
        """The test's records as the org holds them now, deleted ones included, by Id."""
        tagged = soql_like(self.tag, suffix="%")
        soql = f"SELECT Id, Name, Rating, SystemModstamp, IsDeleted FROM Account WHERE Name LIKE {tagged}"
        pages = self.checker.query_more(soql, include_deleted=True).body
        return {record["Id"]: record for page in pages for record in page["records"]}

    def stored(self) -> dict[str, Any] | None:
        value: dict[str, Any] | None = self.assets[self.asset].get(WATERMARK_KEY)
        return value


def rows_of(path: str) -> dict[str, dict[str, str]]:
    with Path(path).open(newline="", encoding="utf-8") as handle:
        return {row["Id"]: row for row in csv.DictReader(handle)}


def zulu(salesforce_datetime: str) -> str:
    return salesforce_datetime.replace("+0000", "Z")


def test_first_run_exports_everything_and_records_the_highest_key_written_after_the_file(
    sfpy_conn: str, emulator: Any, checker: Client, tmp_path: Path
) -> None:
    export = Export(emulator, checker, tmp_path)
    export.create(3)
    newest = export.create(2, start=3)
    context = task_context(export.assets)
    result = export.operator().execute(context)

    described = result["incremental"]
    org = export.org()
    assert set(rows_of(result["path"])) == set(org) and result["rows"] == 5
    assert described["mode"] == "full" and described["full_reason"] == "first run"
    assert described["window"]["from"] is None
    assert described["window"]["to"] >= zulu(org[newest[0]]["SystemModstamp"])
    assert described["watermark"] == {"previous": None, "new": zulu(org[newest[0]]["SystemModstamp"])}
    assert described["soql"].endswith(f"AND SystemModstamp <= {described['window']['to']} ORDER BY SystemModstamp")
    sidecar = json.loads(Path(f"{result['path']}.meta.json").read_text())
    assert sidecar == {key: value for key, value in described.items() if key not in ("metadata_path", "deleted")}
    stored = export.stored()
    assert stored is not None and stored["watermark"] == described["watermark"]["new"]
    assert stored["owner"].endswith(".export") and stored["org_id"] == described["org_id"]
    assert context["outlet_events"][export.asset].extra["window"] == described["window"]


def test_records_changed_during_a_paged_export_are_in_the_next_run_and_none_is_lost(
    sfpy_conn: str, emulator: Any, checker: Client, tmp_path: Path
) -> None:
    """The window's end is fixed when the run starts: rows changed while its pages are read (here, while
    the second page is held back by the emulator) come in the next run, with their new values."""
    export = Export(emulator, checker, tmp_path, batch_size=200)
    created = export.create(650)
    first_page_read, read_first, changed_last, added = created[10], created[0], created[640], []
    emulator.add_faults({"path": r"/query/01g", "method": "GET", "latency": 1.5, "times": 1})

    def change_while_exporting() -> None:
        deadline = time.monotonic() + 20
        while not any(
            entry["path"].endswith("/query") and "SystemModstamp" in entry["query"] and entry["status"] == 200
            for entry in emulator.requests_log()
        ):
            assert time.monotonic() < deadline, "the export's first page was never served"
            time.sleep(0.02)
        export.update(read_first, Rating="Hot")  # on page 1, already read
        export.update(changed_last, Rating="Warm")  # on page 4, not yet read
        export.update(first_page_read, Name=f"{export.tag}-renamed")
        added.append(checker.sobjects(object_type="Account").insert({"Name": f"{export.tag}-new"}).body["id"])

    changer = threading.Thread(target=change_while_exporting)
    changer.start()
    first = export.run()
    changer.join()
    assert first["pages"] == 4 and first["rows"] == 650
    window_end = first["incremental"]["window"]["to"]
    org = export.org()
    for record_id in (read_first, changed_last, first_page_read, *added):
        assert zulu(org[record_id]["SystemModstamp"]) > window_end, "changed after the window was fixed"
    assert rows_of(first["path"])[changed_last]["Rating"] == "Cold"  # the value when the export started

    second = export.run()
    assert second["incremental"]["window"]["from"] == first["incremental"]["watermark"]["new"]
    delta = rows_of(second["path"])
    assert {read_first, changed_last, first_page_read, *added} <= set(delta)
    # Applying the two files in order, by Id, gives exactly what the org holds: nothing was lost.
    replayed = {**rows_of(first["path"]), **delta}
    assert {i: (r["Name"], r["Rating"]) for i, r in replayed.items()} == {
        i: (r["Name"], r["Rating"] or "") for i, r in org.items()
    }


def test_a_failed_run_leaves_the_watermark_and_the_next_run_exports_its_changes(
    sfpy_conn: str, emulator: Any, checker: Client, tmp_path: Path
) -> None:
    export = Export(emulator, checker, tmp_path, batch_size=200)
    created = export.create(450)
    newest = export.create(1, start=450)  # alone in the watermark's millisecond
    first = export.run()
    stored = export.stored()
    export.update(created[5], Rating="Hot")
    export.create(300, start=451)
    emulator.add_faults({"path": r"/query/01g", "status": 400, "error_code": "INVALID_QUERY_LOCATOR", "times": 1})
    with pytest.raises(Exception, match=r"INVALID_QUERY_LOCATOR|invalid query locator"):
        export.run()
    assert not (tmp_path / "run-2.csv").exists() and not (tmp_path / "run-2.csv.meta.json").exists()
    assert export.stored() == stored

    third = export.run()
    assert third["incremental"]["window"]["from"] == first["incremental"]["watermark"]["new"]
    delta = rows_of(third["path"])
    assert delta[created[5]]["Rating"] == "Hot" and newest[0] in delta
    assert third["rows"] == 1 + 1 + 300  # the change, the row at the watermark, the new rows


@pytest.mark.parametrize(
    ("how", "conf", "overrides"),
    [
        ("full_refresh", None, {"full_refresh": True}),
        ("full_refresh", None, {"full_refresh": "True"}),  # as a template renders it
        ('dag_run.conf["full_refresh"]', {"full_refresh": True}, {}),
    ],
    ids=["argument", "rendered-template", "dag-run-conf"],
)
def test_full_refresh_exports_everything_again_and_restarts_the_watermark(
    sfpy_conn: str,
    emulator: Any,
    checker: Client,
    tmp_path: Path,
    how: str,
    conf: dict[str, Any] | None,
    overrides: dict[str, Any],
) -> None:
    export = Export(emulator, checker, tmp_path)
    export.create(4)
    export.run()
    assert export.run()["rows"] == 4  # the watermark's millisecond holds all four
    changed = export.create(1, start=4)
    again = export.run(conf, **overrides)
    assert again["incremental"]["mode"] == "full" and again["incremental"]["full_reason"] == how
    assert again["incremental"]["window"]["from"] is None and again["rows"] == 5
    assert export.stored()["watermark"] == zulu(export.org()[changed[0]]["SystemModstamp"])  # type: ignore[index]


def test_deleted_rows_go_to_their_own_file_and_the_main_file_keeps_live_rows(
    sfpy_conn: str, emulator: Any, checker: Client, tmp_path: Path
) -> None:
    export = Export(
        emulator,
        checker,
        tmp_path,
        include_deleted=True,
        deleted_destination=str(tmp_path / "deleted.jsonl"),
        format="parquet",
    )
    created = export.create(4)
    first = export.run(destination=str(tmp_path / "first.parquet"))
    checker.sobjects(object_type="Account", id=created[1]).delete()
    export.update(created[2], Rating="Hot")
    second = export.run(destination=str(tmp_path / "second.parquet"))

    import pyarrow.parquet as pq

    live = pq.read_table(second["path"]).to_pylist()
    assert {row["Id"] for row in live} == set(created) - {created[1]}  # boundary rows + the update
    assert "IsDeleted" not in live[0]
    deleted = [json.loads(line) for line in (tmp_path / "deleted.jsonl").read_text().splitlines()]
    assert [(row["Id"], row["IsDeleted"]) for row in deleted] == [(created[1], True)]
    described = second["incremental"]["deleted"]
    assert described["contents"] == "deletes" and described["rows"] == described["deleted_rows"] == 1
    assert described["soql"].startswith("SELECT Id, Name, Rating, SystemModstamp, IsDeleted FROM Account WHERE (")
    assert "IsDeleted = true AND SystemModstamp >= " in described["soql"]
    assert json.loads(Path(f"{tmp_path / 'deleted.jsonl'}.meta.json").read_text())["rows"] == 1
    assert first["incremental"]["deleted"]["rows"] == 0


def test_the_users_condition_cannot_widen_the_window(
    sfpy_conn: str, emulator: Any, checker: Client, tmp_path: Path
) -> None:
    """``WHERE a OR b`` is kept in parentheses: a later run exports only the window, not every match."""
    export = Export(emulator, checker, tmp_path)
    old = export.create(3)
    newest = export.create(1, start=3)
    names = " OR ".join(f"Name = '{export.tag}-{n:04d}'" for n in range(4))
    export.run(soql=f"SELECT Id, Name FROM Account WHERE {names}")
    second = export.run(soql=f"SELECT Id, Name FROM Account WHERE {names}")
    assert set(rows_of(second["path"])) == set(newest) and not set(old) & set(rows_of(second["path"]))
    assert f"WHERE ({names}) AND SystemModstamp >= " in second["incremental"]["soql"]


def test_a_watermark_recorded_by_another_task_org_or_query_is_refused_until_a_full_refresh(
    sfpy_conn: str, emulator: Any, checker: Client, tmp_path: Path
) -> None:
    export = Export(emulator, checker, tmp_path)
    export.create(2)
    export.run()
    recorded = export.stored()
    assert recorded is not None
    accessor = export.assets[export.asset]
    for field, value, message in (
        ("owner", "other_dag.other_task", "belongs to task other_dag.other_task"),
        ("org_id", "00D000000000001AAA", "recorded for Salesforce org 00D000000000001AAA"),
        ("fingerprint", "0" * 64, "the query of this task changed"),
    ):
        accessor.set(WATERMARK_KEY, {**recorded, field: value})
        with pytest.raises(AirflowFailException, match=message):
            export.run()
    assert not (tmp_path / "run-4.csv").exists()
    assert export.run(full_refresh=True)["incremental"]["mode"] == "full"
    assert export.stored()["owner"] == recorded["owner"]  # type: ignore[index]


def test_the_default_outlet_names_the_connection_and_the_object() -> None:
    operator = SalesforceQueryToFileOperator(
        task_id="sync",
        soql="SELECT Id FROM Contact",
        destination="/tmp/x.csv",
        incremental_key=True,
        sfpy_conn_id="prod",
    )
    assert operator.outlets == [Asset("salesforce://prod/Contact")]
    mine = Asset("warehouse/contacts")
    given = SalesforceQueryToFileOperator(
        task_id="sync", soql="SELECT Id FROM Contact", destination="/tmp/x.csv", incremental_key=True, outlets=[mine]
    )
    assert given.outlets == [mine]


def test_the_default_outlet_follows_the_dags_default_args() -> None:
    """``sfpy_conn_id`` / ``outlets`` from a DAG's default_args name the watermark's asset, as explicit ones do:
    two DAGs on two connections must not share one watermark."""
    from airflow.sdk import DAG

    mine = Asset("warehouse/accounts")
    with DAG("incremental_defaults", schedule=None, default_args={"sfpy_conn_id": "prod"}):
        by_connection = SalesforceQueryToFileOperator(
            task_id="sync", soql="SELECT Id FROM Account", destination="/tmp/x.csv", incremental_key=True
        )
    with DAG("incremental_outlets", schedule=None, default_args={"outlets": [mine]}):
        by_outlet = SalesforceQueryToFileOperator(
            task_id="sync", soql="SELECT Id FROM Account", destination="/tmp/x.csv", incremental_key=True
        )
    assert by_connection.outlets == [Asset("salesforce://prod/Account")]
    assert by_outlet.outlets == [mine]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"soql": "SELECT Id FROM Account ORDER BY Name"}, "found 'ORDER'"),
        ({"soql": "SELECT Id FROM Account WHERE Name != null LIMIT 10"}, "found 'LIMIT'"),
        ({"soql": "SELECT Id FROM Account a WHERE a.Name != null"}, "found 'a' after FROM Account"),
        ({"soql": "SELECT COUNT() FROM Account"}, "COUNT"),
        ({"incremental_key": "Account.SystemModstamp"}, "must be a datetime field of the queried object"),
        ({"soql": "queries/accounts.soql"}, r"Pass outlets=\[Asset"),
        ({"soql": "SELECT Id FROM {{ params.object }}"}, r"Pass outlets=\[Asset"),
        ({"deleted_destination": "/tmp/d.csv"}, "needs include_deleted=True"),
        ({"deleted_destination": "/tmp/d.parquet.gz", "include_deleted": True}, "parquet"),
    ],
)
def test_what_cannot_be_exported_incrementally_is_refused_when_the_dag_is_parsed(
    kwargs: dict[str, Any], message: str
) -> None:
    arguments = {"soql": "SELECT Id FROM Account", "destination": "/tmp/x.csv", "incremental_key": True, **kwargs}
    with pytest.raises(ValueError, match=message):
        SalesforceQueryToFileOperator(task_id="sync", **arguments)


def test_deleted_destination_without_incremental_key_is_refused() -> None:
    with pytest.raises(ValueError, match="deleted_destination needs incremental_key"):
        SalesforceQueryToFileOperator(
            task_id="sync", soql="SELECT Id FROM Account", destination="/tmp/x.csv", deleted_destination="/tmp/d.csv"
        )
