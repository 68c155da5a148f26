"""What a destination's file name promises about its bytes, checked against what an operator writes.

A file named ``accounts.csv.gz`` that holds plain CSV, or ``opportunities.parquet`` that holds CSV,
fails every reader downstream, and nothing says why. So every operator that writes files reads the
name the same way, and either lets the name decide what it was not told or refuses a name that
contradicts what it was told:

1. The name is the destination's last path segment (a folder's too: Bulk query part files go into
   a folder, and ``contacts.parquet/`` full of CSV parts would mislead as much as a file).
   Only its last suffix counts, and the one before it when the last names a compression:
   ``accounts.2026.01.01.csv.gz`` is CSV compressed with gzip; ``extract.v2`` says nothing.
2. Formats: ``.csv`` is CSV, ``.jsonl`` and ``.ndjson`` JSON Lines, ``.parquet`` Parquet.
   ``.json`` is accepted only with ``format="jsonl"`` given: JSON Lines is not one JSON document,
   so the name alone does not say which was meant.
3. Compression: ``.gz`` is gzip. ``.bz2``, ``.xz``, ``.zst``, ``.zip``, ``.lz4``, ``.snappy``,
   ``.br`` and ``.z`` name compressions no operator here writes, and are refused.
4. A ``format`` or ``compression`` that was not given follows the name; when the name says
   nothing, the operator's default format applies, uncompressed.
5. A ``format`` or ``compression`` that was given must agree with the name: ``format="csv"`` with
   ``.parquet``, ``compression=None`` with ``.gz``, or ``compression="gzip"`` with a name like
   ``accounts.csv`` (no ``.gz``) is refused, and the message names the fix.
6. Parquet compresses inside the file: ``.parquet.gz`` is refused.
7. A format or compression the operator cannot write at all (Parquet for the Bulk query operator,
   ``.gz`` for the SAQL operator) is refused the same way.

Operators apply the rules when the DAG is parsed if the destination is not templated, else when the
task starts, before any request to Salesforce.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

#: ``compression`` not given: it follows the destination's name.
INFER = "infer"
FORMAT_SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}
#: Suffixes that may carry a format only when it is given explicitly (the name alone is ambiguous).
EXPLICIT_ONLY_SUFFIXES = {".json": "jsonl"}
COMPRESSION_SUFFIXES = {".gz": "gzip"}
UNWRITTEN_COMPRESSION_SUFFIXES = frozenset({".bz2", ".xz", ".zst", ".zip", ".lz4", ".snappy", ".br", ".z"})
FORMAT_NAMES = {"csv": "CSV", "jsonl": "JSON Lines", "parquet": "Parquet"}
SUFFIX_OF_FORMAT = {"csv": ".csv", "jsonl": ".jsonl", "parquet": ".parquet"}


class DestinationNameError(ValueError):
    """The destination's name contradicts the file that would be written there."""


@dataclass(frozen=True)
class WriterOutput:
    """What one operator can write: its formats (the first is its default), its compressions, and
    ``hint``, added to a refusal to say where else to turn."""

    writer: str
    formats: tuple[str, ...]
    compressions: tuple[str, ...] = ()
    hint: str = ""


@dataclass(frozen=True)
class FileOutput:
    format: str
    compression: str | None


@dataclass(frozen=True)
class _Name:
    """A file name split the way the rules read it: ``accounts`` + ``.csv`` + ``.gz``."""

    shown: str
    stem: str
    format_suffix: str
    compression_suffix: str

    @classmethod
    def of(cls, destination: str) -> _Name:
        name = destination.rstrip("/").rsplit("/", 1)[-1]
        path = PurePosixPath(name) if name else None
        if path is None or not path.suffix:
            return cls(destination, name, "", "")
        last = path.suffix.lower()
        if last in COMPRESSION_SUFFIXES or last in UNWRITTEN_COMPRESSION_SUFFIXES:
            inner = PurePosixPath(path.stem)
            return cls(destination, inner.stem, inner.suffix.lower(), last)
        return cls(destination, path.stem, last, "")

    def renamed(self, fmt: str, gzip: bool) -> str:
        return f"{self.stem}{SUFFIX_OF_FORMAT[fmt]}{'.gz' if gzip else ''}"


def file_output(
    destination: str, writes: WriterOutput, *, format: str | None = None, compression: str | None = INFER
) -> FileOutput:
    """The format and compression to write ``destination`` with, by the rules above.

    ``format=None`` and ``compression=INFER`` mean "not given". The values themselves must already
    be ones ``writes`` supports; raises ``DestinationNameError`` (a ``ValueError``) naming the fix.
    """
    name = _Name.of(destination)
    if name.compression_suffix in UNWRITTEN_COMPRESSION_SUFFIXES:
        raise _refusal(
            writes,
            name,
            f"ends in {name.compression_suffix}, a compression {writes.writer} does not write "
            f"({_compressions_text(writes)})",
            f"drop {name.compression_suffix} from the name",
        )
    fmt = _format(name, writes, format)
    return FileOutput(fmt, _compression(name, writes, fmt, compression))


def named_format(destination: str) -> str | None:
    """The format the destination's name names by its suffix, or ``None`` (see rule 2)."""
    return FORMAT_SUFFIXES.get(_Name.of(destination).format_suffix)


def _format(name: _Name, writes: WriterOutput, given: str | None) -> str:
    suffix = name.format_suffix
    gzip = name.compression_suffix == ".gz"
    named = FORMAT_SUFFIXES.get(suffix) or EXPLICIT_ONLY_SUFFIXES.get(suffix)
    if named is None:
        return given or writes.formats[0]
    if named not in writes.formats:
        raise _unwritable(name, writes)
    if given is not None and given != named:
        raise _refusal(
            writes,
            name,
            f"ends in {suffix}, which names a {_kind(suffix)} file, but format={given!r}",
            f"leave format out (the name decides), or name it {name.renamed(given, gzip and given != 'parquet')}",
        )
    if given is None and suffix in EXPLICIT_ONLY_SUFFIXES:
        raise _refusal(
            writes,
            name,
            f"ends in {suffix}, but {writes.writer} writes {FORMAT_NAMES[named]} (one JSON object per line), "
            "not one JSON document",
            f"pass format={named!r} to keep the name, or name it {name.renamed(named, gzip)}",
        )
    return named


def _compression(name: _Name, writes: WriterOutput, fmt: str, given: str | None) -> str | None:
    named_gzip = name.compression_suffix == ".gz"
    if fmt == "parquet":
        if named_gzip or given == "gzip":
            raise _refusal(
                writes,
                name,
                "is Parquet, which compresses inside the file",
                f"name it {name.renamed('parquet', False)} and leave compression out",
            )
        return None
    if given == INFER:
        given = "gzip" if named_gzip else None
    elif given is None and named_gzip:
        raise _refusal(
            writes,
            name,
            "ends in .gz, but compression=None would write it uncompressed",
            f"leave compression out (.gz implies gzip), or name it {name.renamed(fmt, False)}",
        )
    elif given == "gzip" and not named_gzip and name.format_suffix:
        raise _refusal(
            writes,
            name,
            f"does not end in .gz, but compression='gzip': readers would take gzip bytes for plain {FORMAT_NAMES[fmt]}",
            f"name it {name.renamed(fmt, True)}, or leave compression out",
        )
    if given is not None and given not in writes.compressions:
        raise _refusal(
            writes,
            name,
            f"ends in .gz, but {writes.writer} writes uncompressed files",
            f"name it {name.renamed(fmt, False)}",
        )
    return given


def _kind(suffix: str) -> str:
    """What a format suffix calls the file, for messages: ``.json`` is JSON, whatever we would write."""
    return "JSON" if suffix in EXPLICIT_ONLY_SUFFIXES else FORMAT_NAMES[FORMAT_SUFFIXES[suffix]]


def _unwritable(name: _Name, writes: WriterOutput) -> DestinationNameError:
    written = " or ".join(FORMAT_NAMES[f] for f in writes.formats)
    return _refusal(
        writes,
        name,
        f"ends in {name.format_suffix}, which names a {_kind(name.format_suffix)} file, but {writes.writer} "
        f"writes {written} only",
        f"name it {name.renamed(writes.formats[0], False)}",
    )


def _compressions_text(writes: WriterOutput) -> str:
    return f"it writes {' or '.join(writes.compressions)} only" if writes.compressions else "it writes no compression"


def _refusal(writes: WriterOutput, name: _Name, problem: str, fix: str) -> DestinationNameError:
    return DestinationNameError(f"destination {name.shown} {problem}. To fix it: {fix}{writes.hint}.")
