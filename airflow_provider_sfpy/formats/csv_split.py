"""Split a CSV into Bulk API 2.0 uploads: whole records only, header repeated, each under the size limit.

Salesforce takes at most 100 MB per job upload, so a bigger file becomes several jobs. Records are
found with the csv module's own parser (a quoted field may hold commas and newlines); the record's
original text is copied byte for byte, so what Salesforce receives is exactly what the user wrote.
The source is read once, as a stream of large blocks (one ``read()`` per block, never per line: a
file object whose attributes are Python code, like Airflow's ``ObjectStoragePath.open()`` wrapper,
would otherwise cost a Python call per line), and each chunk is spooled to a temporary file (memory
stays flat for a file of any size, and an upload can be re-read if it must be retried).

The same pass checks what would otherwise fail the job on Salesforce's side after a long upload,
and says precisely what is wrong: an empty file, a header with no rows, bytes that are not UTF-8, a
delimiter or line ending that does not match the file, ragged rows, a single record too big to
upload, and a missing Id / external id column.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

DEFAULT_MAX_UPLOAD_BYTES = 100_000_000
SPOOL_BYTES = 8 * 1024 * 1024
READ_BLOCK_BYTES = 256 * 1024  # the source is read this much at a time (one read() call per block)
WRITE_BATCH_BYTES = 256 * 1024  # records are written to a chunk's spool file this much at a time
DELIMITERS = {"COMMA": ",", "TAB": "\t", "PIPE": "|", "SEMICOLON": ";", "CARET": "^", "BACKQUOTE": "`"}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
BARE_CR = (
    "the file's lines end with a bare CR (old Mac style); Bulk API 2.0 takes LF or CRLF: convert it, "
    "e.g. with `tr '\\r' '\\n' < old.csv > new.csv` or by saving it again with LF or CRLF line endings"
)


class CsvInputError(ValueError):
    """The CSV cannot be loaded as it is; the message says what to change."""


@dataclass
class CsvChunk:
    """One upload: a rewindable binary file holding the header and whole records."""

    file: IO[bytes]
    rows: int
    size: int
    first_row: int  # 1-based data row number of the chunk's first record
    #: SHA-256 of the upload's bytes, hex: what a later try compares to tell the same data from changed data.
    sha256: str = ""
    _hasher: Any = field(default=None, repr=False)

    def write(self, data: bytes) -> None:
        self.file.write(data)
        self._hasher.update(data)

    def close(self) -> None:
        self.file.close()


@dataclass
class CsvLayout:
    header: list[str]
    delimiter: str
    line_ending: str  # "LF" or "CRLF"
    had_bom: bool


class _Lines:
    """The source's physical lines, read in blocks, for csv.reader; holds the bytes of the record being read.

    Lines end as with ``open(newline="")``: at CR LF, at LF, or at a lone CR. ``bytes.splitlines`` splits at
    exactly these (``str.splitlines`` would also split at U+2028, VT, FS... which belong inside a field). A
    CR or LF byte is never part of a multi-byte UTF-8 character, so each line is decoded on its own: a
    character or a CR LF cut by a block boundary stays whole because the unfinished last line of a block
    waits for the next one.

    csv.reader pulls the lines through ``itertools.chain`` (C code, nothing in Python per line), and the
    caller finds a record's lines from ``reader.line_num``: lines ``keep_from`` onwards stay in ``held``.
    """

    __slots__ = ("_block_bytes", "_source", "base", "held", "keep_from")

    def __init__(self, source: IO[bytes], block_bytes: int) -> None:
        self._source = source
        self._block_bytes = block_bytes
        self.held: list[bytes] = []  # the lines read, as bytes; held[0] is line ``base`` (0-based)
        self.base = 0
        self.keep_from = 0  # the caller still needs the lines from this one on

    def blocks(self) -> Iterator[list[str]]:
        """Lists of decoded lines, one per block read; a clear error at the line holding an invalid byte."""
        read = self._source.read
        pending: list[bytes] = []  # the start of a line whose end has not been read yet
        while block := read(self._block_bytes):
            if b"\n" not in block and b"\r" not in block and not (pending and pending[-1].endswith(b"\r")):
                pending.append(block)  # still inside one (long) line
                continue
            if pending:
                pending.append(block)
                block = b"".join(pending)
            lines = block.splitlines(keepends=True)
            last = lines[-1]
            # A last line without its end may go on in the next block, and a last CR may be half of CR LF.
            pending = [lines.pop()] if last.endswith(b"\r") or not last.endswith(b"\n") else []
            if lines:
                yield from self._decoded(lines)
        if pending:
            yield from self._decoded([b"".join(pending)])

    def _decoded(self, lines: list[bytes]) -> Iterator[list[str]]:
        if self.keep_from > self.base:
            del self.held[: self.keep_from - self.base]
            self.base = self.keep_from
        first = self.base + len(self.held)  # 0-based number of lines[0]
        self.held.extend(lines)
        try:
            decoded = list(map(bytes.decode, lines))
        except UnicodeDecodeError:
            pass
        else:
            yield decoded
            return
        for index, line in enumerate(lines):  # the lines before the bad one are read first, as from a stream
            try:
                line.decode()
            except UnicodeDecodeError as exc:
                yield [previous.decode() for previous in lines[:index]]
                raise CsvInputError(
                    f"the CSV is not valid UTF-8 (near line {first + index + 1}: {exc.reason}); "
                    "Bulk API 2.0 reads UTF-8 only, so re-encode the file as UTF-8"
                ) from None


def _without_bom(blocks: Iterator[list[str]]) -> Iterator[list[str]]:
    """The decoded lines with the byte order mark taken off the first one, before csv.reader parses it.

    Left on, it would be part of the first field: ``\\ufeff"Id"`` would read as the unquoted text
    ``\\ufeff"Id"``, not the column ``Id``. Only the first block is looked at; the rest pass through.
    """
    for block in blocks:
        if block:
            if block[0].startswith("\ufeff"):
                block[0] = block[0][1:]
            yield block
            break
        yield block
    yield from blocks


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
    block_bytes: int = READ_BLOCK_BYTES,
) -> Iterator[CsvChunk]:
    """Yield upload-sized chunks of ``source``. ``line_ending=None`` takes the file's own.

    ``required_columns`` (e.g. ``["Id"]`` for delete) must appear in the header (case-insensitive).
    The detected layout is appended to ``layout_out`` when given. ``source`` is read ``block_bytes`` at a time.
    """
    if column_delimiter not in DELIMITERS:
        raise CsvInputError(f"column_delimiter must be one of {', '.join(DELIMITERS)}, not {column_delimiter!r}")
    if line_ending is not None and line_ending not in LINE_ENDINGS:
        raise CsvInputError(f"line_ending must be LF or CRLF, not {line_ending!r}")
    if block_bytes < 1:
        raise ValueError(f"block_bytes must be 1 or more, not {block_bytes}")
    delimiter = DELIMITERS[column_delimiter]
    lines = _Lines(source, block_bytes)
    reader = csv.reader(itertools.chain.from_iterable(_without_bom(lines.blocks())), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise CsvInputError("the CSV is empty: it needs a header row and at least one record") from None
    except csv.Error as exc:
        raise CsvInputError(f"the CSV header cannot be parsed: {exc}") from None
    header_text = b"".join(lines.held[: reader.line_num]).decode()
    had_bom = header_text.startswith("\ufeff")  # csv.reader never saw it (``_without_bom``)
    if had_bom:
        header_text = header_text[1:]  # nor does Salesforce: each chunk's header is sent without it
    if header_text.endswith("\r"):
        raise CsvInputError(BARE_CR)
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

    # The loop below runs once per record: only C calls and plain operations, sizes kept in locals.
    terminator = LINE_ENDINGS[ending].encode()
    check_ending = line_ending is not None
    want_crlf = ending == "CRLF"
    header_size = len(header_bytes)
    width = len(header)
    held = lines.held  # the same list object throughout (trimmed and extended in place)
    start = lines.keep_from = reader.line_num  # the first line of the next record
    chunk: CsvChunk | None = None
    chunk_size = max_bytes + 1  # no chunk yet: the first record starts one
    chunk_rows = 0
    parts: list[bytes] = []  # records of ``chunk`` not yet written to its file
    write_at = 0  # ``parts`` are written once ``chunk_size`` reaches this
    data_row = 0
    try:
        for fields in reader:
            end = reader.line_num
            base = lines.base
            record = held[start - base] if end - start == 1 else b"".join(held[start - base : end - base])
            start = lines.keep_from = end
            if not fields and record.strip() == b"":
                continue  # a blank line
            data_row += 1
            if len(fields) != width:
                raise CsvInputError(
                    f"data row {data_row} (line {end}) has {len(fields)} fields but the header has {width}; "
                    "check its quoting and delimiters"
                )
            if not record.endswith(b"\n"):
                record += terminator
            elif check_ending and record.endswith(b"\r\n") is not want_crlf:
                raise CsvInputError(
                    f"data row {data_row} ends with {'LF' if want_crlf else 'CRLF'} but line_ending is {ending}; "
                    "set line_ending to match the file"
                )
            size = len(record)
            if chunk_size + size > max_bytes:  # the record does not fit in the current chunk (or there is none)
                if header_size + size > max_bytes:
                    raise CsvInputError(
                        f"data row {data_row} is {size:,} bytes: with the header it exceeds the {max_bytes:,}-byte "
                        "upload limit, so it cannot be loaded through Bulk API 2.0"
                    )
                if chunk is not None:
                    yield _finished(chunk, parts, chunk_size, chunk_rows)
                spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - closed by CsvChunk.close
                chunk = current = CsvChunk(spool, 0, header_size, data_row, _hasher=hashlib.sha256())
                current.write(header_bytes)
                chunk_size = header_size
                chunk_rows = 0
                write_at = header_size + WRITE_BATCH_BYTES
            parts.append(record)
            chunk_size += size
            chunk_rows += 1
            if chunk_size >= write_at:
                current.write(b"".join(parts))
                parts.clear()
                write_at = chunk_size + WRITE_BATCH_BYTES
    except csv.Error as exc:
        raise CsvInputError(f"the CSV cannot be parsed at line {reader.line_num}: {exc}") from None
    if chunk is None:
        raise CsvInputError("the CSV has a header but no records")
    yield _finished(chunk, parts, chunk_size, chunk_rows)


def _finished(chunk: CsvChunk, parts: list[bytes], size: int, rows: int) -> CsvChunk:
    """Write the chunk's last records, set its counts, and rewind it for reading."""
    chunk.write(b"".join(parts))
    parts.clear()
    chunk.file.seek(0)
    chunk.sha256 = chunk._hasher.hexdigest()
    chunk.size = size
    chunk.rows = rows
    return chunk


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
    if not header:
        raise CsvInputError("the CSV's first line is blank: it must be the header row")
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
