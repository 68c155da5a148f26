"""The benchmark harness still works: ``bench/run.py --smoke`` at tiny sizes, our paths and the floors only.

The anchors (simple-salesforce, SalesforcePy, the official provider) live in ``.venv-bench`` and are
not installed here, so smoke mode leaves them out. Nothing here asserts on timings: only that every
scenario produced well-formed, successful result rows and a report.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUN = ROOT / "bench" / "run.py"
SCENARIOS = {
    "query_csv_smoke",
    "query_jsonl_smoke",
    "query_parquet_smoke",
    "wide_smoke",
    "bulk_ingest_smoke",
    "bulk_waits_smoke",
    "bulk_results_smoke",
    "bulk_query_smoke",
}
ACCOUNT_FIELDS = ["Id", "Name", "Description", "BillingCity", "Industry", "AnnualRevenue"]
NUMBERS = ("work_s", "process_s", "work_cpu_s", "process_cpu_s", "rss_after_imports", "peak_rss", "extra_rss")


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    out = tmp_path_factory.mktemp("bench")
    completed = subprocess.run(
        [sys.executable, str(RUN), "--smoke", "--out", str(out / "RESULTS.md"), "--json", str(out / "results.json")],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    data: dict[str, object] = json.loads((out / "results.json").read_text())
    data["markdown"] = (out / "RESULTS.md").read_text()
    data["stdout"] = completed.stdout
    return data


def test_every_scenario_ran_our_path_and_succeeded(smoke: dict[str, object]) -> None:
    runs = smoke["runs"]
    assert isinstance(runs, list)
    assert {run["scenario"] for run in runs} == SCENARIOS
    for scenario in SCENARIOS:
        assert "sfpy" in {run["tool"] for run in runs if run["scenario"] == scenario}
    for run in runs:
        assert run["status"] == "ok", run
        assert run["exit_code"] == 0, run
        for name in NUMBERS:
            value = run[name]
            assert (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0) or name == "extra_rss", (
                name,
                run,
            )
        assert run["peak_rss"] >= run["rss_after_imports"] > 0
        assert run["process_s"] >= run["work_s"]


def test_result_rows_carry_what_each_scenario_reports(smoke: dict[str, object]) -> None:
    runs = {(run["scenario"], run["tool"]): run for run in smoke["runs"]}  # type: ignore[attr-defined]
    query = runs[("query_csv_smoke", "sfpy")]
    assert query["details"]["rows"] == query["extras"]["rows_in_file"] == 10_000
    assert query["extras"]["text_line_breaks_kept"] == 1
    assert runs[("query_csv_smoke", "floor")]["details"]["pages"] == query["details"]["pages"] == 5

    ingest = runs[("bulk_ingest_smoke", "sfpy")]
    assert ingest["details"]["rows"] == ingest["extras"]["rows_processed"] == 2_000
    assert ingest["extras"]["jobs"] == 1 and ingest["details"]["failed_rows"] == 0

    for tool in ("sfpy", "threads"):
        waits = runs[("bulk_waits_smoke", tool)]
        assert waits["details"]["outcomes"] == {"JobComplete": 20}
        assert waits["extras"]["polls_per_job"] >= 1

    sizes = {runs[("bulk_results_smoke", tool)]["details"]["bytes_written"] for tool in ("floor", "sfpy")}
    assert len(sizes) == 1 and sizes.pop() > 0


def test_other_formats_and_the_wide_object_write_every_record(smoke: dict[str, object]) -> None:
    runs = {(run["scenario"], run["variant"]): run for run in smoke["runs"]}  # type: ignore[attr-defined]
    for scenario in ("query_jsonl_smoke", "query_parquet_smoke"):
        ours = next(run for (key, _), run in runs.items() if key == scenario and run["tool"] == "sfpy")
        assert ours["extras"]["rows_in_file"] == ours["details"]["rows"] == 10_000
        assert ours["extras"]["text_line_breaks_kept"] == 1
        assert ours["extras"]["mb_written"] > 0
    notes = smoke["notes"]
    assert isinstance(notes, dict)
    for scenario in ("query_jsonl_smoke", "query_parquet_smoke"):
        assert any(f"`{','.join(ACCOUNT_FIELDS)}`; 10,000 records" in note for note in notes[scenario])

    wide = [run for (key, _), run in runs.items() if key == "wide_smoke"]
    assert {run["tool"] for run in wide} == {"floor", "sfpy"}
    for run in wide:
        assert run["extras"]["rows_in_file"] == 500
    # Id, Name and the 300 custom fields, every one a column of the Parquet file.
    assert any("`302 columns`; 500 records" in note for note in notes["wide_smoke"])


def test_bulk_query_parallel_and_sequential_save_the_same_records(smoke: dict[str, object]) -> None:
    runs = {run["variant"]: run for run in smoke["runs"] if run["scenario"] == "bulk_query_smoke"}  # type: ignore[attr-defined]
    parallel = next(run for label, run in runs.items() if "parallel, default" in label)
    sequential = next(run for label, run in runs.items() if "parallel=1" in label)
    for run in (parallel, sequential):
        assert run["extras"]["rows_in_files"] == run["details"]["rows"] == 10_000
        assert run["extras"]["result_requests"] == 10  # 1,000-record pages
        assert run["extras"]["download_s"] > 0 and run["extras"]["job_s"] > 0
    assert parallel["extras"]["result_page_listings"] >= 1
    assert sequential["extras"]["result_page_listings"] == 0
    assert parallel["details"]["bytes_written"] == sequential["details"]["bytes_written"]


def test_report_has_a_table_per_scenario(smoke: dict[str, object]) -> None:
    markdown = smoke["markdown"]
    assert isinstance(markdown, str)
    titles = (
        "Query → CSV (smoke)",
        "Query → JSON Lines, 10,000 Accounts",
        "Query → Parquet, 10,000 Accounts",
        "Wide object (302 fields) → CSV and Parquet, 500 records",
        "Bulk insert (smoke)",
        "Bulk waits (smoke)",
        "Results download (smoke)",
        "Bulk API 2.0 query export, 10,000 Accounts",
    )
    for title in titles:
        assert f"### {title}" in markdown
    assert "| tool | status | work s |" in markdown
    assert "## Raw numbers" in markdown
    assert "(median of runs)" in str(smoke["stdout"])
