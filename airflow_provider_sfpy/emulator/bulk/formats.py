"""CSV as Bulk API 2.0 speaks it: the job's column delimiter and line ending, read strictly, written quoted.

Reading is where Salesforce is unforgiving, and the emulator must be too, or a client bug ships: every
record must end with the job's ``lineEnding`` (a CRLF file in an LF job fails the whole job with
``ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is LF``), quotes follow
RFC 4180, and a UTF-8 byte order mark is *not* skipped — Salesforce reads it as the start of the first
header field, so ``\\ufeff"Name"`` fails with an unescaped-quote error and ``\\ufeffName`` as an unknown
field. The ``csv`` module does the parsing; ``UploadReader`` only watches which physical lines each record
consumed, which is how the record terminator is checked and how a record's raw text is kept for
``unprocessedrecords``.

Writing follows what Salesforce returns: every value double-quoted (``"001...","true","Acme"``), in the
job's delimiter and line ending.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

COLUMN_DELIMITERS: dict[str, str] = {
    "BACKQUOTE": "`",
    "CARET": "^",
    "COMMA": ",",
    "PIPE": "|",
    "SEMICOLON": ";",
    "TAB": "\t",
}
LINE_ENDINGS: dict[str, str] = {"LF": "\n", "CRLF": "\r\n"}
BOM = "\ufeff"
#: Salesforce's per-field limit (131,072 characters) happens to be the csv module's default too.
csv.field_size_limit(131_072)

UNESCAPED_QUOTE = (
    "InvalidBatch : Failed to parse CSV. Found unescaped quote. A value with quote should be within a quote"
)
UNCLOSED_QUOTE = "InvalidBatch : Failed to parse CSV. EOF reached before closing an opened quote"
NOT_UTF8 = "InvalidBatch : Failed to parse CSV. The data is not valid UTF-8"
READ_BLOCK = 4 * 1024 * 1024


@dataclass(frozen=True)
class CsvFormat:
    """A job's ``columnDelimiter`` and ``lineEnding`` (their API names, already validated)."""

    column_delimiter: str = "COMMA"
    line_ending: str = "LF"

    @property
    def delimiter(self) -> str:
        return COLUMN_DELIMITERS[self.column_delimiter]

    @property
    def terminator(self) -> str:
        return LINE_ENDINGS[self.line_ending]


class CsvParseError(Exception):
    """The upload cannot be read as the job's CSV; ``message`` is the job's ``errorMessage``."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RowFormatter:
    """Formats rows as Salesforce writes result CSVs: every value quoted, the job's delimiter and ending.

    The ``csv`` writer hands each complete line to ``write`` in one call, so this object is its own
    sink and ``line`` returns exactly one formatted record.
    """

    def __init__(self, fmt: CsvFormat) -> None:
        self._lines: list[str] = []
        self._writer = csv.writer(self, delimiter=fmt.delimiter, lineterminator=fmt.terminator, quoting=csv.QUOTE_ALL)

    def write(self, text: str) -> None:
        self._lines.append(text)

    def line(self, row: Iterable[object]) -> str:
        self._writer.writerow(row)
        return self._lines.pop()


@dataclass(frozen=True)
class Record:
    """One data record of an upload as sent: its values and its raw text, terminator included."""

    values: list[str]
    raw: str


class UploadReader:
    """Reads an uploaded CSV strictly, as ``csv_format`` says, raising ``CsvParseError`` on bad input.

    ``header`` / ``raw_header`` are available after construction. Then either ``records()``, which
    checks each record's terminator and keeps its raw text, or ``rows()``, the fast path: values only,
    for a file whose line endings ``line_endings_are_uniform`` has vouched for. Blank lines are
    skipped. Use as a context manager to close the file.
    """

    def __init__(self, path: Path, csv_format: CsvFormat) -> None:
        self._format = csv_format
        self._file: IO[str] = path.open(encoding="utf-8", newline="")
        self._consumed: list[str] = []
        self._reader = csv.reader(self._track(self._file), **_dialect(csv_format))
        self.header: list[str] = []
        self.raw_header = ""
        try:
            first = self._next()
        except BaseException:
            self._file.close()
            raise
        if first is not None:
            self.header, self.raw_header = first
            if any('"' in name for name in self.header):
                self._file.close()
                raise CsvParseError(UNESCAPED_QUOTE)

    def __enter__(self) -> UploadReader:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._file.close()

    def records(self) -> Iterator[Record]:
        number = 0
        while (item := self._next()) is not None:
            number += 1
            self._check_width(item[0], number)
            yield Record(*item)

    def rows(self) -> Iterator[list[str]]:
        """The remaining records' values, parsed straight from the file (no per-line bookkeeping)."""
        reader = csv.reader(self._file, **_dialect(self._format))
        width = len(self.header)
        number = 0
        try:
            for values in reader:
                if not values:
                    continue
                number += 1
                if len(values) != width:
                    self._check_width(values, number)
                yield values
        except csv.Error as exc:
            raise CsvParseError(_csv_error_message(exc)) from None
        except UnicodeDecodeError:
            raise CsvParseError(NOT_UTF8) from None

    def _check_width(self, values: list[str], number: int) -> None:
        if len(values) != len(self.header):
            raise CsvParseError(
                f"ClientInputError : Wrong number of columns in row {number}: "
                f"expected {len(self.header)}, found {len(values)}"
            )

    def _track(self, lines: Iterable[str]) -> Iterator[str]:
        consumed = self._consumed
        for line in lines:
            consumed.append(line)
            yield line

    def _next(self) -> tuple[list[str], str] | None:
        """The next non-blank record and its raw text, after checking how it ended."""
        while True:
            try:
                values = next(self._reader)
            except StopIteration:
                return None
            except csv.Error as exc:
                raise CsvParseError(_csv_error_message(exc)) from None
            except UnicodeDecodeError:
                raise CsvParseError(NOT_UTF8) from None
            consumed = self._consumed
            raw = consumed[0] if len(consumed) == 1 else "".join(consumed)
            self._check_line_ending(consumed[-1])
            consumed.clear()
            if values:
                return values, raw

    def _check_line_ending(self, last_line: str) -> None:
        """The line that ended the record must end with the job's terminator (the file's last line may
        have none)."""
        if last_line.endswith("\n"):
            matches = last_line.endswith("\r\n") == (self._format.line_ending == "CRLF")
        else:  # a bare CR matches neither setting; no terminator at all is the file's end
            matches = not last_line.endswith("\r")
        if not matches:
            raise CsvParseError(
                "ClientInputError : LineEnding is invalid on user data. "
                f"Current LineEnding setting is {self._format.line_ending}"
            )


def _dialect(fmt: CsvFormat) -> dict[str, Any]:
    return {"delimiter": fmt.delimiter, "quotechar": '"', "doublequote": True, "strict": True}


def line_endings_are_uniform(path: Path, fmt: CsvFormat) -> bool:
    """A byte scan (gigabytes per second) that proves every line break in the file is the job's line
    ending: no CR at all for LF, no CR or LF outside a CRLF pair for CRLF. ``False`` means "cannot
    tell here" — a CR may sit inside a quoted value — and the record-by-record check must decide."""
    with path.open("rb") as data:
        previous = b""
        while block := data.read(READ_BLOCK):
            if fmt.line_ending == "LF":
                if b"\r" in block:
                    return False
                continue
            if not _crlf_only(block, previous):
                return False
            previous = block[-1:]
        return previous != b"\r"


def _crlf_only(block: bytes, previous: bytes) -> bool:
    """Every LF of ``block`` follows a CR and every CR precedes an LF (across block boundaries too)."""
    spanning = previous == b"\r"
    if spanning and not block.startswith(b"\n"):
        return False
    pairs = block.count(b"\r\n")
    return block.count(b"\n") == pairs + spanning and block.count(b"\r") == pairs + block.endswith(b"\r")


def _csv_error_message(exc: csv.Error) -> str:
    text = str(exc)
    if "expected after" in text:
        return UNESCAPED_QUOTE
    if "unexpected end of data" in text or "EOF" in text:
        return UNCLOSED_QUOTE
    if "field larger than field limit" in text:
        return "InvalidBatch : Failed to parse CSV. A field value exceeds the limit of 131072 characters"
    return f"InvalidBatch : Failed to parse CSV. {text}"


def strip_terminator(raw: str) -> str:
    """A raw record line without its line ending."""
    return raw.rstrip("\r\n")


def header_line(prefix: Sequence[str], raw_header: str, fmt: CsvFormat) -> str:
    """A result file's header: Salesforce's own columns quoted, then the upload's header as it was sent."""
    quoted = fmt.delimiter.join(f'"{name}"' for name in prefix)
    original = strip_terminator(raw_header)
    return (quoted + fmt.delimiter + original if original else quoted) + fmt.terminator
