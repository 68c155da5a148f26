"""SAQL errors, positioned in the query text.

The Wave query resource answers every SAQL compile or run-time error with HTTP 400 and error code
``119`` (its message is the engine's reason); a dataset that ``load`` cannot find is reported as a
missing resource instead. Messages carry the line and column, because that is what a person fixing
a multi-line query needs.
"""

from __future__ import annotations

from .ast import Position

#: The error code CRM Analytics gives for a SAQL query it cannot compile or run.
SAQL_ERROR_CODE = "119"


class SaqlError(Exception):
    """A query the engine rejects; ``message`` goes into the REST error body as is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @classmethod
    def at(cls, position: Position, reason: str) -> SaqlError:
        return cls(f"{reason} (line {position.line}, column {position.column})")


class DatasetNotFound(SaqlError):
    """``load "..."`` names no dataset (by Id, Id/version or API name)."""

    def __init__(self, reference: str) -> None:
        super().__init__(f"Dataset not found: {reference}")
        self.reference = reference
