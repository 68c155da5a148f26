"""Salesforce-shaped SOQL errors.

Clients (simple-salesforce, SalesforcePy, Bulk tooling) show Salesforce's ``message`` verbatim and
some parse ``ERROR at Row:R:Column:C`` out of it, so positioned errors reproduce its layout exactly:
the query echoed after a leading newline, a caret under the offending token, the location, the reason.
"""

from __future__ import annotations

from .ast import Position


class SoqlError(Exception):
    """A query Salesforce would reject; ``error_code`` and ``message`` go straight into the REST error body."""

    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.message = message


class QueryErrors:
    """Builds positioned errors for one query text, so callers only say where and why."""

    def __init__(self, soql: str) -> None:
        # Lark counts rows by ``\n`` only; strip a trailing ``\r`` so CRLF queries echo cleanly.
        self._lines = [line.rstrip("\r") for line in soql.split("\n")]

    def at(self, pos: Position, error_code: str, reason: str) -> SoqlError:
        """The error for ``reason`` at ``pos``: the query up to that row, a caret, then the location."""
        echoed = "\n".join(self._lines[: pos.line])
        caret = " " * (pos.column - 1) + "^"
        message = f"\n{echoed}\n{caret}\nERROR at Row:{pos.line}:Column:{pos.column}\n{reason}"
        return SoqlError(error_code, message)

    def end_position(self) -> Position:
        """Just after the last non-blank character: where "unexpected end of query" points."""
        for index in range(len(self._lines) - 1, -1, -1):
            text = self._lines[index].rstrip()
            if text:
                return Position(index + 1, len(text) + 1)
        return Position(1, 1)
