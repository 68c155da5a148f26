"""A SOSL statement (the ``q`` of ``GET /search``) -> ``ast.SearchRequest``.

Only the statement's own structure is checked here: FIND and the braces, the search group, the
RETURNING list, LIMIT. The search expression has its own grammar (``terms``), and each RETURNING
item's field list, WHERE and ORDER BY are handed to SOQL's compiler by the engine.

References (SOQL and SOSL Reference):
- SOSL syntax: https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_sosl_syntax.htm
- IN SearchGroup: https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_sosl_in.htm
- RETURNING FieldSpec: https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_sosl_returning.htm
- LIMIT n: https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_sosl_limit.htm
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import Any

from lark import Lark, Token, Transformer, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken, VisitError

from ..soql.errors import SoqlError
from .ast import MAX_RESULTS, SEARCH_GROUPS, Fragment, ObjectRequest, SearchGroup, SearchRequest
from .errors import NO_SEARCH_TERM, SearchErrors
from .terms import parse_terms

#: How far an unterminated or broken ``{...}`` gets before the character Salesforce stops at.
_SEARCH_TEXT_PREFIX = re.compile(r"\{(?:[^{}\\&|!\[\]^~:'+\-]|\\[\s\S])*")
_FIND = re.compile(r"\s*find\b\s*", re.IGNORECASE)


@cache
def _lark() -> Lark:
    grammar = resources.files(__package__).joinpath("statement.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", lexer="contextual", maybe_placeholders=True, propagate_positions=True)


def parse_sosl(sosl: str) -> SearchRequest:
    """Parse a SOSL statement; raises ``SoqlError`` (MALFORMED_SEARCH, INVALID_SEARCH) pointing into it."""
    errors = SearchErrors(sosl)
    _check_search_text(sosl, errors)
    try:
        tree = _lark().parse(sosl)
    except UnexpectedInput as exc:
        raise _syntax_error(exc, errors) from None
    try:
        request: SearchRequest = _ToRequest(sosl, errors).transform(tree)
    except VisitError as exc:
        if isinstance(exc.orig_exc, SoqlError):
            raise exc.orig_exc from None
        raise
    return request


def _check_search_text(sosl: str, errors: SearchErrors) -> None:
    """FIND must be followed by ``{...}`` in which every reserved character is escaped; Salesforce's
    lexer stops at the first one that is not (or at the end) with "mismatched character"."""
    find = _FIND.match(sosl)
    if find is None:
        return  # not FIND at all: the grammar says where
    brace = find.end()
    if brace >= len(sosl) or sosl[brace] != "{":
        raise errors.at(brace, NO_SEARCH_TERM)
    match = _SEARCH_TEXT_PREFIX.match(sosl, brace)
    stop = match.end() if match else brace
    if stop < len(sosl) and sosl[stop] == "}":
        return
    found = repr(sosl[stop]) if stop < len(sosl) else "'<EOF>'"
    position = errors.position(stop)
    raise errors.at(stop, f"line {position.line}:{position.column} mismatched character {found} expecting '}}'")


def _syntax_error(exc: UnexpectedInput, errors: SearchErrors) -> SoqlError:
    if isinstance(exc, UnexpectedToken) and exc.token.type != "$END":
        token = exc.token
        if "_FIELDS" in exc.expected:  # IN <group> must be followed by FIELDS
            return errors.at(token.start_pos, f"Malformed search token: {token}")
        return errors.at(token.start_pos, f"unexpected token: {token}")
    if isinstance(exc, UnexpectedCharacters):
        return errors.at(exc.pos_in_stream, f"unexpected token: {exc.char}")
    return errors.at(errors.end(), "unexpected token: <EOF>")


def _start(item: Token | Tree[Any]) -> int:
    return item.start_pos if isinstance(item, Token) else item.meta.start_pos  # type: ignore[return-value]


def _end(item: Token | Tree[Any]) -> int:
    return item.end_pos if isinstance(item, Token) else item.meta.end_pos  # type: ignore[return-value]


class _ToRequest(Transformer[Token, Any]):
    """Grammar rules (statement.lark) to ``ast`` values, bottom-up."""

    def __init__(self, sosl: str, errors: SearchErrors) -> None:
        super().__init__()
        self._sosl = sosl
        self._errors = errors

    def _fragment(self, items: list[Any]) -> Fragment:
        start, end = _start(items[0]), _end(items[-1])
        return Fragment(self._sosl[start:end], start)

    def start(self, items: list[Any]) -> SearchRequest:
        expression, group, objects, *_with_clauses, limit, _update = items
        return SearchRequest(
            expression=expression,
            group=group or "ALL",
            objects=tuple(objects or ()),
            limit=min(limit, MAX_RESULTS) if limit is not None else MAX_RESULTS,
            source=self._sosl,
        )

    def search_text(self, items: list[Token]) -> Any:
        token = items[0]
        return parse_terms(str(token)[1:-1], self._errors, (token.start_pos or 0) + 1)

    def in_clause(self, items: list[Token]) -> SearchGroup:
        name = items[0]
        group = str(name).upper()
        if group not in SEARCH_GROUPS:
            raise self._errors.at(name.start_pos, f"Malformed search token: {name}")
        return group

    def returning(self, items: list[ObjectRequest]) -> list[ObjectRequest]:
        return items

    def object_spec(self, items: list[Any]) -> ObjectRequest:
        name, fields, where, order_by, limit, offset = (*items, None, None, None, None, None)[:6]
        return ObjectRequest(str(name), fields, where, order_by, limit, offset, name.start_pos)

    def field_list(self, items: list[Any]) -> Fragment:
        return self._fragment(items)

    def where(self, items: list[Any]) -> Fragment:
        return self._fragment(items)

    def order_by(self, items: list[Any]) -> Fragment:
        return self._fragment(items)

    def limit(self, items: list[Token]) -> int:
        return int(items[0])

    def offset(self, items: list[Token]) -> int:
        return int(items[0])
