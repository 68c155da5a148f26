"""SOQL assembled around a search's fragments, with SOQL's errors moved back into the SOSL statement.

A RETURNING item's field list, WHERE and ORDER BY run through ``compile_soql`` inside a SELECT the
engine writes. When SOQL rejects one (``No such column 'Nme' on entity 'Account'``), the caller wrote
SOSL, not that SELECT: the error's position is mapped back into the statement and the message
re-rendered there, as Salesforce reports it; a syntax error becomes MALFORMED_SEARCH. Errors in text
that did not come from a statement (parameterized search) keep only their reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from ..soql import CompiledQuery, SoqlError, compile_soql
from .ast import Fragment
from .errors import MALFORMED_SEARCH, SearchErrors

_LOCATED = re.compile(r"\nERROR at Row:(\d+):Column:(\d+)\n(.*)\Z", re.DOTALL)
_CODES = {"MALFORMED_QUERY": MALFORMED_SEARCH}


@dataclass(frozen=True)
class AssembledSoql:
    """SOQL text, and where in it each request fragment was placed."""

    text: str
    placed: tuple[tuple[int, Fragment], ...]


def assemble(*pieces: str | Fragment) -> AssembledSoql:
    """Concatenate fixed SOQL text and fragments (``assemble("SELECT ", fields, " FROM Account")``)."""
    text = ""
    placed: list[tuple[int, Fragment]] = []
    for piece in pieces:
        if isinstance(piece, Fragment):
            placed.append((len(text), piece))
            piece = piece.text
        text += piece
    return AssembledSoql(text, tuple(placed))


def compile_in_search(
    soql: AssembledSoql, errors: SearchErrors, *, user_id: str | None, api_version: str, now: datetime | None = None
) -> CompiledQuery:
    """``compile_soql`` for an assembled query, its errors reported against the search."""
    try:
        return compile_soql(soql.text, current_user_id=user_id, api_version=api_version, now=now)
    except SoqlError as exc:
        raise _relocated(exc, soql, errors) from None


def _relocated(exc: SoqlError, soql: AssembledSoql, errors: SearchErrors) -> SoqlError:
    code = _CODES.get(exc.error_code, exc.error_code)
    located = _LOCATED.search(exc.message)
    if located is None:
        return SoqlError(code, exc.message)
    row, column, reason = int(located.group(1)), int(located.group(2)), located.group(3)
    lines = soql.text.split("\n")
    offset = sum(len(line) + 1 for line in lines[: row - 1]) + column - 1
    for start, fragment in soql.placed:
        if start <= offset <= start + len(fragment.text):
            at = fragment.start + offset - start if fragment.start is not None else None
            return errors.at(at, reason, code)
    return SoqlError(code, reason)
