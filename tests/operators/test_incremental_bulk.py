"""SalesforceBulkQueryOperator with incremental_key, against the emulator (Airflow 3.3 only).

The Bulk API may not sort (ORDER BY disables its PK chunking), so the watermark is read from the
result CSVs themselves as they stream by: these tests check it is the highest key in the files,
with deleted rows counted, that the window lands in the manifest (or a combined file's sidecar),
and that a retry of the same task instance re-sends the same window and so re-uses its job.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from incremental_support import MemoryAssetStateStore, MemoryTaskStateStore, task_context, unique_asset

from airflow_provider_sfpy.client import Client
from airflow_provider_sfpy.operators.bulk_query import SalesforceBulkQueryOperator
from airflow_provider_sfpy.operators.incremental_pages import CsvPageColumns
from airflow_provider_sfpy.operators.watermark import WATERMARK_KEY, asset_state_store_available
from airflow_provider_sfpy.soql import soql_like

needs_asset_state_store = pytest.mark.skipif(
    not asset_state_store_available(), reason="incremental exports need Airflow 3.3's asset_state_store"
)


def operator(tag: str, asset: Any, destination: Path, **kwargs: Any) -> SalesforceBulkQueryOperator:
    return SalesforceBulkQueryOperator(
        task_id="bulk_export",
        soql=f"SELECT Id, Name FROM Account WHERE Name LIKE {soql_like(tag, suffix='%')}",
        destination=str(destination),
        incremental_key=True,
        outlets=[asset],
        poll_interval=0.05,
        max_records_per_page=40,
        **kwargs,
    )


def csv_rows(paths: list[str]) -> dict[str, dict[str, str]]:
    rows: dict[str, dict[str, str]] = {}
    for path in paths:
        with Path(path).open(newline="", encoding="utf-8") as handle:
            rows.update({row["Id"]: row for row in csv.DictReader(handle)})
    return rows


@needs_asset_state_store
def test_two_runs_write_parts_with_the_window_in_the_manifest_and_deletes_marked(
    sfpy_conn: str, emulator: Any, checker: Client, tmp_path: Path
) -> None:
    tag = f"bulk-inc-{uuid.uuid4().hex[:10]}"
    asset = unique_asset("Account")
    assets = MemoryAssetStateStore(asset)
    created = checker.collections.create([{"Name": f"{tag}-{n:03d}"} for n in range(90)], object_type="Account").body
    ids = [outcome["id"] for outcome in created]
    first = operator(tag, asset, tmp_path / "first", include_deleted=True).execute(task_context(assets))
    assert first["rows"] == 90 and len(first["paths"]) == 3
    stamps = checker.query_more(f"SELECT SystemModstamp FROM Account WHERE Name LIKE {soql_like(tag, suffix='%')}").body
    newest = max(record["SystemModstamp"] for page in stamps for record in page["records"])
    assert first["incremental"]["watermark"]["new"] == newest.replace("+0000", "Z")
    assert assets[asset].get(WATERMARK_KEY)["watermark"] == first["incremental"]["watermark"]["new"]
    assert first["incremental"]["mode"] == "full" and "ORDER BY" not in first["incremental"]["soql"]

    checker.sobjects(object_type="Account", id=ids[3]).update({"Name": f"{tag}-changed"})
    checker.sobjects(object_type="Account", id=ids[4]).delete()
    second = operator(tag, asset, tmp_path / "second", include_deleted=True).execute(task_context(assets))
    rows = csv_rows(second["paths"])
    boundary = {
        i for i, row in csv_rows(first["paths"]).items() if row["SystemModstamp"] == newest.replace("+0000", "Z")
    }
    assert set(rows) == boundary | {ids[3], ids[4]}
    assert rows[ids[4]]["IsDeleted"] == "true" and rows[ids[3]]["Name"] == f"{tag}-changed"
    manifest = json.loads(Path(second["manifest"]).read_text())
    described = manifest["incremental"]
    assert described["window"]["from"] == first["incremental"]["watermark"]["new"]
    assert described["rows"] == manifest["rows"] == len(rows) and described["deleted_rows"] == 1
    assert manifest["query"] == described["soql"] and manifest["include_deleted"] is True
    assert described["watermark"]["new"] == max(row["SystemModstamp"] for row in rows.values())


@needs_asset_state_store
def test_a_retry_resends_the_same_window_and_reuses_the_job(
    sfpy_conn: str, emulator: Any, checker: Client, tmp_path: Path
) -> None:
    tag = f"bulk-retry-{uuid.uuid4().hex[:10]}"
    asset = unique_asset("Account")
    assets, task_state = MemoryAssetStateStore(asset), MemoryTaskStateStore()
    checker.collections.create([{"Name": f"{tag}-{n:03d}"} for n in range(5)], object_type="Account")
    target = tmp_path / "combined.csv"
    emulator.add_faults({"path": r"/jobs/query/[^/]+/results", "status": 400, "error_code": "INVALID_JOB", "times": 4})
    with pytest.raises(Exception, match="INVALID_JOB"):
        operator(tag, asset, target, combine=True).execute(task_context(assets, task_state=task_state))
    assert assets[asset].get(WATERMARK_KEY) is None and not target.exists()
    emulator.clear_faults()
    emulator.clear_requests_log()
    retry = operator(tag, asset, target, combine=True).execute(task_context(assets, task_state=task_state))
    assert not [e for e in emulator.requests_log() if e["method"] == "POST" and e["path"].endswith("/jobs/query")]
    assert retry["rows"] == 5 and retry["incremental"]["mode"] == "full"
    sidecar = json.loads(Path(f"{target}.meta.json").read_text())
    assert sidecar["window"] == retry["incremental"]["window"] and sidecar["rows"] == 5
    assert assets[asset].get(WATERMARK_KEY)["watermark"] == retry["incremental"]["watermark"]["new"]


def test_the_csv_reader_finds_the_highest_key_however_the_bytes_are_cut() -> None:
    """Bulk pages arrive in chunks cut anywhere, inside quoted line breaks and multi-byte characters too."""
    upper = datetime(2026, 1, 2, tzinfo=timezone.utc)
    out = io.StringIO(newline="")
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(["Id", "Name", "SystemModstamp", "IsDeleted"])
    stamps = ["2026-01-01T10:00:00.000Z", "2026-01-01T12:30:00.250Z", "2026-01-01T11:00:00.000Z"]
    names = ['a "quoted"\nname, with a break', "Łódź\r\nTextiles", "plain"]
    deleted = ["false", "true", "true"]
    for n, (stamp, name, gone) in enumerate(zip(stamps, names, deleted, strict=True)):
        writer.writerow([f"001{n}", name, stamp, gone])
    writer.writerow(["0019", "after the window", "2026-01-03T00:00:00.000Z", "false"])
    data = out.getvalue().encode("utf-8")
    for size in (1, 2, 3, 7, 64, len(data)):
        columns = CsvPageColumns("SystemModstamp", upper, count_deleted=True)
        for start in range(0, len(data), size):
            columns.feed(data[start : start + size])
        columns.close()
        assert columns.keys.highest == datetime(2026, 1, 1, 12, 30, 0, 250000, tzinfo=timezone.utc), size
        assert columns.deleted_rows == 2 and columns.keys.beyond_upper == 1, size
