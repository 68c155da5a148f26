"""SalesforceQueryToFileOperator against the emulator: formats, streaming, storage, and failures."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_sfpy.client import Client, SalesforceMalformedQueryError
from airflow_provider_sfpy.operators.query_to_file import SalesforceQueryToFileOperator


def run(**kwargs: Any) -> dict[str, Any]:
    operator = SalesforceQueryToFileOperator(task_id="export", **kwargs)
    result: dict[str, Any] = operator.execute(context={})  # type: ignore[arg-type]
    return result


def read_csv(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_csv_follows_the_select_list_and_flattens_parents(sfpy_conn: str, checker: Client, tmp_path: Path) -> None:
    soql = "SELECT Name, Id, Account.Name, Account.Owner.Name, HasOptedOutOfEmail FROM Contact ORDER BY Name"
    result = run(soql=soql, destination=(tmp_path / "contacts.csv").as_uri())
    rows = read_csv(tmp_path / "contacts.csv")
    assert rows[0] == ["Name", "Id", "Account.Name", "Account.Owner.Name", "HasOptedOutOfEmail"]
    expected = checker.query_more(soql).body
    records = [r for page in expected for r in page["records"]]
    assert result["rows"] == len(records) == len(rows) - 1
    for row, record in zip(rows[1:], records, strict=True):
        account = record["Account"]
        assert row[:2] == [record["Name"], record["Id"]]
        assert row[2] == (account["Name"] if account else "")
        assert row[3] == (account["Owner"]["Name"] if account and account["Owner"] else "")
        assert row[4] == ("true" if record["HasOptedOutOfEmail"] else "false")
    assert any(row[2] == "" for row in rows[1:]), "sample data has contacts without an account"


def test_values_with_commas_quotes_and_newlines_round_trip(sfpy_conn: str, checker: Client, tmp_path: Path) -> None:
    tricky = 'Line one, "quoted"\r\nline two \u2603 \U0001f680'
    created = checker.sobjects(object_type="Account").insert({"Name": "Tricky CSV Co", "Description": tricky}).body
    run(soql=f"SELECT Id, Description FROM Account WHERE Id = '{created['id']}'", destination=str(tmp_path / "t.csv"))
    rows = read_csv(tmp_path / "t.csv")
    assert rows[1] == [created["id"], tricky]


def test_many_pages_are_streamed_in_order(sfpy_conn: str, checker: Client, tmp_path: Path) -> None:
    checker.collections.create([{"Name": f"Pager {n:04d}"} for n in range(650)], object_type="Account")
    result = run(
        soql="SELECT Name FROM Account WHERE Name LIKE 'Pager %' ORDER BY Name",
        destination=str(tmp_path / "pager.csv"),
        batch_size=200,
    )
    assert result["pages"] == 4 and result["rows"] == 650
    assert [r[0] for r in read_csv(tmp_path / "pager.csv")[1:]] == [f"Pager {n:04d}" for n in range(650)]


def test_later_pages_decoded_typed_write_the_same_values_as_the_first(
    sfpy_conn: str, checker: Client, tmp_path: Path
) -> None:
    """Pages after the first are decoded into compact typed records (field names matched case-insensitively,
    as SOQL does); the file must hold exactly what the records say: booleans, numbers, nulls, text."""
    checker.collections.create(
        [
            {"Name": f"Typed {n:04d}", "Description": None if n % 3 else f'd, "{n}"\nnext', "AnnualRevenue": n * 1.5}
            for n in range(450)
        ],
        object_type="Account",
    )
    soql = "SELECT name, id, DESCRIPTION, annualrevenue, IsDeleted FROM Account WHERE Name LIKE 'Typed %' ORDER BY Name"
    result = run(soql=soql, destination=str(tmp_path / "typed.csv"), batch_size=200)
    rows = read_csv(tmp_path / "typed.csv")
    assert result["pages"] == 3 and rows[0] == ["name", "id", "DESCRIPTION", "annualrevenue", "IsDeleted"]
    records = list(checker.query_records(soql))
    expected = [[r["Name"], r["Id"], r["Description"] or "", repr(r["AnnualRevenue"]), "false"] for r in records]
    assert rows[1:] == expected and len(expected) == 450


def test_later_pages_with_relationship_paths_write_the_same_values(
    sfpy_conn: str, checker: Client, tmp_path: Path
) -> None:
    account = checker.sobjects(object_type="Account").insert({"Name": "Typed Parent Co"}).body["id"]
    checker.collections.create(
        [{"LastName": f"TypedRel {n:04d}", "AccountId": account if n % 2 else None} for n in range(450)],
        object_type="Contact",
    )
    soql = (
        "SELECT LastName, account.name, Account.Owner.Name, Id FROM Contact "
        "WHERE LastName LIKE 'TypedRel %' ORDER BY LastName"
    )
    result = run(soql=soql, destination=str(tmp_path / "rel.csv"), batch_size=200)
    rows = read_csv(tmp_path / "rel.csv")
    assert result["pages"] == 3 and rows[0] == ["LastName", "account.name", "Account.Owner.Name", "Id"]
    expected = [
        [
            r["LastName"],
            r["Account"]["Name"] if r["Account"] else "",
            r["Account"]["Owner"]["Name"] if r["Account"] else "",
            r["Id"],
        ]
        for r in checker.query_records(soql)
    ]
    assert rows[1:] == expected and len(expected) == 450
    assert {row[1] for row in rows[1:]} == {"", "Typed Parent Co"} and all(row[2] for row in rows[2::2])


def test_zero_rows_write_a_header_only_file(sfpy_conn: str, tmp_path: Path) -> None:
    result = run(
        soql="SELECT Id, Name FROM Account WHERE Name = 'No Such Account'", destination=str(tmp_path / "e.csv")
    )
    assert result["rows"] == 0
    assert (tmp_path / "e.csv").read_bytes() == b"Id,Name\r\n"


def test_jsonl_keeps_nesting_without_attributes(sfpy_conn: str, tmp_path: Path) -> None:
    run(soql="SELECT Id, Account.Name FROM Contact LIMIT 5", destination=str(tmp_path / "c.jsonl"), format="jsonl")
    lines = [json.loads(line) for line in (tmp_path / "c.jsonl").read_text().splitlines()]
    assert len(lines) == 5
    assert all(
        "attributes" not in line and (line["Account"] is None or "attributes" not in line["Account"]) for line in lines
    )


def test_gzip_compression(sfpy_conn: str, tmp_path: Path) -> None:
    run(soql="SELECT Id FROM Account LIMIT 3", destination=str(tmp_path / "a.csv.gz"), compression="gzip")
    text = gzip.decompress((tmp_path / "a.csv.gz").read_bytes()).decode()
    assert text.startswith("Id\r\n") and len(text.splitlines()) == 4


def test_parquet_uses_describe_types(sfpy_conn: str, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    soql = "SELECT Name, AnnualRevenue, NumberOfEmployees, Active__c, CreatedDate, Owner.Name FROM Account"
    result = run(soql=soql, destination=str(tmp_path / "a.parquet"), format="parquet")
    table = pq.read_table(tmp_path / "a.parquet")
    assert table.num_rows == result["rows"] > 0
    types = {field.name: str(field.type) for field in table.schema}
    assert types == {
        "Name": "string",
        "AnnualRevenue": "double",
        "NumberOfEmployees": "int64",
        "Active__c": "bool",
        "CreatedDate": "timestamp[ms, tz=UTC]",
        "Owner.Name": "string",
    }


def test_include_deleted_uses_query_all(sfpy_conn: str, checker: Client, tmp_path: Path) -> None:
    record_id = checker.sobjects(object_type="Account").insert({"Name": "Gone Co"}).body["id"]
    checker.sobjects(object_type="Account", id=record_id).delete()
    soql = f"SELECT Id, IsDeleted FROM Account WHERE Id = '{record_id}'"
    assert run(soql=soql, destination=str(tmp_path / "live.csv"))["rows"] == 0
    assert run(soql=soql, destination=str(tmp_path / "all.csv"), include_deleted=True)["rows"] == 1
    assert read_csv(tmp_path / "all.csv")[1] == [record_id, "true"]


def test_memory_object_storage(sfpy_conn: str) -> None:
    from airflow.sdk import ObjectStoragePath
    from airflow.sdk.io import attach
    from fsspec.implementations.memory import MemoryFileSystem

    attach(protocol="memory", fs=MemoryFileSystem())
    result = run(soql="SELECT Id, Name FROM Account LIMIT 2", destination="memory://exports/accounts.csv")
    content = ObjectStoragePath("memory://exports/accounts.csv").read_bytes()
    assert result["rows"] == 2 and content.startswith(b"Id,Name\r\n") and content.count(b"\r\n") == 3


def test_bad_soql_fails_with_the_server_message_and_leaves_no_file(sfpy_conn: str, tmp_path: Path) -> None:
    with pytest.raises(SalesforceMalformedQueryError, match="No such column 'Nmae'"):
        run(soql="SELECT Id, Nmae FROM Account", destination=str(tmp_path / "bad.csv"))
    assert list(tmp_path.iterdir()) == []


def test_failure_mid_stream_removes_the_partial_file(
    sfpy_conn: str, emulator: Any, checker: Client, tmp_path: Path
) -> None:
    checker.collections.create([{"Name": f"Cut {n:03d}"} for n in range(250)], object_type="Account")
    emulator.add_faults(
        {"path": r"/query/", "status": 400, "error_code": "INVALID_QUERY_LOCATOR", "message": "invalid query locator"}
    )
    with pytest.raises(Exception, match="invalid query locator"):
        run(
            soql="SELECT Id FROM Account WHERE Name LIKE 'Cut %'", destination=str(tmp_path / "cut.csv"), batch_size=200
        )
    assert list(tmp_path.iterdir()) == []


def test_unwritable_destination_is_explained(sfpy_conn: str, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(OSError, match="cannot write to"):
        run(soql="SELECT Id FROM Account LIMIT 1", destination=str(blocker / "out.csv"))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"format": "xml"}, "format must be one of"),
        ({"compression": "zip"}, "compression"),
        ({"format": "parquet", "compression": "gzip"}, "Parquet compresses internally"),
        ({"batch_size": 10}, "between 200 and 2000"),
        ({"soql": "SELECT Id, (SELECT Id FROM Contacts) FROM Account"}, "no flat column"),
        ({"soql": "  "}, "soql is empty"),
    ],
)
def test_bad_arguments_fail_at_dag_parse_time(kwargs: dict[str, Any], message: str) -> None:
    args = {"soql": "SELECT Id FROM Account", "destination": "file:///tmp/x.csv", **kwargs}
    with pytest.raises(ValueError, match=message):
        SalesforceQueryToFileOperator(task_id="bad", **args)


def test_templated_soql_is_validated_after_rendering() -> None:
    operator = SalesforceQueryToFileOperator(task_id="t", soql="{{ params.q }}", destination="file:///tmp/x.csv")
    assert operator.soql == "{{ params.q }}"
    assert set(operator.template_fields) == {
        "soql",
        "destination",
        "destination_conn_id",
        "deleted_destination",
        "full_refresh",
    }
