"""The Bulk upload splitter: whole records, header repeated, limits, and every bad input explained."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_sfpy.formats import csv_split
from airflow_provider_sfpy.formats.csv_split import CsvInputError, CsvLayout, _Lines, split_csv

# Block sizes small enough that every CR LF, every multi-byte character and every line is cut somewhere.
TINY_BLOCKS = [1, 2, 3, 4, 5, 6, 7]


def chunks_of(data: bytes, **kwargs: object) -> list[bytes]:
    out = []
    for chunk in split_csv(io.BytesIO(data), **kwargs):  # type: ignore[arg-type]
        out.append(chunk.file.read())
        assert len(out[-1]) == chunk.size
        chunk.close()
    return out


def outcome(data: bytes, **kwargs: Any) -> list[Any]:
    """Everything split_csv gives for ``data``: each chunk's bytes and counts, the layout, then the error if any."""
    out: list[Any] = []
    layout: list[CsvLayout] = []
    try:
        for chunk in split_csv(io.BytesIO(data), layout_out=layout, **kwargs):
            out.append((chunk.file.read(), chunk.rows, chunk.size, chunk.first_row))
            chunk.close()
    except CsvInputError as exc:
        out.append(str(exc))
    return [*out, layout]


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


# ---------------------------------------------------------------- reading the source in blocks


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"Name,Note\r\nAcme,x\r\nBeta,y\r\n", id="crlf"),
        pytest.param("Name,City\nAcme,Zürich\nBeta,北京\nGamma,🚀🚀\n".encode(), id="multi-byte"),
        pytest.param('\ufeffName,Note\r\nAcme,"two\r\nlines, é"\r\n'.encode(), id="bom-and-quoted-crlf"),
        pytest.param(b'Name,Note\n"a\rb",x\n', id="lone-cr-in-quotes"),
        pytest.param('Name,Note\n"a\u2028b\x0bc\x1cd\x85e",x\nf\u2028g\x0ch,y\n'.encode(), id="other-breaks"),
        pytest.param(b"Name,Note\nAcme,x\nBeta,y", id="no-final-newline"),
        pytest.param(b"Name,Note\r\nAcme,x\r\nBeta,y\r", id="final-lone-cr"),
        pytest.param(b"Name\n\nAcme\n\r\n\nBeta\n", id="blank-lines"),
    ],
)
def test_every_block_size_gives_the_same_chunks(data: bytes) -> None:
    expected = outcome(data)
    assert not isinstance(expected[0], str)  # these files load
    for block_bytes in TINY_BLOCKS:
        assert outcome(data, block_bytes=block_bytes) == expected, block_bytes
        assert outcome(data, block_bytes=block_bytes, max_bytes=30) == outcome(data, max_bytes=30), block_bytes


@pytest.mark.parametrize("block_bytes", [*TINY_BLOCKS, csv_split.READ_BLOCK_BYTES])
def test_crlf_cut_between_blocks_is_one_line_ending(block_bytes: int) -> None:
    data = b"Name,Note\r\nAcme,x\r\nBeta,y\r\n"
    layout: list[CsvLayout] = []
    pieces = chunks_of(data, line_ending="CRLF", layout_out=layout, block_bytes=block_bytes)
    assert pieces == [data] and layout[0].line_ending == "CRLF"


@pytest.mark.parametrize("block_bytes", [*TINY_BLOCKS, csv_split.READ_BLOCK_BYTES])
def test_multi_byte_characters_cut_between_blocks_stay_whole(block_bytes: int) -> None:
    data = "Name,City\nAcme,Zürich\nBeta,北京\nGamma,🚀👩\u200d💻\n".encode()
    (piece,) = chunks_of(data, block_bytes=block_bytes)
    assert piece == data
    assert list(csv.reader(io.StringIO(piece.decode(), newline="")))[3] == ["Gamma", "🚀👩\u200d💻"]


@pytest.mark.parametrize("block_bytes", [*TINY_BLOCKS, csv_split.READ_BLOCK_BYTES])
@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"Name\nAcme\nBad \xff\nMore\n", r"near line 3: invalid start byte"),
        (b"Name\nAcme\n\xffBad\n", r"near line 3: invalid start byte"),
        (b"Name\r\nAcme\r\n\r\nBad \xe2\x82\r\nMore\r\n", r"near line 4: invalid continuation byte"),  # cut "€"
        (b'Name\n"one\ntwo \x80"\n', r"near line 3: invalid start byte"),  # inside a quoted field
        (b"Name\nAcme\nBad \xe2\x82", r"near line 3: unexpected end of data"),  # cut at the end of the file
        (b"\xef\xbb\xbfName \xc3\nAcme\n", r"near line 1: invalid continuation byte"),
    ],
)
def test_invalid_utf8_names_its_own_line_at_any_block_boundary(block_bytes: int, data: bytes, message: str) -> None:
    with pytest.raises(CsvInputError, match=f"not valid UTF-8 \\({message}\\)"):
        chunks_of(data, block_bytes=block_bytes)


def test_invalid_utf8_far_into_the_file_names_its_exact_line() -> None:
    data = b"Name\n" + b"Acme\n" * 5000 + b"Bad \xff\n"
    with pytest.raises(CsvInputError, match=r"near line 5002: invalid start byte"):
        chunks_of(data)


@pytest.mark.parametrize("block_bytes", [*TINY_BLOCKS, csv_split.READ_BLOCK_BYTES])
def test_lone_cr_ends_a_line_as_with_open_newline_empty(block_bytes: int) -> None:
    # Quoted, a lone CR is part of the value; unquoted, it ends the record (as csv.reader reads open(newline="")).
    assert chunks_of(b'Name,Note\n"a\rb",x\n', block_bytes=block_bytes) == [b'Name,Note\n"a\rb",x\n']
    assert chunks_of(b"Name\nAcme\rBeta\n", block_bytes=block_bytes, max_bytes=12) == [
        b"Name\nAcme\r\n",
        b"Name\nBeta\n",
    ]
    assert chunks_of(b"Name\r\nAcme\r", block_bytes=block_bytes) == [b"Name\r\nAcme\r\r\n"]


@pytest.mark.parametrize("block_bytes", [*TINY_BLOCKS, csv_split.READ_BLOCK_BYTES])
def test_unicode_line_separators_stay_inside_the_field(block_bytes: int) -> None:
    data = 'Name,Note\n"a\u2028b",x\nc\u2029d\x0be\x0cf\x1cg\x1dh\x1ei\x85j,y\n'.encode()
    (piece,) = chunks_of(data, block_bytes=block_bytes)
    assert piece == data
    assert list(csv.reader(io.StringIO(piece.decode(), newline="")))[1:] == [
        ["a\u2028b", "x"],
        ["c\u2029d\x0be\x0cf\x1cg\x1dh\x1ei\x85j", "y"],
    ]


@pytest.mark.parametrize("block_bytes", [*TINY_BLOCKS, csv_split.READ_BLOCK_BYTES])
def test_final_line_without_newline_at_any_block_size(block_bytes: int) -> None:
    assert chunks_of(b"Name,Note\r\nAcme,x\r\nBeta,\xc3\xa9", block_bytes=block_bytes) == [
        b"Name,Note\r\nAcme,x\r\nBeta,\xc3\xa9\r\n"
    ]


@pytest.mark.parametrize("block_bytes", [*TINY_BLOCKS, csv_split.READ_BLOCK_BYTES])
def test_errors_name_the_same_line_at_any_block_size(block_bytes: int) -> None:
    with pytest.raises(CsvInputError, match=r"data row 2 \(line 4\) has 1 fields but the header has 2"):
        chunks_of(b'Name,Note\nAcme,"x\ny"\nBeta\n', block_bytes=block_bytes)
    with pytest.raises(CsvInputError, match=r"cannot be parsed at line 3: ',' expected after '\"'"):
        chunks_of(b'Name,Note\nAcme,x\n"Beta"y,z\n', block_bytes=block_bytes)


def test_a_record_longer_than_many_blocks() -> None:
    data = b'Name,Note\n"' + "é\r\n".encode() * 40_000 + b'",x\nAcme,y\n'
    assert chunks_of(data, block_bytes=1000) == [data]


def test_batched_writes_keep_every_byte(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [["Name", "Note"]] + [[f"Co {n}", "é\r\nline" * (n % 4)] for n in range(200)]
    text = io.StringIO()
    csv.writer(text).writerows(rows)
    data = text.getvalue().encode()
    expected = outcome(data, max_bytes=500)
    for batch in (1, 7, 100):
        monkeypatch.setattr(csv_split, "WRITE_BATCH_BYTES", batch)
        assert outcome(data, max_bytes=500) == expected


class AttributeCountingFile:
    """Like ObjectStoragePath.open(): every attribute of the file goes through Python code."""

    def __init__(self, data: bytes) -> None:
        self._file = io.BytesIO(data)
        self.lookups = 0

    def __getattr__(self, name: str) -> Any:
        self.lookups += 1
        return getattr(self._file, name)


def test_the_source_is_called_per_block_not_per_line() -> None:
    data = b"Name,Note\n" + b'Acme,"x\ny"\n' * 20_000
    source = AttributeCountingFile(data)
    pieces = [chunk.file.read() for chunk in split_csv(source, block_bytes=64 * 1024)]  # type: ignore[arg-type]
    assert pieces == [data]
    assert source.lookups < 5  # not one per line (40,001 of them)


# Pieces that matter to line splitting and decoding: every line ending, the characters str.splitlines
# would wrongly split at, multi-byte characters and their pieces, a BOM, invalid bytes.
PIECES = st.sampled_from(
    [b"\r", b"\n", b"\r\n", b"\r\r\n", b'"', b",", b"a", b"Id"]
    + [c.encode() for c in ("é", "北", "🚀", "\u2028", "\u2029", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85")]
    + [b"\xef\xbb\xbf", b"\xff", b"\x80", b"\xe2\x82", b"\xf0\x9f"]
)
RAW = st.lists(PIECES, max_size=40).map(b"".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(RAW, st.integers(min_value=1, max_value=9))
def test_lines_are_those_of_open_newline_empty_at_any_block_size(data: bytes, block_bytes: int) -> None:
    """What csv.reader is given is what it was given from io.TextIOWrapper(newline=""), line by line."""
    expected: list[str] = []
    expected_error = None
    text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", newline="")
    text._CHUNK_SIZE = 1  # type: ignore[attr-defined]  # decode as it goes, so the error comes at its line
    try:
        expected.extend(text)
    except UnicodeDecodeError as exc:
        expected_error = exc.reason
    got: list[str] = []
    error = None
    try:
        for block in _Lines(io.BytesIO(data), block_bytes).blocks():
            got.extend(block)
    except CsvInputError as exc:
        error = str(exc)
    if expected_error is None:
        assert error is None and got == expected
    else:
        # TextIOWrapper reads one byte past a line's last CR (is it CR LF?), so it fails one line early there.
        assert error is not None and f"{expected_error})" in error
        assert got == expected or (got[:-1] == expected and got[-1].endswith("\r"))
        assert f"near line {len(got) + 1}:" in error


@st.composite
def csv_files(draw: st.DrawFn) -> bytes:
    terminator = draw(st.sampled_from(["\n", "\r\n"]))
    width = draw(st.integers(min_value=1, max_value=3))
    lines = [",".join(["Id", "Name", "Note"][:width]) + terminator]
    for _ in range(draw(st.integers(min_value=0, max_value=12))):
        fields = draw(st.lists(st.lists(PIECES, max_size=4).map(b"".join), min_size=width, max_size=width))
        cells = [b'"' + f.replace(b'"', b'""') + b'"' if draw(st.booleans()) else f for f in fields]
        lines.append(b",".join(cells).decode("utf-8", "surrogateescape") + draw(st.sampled_from([terminator, "\r"])))
    data = "".join(lines).encode("utf-8", "surrogateescape")
    return data[: len(data) - draw(st.integers(min_value=0, max_value=2))]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    csv_files(),
    st.integers(min_value=10, max_value=200),
    st.sampled_from([None, "LF", "CRLF"]),
    st.integers(min_value=1, max_value=9),
)
def test_block_size_never_changes_the_result(data: bytes, max_bytes: int, line_ending: str | None, block: int) -> None:
    """Chunks, counts, layout and error message: the same whatever the block size."""
    kwargs = {"max_bytes": max_bytes, "line_ending": line_ending}
    assert outcome(data, block_bytes=block, **kwargs) == outcome(data, **kwargs)
