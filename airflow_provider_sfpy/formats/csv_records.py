"""Counting the records of a CSV as its bytes stream by, to tell a whole Bulk result page from a cut one."""

from __future__ import annotations


class CsvRecordCounter:
    """Counts the records of a Bulk CSV as it streams by: line ends outside double quotes.

    A quoted value may hold line breaks; a doubled quote inside a value toggles the state twice, so
    splitting on ``"`` and counting newlines only in the outside pieces is exact for RFC 4180 CSV.
    """

    def __init__(self) -> None:
        self.bytes = 0
        self.line_ends = 0
        self.inside = False
        self.ends_with_line_end = False

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        self.bytes += len(chunk)
        pieces = chunk.split(b'"')
        for index, piece in enumerate(pieces):
            if (index % 2 == 0) != self.inside:
                self.line_ends += piece.count(b"\n")
        if len(pieces) % 2 == 0:
            self.inside = not self.inside
        self.ends_with_line_end = not self.inside and chunk.endswith(b"\n")

    @property
    def records(self) -> int:
        """Records after the header line (a last line without its line end counts)."""
        lines = self.line_ends + (0 if self.bytes == 0 or self.ends_with_line_end else 1)
        return max(lines - 1, 0)

    def shortfall(self, announced: int) -> str:
        """Why the page is incomplete, or ``""``. Salesforce ends every line, the last one too."""
        if self.bytes == 0:
            return f"empty body, {announced} records announced" if announced else ""
        if not self.ends_with_line_end:
            return f"the body ends inside a record ({self.bytes} bytes, {announced} records announced)"
        if self.records < announced:
            return f"{self.records} of {announced} announced records"
        return ""
