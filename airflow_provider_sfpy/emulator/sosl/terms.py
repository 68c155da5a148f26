"""The search expression (FIND's braces, parameterized search's ``q``) -> ``ast.Expression``.

Salesforce's search engine splits text into tokens at blanks and punctuation and matches tokens
case-insensitively; a term is matched the same way, so ``jane_gray@uoa.edu`` or ``"acme inc"`` is a
run of tokens that must appear one after the other. ``*`` stands for any number of characters and
``?`` for one, within a token; a backslash makes the next character literal. A search needs at
least two characters to look for ("search term must be longer than one character").

References (SOQL and SOSL Reference):
- FIND {SearchQuery}: https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_sosl_find.htm
- Example text searches (operators, wildcards, escapes): https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_sosl_examples.htm
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import Any

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from .ast import AllOf, AnyOf, Expression, Term
from .errors import INVALID_SEARCH, NO_SEARCH_TERM, SearchErrors

#: One character of a term: an escaped character, a wildcard, a letter or digit, anything else.
_TERM_CHARACTER = re.compile(r"\\([\s\S])|([*?])|([^\W_])|([\s\S])")
_WILDCARDS = {"*": ".*", "?": "."}
MIN_SEARCH_CHARACTERS = 2


@cache
def _lark() -> Lark:
    grammar = resources.files(__package__).joinpath("terms.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", lexer="contextual")


def parse_terms(text: str, errors: SearchErrors, offset: int = 0) -> Expression:
    """Parse a search expression found at ``offset`` of the statement ``errors`` positions in."""
    if not text.strip():
        raise errors.at(offset, NO_SEARCH_TERM)
    try:
        tree = _lark().parse(text)
    except UnexpectedInput as exc:
        raise _syntax_error(exc, text, errors, offset) from None
    expression: Expression = _ToExpression().transform(tree)
    if _searched_characters(expression) < MIN_SEARCH_CHARACTERS:
        raise errors.at(None, f"search term must be longer than one character: {text.strip()}", INVALID_SEARCH)
    return expression


def make_term(text: str) -> Term:
    """A term from its text (escapes and wildcards included, quotes removed)."""
    tokens: list[str] = []
    current: list[str] = []
    literal = run = ""
    characters = 0
    for escaped, wildcard, plain, _other in _TERM_CHARACTER.findall(text):
        if wildcard:
            current.append(_WILDCARDS[wildcard])
            run = ""
            continue
        char = escaped or plain
        if char and char.isalnum():
            folded = char.casefold()
            current.append(re.escape(folded))
            characters += 1
            run += folded
            literal = max(literal, run, key=len)
            continue
        if current:  # punctuation, blanks and escaped symbols separate tokens
            tokens.append("".join(current))
        current, run = [], ""
    if current:
        tokens.append("".join(current))
    patterns = tuple(re.compile(token) for token in tokens)
    return Term(text, patterns, literal if literal.isascii() else "", characters)


def _searched_characters(expression: Expression) -> int:
    if isinstance(expression, Term):
        return expression.characters
    if isinstance(expression, AllOf):
        return sum(_searched_characters(e) for e in (*expression.include, *expression.exclude))
    return sum(_searched_characters(e) for e in expression.options)


def _syntax_error(exc: UnexpectedInput, text: str, errors: SearchErrors, offset: int) -> Exception:
    if isinstance(exc, UnexpectedToken) and exc.token.type != "$END":
        return errors.at(offset + (exc.token.start_pos or 0), f"unexpected token: {exc.token}")
    if isinstance(exc, UnexpectedCharacters):
        return errors.at(offset + (exc.pos_in_stream or 0), f"unexpected token: {exc.char}")
    return errors.at(offset + len(text.rstrip()), "unexpected token: <EOF>")


class _ToExpression(Transformer[Token, Expression]):
    """Grammar rules (terms.lark) to ``ast`` nodes, bottom-up."""

    def start(self, items: list[Expression]) -> Expression:
        return items[0]

    def word(self, items: list[Token]) -> Term:
        return make_term(str(items[0]))

    def phrase(self, items: list[Token]) -> Term:
        return make_term(str(items[0])[1:-1])

    def include(self, items: list[Any]) -> tuple[bool, Expression]:
        return True, items[-1]

    def exclude(self, items: list[Any]) -> tuple[bool, Expression]:
        return False, items[-1]

    def and_(self, items: list[Any]) -> AllOf:
        first, *conjuncts = items
        include = [first] + [e for keep, e in conjuncts if keep]
        return AllOf(tuple(include), tuple(e for keep, e in conjuncts if not keep))

    def or_(self, items: list[Expression]) -> AnyOf:
        return AnyOf(tuple(items))
