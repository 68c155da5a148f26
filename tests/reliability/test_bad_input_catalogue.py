"""The bad-input catalogue: each awkward or broken input, and what the product does with it.

Either the data goes through exactly (unicode, emoji, CR/LF, quotes and commas, huge values, long
queries), or the task fails before anything is sent, saying what is wrong. Bad inputs already covered
elsewhere (tests/formats/test_csv_split.py, tests/operators/*) are listed in docs/reliability.md rather
than repeated here; this file adds the rest, through the operators, against the emulator.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowException
from reliability_support import FakeTI, requests_to, task_context, with_fast_retries

from airflow_provider_sfpy.client import (
    Client,
    SalesforceError,
    SalesforceMalformedQueryError,
)
from airflow_provider_sfpy.operators.bulk import SalesforceBulkIngestOperator
from airflow_provider_sfpy.operators.query_to_file import SalesforceQueryToFileOperator
from airflow_provider_sfpy.operators.sobject import SalesforceFileInsertOperator, SalesforceSObjectOperator
from airflow_provider_sfpy.sensors.bulk import SalesforceBulkJobSensor

UNICODE_NAME = "Zoë Łódź 北京数据 Ünïcödé e\u0301 🚀🇬🇧👩‍💻"  # accents, CJK, a combining mark, emoji (ZWJ, flag)
TRICKY_TEXT = "Line one, \"quoted\", comma\r\nline two, 'single'\nline three\ttab 🚀"
TEN_MB = 10 * 1024 * 1024


def export(tmp_path: Path, soql: str, name: str = "out.csv", **kwargs: Any) -> tuple[dict[str, Any], Path]:
    destination = tmp_path / name
    operator = SalesforceQueryToFileOperator(task_id="export", soql=soql, destination=str(destination), **kwargs)
    result: dict[str, Any] = with_fast_retries(operator).execute(context=task_context())
    return result, destination


def bulk_load(source: str, **kwargs: Any) -> dict[str, Any]:
    operator = SalesforceBulkIngestOperator(
        task_id="load", object_type="Account", source=source, deferrable=False, poll_interval=0.1, **kwargs
    )
    result: dict[str, Any] = with_fast_retries(operator).execute(context=task_context(FakeTI()))
    return result


def read_csv(path: Path) -> list[list[str]]:
    limit = csv.field_size_limit(sys.maxsize)  # the csv module stops at 131,072 characters per field
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            return list(csv.reader(handle))
    finally:
        csv.field_size_limit(limit)


# ---------------------------------------------------------------------------------- unicode and emoji
@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_unicode_and_emoji_in_a_soql_literal_and_in_the_file(
    fmt: str, sfpy_conn: str, checker: Client, tmp_path: Path
) -> None:
    name = f"{UNICODE_NAME} {uuid.uuid4().hex[:6]}"
    record_id = checker.sobjects(object_type="Account").insert({"Name": name, "Description": TRICKY_TEXT}).body["id"]
    soql = f"SELECT Id, Name, Description FROM Account WHERE Name = '{name}'"
    result, path = export(tmp_path, soql, f"out.{fmt}", format=fmt)
    assert result["rows"] == 1
    raw = path.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")  # UTF-8 without a BOM
    if fmt == "csv":
        assert read_csv(path) == [["Id", "Name", "Description"], [record_id, name, TRICKY_TEXT]]
    else:
        assert json.loads(raw.decode("utf-8")) == {"Id": record_id, "Name": name, "Description": TRICKY_TEXT}


def test_unicode_and_emoji_in_a_like_pattern(sfpy_conn: str, checker: Client, tmp_path: Path) -> None:
    prefix = f"🚀 Ünï {uuid.uuid4().hex[:6]}"
    checker.collections.create([{"Name": f"{prefix} {n}"} for n in range(3)], object_type="Account")
    result, path = export(tmp_path, f"SELECT Name FROM Account WHERE Name LIKE '{prefix}%' ORDER BY Name")
    assert [row[0] for row in read_csv(path)[1:]] == [f"{prefix} {n}" for n in range(3)] and result["rows"] == 3


@pytest.mark.parametrize("line_ending", ["LF", "CRLF"])
def test_unicode_crlf_quotes_and_commas_in_a_bulk_csv_arrive_exactly(
    line_ending: str, sfpy_conn: str, checker: Client, tmp_path: Path
) -> None:
    label = f"BulkText {uuid.uuid4().hex[:6]}"
    rows = [[f"{label} {UNICODE_NAME} {n}", f"{TRICKY_TEXT} #{n}"] for n in range(20)]
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n" if line_ending == "CRLF" else "\n")
    writer.writerow(["Name", "Description"])
    writer.writerows(rows)
    source = tmp_path / "in.csv"
    source.write_bytes(text.getvalue().encode("utf-8"))
    result = bulk_load(source.as_uri(), operation="insert")
    assert (result["records_processed"], result["records_failed"]) == (20, 0)
    stored = checker.query_records(f"SELECT Name, Description FROM Account WHERE Name LIKE '{label} %'")
    assert sorted([r["Name"], r["Description"]] for r in stored) == sorted(rows)


def test_a_utf8_bom_is_dropped_and_the_file_loads(sfpy_conn: str, checker: Client, tmp_path: Path) -> None:
    label = f"Bom {uuid.uuid4().hex[:6]}"
    source = tmp_path / "excel.csv"
    source.write_bytes(b"\xef\xbb\xbfName,Description\r\n" + f"{label},from Excel\r\n".encode())
    assert bulk_load(source.as_uri(), operation="insert")["records_processed"] == 1
    assert checker.query(f"SELECT Description FROM Account WHERE Name = '{label}'").body["records"][0][
        "Description"
    ] == ("from Excel")


# ---------------------------------------------------------------------------------- a 10 MB text field
def test_a_10mb_field_value_is_exported_intact(emulator: Any, sfpy_conn: str, tmp_path: Path) -> None:
    from airflow_provider_sfpy.emulator.schema import SCHEMA

    huge = ('0123456789, "quoted"\r\n ünï 🚀 ' * (TEN_MB // 30))[:TEN_MB]
    name = f"Huge Field {uuid.uuid4().hex[:6]}"
    # Seeded directly: no org accepts 10 MB in one field, but the export path must not care how big it is.
    (record_id,) = emulator.store.insert_records(
        SCHEMA["Account"], [{"Name": name, "Description": huge}], emulator.state.admin_user_id
    )
    soql = f"SELECT Id, Description FROM Account WHERE Id = '{record_id}'"
    _, csv_path = export(tmp_path, soql, "huge.csv")
    assert read_csv(csv_path)[1] == [record_id, huge]
    _, jsonl_path = export(tmp_path, soql, "huge.jsonl", format="jsonl")
    assert json.loads(jsonl_path.read_text(encoding="utf-8"))["Description"] == huge


def test_a_10mb_field_value_in_a_rest_insert_is_refused_by_name(emulator: Any, sfpy_conn: str, checker: Client) -> None:
    name = f"Huge Insert {uuid.uuid4().hex[:6]}"
    operator = SalesforceSObjectOperator(
        task_id="insert", operation="insert", object_type="Account", records={"Name": name, "Description": "x" * TEN_MB}
    )
    with pytest.raises(AirflowException, match=r"record 0: STRING_TOO_LONG: .*Description.* \[Description\]"):
        with_fast_retries(operator).execute(context=task_context())
    assert len(requests_to(emulator.requests_log(), "/composite/sobjects", "POST")) == 1
    assert checker.query(f"SELECT COUNT() FROM Account WHERE Name = '{name}'").body["totalSize"] == 0


def test_a_10mb_field_value_in_a_bulk_csv_fails_before_any_job(emulator: Any, sfpy_conn: str, tmp_path: Path) -> None:
    source = tmp_path / "huge.csv"
    source.write_text("Name,Description\nHuge," + "x" * TEN_MB + "\n")
    with pytest.raises(AirflowException, match=r"cannot be loaded: .*line 2.*field larger than field limit"):
        bulk_load(source.as_uri(), operation="insert")
    assert not requests_to(emulator.requests_log(), "/jobs/ingest")


def test_a_10mb_file_insert_arrives_byte_for_byte(sfpy_conn: str, checker: Client, tmp_path: Path) -> None:
    content = (bytes(range(256)) * (TEN_MB // 256))[:TEN_MB]
    source = tmp_path / "big.bin"
    source.write_bytes(content)
    operator = SalesforceFileInsertOperator(
        task_id="upload",
        object_type="ContentVersion",
        source=source.as_uri(),
        fields={"Title": "Ten megabytes", "PathOnClient": "big.bin"},
    )
    record_id = with_fast_retries(operator).execute(context=task_context())
    downloaded, _ = checker.sobjects(object_type="ContentVersion", id=record_id).blob("VersionData")
    assert downloaded == content


# ---------------------------------------------------------------------------------- long and huge SOQL
def test_a_long_soql_in_list_is_answered_exactly(checker: Client, sfpy_conn: str, tmp_path: Path) -> None:
    ids = [r["Id"] for r in checker.query_records("SELECT Id FROM Account LIMIT 25")]
    padding = [f"001{n:015d}" for n in range(1000)]  # ids that exist nowhere: a ~21,000-character query
    soql = f"SELECT Id FROM Account WHERE Id IN ({', '.join(repr(i) for i in padding + ids)}) ORDER BY Id"
    assert len(soql) > 20_000
    result, path = export(tmp_path, soql)
    assert sorted(row[0] for row in read_csv(path)[1:]) == sorted(ids) and result["rows"] == len(ids)


def test_a_huge_soql_fails_loudly_once_with_no_file(
    emulator: Any, sfpy_conn: str, tmp_path: Path, provider_records: list[logging.LogRecord]
) -> None:
    padding = ", ".join(f"'001{n:015d}'" for n in range(6000))  # ~130,000 characters, over Salesforce's 100,000
    with pytest.raises(SalesforceError) as caught:
        export(tmp_path, f"SELECT Id FROM Account WHERE Id IN ({padding})")
    # The request line is refused by the HTTP server itself (Salesforce: 414 URI Too Long): a definite
    # refusal, reported with the server's words, and not retried.
    assert caught.value.status in (400, 414) and "non-JSON error response" in str(caught.value)
    assert not [r for r in provider_records if "retry" in r.getMessage()]
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------- templated values
def test_a_templated_value_with_a_quote_fails_the_query_rather_than_changing_it(
    emulator: Any, sfpy_conn: str, tmp_path: Path
) -> None:
    operator = SalesforceQueryToFileOperator(
        task_id="export",
        soql="SELECT Id, Name FROM Account WHERE Name = '{{ params.name }}'",
        destination=str(tmp_path / "{{ params.name }}.csv"),
    )
    operator.render_template_fields(task_context(params={"name": "O'Brien & Sons"}))
    assert operator.soql == "SELECT Id, Name FROM Account WHERE Name = 'O'Brien & Sons'"
    with pytest.raises(SalesforceMalformedQueryError):
        with_fast_retries(operator).execute(context=task_context())
    assert list(tmp_path.iterdir()) == []  # the quote in the file name is harmless; no file either way


def test_a_soql_template_rendering_to_a_subquery_fails_before_any_request(
    emulator: Any, sfpy_conn: str, tmp_path: Path
) -> None:
    operator = SalesforceQueryToFileOperator(
        task_id="export", soql="{{ params.q }}", destination=str(tmp_path / "x.csv")
    )
    operator.render_template_fields(task_context(params={"q": "SELECT Id, (SELECT Id FROM Contacts) FROM Account"}))
    emulator.clear_requests_log()
    with pytest.raises(ValueError, match="no flat column"):
        with_fast_retries(operator).execute(context=task_context())
    assert requests_to(emulator.requests_log(), "/query") == [] and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("operation", "rendered", "error", "message"),
    [
        ("insert", "not json at all", ValueError, "not JSON"),
        ("insert", "[]", AirflowException, "given no records"),
        ("insert", '["just", "strings"]', ValueError, r"records\[0\] is str"),
        ("insert", "42", ValueError, "must be a dict, a list of dicts or JSON text"),
        ("update", '[{"Name": "no id"}]', SalesforceError, "has no Id"),
        ("delete", " , ,", AirflowException, "no record ids"),
    ],
    ids=["not-json", "empty-list", "not-records", "a-number", "update-without-id", "delete-no-ids"],
)
def test_records_rendered_into_something_unusable_fail_before_any_write(
    operation: str, rendered: str, error: type[Exception], message: str, emulator: Any, sfpy_conn: str
) -> None:
    kwargs: dict[str, Any] = {"record_ids": "{{ x }}"} if operation == "delete" else {"records": "{{ x }}"}
    operator = SalesforceSObjectOperator(task_id="dml", operation=operation, object_type="Account", **kwargs)
    setattr(operator, "record_ids" if operation == "delete" else "records", rendered)  # what rendering produced
    emulator.clear_requests_log()
    with pytest.raises(error, match=message):
        with_fast_retries(operator).execute(context=task_context())
    assert [e for e in emulator.requests_log() if "/composite/" in e["path"]] == []


def test_sensor_job_ids_rendered_to_nothing_fail_before_any_request(sfpy_conn: str) -> None:
    sensor = SalesforceBulkJobSensor(task_id="wait", job_ids="{{ x }}", deferrable=False, poke_interval=0.1, timeout=5)
    sensor.job_ids = " , "
    with pytest.raises(AirflowException, match="rendered to no ids"):
        sensor.execute(context=task_context())


# ---------------------------------------------------------------------------------- broken CSV files for Bulk
BAD_CSVS: dict[str, tuple[bytes, dict[str, Any], str]] = {
    "empty-file": (b"", {}, "the CSV is empty"),
    "blank-lines-only": (b"Name,Description\n\n\n", {}, "header but no records"),
    "latin-1-not-utf-8": ("Name\nMüller & Söhne\n".encode("latin-1"), {}, "not valid UTF-8"),
    "utf-16": ("Name\nAcme\n".encode("utf-16"), {}, "not valid UTF-8"),
    "semicolon-delimited": (b"Name;Description\nAcme;x\n", {}, "column_delimiter='SEMICOLON'"),
    "tab-delimited-declared-pipe": (b"Name\tDescription\nAcme\tx\n", {"column_delimiter": "PIPE"}, "TAB"),
    "line-ending-declared-wrong": (b"Name\r\nAcme\r\n", {"line_ending": "LF"}, "line_ending='CRLF'"),
    "unterminated-quote": (b'Name,Description\nAcme,"never closed\n', {}, "cannot be parsed"),
    "text-after-a-closing-quote": (b'Name,Description\nAcme,"ab"c\n', {}, "cannot be parsed"),
    "empty-column-name": (b"Name,,Description\nAcme,x,y\n", {}, "empty column name"),
    "record-over-the-upload-limit": (b"Name\n" + b"y" * 5000 + b"\n", {"max_upload_bytes": 1000}, "exceeds"),
}


@pytest.mark.parametrize("name", list(BAD_CSVS))
def test_broken_csv_fails_before_any_job_saying_what_is_wrong(
    name: str, emulator: Any, sfpy_conn: str, tmp_path: Path
) -> None:
    data, kwargs, message = BAD_CSVS[name]
    source = tmp_path / "bad.csv"
    source.write_bytes(data)
    with pytest.raises(AirflowException, match=f"the source CSV cannot be loaded: .*({message})"):
        bulk_load(source.as_uri(), operation="insert", **kwargs)
    assert not requests_to(emulator.requests_log(), "/jobs/ingest")
