"""A later page that contradicts a Parquet column's type turns the column to string for the whole file:
the rows already written are rewritten as text, one warning, the export goes on, memory stays one row group,
whether the file goes to a buffer, a local file or a write-only upload. (Through the operator against
the emulator: ``tests/operators/test_query_to_file_formats.py``.)"""

from __future__ import annotations

import io
import logging
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from airflow_provider_sfpy.formats.parquet_writer import ParquetRecordWriter  # noqa: E402


class WriteOnlyUpload(io.RawIOBase):
    """What an object-storage upload looks like to a writer: it takes bytes, and can neither seek nor read."""

    def __init__(self) -> None:
        self.received = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.received += bytes(data)
        return len(data)


def warnings_in(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def rewrites_in(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("Parquet: rewrote")]


@pytest.mark.parametrize(
    ("describe", "fitting", "text"),
    [
        ("int", [7, "12", 13.0], ["7", "12", "13"]),
        ("double", [1.5, "0.1", 35000000.0], ["1.5", "0.1", "35000000.0"]),
        ("boolean", [True, "false", False], ["true", "false", "false"]),
        ("date", ["2024-02-29", "2024-03-01", None], ["2024-02-29", "2024-03-01", None]),
        (
            "datetime",
            ["2024-01-31T12:00:00.123+0000", "2024-01-31T14:00:00.000+02:00", None],
            ["2024-01-31T12:00:00.123+0000", "2024-01-31T12:00:00.000+0000", None],
        ),
    ],
)
def test_a_later_page_contradicting_a_column_rewrites_it_as_text_in_the_whole_file(
    describe: str, fitting: list[Any], text: list[Any], caplog: pytest.LogCaptureFixture
) -> None:
    out = io.BytesIO()
    writer = ParquetRecordWriter(out, ["Id", "F__c"], {"F__c": describe})
    pages = [[{"Id": f"a{n}", "F__c": value}] for n, value in enumerate(fitting)]
    with caplog.at_level(logging.INFO):
        for page in pages:
            writer.write_page(page)
        writer.write_page([{"Id": "late", "F__c": "not a " + describe}, {"Id": "after", "F__c": None}])
        writer.write_page([{"Id": "last", "F__c": [1, 2]}])
        writer.close()
    parquet = pq.ParquetFile(io.BytesIO(out.getvalue()))
    assert str(parquet.schema_arrow.field("F__c").type) == "string"
    assert parquet.num_row_groups == 2  # the pages before the contradiction (rewritten), then the rest
    assert parquet.read().to_pydict() == {
        "Id": [f"a{n}" for n in range(len(fitting))] + ["late", "after", "last"],
        "F__c": [*text, "not a " + describe, None, "[1, 2]"],
    }
    warnings = warnings_in(caplog)
    assert len(warnings) == 1 and len(rewrites_in(caplog)) == 1
    assert "'F__c'" in warnings[0] and f"describe type {describe!r}" in warnings[0]
    assert f"page {len(fitting) + 1} holds a JSON string" in warnings[0] and "not a" not in warnings[0]


def test_a_column_turned_to_text_stays_text_and_is_rewritten_once(caplog: pytest.LogCaptureFixture) -> None:
    """Two columns contradicted on one page cost one rewrite; later contradictions cost nothing."""
    out = io.BytesIO()
    writer = ParquetRecordWriter(out, ["Count", "Amount", "Flag"], {"Count": "int", "Amount": "currency"})
    with caplog.at_level(logging.INFO):
        writer.write_page([{"Count": 1, "Amount": 2.5, "Flag": True}])
        writer.write_page([{"Count": "one", "Amount": True, "Flag": False}])
        writer.write_page([{"Count": "two", "Amount": "three", "Flag": "maybe"}])
        writer.write_page([{"Count": 4.5, "Amount": {"x": 1}, "Flag": None}])
        writer.close()
    table = pq.read_table(io.BytesIO(out.getvalue()))
    assert {field.name: str(field.type) for field in table.schema} == {
        "Count": "string",
        "Amount": "string",
        "Flag": "string",
    }
    assert table.to_pydict() == {
        "Count": ["1", "one", "two", "4.5"],
        "Amount": ["2.5", "true", "three", '{"x": 1}'],
        "Flag": ["true", "false", "maybe", None],
    }
    warnings = warnings_in(caplog)
    assert [w.split()[2] for w in warnings] == ["'Count'", "'Amount'", "'Flag'"]
    assert "JSON boolean" in warnings[1] and "(from its values on the first page" in warnings[2]
    assert len(rewrites_in(caplog)) == 2  # page 2 (Count and Amount together), page 3 (Flag)


def test_a_write_only_upload_receives_the_rewritten_file_whole(caplog: pytest.LogCaptureFixture) -> None:
    upload = WriteOnlyUpload()
    writer = ParquetRecordWriter(upload, ["Id", "Day"], {"Day": "date"})  # type: ignore[arg-type]
    writer.write_page([{"Id": "1", "Day": "2024-05-01"}])
    writer.write_page([{"Id": "2", "Day": "soon"}])
    writer.close()
    assert pq.read_table(io.BytesIO(bytes(upload.received))).to_pydict() == {
        "Id": ["1", "2"],
        "Day": ["2024-05-01", "soon"],
    }
    aborted = WriteOnlyUpload()
    writer = ParquetRecordWriter(aborted, ["Id"])  # type: ignore[arg-type]
    writer.write_page([{"Id": "1"}])
    writer.abort()
    assert aborted.received == b""  # a failed export sends nothing


def test_a_local_file_is_rewritten_in_place(tmp_path: Path) -> None:
    target = tmp_path / "f.parquet"
    with target.open("wb") as stream:
        stream.write(b"")
        writer = ParquetRecordWriter(stream, ["N"], {"N": "int"})
        writer.write_page([{"N": n} for n in range(3)])
        writer.write_page([{"N": "many"}])
        writer.close()
    assert pq.read_table(target).to_pydict() == {"N": ["0", "1", "2", "many"]}


def test_rewriting_a_large_file_holds_one_row_group_at_a_time(arrow_memory: Callable[[], Any]) -> None:
    """60 pages (about 25 MB in Arrow, in row groups of 2 pages) rewritten when page 61 contradicts a
    column: a rewrite that loaded the file whole would peak above the whole; one row group at a time
    stays near one row group."""
    rows, pages = 2000, 60
    filler = "x" * 200
    out = io.BytesIO()
    page_bytes = pa.table({"Note": [filler] * rows, "Amount": [0.5] * rows, "Id": ["0000-0000"] * rows}).nbytes
    writer = ParquetRecordWriter(
        out, ["Id", "Note", "Amount"], {"Amount": "double"}, row_group_bytes=2 * page_bytes + page_bytes // 2
    )
    for page in range(pages):
        records = [{"Id": f"{page}-{n}", "Note": filler, "Amount": n + 0.5} for n in range(rows)]
        writer.write_page(records)
    late = [{"Id": "late", "Note": filler, "Amount": "n/a"}]
    pool = arrow_memory()
    tracemalloc.start()
    try:
        writer.write_page(late)
        python_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    arrow_peak = pool.max_memory()
    writer.close()
    whole = page_bytes * pages
    assert arrow_peak < whole / 5, (arrow_peak, whole)
    assert python_peak < whole / 5, (python_peak, whole)
    parquet = pq.ParquetFile(io.BytesIO(out.getvalue()))
    assert parquet.metadata.num_rows == rows * pages + 1 and parquet.num_row_groups == pages // 2 + 1
    last_group = parquet.read_row_group(pages // 2 - 1).column("Amount").to_pylist()
    assert last_group == [f"{n + 0.5}" for n in range(rows)] * 2
