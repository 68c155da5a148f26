"""Query -> Parquet / JSON Lines against the emulator: describe that does not match the data never crashes
Parquet (a later page that contradicts a column turns it to string for the whole file), a failure half way
leaves nothing behind, and later pages take the typed-record fast path."""

from __future__ import annotations

import gc
import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_sfpy.client import Client
from airflow_provider_sfpy.formats.records import strip_attributes
from airflow_provider_sfpy.formats.writers import JsonLinesRecordWriter, ParquetRecordWriter
from airflow_provider_sfpy.operators.query_to_file import SalesforceQueryToFileOperator

pq = pytest.importorskip("pyarrow.parquet")


def run(**kwargs: Any) -> dict[str, Any]:
    operator = SalesforceQueryToFileOperator(task_id="export", **kwargs)
    result: dict[str, Any] = operator.execute(context={})
    return result


def serve_account_describe(emulator: Any, checker: Client, change: dict[str, str | None]) -> None:
    """Make the emulator answer Account's describe with fields retyped (a type) or left out (``None``)."""
    body, _ = checker.sobjects(object_type="Account").describe()
    fields = []
    for field in body["fields"]:
        if field["name"] in change and change[field["name"]] is None:
            continue
        fields.append({**field, "type": change.get(field["name"], field["type"])})
    emulator.add_faults(
        {
            "path": r"/sobjects/Account/describe$",
            "status": 200,
            "body": json.dumps({**body, "fields": fields}),
            "content_type": "application/json;charset=UTF-8",
        }
    )


@pytest.fixture
def unraisable() -> Iterator[list[str]]:
    """Errors Python could only print as "Exception ignored in ..." (e.g. from a ``__del__``)."""
    seen: list[str] = []
    previous = sys.unraisablehook
    sys.unraisablehook = lambda info: seen.append(f"{info.object!r}: {info.exc_value!r}")
    yield seen
    gc.collect()
    sys.unraisablehook = previous


def test_parquet_types_a_field_describe_does_not_know_from_the_first_page(
    sfpy_conn: str, emulator: Any, checker: Client, tmp_path: Path, unraisable: list[str]
) -> None:
    """The issue's crash: ``ArrowTypeError: Expected bytes, got a 'float' object``, then a ``__del__`` error."""
    checker.collections.create(
        [{"Name": f"Unknown {n:03d}", "AnnualRevenue": n * 1.5} for n in range(1, 451)], object_type="Account"
    )
    serve_account_describe(emulator, checker, {"AnnualRevenue": None})
    soql = "SELECT Name, AnnualRevenue FROM Account WHERE Name LIKE 'Unknown %' ORDER BY Name"
    result = run(soql=soql, destination=str(tmp_path / "a.parquet"), batch_size=200)
    table = pq.read_table(tmp_path / "a.parquet")
    assert result["pages"] == 3 and str(table.schema.field("AnnualRevenue").type) == "double"
    assert table.column("AnnualRevenue").to_pylist() == [n * 1.5 for n in range(1, 451)]
    gc.collect()
    assert unraisable == []


def test_parquet_writes_a_column_contradicting_describe_as_string_with_one_warning(
    sfpy_conn: str, emulator: Any, checker: Client, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    checker.collections.create(
        [{"Name": f"Contra {n:03d}", "AnnualRevenue": n + 0.25} for n in range(450)], object_type="Account"
    )
    serve_account_describe(emulator, checker, {"AnnualRevenue": "int"})  # a formula described differently
    soql = "SELECT Name, AnnualRevenue FROM Account WHERE Name LIKE 'Contra %' ORDER BY Name"
    with caplog.at_level(logging.WARNING):
        run(soql=soql, destination=str(tmp_path / "c.parquet"), batch_size=200)
    table = pq.read_table(tmp_path / "c.parquet")
    assert str(table.schema.field("AnnualRevenue").type) == "string"
    assert table.column("AnnualRevenue").to_pylist() == [repr(n + 0.25) for n in range(450)]
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "'AnnualRevenue'" in warnings[0] and "'int'" in warnings[0]
    assert "number" in warnings[0]


def create_widening_accounts(checker: Client, tag: str, descriptions: list[str]) -> str:
    """Accounts tagged ``tag`` whose Description (text) is ``descriptions``, in order; returns the query."""
    checker.collections.create(
        [
            {"Name": f"Widen {tag} {n:03d}", "AccountNumber": tag, "Description": text}
            for n, text in enumerate(descriptions)
        ],
        object_type="Account",
    )
    return f"SELECT Name, Description FROM Account WHERE AccountNumber = '{tag}' ORDER BY Name"


@pytest.mark.parametrize(
    ("describe", "text_of"),
    [
        ("int", lambda n: str(n * 7 - 300)),
        ("double", lambda n: f"{n}.25"),
        ("date", lambda n: f"2024-{n % 12 + 1:02d}-{n % 28 + 1:02d}"),
    ],
    ids=["int", "double", "date"],
)
def test_a_later_page_contradicting_a_column_turns_it_to_string_for_every_row(
    describe: str,
    text_of: Any,
    sfpy_conn: str,
    emulator: Any,
    checker: Client,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    unraisable: list[str],
) -> None:
    """Page 1 fits describe's type; pages 2 and 3 hold text it cannot: one warning, one file, every row as text."""
    descriptions = [text_of(n) for n in range(450)]
    descriptions[250], descriptions[420] = "n/a", "unknown"  # pages 2 and 3
    soql = create_widening_accounts(checker, f"widen-{describe}", descriptions)
    serve_account_describe(emulator, checker, {"Description": describe})
    with caplog.at_level(logging.WARNING):
        result = run(soql=soql, destination=str(tmp_path / "w.parquet"), batch_size=200)
    table = pq.read_table(tmp_path / "w.parquet")
    assert result["pages"] == 3 and result["rows"] == 450
    assert str(table.schema.field("Description").type) == "string"
    assert table.column("Description").to_pylist() == descriptions  # page 1's values intact, as text
    assert table.column("Name").to_pylist() == [f"Widen widen-{describe} {n:03d}" for n in range(450)]
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "'Description'" in warnings[0] and f"describe type {describe!r}" in warnings[0]
    assert "page 2 holds a JSON string" in warnings[0] and "n/a" not in warnings[0]
    gc.collect()
    assert unraisable == [] and [p.name for p in tmp_path.iterdir()] == ["w.parquet"]


def test_a_failure_after_a_column_turned_to_string_leaves_no_file(
    sfpy_conn: str, emulator: Any, checker: Client, tmp_path: Path, unraisable: list[str]
) -> None:
    descriptions = [str(n) for n in range(450)]
    descriptions[300] = "n/a"  # page 2: the file is rewritten, then page 3 fails
    soql = create_widening_accounts(checker, "widen-cut", descriptions)
    serve_account_describe(emulator, checker, {"Description": "int"})
    emulator.add_faults({"path": r"/query/", "skip": 1, "status": 400, "error_code": "INVALID_QUERY_LOCATOR"})
    with pytest.raises(Exception, match="INVALID_QUERY_LOCATOR"):
        run(soql=soql, destination=str(tmp_path / "cut.parquet"), batch_size=200)
    cut = next(rule for rule in emulator.faults() if rule["path"] == "/query/")
    assert (cut["seen"], cut["fired"]) == (2, 1)  # page 2 was written (and the file rewritten), page 3 failed
    gc.collect()
    assert unraisable == [] and list(tmp_path.iterdir()) == []


def test_parquet_failure_mid_stream_closes_the_writer_and_leaves_no_file(
    sfpy_conn: str, emulator: Any, checker: Client, tmp_path: Path, unraisable: list[str]
) -> None:
    checker.collections.create([{"Name": f"PqCut {n:03d}"} for n in range(250)], object_type="Account")
    emulator.add_faults({"path": r"/query/", "status": 400, "error_code": "INVALID_QUERY_LOCATOR"})
    with pytest.raises(Exception, match="INVALID_QUERY_LOCATOR"):
        run(
            soql="SELECT Id FROM Account WHERE Name LIKE 'PqCut %'",
            destination=str(tmp_path / "p.parquet"),
            batch_size=200,
        )
    gc.collect()
    assert unraisable == [] and list(tmp_path.iterdir()) == []


@pytest.fixture
def record_classes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The class of each page's first record, as the JSON Lines and Parquet writers receive them."""
    seen: list[str] = []
    for writer in (JsonLinesRecordWriter, ParquetRecordWriter):
        original = writer.write_page

        def spy(self: Any, records: Any, _original: Any = original) -> None:
            seen.append(type(records[0]).__name__ if records else "-")
            _original(self, records)

        monkeypatch.setattr(writer, "write_page", spy)
    return seen


def test_jsonl_later_pages_are_typed_and_the_file_is_what_the_dict_path_writes(
    sfpy_conn: str, checker: Client, tmp_path: Path, record_classes: list[str]
) -> None:
    parent = checker.sobjects(object_type="Account").insert({"Name": "Jsonl Parent ☃"}).body["id"]
    tricky = ['Gárcia "q"\r\nline 2 🚀\t\\', None, "", "1e16: 0.0000"]
    checker.collections.create(
        [
            {
                "LastName": f"Jsonl {n:03d}",
                "Title": tricky[n % 4],
                "AccountId": parent if n % 2 else None,
            }
            for n in range(450)
        ],
        object_type="Contact",
    )
    soql = (
        "SELECT Id, LastName, Title, Account.Name, Account.Owner.Name, Account.AnnualRevenue, Birthdate "
        "FROM Contact WHERE LastName LIKE 'Jsonl %' ORDER BY LastName"
    )
    run(soql=soql, destination=str(tmp_path / "c.jsonl"), batch_size=200)
    expected = "".join(json.dumps(strip_attributes(r), ensure_ascii=False) + "\n" for r in checker.query_records(soql))
    assert (tmp_path / "c.jsonl").read_bytes() == expected.encode("utf-8")
    assert record_classes[0] == "dict" and record_classes[1:] == ["JsonLinesRecord", "JsonLinesRecord"]


def test_parquet_later_pages_are_typed_and_hold_the_same_values(
    sfpy_conn: str, checker: Client, tmp_path: Path, record_classes: list[str]
) -> None:
    checker.collections.create(
        [{"Name": f"PqTyped {n:03d}", "AnnualRevenue": n * 2.5, "NumberOfEmployees": n} for n in range(450)],
        object_type="Account",
    )
    soql = (
        "SELECT Name, AnnualRevenue, NumberOfEmployees, CreatedDate, Owner.Name FROM Account "
        "WHERE Name LIKE 'PqTyped %' ORDER BY Name"
    )
    run(soql=soql, destination=str(tmp_path / "t.parquet"), batch_size=200)
    table = pq.read_table(tmp_path / "t.parquet").to_pydict()
    records = list(checker.query_records(soql))
    assert table["Name"] == [r["Name"] for r in records] and table["AnnualRevenue"] == [n * 2.5 for n in range(450)]
    assert table["NumberOfEmployees"] == list(range(450)) and table["Owner.Name"] == [
        r["Owner"]["Name"] for r in records
    ]
    assert record_classes[0] == "dict" and record_classes[1:] == ["SalesforceRecord", "SalesforceRecord"]
