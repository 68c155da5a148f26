"""SAQL text -> ``ast.Query``: the lark grammar in ``grammar.lark`` and a transformer to AST nodes.

Lark's failures become ``SaqlError``s that name the line and column of the offending token and what
the grammar expected there.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import Any

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken, VisitError
from lark.lexer import PatternStr

from . import ast
from .errors import SaqlError

_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}
_MAX_EXPECTED_SHOWN = 8


@cache
def _lark() -> Lark:
    """Compiled once per process; LALR keeps parsing linear and errors token-precise."""
    grammar = resources.files(__package__).joinpath("grammar.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", lexer="contextual", maybe_placeholders=True)


def parse(saql: str) -> ast.Query:
    """Parse a SAQL query; raises ``SaqlError`` pointing at the first token the grammar rejects."""
    try:
        tree = _lark().parse(saql)
    except UnexpectedInput as exc:
        raise _syntax_error(exc, saql) from None
    try:
        query: ast.Query = _ToAst().transform(tree)
    except VisitError as exc:
        if isinstance(exc.orig_exc, SaqlError):
            raise exc.orig_exc from None
        raise
    return query


def _syntax_error(exc: UnexpectedInput, saql: str) -> SaqlError:
    if isinstance(exc, UnexpectedCharacters):
        where, what = ast.Position(exc.line, exc.column), f"unexpected character '{exc.char}'"
    elif isinstance(exc, UnexpectedToken) and exc.token.type != "$END":
        where, what = _pos(exc.token), f"unexpected '{exc.token}'"
    else:
        where, what = _end_position(saql), "unexpected end of query"
    expected = sorted(_describe(name) for name in getattr(exc, "expected", None) or ())
    if expected:
        shown = ", ".join(expected[:_MAX_EXPECTED_SHOWN]) + (", ..." if len(expected) > _MAX_EXPECTED_SHOWN else "")
        what += f"; expected {shown}"
    return SaqlError(f"Syntax error at line {where.line}, column {where.column}: {what}")


def _describe(terminal: str) -> str:
    """A terminal as a person reads it: ``';'`` for punctuation, ``by`` for a keyword, else its kind."""
    try:
        pattern = _lark().get_terminal(terminal).pattern
    except KeyError:
        return terminal.lower()
    if isinstance(pattern, PatternStr):
        return f"'{pattern.value}'"
    keyword = re.fullmatch(r"([a-z]+)\\b", pattern.value)
    if keyword:
        return keyword.group(1)
    return terminal.lstrip("_").lower()


def _end_position(saql: str) -> ast.Position:
    lines = saql.rstrip().split("\n")
    return ast.Position(len(lines), len(lines[-1]) + 1)


def _pos(token: Token) -> ast.Position:
    return ast.Position(token.line or 1, token.column or 1)


def _unquote(token: Token) -> str:
    return _ESCAPE.sub(lambda m: _ESCAPES.get(m.group(1), m.group(1)), str(token)[1:-1])


def _number(token: Token) -> float | int:
    text = str(token)
    return int(text) if text.isdigit() else float(text)


class _ToAst(Transformer[Token, ast.Query]):
    """One method per grammar rule (named after the rule or its ``-> alias``), bottom-up."""

    def start(self, statements: list[ast.Statement]) -> ast.Query:
        return ast.Query(tuple(statements))

    def statement(self, children: list[Any]) -> ast.Statement:
        target, (kind, source, position, payload) = children
        name = str(target)
        if kind is ast.Load:
            return ast.Load(name, None, position, payload)
        statement: ast.Statement = kind(name, str(source), position, payload)
        return statement

    # operations: (statement class, source stream, position of the source, payload)

    def load(self, children: list[Token]) -> tuple[Any, ...]:
        (dataset,) = children
        return ast.Load, None, _pos(dataset), _unquote(dataset)

    def filter(self, children: list[Any]) -> tuple[Any, ...]:
        source, condition = children
        return ast.Filter, source, _pos(source), condition

    def group(self, children: list[Any]) -> tuple[Any, ...]:
        source, keys = children
        return ast.Group, source, _pos(source), keys

    def foreach(self, children: list[Any]) -> tuple[Any, ...]:
        source, *projections = children
        return ast.Foreach, source, _pos(source), tuple(projections)

    def order(self, children: list[Any]) -> tuple[Any, ...]:
        source, keys = children
        return ast.Order, source, _pos(source), keys

    def limit(self, children: list[Token]) -> tuple[Any, ...]:
        source, count = children
        return ast.Limit, source, _pos(source), int(count)

    def offset(self, children: list[Token]) -> tuple[Any, ...]:
        source, count = children
        return ast.Offset, source, _pos(source), int(count)

    # group / order / projection

    def group_all(self, children: list[Token]) -> None:
        return None

    def group_fields(self, fields: list[ast.Field]) -> tuple[ast.Field, ...]:
        return tuple(fields)

    def order_keys(self, keys: list[ast.OrderKey]) -> tuple[ast.OrderKey, ...]:
        return tuple(keys)

    def order_key(self, children: list[Any]) -> ast.OrderKey:
        field, direction = children
        return ast.OrderKey(field, direction is not None and str(direction) == "desc")

    def projection(self, children: list[Any]) -> ast.Projection:
        expression, alias = children
        return ast.Projection(expression, alias.name)

    # fields and literals

    def field(self, children: list[Token]) -> ast.Field:
        (token,) = children
        name = _unquote(token) if token.type == "IDENTIFIER" else str(token)
        return ast.Field(name, _pos(token))

    def qualified_field(self, children: list[Token]) -> ast.Field:
        stream, token = children
        name = _unquote(token) if token.type == "IDENTIFIER" else str(token)
        return ast.Field(name, _pos(token), str(stream))

    def string(self, children: list[Token]) -> str:
        return _unquote(children[0])

    def literal(self, children: list[Any]) -> ast.Value:
        value: ast.Value = children[0]
        return value

    def number(self, children: list[Token]) -> float | int:
        return _number(children[0])

    def negative(self, children: list[Token]) -> float | int:
        return -_number(children[1])

    # conditions

    def compare(self, children: list[Any]) -> ast.Compare:
        field, operator, value = children
        return ast.Compare(field, str(operator), value)

    def in_(self, children: list[Any]) -> ast.InList:
        field, *values = children
        return ast.InList(field, tuple(values))

    def not_in(self, children: list[Any]) -> ast.InList:
        field, *values = children
        return ast.InList(field, tuple(values), negated=True)

    def range(self, children: list[Any]) -> ast.InRange:
        field, low, high = children
        return ast.InRange(field, low, high)

    def matches(self, children: list[Any]) -> ast.Matches:
        field, pattern = children
        return ast.Matches(field, _unquote(pattern))

    def is_null(self, children: list[Any]) -> ast.IsNull:
        return ast.IsNull(children[0])

    def is_not_null(self, children: list[Any]) -> ast.IsNull:
        return ast.IsNull(children[0], negated=True)

    def and_(self, parts: list[ast.Condition]) -> ast.And:
        return ast.And(tuple(parts))

    def or_(self, parts: list[ast.Condition]) -> ast.Or:
        return ast.Or(tuple(parts))

    def not_(self, children: list[ast.Condition]) -> ast.Not:
        return ast.Not(children[0])

    # expressions

    def field_ref(self, children: list[ast.Field]) -> ast.FieldRef:
        return ast.FieldRef(children[0])

    def constant(self, children: list[Token]) -> ast.Constant:
        (token,) = children
        return ast.Constant(_unquote(token) if token.type == "STRING" else _number(token))

    def aggregate(self, children: list[Any]) -> ast.Aggregate:
        function, field = children
        name = "avg" if str(function) == "average" else str(function)
        if name != "count" and field is None:
            raise SaqlError.at(_pos(function), f"{name}() needs a field to aggregate, as in {name}('Amount')")
        return ast.Aggregate(name, None if name == "count" else field, _pos(function))

    def arithmetic(self, children: list[Any]) -> ast.Arithmetic:
        left, operator, right = children
        return ast.Arithmetic(str(operator), left, right)

    def negate(self, children: list[Any]) -> ast.Negate:
        return ast.Negate(children[1])
