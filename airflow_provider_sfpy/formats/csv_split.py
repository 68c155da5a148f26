"""Split a CSV into Bulk API 2.0 uploads: whole records only, header repeated, each under the size limit.

Salesforce takes at most 100 MB per job upload, so a bigger file becomes several jobs. Records are
found with the csv module's own parser (a quoted field may hold commas and newlines); the record's
original text is copied byte for byte, so what Salesforce receives is exactly what the user wrote.
The source is read once, as a stream, and each chunk is spooled to a temporary file (memory stays
flat for a file of any size, and an upload can be re-read if it must be retried).

The same pass checks what would otherwise fail the job on Salesforce's side after a long upload,
and says precisely what is wrong: an empty file, a header with no rows, bytes that are not UTF-8, a
delimiter or line ending that does not match the file, ragged rows, a single record too big to
upload, and a missing Id / external id column.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import IO

DEFAULT_MAX_UPLOAD_BYTES = 100_000_000
SPOOL_BYTES = 8 * 1024 * 1024
DELIMITERS = {"COMMA": ",", "TAB": "\t", "PIPE": "|", "SEMICOLON": ";", "CARET": "^", "BACKQUOTE": "`"}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}


class CsvInputError(ValueError):
    """The CSV cannot be loaded as it is; the message says what to change."""


@dataclass
class CsvChunk:
    """One upload: a rewindable binary file holding the header and whole records."""

    file: IO[bytes]
    rows: int
    size: int
    first_row: int  # 1-based data row number of the chunk's first record

    def close(self) -> None:
        self.file.close()


@dataclass
class CsvLayout:
    header: list[str]
    delimiter: str
    line_ending: str  # "LF" or "CRLF"
    had_bom: bool


class _LineTap:
    """Iterates the text's physical lines for csv.reader and remembers those of the current record."""

    def __init__(self, lines: Iterator[str]) -> None:
        self._lines = lines
        self.taken: list[str] = []
        self.line_number = 0

    def __iter__(self) -> _LineTap:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.line_number += 1
        self.taken.append(line)
        return line


def _decode_lines(source: IO[bytes]) -> Iterator[str]:
    """UTF-8 lines with their original endings; a clear error at the first invalid byte."""
    text = io.TextIOWrapper(source, encoding="utf-8", newline="")
    line_number = 0
    try:
        for line in text:
            line_number += 1
            yield line
    except UnicodeDecodeError as exc:
        raise CsvInputError(
            f"the CSV is not valid UTF-8 (near line {line_number + 1}: {exc.reason}); "
            "Bulk API 2.0 reads UTF-8 only, so re-encode the file as UTF-8"
        ) from None


def _ending_of(line: str) -> str | None:
    if line.endswith("\r\n"):
        return "CRLF"
    if line.endswith("\n"):
        return "LF"
    return None


def split_csv(
    source: IO[bytes],
    *,
    max_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
    column_delimiter: str = "COMMA",
    line_ending: str | None = None,
    required_columns: Sequence[str] = (),
    layout_out: list[CsvLayout] | None = None,
) -> Iterator[CsvChunk]:
    """Yield upload-sized chunks of ``source``. ``line_ending=None`` takes the file's own.

    ``required_columns`` (e.g. ``["Id"]`` for delete) must appear in the header (case-insensitive).
    The detected layout is appended to ``layout_out`` when given.
    """
    if column_delimiter not in DELIMITERS:
        raise CsvInputError(f"column_delimiter must be one of {', '.join(DELIMITERS)}, not {column_delimiter!r}")
    if line_ending is not None and line_ending not in LINE_ENDINGS:
        raise CsvInputError(f"line_ending must be LF or CRLF, not {line_ending!r}")
    delimiter = DELIMITERS[column_delimiter]
    tap = _LineTap(_decode_lines(source))
    reader = csv.reader(tap, delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise CsvInputError("the CSV is empty: it needs a header row and at least one record") from None
    except csv.Error as exc:
        raise CsvInputError(f"the CSV header cannot be parsed: {exc}") from None
    header_text = "".join(tap.taken)
    had_bom = header_text.startswith("\ufeff")
    if had_bom:
        header_text = header_text[1:]
        header[0] = header[0].lstrip("\ufeff")
    found_ending = _ending_of(header_text)
    ending = _check_line_ending(found_ending, line_ending)
    _check_header(header, delimiter, column_delimiter, required_columns)
    if layout_out is not None:
        layout_out.append(CsvLayout(header, delimiter, ending, had_bom))
    header_bytes = header_text.encode("utf-8")
    if found_ending is None:  # a header with no line break ends the file
        raise CsvInputError("the CSV has a header but no records")
    if len(header_bytes) >= max_bytes:
        raise CsvInputError(f"the CSV header alone is {len(header_bytes):,} bytes, over the {max_bytes:,}-byte limit")

    chunk: CsvChunk | None = None
    data_row = 0
    width = len(header)
    for data_row, record in enumerate(_records(reader, tap), start=1):
        fields, text = record
        if len(fields) != width:
            raise CsvInputError(
                f"data row {data_row} (line {tap.line_number}) has {len(fields)} fields but the header has {width}; "
                "check its quoting and delimiters"
            )
        if not text.endswith(("\n", "\r\n")):
            text += LINE_ENDINGS[ending]
        elif _ending_of(text) != ending and line_ending is not None:
            raise CsvInputError(
                f"data row {data_row} ends with {_ending_of(text)} but line_ending is {ending}; "
                "set line_ending to match the file"
            )
        encoded = text.encode("utf-8")
        if len(header_bytes) + len(encoded) > max_bytes:
            raise CsvInputError(
                f"data row {data_row} is {len(encoded):,} bytes: with the header it exceeds the {max_bytes:,}-byte "
                "upload limit, so it cannot be loaded through Bulk API 2.0"
            )
        if chunk is not None and chunk.size + len(encoded) > max_bytes:
            chunk.file.seek(0)
            yield chunk
            chunk = None
        if chunk is None:
            spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - closed by CsvChunk.close
            spool.write(header_bytes)
            chunk = CsvChunk(spool, 0, len(header_bytes), data_row)
        chunk.file.write(encoded)
        chunk.size += len(encoded)
        chunk.rows += 1
    if chunk is None:
        raise CsvInputError("the CSV has a header but no records")
    chunk.file.seek(0)
    yield chunk


def _records(reader: Iterator[list[str]], tap: _LineTap) -> Iterator[tuple[list[str], str]]:
    while True:
        tap.taken = []
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise CsvInputError(f"the CSV cannot be parsed at line {tap.line_number}: {exc}") from None
        text = "".join(tap.taken)
        if not fields and text.strip() == "":
            continue  # a blank line
        yield fields, text


def _check_line_ending(found: str | None, wanted: str | None) -> str:
    if wanted is None:
        return found or "LF"
    if found is not None and found != wanted:
        raise CsvInputError(
            f"the file's lines end with {found} but line_ending is {wanted}; set line_ending='{found}' "
            "(or leave it unset to use the file's own)"
        )
    return wanted


def _check_header(header: list[str], delimiter: str, column_delimiter: str, required: Sequence[str]) -> None:
    if any(not name.strip() for name in header):
        raise CsvInputError("the CSV header has an empty column name")
    if len(header) == 1:
        for name, other in DELIMITERS.items():
            if other != delimiter and other in header[0]:
                raise CsvInputError(
                    f"the header {header[0]!r} looks delimited by {other!r}, not {delimiter!r}: "
                    f"set column_delimiter='{name}' instead of '{column_delimiter}'"
                )
    lowered = {name.strip().lower() for name in header}
    missing = [column for column in required if column.lower() not in lowered]
    if missing:
        raise CsvInputError(f"the CSV needs the column(s) {', '.join(missing)}; its header is {', '.join(header)}")
