"""Parquet column types: describe's type where the values fit, the first page's where describe does not know,
lossless conversions only, string (with one warning) when the first page contradicts describe, and the text
a column's stored values get when a later page turns it to string (``tests/formats/test_parquet_widening.py``)."""

from __future__ import annotations

import datetime as dt
import io
import logging
from typing import Any

import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from airflow_provider_sfpy.formats.arrow_columns import (  # noqa: E402
    Column,
    ValueContradictsColumn,
    plan_column,
    stored_as_text,
)
from airflow_provider_sfpy.formats.parquet_writer import ParquetRecordWriter  # noqa: E402


@pytest.mark.parametrize(
    ("describe", "values", "arrow", "written"),
    [
        ("int", [12.0, "12", "-3", None, 7], pa.int64(), [12, 12, -3, None, 7]),
        ("double", [1, "1.5", "0.1", 2.5, None], pa.float64(), [1.0, 1.5, 0.1, 2.5, None]),
        ("boolean", ["true", False, None], pa.bool_(), [True, False, None]),
        ("date", ["2024-02-29", None], pa.date32(), [dt.date(2024, 2, 29), None]),
        (
            "datetime",
            ["2024-01-31T12:00:00.123+0000", "2024-01-31T14:00:00.000+02:00"],
            pa.timestamp("ms", tz="UTC"),
            [dt.datetime(2024, 1, 31, 12, 0, 0, 123000, tzinfo=dt.timezone.utc)] * 1
            + [dt.datetime(2024, 1, 31, 12, 0, tzinfo=dt.timezone.utc)],
        ),
    ],
)
def test_values_that_fit_losslessly_keep_describes_type(
    describe: str, values: list[Any], arrow: Any, written: list[Any], caplog: pytest.LogCaptureFixture
) -> None:
    column = plan_column(pa, "F__c", describe, values)
    assert column.arrow == arrow
    assert column.array(pa, values).to_pylist() == written
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.parametrize(
    ("describe", "values", "text"),
    [
        ("int", [1, 2.5], ["1", "2.5"]),
        ("int", ["012", 3], ["012", "3"]),
        ("int", [True, 1], ["true", "1"]),  # a boolean is never a number
        ("double", ["12345678901234567890.12"], ["12345678901234567890.12"]),  # a double would lose digits
        ("double", [2**60 + 1], [str(2**60 + 1)]),
        ("double", [True, 1.5], ["true", "1.5"]),
        ("boolean", [1, 0], ["1", "0"]),  # nor a number a boolean
        ("date", ["31/01/2024"], ["31/01/2024"]),
        ("datetime", ["2024-01-31T12:00:00.123456+0000"], ["2024-01-31T12:00:00.123456+0000"]),  # below ms
    ],
)
def test_a_first_page_contradicting_describe_is_written_as_string_with_one_warning(
    describe: str, values: list[Any], text: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        column = plan_column(pa, "F__c", describe, values)
        assert column.array(pa, values).to_pylist() == text
        column.array(pa, values)
    assert column.arrow == pa.string()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "'F__c'" in warnings[0] and repr(describe) in warnings[0]


@pytest.mark.parametrize(
    ("values", "arrow"),
    [
        ([1.5, 2, None], pa.float64()),
        ([2**60, 3], pa.int64()),  # too large for a double
        ([True, None, False], pa.bool_()),
        (["text", 1.5], pa.string()),
        ([None, None], pa.string()),
        ([{"city": "Paris"}], pa.string()),
    ],
)
def test_a_field_describe_does_not_know_is_typed_from_the_first_page(values: list[Any], arrow: Any) -> None:
    assert plan_column(pa, "expr0", None, values).arrow == arrow
    assert plan_column(pa, "expr0", "string", values).arrow == arrow  # describe's "string" is also "unknown"


def test_numbers_in_a_string_column_are_written_as_json_text_with_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    column = plan_column(pa, "Name", None, ["a", None])
    with caplog.at_level(logging.WARNING):
        assert column.array(pa, [1.5, True, 12, "b"]).to_pylist() == ["1.5", "true", "12", "b"]
        column.array(pa, [2.5])
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "'Name'" in warnings[0] and "number" in warnings[0]


def test_a_value_the_fixed_type_cannot_hold_is_reported_by_its_json_type_only() -> None:
    column = plan_column(pa, "Amount__c", "double", [1.5])
    with pytest.raises(ValueContradictsColumn, match=r"'Amount__c' cannot hold a JSON string") as info:
        column.array(pa, [2.5, "n/a"])
    assert info.value.kind == "string" and "n/a" not in str(info.value)  # values are customer data
    with pytest.raises(ValueContradictsColumn) as truncated:
        plan_column(pa, "Count", "int", [1]).array(pa, [3, 2.5])  # never truncated to 2
    assert truncated.value.kind == "number"


@pytest.mark.parametrize(
    ("describe", "values"),
    [
        ("int", [12, -3, None, 2**62]),
        ("double", [1.5, 0.1, 35000000.0, 1e16, 1.5e-07, 123456789.123, None]),
        ("boolean", [True, False, None]),
        ("date", ["2024-02-29", None]),
        ("datetime", ["2024-01-31T12:00:00.123+0000", "1999-12-31T23:59:59.000+0000", None]),
    ],
)
def test_stored_values_read_back_as_the_text_a_string_column_writes(describe: str, values: list[Any]) -> None:
    """Rows rewritten when a later page turns their column to string read like rows written as string."""
    stored = plan_column(pa, "F__c", describe, values).array(pa, values)
    assert stored.type != pa.string()
    as_string = Column("F__c", pa.string(), "test", warned=True).array(pa, values)
    assert stored_as_text(pa, stored).to_pylist() == as_string.to_pylist()


def test_the_writer_types_columns_on_the_first_page_and_writes_a_zero_row_file() -> None:
    out = io.BytesIO()
    writer = ParquetRecordWriter(out, ["Id", "expr0"], {"Id": "id"})
    writer.write_page([{"Id": "001", "expr0": 3}, {"Id": "002", "expr0": 4.5}])
    writer.write_page([{"Id": "003", "expr0": 5}])
    writer.close()
    table = pq.read_table(io.BytesIO(out.getvalue()))
    assert table.to_pydict() == {"Id": ["001", "002", "003"], "expr0": [3.0, 4.5, 5.0]}
    empty = io.BytesIO()
    writer = ParquetRecordWriter(empty, ["Id", "Amount"], {"Amount": "currency"})
    writer.close()
    assert {f.name: str(f.type) for f in pq.read_schema(io.BytesIO(empty.getvalue()))} == {
        "Id": "string",
        "Amount": "double",
    }
