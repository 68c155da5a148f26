"""Destinations that just work: the name decides what was not given, contradictions are refused early,
and missing local folders are created, for every operator that writes files (against the emulator).

The rules themselves are in ``airflow_provider_sfpy.formats.file_names``.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_sfpy.formats.file_names import DestinationNameError
from airflow_provider_sfpy.operators.bulk import SalesforceBulkIngestOperator
from airflow_provider_sfpy.operators.bulk_query import SalesforceBulkQueryOperator
from airflow_provider_sfpy.operators.query_to_file import SalesforceQueryToFileOperator
from airflow_provider_sfpy.operators.wave import SalesforceWaveQueryOperator

SOQL = "SELECT Id, Name FROM Account ORDER BY Name LIMIT 5"
SAQL = (
    'q = load "opportunities";\n'
    "q = group q by 'Account.Industry';\n"
    "q = foreach q generate 'Account.Industry' as 'Account.Industry', count() as 'count';"
)


def execute(operator: Any, **params: Any) -> Any:
    """Render the operator's templates with ``params`` (as a DAG run would), then run it."""
    context: Any = {"params": params}
    operator.render_template_fields(context)
    return operator.execute(context)


def export(destination: str, **kwargs: Any) -> SalesforceQueryToFileOperator:
    return SalesforceQueryToFileOperator(task_id="export", soql=SOQL, destination=destination, **kwargs)


def bulk_query(destination: str, **kwargs: Any) -> SalesforceBulkQueryOperator:
    return SalesforceBulkQueryOperator(
        task_id="extract", soql=SOQL, destination=destination, deferrable=False, poll_interval=0.05, **kwargs
    )


def csv_text_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


# ------------------------------------------------------------------ query to file: the name decides


@pytest.mark.parametrize(
    ("name", "written"),
    [("accounts.csv.gz", "csv+gzip"), ("accounts.parquet", "parquet"), ("accounts.ndjson", "jsonl")],
)
def test_the_name_picks_format_and_compression_left_out(
    sfpy_conn: str, tmp_path: Path, name: str, written: str
) -> None:
    target = tmp_path / "not" / "there" / "yet" / name  # and no folder of it exists
    result = execute(export(target.as_uri()))
    data = target.read_bytes()
    if written == "csv+gzip":
        assert result["format"] == "csv" and csv_text_rows(gzip.decompress(data).decode())[0] == ["Id", "Name"]
    elif written == "parquet":
        import pyarrow.parquet as pq

        assert result["format"] == "parquet" and pq.read_table(target).column_names == ["Id", "Name"]
    else:
        assert result["format"] == "jsonl" and set(json.loads(data.splitlines()[0])) == {"Id", "Name"}
    assert result["rows"] == 5 and [p.name for p in target.parent.iterdir()] == [name]


def test_a_templated_name_decides_when_the_task_starts(sfpy_conn: str, tmp_path: Path) -> None:
    operator = export("{{ params.folder }}/accounts-{{ params.day }}.csv.gz")
    assert operator.compression == "infer"  # nothing to decide before the template is rendered
    result = execute(operator, folder=(tmp_path / "new").as_uri(), day="2026-01-01")
    rows = csv_text_rows(gzip.decompress((tmp_path / "new" / "accounts-2026-01-01.csv.gz").read_bytes()).decode())
    assert len(rows) == 6 and result["format"] == "csv"


# ------------------------------------------------------------------ query to file: contradictions refused


@pytest.mark.parametrize(
    ("name", "kwargs", "problem", "fix"),
    [
        (
            "a.parquet",
            {"format": "csv"},
            "names a Parquet file, but format='csv'",
            "leave format out (the name decides), or name it a.csv",
        ),
        (
            "a.csv.gz",
            {"compression": None},
            "compression=None would write it uncompressed",
            "leave compression out (.gz implies gzip), or name it a.csv",
        ),
        ("a.csv", {"compression": "gzip"}, "does not end in .gz", "name it a.csv.gz, or leave compression out"),
        ("a.parquet.gz", {}, "compresses inside the file", "name it a.parquet and leave compression out"),
        ("a.json", {}, "not one JSON document", "pass format='jsonl' to keep the name, or name it a.jsonl"),
        ("a.csv.zip", {}, "a compression SalesforceQueryToFileOperator does not write", "drop .zip from the name"),
    ],
)
def test_a_name_that_contradicts_is_refused_when_the_dag_is_parsed(
    tmp_path: Path, name: str, kwargs: dict[str, Any], problem: str, fix: str
) -> None:
    with pytest.raises(DestinationNameError) as refused:
        export((tmp_path / name).as_uri(), **kwargs)
    said, how = str(refused.value).rstrip(".").split(". To fix it: ")
    assert said.startswith(f"destination {(tmp_path / name).as_uri()} ") and problem in said
    assert how == fix


def test_a_templated_contradiction_fails_before_any_request(sfpy_conn: str, emulator: Any, tmp_path: Path) -> None:
    operator = export("{{ params.folder }}/a.parquet", format="csv")  # parses: the name is not known yet
    emulator.clear_requests_log()
    with pytest.raises(DestinationNameError, match="format='csv'"):
        execute(operator, folder=tmp_path.as_uri())
    assert emulator.requests_log() == [] and list(tmp_path.iterdir()) == []


def test_an_explicit_format_agreeing_with_the_name_is_kept(sfpy_conn: str, tmp_path: Path) -> None:
    result = execute(export((tmp_path / "a.json").as_uri(), format="jsonl"))
    assert result["format"] == "jsonl" and len((tmp_path / "a.json").read_text().splitlines()) == 5


# ------------------------------------------------------------------ Bulk query: uncompressed CSV only


@pytest.mark.parametrize(
    ("name", "combine", "problem"),
    [
        ("accounts.csv.gz", True, r"writes uncompressed files"),
        ("accounts.parquet", True, r"writes CSV only"),
        ("accounts.parquet/", False, r"writes CSV only"),
    ],
)
def test_bulk_query_refuses_a_name_promising_another_format(
    tmp_path: Path, name: str, combine: bool, problem: str
) -> None:
    with pytest.raises(
        DestinationNameError, match=f"{problem}. To fix it: .*export with SalesforceQueryToFileOperator"
    ):
        bulk_query(f"{tmp_path.as_uri()}/{name}", combine=combine)


def test_bulk_query_templated_contradiction_fails_before_any_job(sfpy_conn: str, emulator: Any, tmp_path: Path) -> None:
    operator = bulk_query("{{ params.folder }}/accounts.csv.gz", combine=True)
    emulator.clear_requests_log()
    with pytest.raises(DestinationNameError, match=r"name it accounts\.csv"):
        execute(operator, folder=tmp_path.as_uri())
    assert emulator.requests_log() == [] and list(tmp_path.iterdir()) == []


def test_bulk_query_creates_missing_folders_for_parts_and_for_a_combined_file(sfpy_conn: str, tmp_path: Path) -> None:
    parts = execute(bulk_query((tmp_path / "a" / "b" / "parts").as_uri()))
    assert {Path(p).name for p in parts["paths"]} == {"part-00001.csv"} and parts["rows"] == 5
    assert sorted(p.name for p in (tmp_path / "a" / "b" / "parts").iterdir()) == ["_manifest.json", "part-00001.csv"]
    combined = execute(bulk_query((tmp_path / "c" / "d" / "accounts.csv").as_uri(), combine=True))
    assert len(csv_text_rows((tmp_path / "c" / "d" / "accounts.csv").read_text())) == 6 == combined["rows"] + 1


# ------------------------------------------------------------------ the other writers


def test_saql_results_follow_the_name_and_refuse_gzip(sfpy_conn: str, tmp_path: Path) -> None:
    target = tmp_path / "new" / "stages.csv"
    result = SalesforceWaveQueryOperator(task_id="w", saql=SAQL, destination=target.as_uri()).execute({})
    assert result["format"] == "csv" and csv_text_rows(target.read_text())[0] == ["Account.Industry", "count"]
    with pytest.raises(DestinationNameError, match=r"writes uncompressed files. To fix it: name it stages\.csv"):
        SalesforceWaveQueryOperator(task_id="w", saql=SAQL, destination=f"{target.as_uri()}.gz")


def test_bulk_results_go_into_missing_folders(sfpy_conn: str, tmp_path: Path) -> None:
    results = tmp_path / "x" / "y" / "results"
    operator = SalesforceBulkIngestOperator(
        task_id="load",
        object_type="Account",
        operation="insert",
        records=[{"Name": "Destination Names Test"}],
        results_destination=results.as_uri(),
        deferrable=False,
        poll_interval=0.05,
    )
    outcome = operator.execute({})
    assert outcome["records_processed"] == 1
    assert sorted(p.name.split("-", 1)[1] for p in results.iterdir()) == [
        "failed.csv",
        "successful.csv",
        "unprocessed.csv",
    ]
