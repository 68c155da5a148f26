"""CSV files the splitter once misread: a BOM before a quoted header, and bare-CR (old Mac) line endings.

- ``\\ufeff"Id"`` is the column ``Id``: the byte order mark is taken off before the header is parsed
  (it used to be taken off after, leaving csv.reader the unquoted text ``\\ufeff"Id"``), and the
  header Salesforce receives is the file's own, without the BOM.
- A file whose lines end with a bare CR is named as such, with how to convert it, instead of being
  reported as "a header but no records".

Both are decided at the header, whatever the read block size (a BOM or a CR can be cut by a block
boundary); the per-record loop is untouched. The last tests go through the Bulk ingest operator
against the emulator: the BOM file deletes its records, the bare-CR file fails before any job.
"""

from __future__ import annotations

import io
import uuid
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowException
from reliability_support import FakeTI, requests_to, task_context, with_fast_retries

from airflow_provider_sfpy.client import Client
from airflow_provider_sfpy.formats import csv_split
from airflow_provider_sfpy.formats.csv_split import CsvInputError, CsvLayout, split_csv
from airflow_provider_sfpy.operators.bulk import SalesforceBulkIngestOperator

BOM = "\ufeff".encode()
BLOCK_SIZES = [1, 2, 3, 4, 5, 7, csv_split.READ_BLOCK_BYTES]
BARE_CR = r"the file's lines end with a bare CR \(old Mac style\); Bulk API 2\.0 takes LF or CRLF: convert it"


def split(data: bytes, **kwargs: Any) -> tuple[list[bytes], CsvLayout]:
    layout: list[CsvLayout] = []
    chunks = []
    for chunk in split_csv(io.BytesIO(data), layout_out=layout, **kwargs):
        chunks.append(chunk.file.read())
        chunk.close()
    return chunks, layout[0]


# ------------------------------------------------------------------------------------------ BOM before a header


@pytest.mark.parametrize("block_bytes", BLOCK_SIZES)
@pytest.mark.parametrize("ending", ["\n", "\r\n"])
def test_a_quoted_id_header_after_a_bom_is_the_id_column(block_bytes: int, ending: str) -> None:
    body = f"001000000000001AAA{ending}001000000000002AAA{ending}".encode()
    data = BOM + f'"Id"{ending}'.encode() + body
    chunks, layout = split(data, required_columns=["Id"], block_bytes=block_bytes)
    assert layout.header == ["Id"] and layout.had_bom
    assert layout.line_ending == ("CRLF" if ending == "\r\n" else "LF")
    assert chunks == [f'"Id"{ending}'.encode() + body]  # the file's header as written, without the BOM


@pytest.mark.parametrize("block_bytes", BLOCK_SIZES)
def test_a_quoted_multi_column_header_after_a_bom(block_bytes: int) -> None:
    data = BOM + b'"Id","Name, Inc.",External__c\n001000000000001AAA,"Acme, Inc.",x1\n'
    chunks, layout = split(data, required_columns=["Id", "External__c"], block_bytes=block_bytes)
    assert layout.header == ["Id", "Name, Inc.", "External__c"]
    assert chunks == [data[len(BOM) :]]


@pytest.mark.parametrize("block_bytes", BLOCK_SIZES)
def test_the_bom_is_dropped_from_every_chunk_header(block_bytes: int) -> None:
    header = b'"Id"\n'
    rows = [f"00100000000000{i}AAA\n".encode() for i in range(4)]
    chunks, _ = split(BOM + header + b"".join(rows), block_bytes=block_bytes, max_bytes=len(header) + 2 * len(rows[0]))
    assert chunks == [header + rows[0] + rows[1], header + rows[2] + rows[3]]


def test_only_the_first_bom_is_a_bom() -> None:
    """A second U+FEFF is a character of the first column's name, as Salesforce would read it."""
    chunks, layout = split(BOM + BOM + b"Name\nAcme\n")
    assert layout.header == ["\ufeffName"] and chunks == [BOM + b"Name\nAcme\n"]


def test_a_bom_inside_a_record_is_data() -> None:
    data = b"Name\n" + BOM + b"Acme\n"
    assert split(data)[0] == [data]


def test_a_blank_first_line_after_a_bom_is_named() -> None:
    with pytest.raises(CsvInputError, match="first line is blank: it must be the header row"):
        split(BOM + b"\nName\nAcme\n")


# ------------------------------------------------------------------------------------------ bare CR line endings


@pytest.mark.parametrize("block_bytes", BLOCK_SIZES)
@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"Id\r001000000000001AAA\r001000000000002AAA\r", id="records"),
        pytest.param(b"Id\r001000000000001AAA", id="no-final-cr"),
        pytest.param(b"Id,Name\r001000000000001AAA,Acme\r", id="two-columns"),
        pytest.param(BOM + b'"Id"\r001000000000001AAA\r', id="bom-and-quoted-header"),
        pytest.param(b'"I\nd"\r001000000000001AAA\r', id="quoted-lf-in-the-header"),
        pytest.param(b"Id\r", id="header-only"),
    ],
)
def test_bare_cr_line_endings_are_named_with_how_to_convert(data: bytes, block_bytes: int) -> None:
    with pytest.raises(CsvInputError, match=BARE_CR) as caught:
        split(data, block_bytes=block_bytes)
    assert "header but no records" not in str(caught.value)
    assert "tr '\\r' '\\n'" in str(caught.value)  # an example of the conversion


@pytest.mark.parametrize("line_ending", ["LF", "CRLF"])
def test_bare_cr_is_named_whatever_line_ending_was_declared(line_ending: str) -> None:
    with pytest.raises(CsvInputError, match=BARE_CR):
        split(b"Id\r001000000000001AAA\r", line_ending=line_ending)


def test_bare_cr_is_named_before_a_missing_column() -> None:
    with pytest.raises(CsvInputError, match=BARE_CR):
        split(b"Name\rAcme\r", required_columns=["Id"])


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b'Name,Note\n"a\rb",x\n', id="cr-inside-quotes"),
        pytest.param(b"Name\r\nAcme\r\n", id="crlf"),
        pytest.param(b'"Na\rme"\nAcme\n', id="cr-inside-a-quoted-header"),
    ],
)
def test_a_cr_that_is_not_a_line_ending_is_still_fine(data: bytes) -> None:
    assert split(data)[0] == [data]


def test_a_header_without_any_line_break_still_has_no_records() -> None:
    with pytest.raises(CsvInputError, match="header but no records"):
        split(b"Id")


# ------------------------------------------------------------------------------------------ through the operator


def bulk_load(source: Path, **kwargs: Any) -> dict[str, Any]:
    operator = SalesforceBulkIngestOperator(
        task_id="load",
        object_type="Account",
        source=source.as_uri(),
        deferrable=False,
        poll_interval=0.1,
        **kwargs,
    )
    result: dict[str, Any] = with_fast_retries(operator).execute(context=task_context(FakeTI()))
    return result


def test_a_delete_file_with_a_bom_and_a_quoted_id_header_deletes(
    sfpy_conn: str, checker: Client, tmp_path: Path
) -> None:
    prefix = f"BomDelete {uuid.uuid4().hex[:8]}"
    accounts = checker.sobjects(object_type="Account")
    ids = [accounts.insert({"Name": f"{prefix} {i}"}).body["id"] for i in range(3)]
    source = tmp_path / "delete.csv"
    source.write_bytes(BOM + b'"Id"\r\n' + b"".join(f'"{i}"\r\n'.encode() for i in ids))
    bulk_load(source, operation="delete")
    left = checker.query(f"SELECT Id FROM Account WHERE Name LIKE '{prefix}%'").body["records"]
    assert left == []


def test_a_bare_cr_file_fails_before_any_job(emulator: Any, sfpy_conn: str, tmp_path: Path) -> None:
    source = tmp_path / "mac.csv"
    source.write_bytes(b"Name\rAcme\rBeta\r")
    emulator.clear_requests_log()
    with pytest.raises(AirflowException, match=f"the source CSV cannot be loaded: {BARE_CR}"):
        bulk_load(source, operation="insert")
    assert not requests_to(emulator.requests_log(), "/jobs/ingest")
