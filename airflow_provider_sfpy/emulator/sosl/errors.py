"""Salesforce-shaped search errors, positioned in the SOSL statement when there is one.

SOSL errors use SOQL's layout (the statement echoed, a caret, ``ERROR at Row:R:Column:C``, the
reason) but count the column from 0, as Salesforce's search parser does: ``FIND {John|x}`` is
"ERROR at Row:1:Column:10 ... line 1:10 mismatched character '|' expecting '}'" (the ``|`` is the
eleventh character). A search built from parameters has no statement to point into; its errors are
the reason alone. Both are ``SoqlError``s, so a route renders search and query errors alike.
"""

from __future__ import annotations

from ..soql.ast import Position
from ..soql.errors import QueryErrors, SoqlError

MALFORMED_SEARCH = "MALFORMED_SEARCH"
INVALID_SEARCH = "INVALID_SEARCH"
NO_SEARCH_TERM = "No search term found. The search term must be enclosed in braces."


class SearchErrors:
    """Builds the errors of one search, positioned in ``source`` (the SOSL text) when given."""

    def __init__(self, source: str | None) -> None:
        self.source = source
        self._layout = QueryErrors(source) if source is not None else None

    def at(self, offset: int | None, reason: str, error_code: str = MALFORMED_SEARCH) -> SoqlError:
        """The error for ``reason`` at character ``offset`` of the statement (unpositioned without one)."""
        if self._layout is None or self.source is None or offset is None:
            return SoqlError(error_code, reason)
        return self._layout.at(self.position(offset), error_code, reason)

    def position(self, offset: int) -> Position:
        """Row (from 1) and column (from 0) of ``offset`` in the statement."""
        assert self.source is not None
        offset = max(0, min(offset, len(self.source)))
        row_start = self.source.rfind("\n", 0, offset) + 1
        return Position(self.source.count("\n", 0, offset) + 1, offset - row_start)

    def end(self) -> int:
        """Just after the last non-blank character: where "unexpected end" errors point."""
        return len(self.source.rstrip()) if self.source is not None else 0
