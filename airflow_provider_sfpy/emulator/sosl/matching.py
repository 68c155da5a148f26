"""Which records of one object a search expression matches, over the store's SQLite tables.

A plain ``LIKE '%literal%'`` per searched field narrows the rows in SQL (it can only keep too many,
never too few); the tokenised match then decides in Python, as Salesforce's index would: a field
value is split into case-folded tokens at blanks and punctuation, and a term matches when its tokens
appear one after the other in one field. A phone number also matches by its digits alone
(``4155551212`` finds ``(415) 555-1212``). No full-text extension is needed, and the store's table
layout (one table per object, one column per field; see ``schema``) is all this relies on.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence

from ..schema import FieldDef, SObjectDef
from ..store import Store, quote
from .ast import AllOf, AnyOf, Expression, Term

_TOKEN = re.compile(r"[^\W_]+")


def matching_ids(store: Store, obj: SObjectDef, fields: Sequence[FieldDef], expression: Expression) -> list[str]:
    """Ids of the live records of ``obj`` whose ``fields`` match ``expression``, oldest first."""
    if not fields:
        return []
    columns = ", ".join(quote(f.name) for f in fields)
    sql = f"SELECT Id, {columns} FROM {quote(obj.name)} WHERE IsDeleted = 0"
    narrowing = _prefilter(expression, fields)
    params: tuple[object, ...] = ()
    if narrowing is not None:
        sql += f" AND ({narrowing[0]})"
        params = narrowing[1]
    page = store.open_query(sql + " ORDER BY rowid", params, sys.maxsize)
    matched = []
    for record_id, *values in page.rows:
        tokens = [field_tokens(f, v) for f, v in zip(fields, values, strict=True) if v is not None]
        if matches(expression, tokens):
            matched.append(record_id)
    return matched


def field_tokens(field: FieldDef, value: object) -> tuple[str, ...]:
    """The search tokens of one field value."""
    text = str(value).casefold()
    tokens = _TOKEN.findall(text)
    if field.type == "phone":
        digits = "".join(char for char in text if char.isdigit())
        if digits:
            tokens.append(digits)
    return tuple(tokens)


def matches(expression: Expression, fields: Sequence[Sequence[str]]) -> bool:
    """Whether a record whose searched fields have these tokens matches ``expression``."""
    if isinstance(expression, Term):
        return any(_contains(tokens, expression) for tokens in fields)
    if isinstance(expression, AllOf):
        return all(matches(e, fields) for e in expression.include) and not any(
            matches(e, fields) for e in expression.exclude
        )
    return any(matches(e, fields) for e in expression.options)


def _contains(tokens: Sequence[str], term: Term) -> bool:
    """``term``'s tokens appear consecutively in ``tokens`` (a term without tokens matches anything)."""
    patterns = term.tokens
    width = len(patterns)
    for start in range(len(tokens) - width + 1):
        if all(p.fullmatch(tokens[start + i]) for i, p in enumerate(patterns)):
            return True
    return width == 0


def _prefilter(expression: Expression, fields: Sequence[FieldDef]) -> tuple[str, tuple[object, ...]] | None:
    """A SQL condition every matching row satisfies, or ``None`` when nothing cheap narrows it."""
    if isinstance(expression, Term):
        if not expression.literal or not expression.literal.isascii():
            return None  # SQLite's LIKE folds the case of ASCII letters only: 'müller' would miss 'MÜLLER'

        parts = [(f"{quote(f.name)} LIKE ?", _like_pattern(f, expression.literal)) for f in fields]
        return " OR ".join(sql for sql, _ in parts), tuple(p for _, p in parts)
    children = expression.include if isinstance(expression, AllOf) else expression.options
    narrowed = [_prefilter(e, fields) for e in children]
    if isinstance(expression, AnyOf) and None in narrowed:
        return None  # one option matches rows nothing narrows
    kept = [n for n in narrowed if n is not None]
    if not kept:
        return None
    joiner = " OR " if isinstance(expression, AnyOf) else " AND "
    return joiner.join(f"({text})" for text, _ in kept), tuple(p for _, params in kept for p in params)


def _like_pattern(field: FieldDef, literal: str) -> str:
    """``%literal%``; for a phone and a literal of digits, the digits in order with anything between."""
    if field.type == "phone" and literal.isdigit():
        return "%" + "%".join(literal) + "%"
    return f"%{literal}%"
