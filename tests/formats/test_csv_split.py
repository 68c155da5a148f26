"""The Bulk upload splitter: whole records, header repeated, limits, and every bad input explained."""

from __future__ import annotations

import csv
import io

import pytest

from airflow_provider_sfpy.formats.csv_split import CsvInputError, CsvLayout, split_csv


def chunks_of(data: bytes, **kwargs: object) -> list[bytes]:
    out = []
    for chunk in split_csv(io.BytesIO(data), **kwargs):  # type: ignore[arg-type]
        out.append(chunk.file.read())
        assert len(out[-1]) == chunk.size
        chunk.close()
    return out


def test_records_with_quoted_newlines_stay_whole_and_the_header_repeats() -> None:
    rows = [["Name", "Description"]] + [[f"Co {n}, Ltd", f'line one\r\nline "two" {n}'] for n in range(50)]
    text = io.StringIO()
    csv.writer(text).writerows(rows)
    data = text.getvalue().encode()
    pieces = chunks_of(data, max_bytes=300)
    assert len(pieces) > 3 and all(len(p) <= 300 for p in pieces)
    rebuilt = [list(csv.reader(io.StringIO(p.decode(), newline=""))) for p in pieces]
    assert all(r[0] == ["Name", "Description"] for r in rebuilt)
    assert [row for r in rebuilt for row in r[1:]] == rows[1:]
    header = b"Name,Description\r\n"
    assert header + b"".join(p[len(header) :] for p in pieces) == data


def test_bom_is_dropped_and_line_ending_detected() -> None:
    layout: list[CsvLayout] = []
    (piece,) = chunks_of(b"\xef\xbb\xbfName\r\nAcme\r\n", layout_out=layout)
    assert piece == b"Name\r\nAcme\r\n"
    assert layout[0].had_bom and layout[0].line_ending == "CRLF" and layout[0].header == ["Name"]


def test_last_record_without_newline_gets_one() -> None:
    assert chunks_of(b"Name\nAcme") == [b"Name\nAcme\n"]


@pytest.mark.parametrize(
    ("data", "kwargs", "message"),
    [
        (b"", {}, "the CSV is empty"),
        (b"Name,Industry\n", {}, "header but no records"),
        (b"Name,Industry", {}, "header but no records"),
        (b"Name,Industry\nAcme\n", {}, "data row 1 .* has 1 fields but the header has 2"),
        (b"Name;Industry\nAcme;Banking\n", {}, "set column_delimiter='SEMICOLON'"),
        (b"Name\r\nAcme\r\n", {"line_ending": "LF"}, "end with CRLF but line_ending is LF"),
        (b"Name\nAcme \xff\xfe\n", {}, "not valid UTF-8"),
        (b"Name\n" + b"x" * 100 + b"\n", {"max_bytes": 50}, "data row 1 is 101 bytes"),
        (b"Name\nAcme\n", {"required_columns": ["Id"]}, "needs the column"),
        (b'Name\n"unterminated\n', {}, "cannot be parsed|fields"),
        (b"Name\nAcme\n", {"column_delimiter": "COLON"}, "column_delimiter must be one of"),
    ],
)
def test_bad_input_is_explained(data: bytes, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(CsvInputError, match=message):
        chunks_of(data, **kwargs)


def test_tab_delimited() -> None:
    assert chunks_of(b"Name\tIndustry\nAcme\tBanking\n", column_delimiter="TAB") == [b"Name\tIndustry\nAcme\tBanking\n"]
