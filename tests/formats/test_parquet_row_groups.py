"""Parquet pages are gathered into row groups of bounded size: not one row group per page (a footer
entry per column chunk, kept in pyarrow's memory until the file closes, made a wide export's memory
grow with its rows), and never more than the budget held (memory flat in rows). Widening a column
after some pages are written and some held still rewrites every row. (Type rules and widening
themselves: ``test_arrow_columns.py``, ``test_parquet_widening.py``.)"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from typing import Any

import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from airflow_provider_sfpy.formats.parquet_writer import ParquetRecordWriter  # noqa: E402

#: A wide object's fields, cycling through the types an export writes differently.
_WIDE_TYPES = ("string", "double", "textarea", "int", "boolean", "date", "datetime")
_WIDE_FIELDS = ["Id"] + [f"F{n:03d}__c" for n in range(70)]
_WIDE_DESCRIBE = {name: _WIDE_TYPES[n % len(_WIDE_TYPES)] for n, name in enumerate(_WIDE_FIELDS[1:])}


_WIDE_VALUES: dict[str, Callable[[int], Any]] = {
    "string": lambda row: f"name {row}",
    "double": lambda row: row + 0.25,
    "textarea": lambda row: f"Line one of {row}\nLine two, naïve café",
    "int": lambda row: row,
    "boolean": lambda row: row % 2 == 0,
    "date": lambda row: f"2024-03-{row % 28 + 1:02d}",
    "datetime": lambda row: f"2024-03-01T12:{row % 60:02d}:00.000+0000",
}


def _wide_value(salesforce_type: str, row: int) -> Any:
    return None if row % 10 == 3 else _WIDE_VALUES[salesforce_type](row)


def wide_page(page: int, rows: int = 200) -> list[dict[str, Any]]:
    """One query page of the wide object: ``rows`` records of 71 fields."""
    records = []
    for n in range(rows):
        row = page * rows + n
        record: dict[str, Any] = {"attributes": {"type": "Wide__c"}, "Id": f"a0W{row:012d}"}
        record.update({name: _wide_value(kind, row) for name, kind in _WIDE_DESCRIBE.items()})
        records.append(record)
    return records


def test_pages_of_a_wide_export_are_gathered_into_one_row_group_not_one_per_page() -> None:
    pages = 20
    out = io.BytesIO()
    writer = ParquetRecordWriter(out, _WIDE_FIELDS, _WIDE_DESCRIBE)
    for page in range(pages):
        writer.write_page(wide_page(page))
    writer.close()
    parquet = pq.ParquetFile(io.BytesIO(out.getvalue()))
    assert parquet.num_row_groups == 1  # 4,000 rows of 71 columns are far below a row group's budget
    assert parquet.metadata.row_group(0).num_rows == pages * 200
    table = parquet.read()
    assert table.column("Id").to_pylist() == [f"a0W{row:012d}" for row in range(pages * 200)]
    assert {field.name: str(field.type) for field in table.schema if field.name in ("F001__c", "F006__c")} == {
        "F001__c": "double",
        "F006__c": "timestamp[ms, tz=UTC]",
    }
    assert table.column("F005__c").to_pylist()[:4] == [
        dt.date(2024, 3, 1),
        dt.date(2024, 3, 2),
        dt.date(2024, 3, 3),
        None,
    ]


def test_row_groups_stay_within_the_budget_and_memory_stays_one_row_group(arrow_memory: Callable[[], Any]) -> None:
    """80 pages (about 13 MB in Arrow) with a 1 MiB budget: row groups of whole pages, each within the
    budget, and Arrow's peak near one row group, not the export (a writer holding every page until
    the file closes would peak above the whole)."""
    budget, pages = 1024 * 1024, 80
    out = io.BytesIO()
    pool = arrow_memory()
    writer = ParquetRecordWriter(out, _WIDE_FIELDS, _WIDE_DESCRIBE, row_group_bytes=budget)
    writer.write_page(wide_page(0))
    page_bytes = pool.bytes_allocated()  # the held first page, before anything is written
    for page in range(1, pages):
        writer.write_page(wide_page(page))
    writer.close()
    whole = page_bytes * pages
    assert pool.max_memory() < 2 * budget < whole / 4, (pool.max_memory(), budget, whole)
    metadata = pq.ParquetFile(io.BytesIO(out.getvalue())).metadata
    pages_per_group = budget // page_bytes
    assert 2 <= pages_per_group < pages / 4
    sizes = [metadata.row_group(group).num_rows for group in range(metadata.num_row_groups)]
    assert sum(sizes) == pages * 200 and all(size % 200 == 0 for size in sizes)  # whole pages
    assert max(sizes) <= pages_per_group * 200 and metadata.num_row_groups <= pages / pages_per_group + 1


def test_a_row_group_takes_at_most_its_row_budget() -> None:
    out = io.BytesIO()
    writer = ParquetRecordWriter(out, ["Id", "N"], {"N": "int"}, row_group_rows=500)
    for page in range(7):
        writer.write_page([{"Id": f"{page}-{n}", "N": n} for n in range(200)])
    writer.close()
    metadata = pq.ParquetFile(io.BytesIO(out.getvalue())).metadata
    assert [metadata.row_group(g).num_rows for g in range(metadata.num_row_groups)] == [400, 400, 400, 200]


def test_widening_rewrites_row_groups_written_and_pages_held() -> None:
    """Pages 1-4 written as two row groups, page 5 held, page 6 contradicts: every row becomes text."""
    out = io.BytesIO()
    writer = ParquetRecordWriter(out, ["Id", "N"], {"N": "int"}, row_group_rows=2)
    for n in range(5):
        writer.write_page([{"Id": str(n), "N": n}])
    writer.write_page([{"Id": "late", "N": "many"}])
    writer.write_page([{"Id": "last", "N": 7}])
    writer.close()
    parquet = pq.ParquetFile(io.BytesIO(out.getvalue()))
    assert str(parquet.schema_arrow.field("N").type) == "string"
    assert parquet.read().to_pydict() == {
        "Id": ["0", "1", "2", "3", "4", "late", "last"],
        "N": ["0", "1", "2", "3", "4", "many", "7"],
    }


def test_abort_drops_the_held_pages() -> None:
    """A failed export spends nothing more on the file it discards: the held page is never written."""
    target = io.BytesIO()
    writer = ParquetRecordWriter(target, ["Id"], row_group_rows=2)
    for n in range(3):
        writer.write_page([{"Id": str(n)}])  # pages 1-2 written as a row group, page 3 held
    writer.abort()
    assert pq.read_table(io.BytesIO(target.getvalue())).column("Id").to_pylist() == ["0", "1"]
