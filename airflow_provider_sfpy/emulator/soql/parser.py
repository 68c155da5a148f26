"""SOQL text -> ``ast.Query``, with lark's failures mapped to Salesforce's MALFORMED_QUERY layout."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

from . import ast
from .dates import literal_span, normalize_date, normalize_datetime
from .errors import QueryErrors, SoqlError
from .literals import InvalidEscape, decode_string

MALFORMED = "MALFORMED_QUERY"


@cache
def _lark() -> Lark:
    """The grammar is compiled once per process; LALR keeps parsing linear and errors token-precise."""
    grammar = resources.files(__package__).joinpath("grammar.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", lexer="contextual", maybe_placeholders=True)


def parse(soql: str) -> ast.Query:
    """Parse one SOQL query; raises ``SoqlError`` (MALFORMED_QUERY) pointing at the offending token."""
    errors = QueryErrors(soql)
    try:
        tree = _lark().parse(soql)
    except UnexpectedInput as exc:
        raise _syntax_error(exc, errors) from None
    try:
        query: ast.Query = _ToAst(errors).transform(tree)
    except VisitError as exc:
        if isinstance(exc.orig_exc, SoqlError):
            raise exc.orig_exc from None
        raise
    return query


def _syntax_error(exc: UnexpectedInput, errors: QueryErrors) -> SoqlError:
    if isinstance(exc, UnexpectedCharacters):
        return errors.at(ast.Position(exc.line, exc.column), MALFORMED, f"unexpected token: {exc.char}")
    if isinstance(exc, UnexpectedToken) and exc.token.type != "$END":
        return errors.at(_pos(exc.token), MALFORMED, f"unexpected token: {exc.token}")
    if isinstance(exc, (UnexpectedToken, UnexpectedEOF)):
        return errors.at(errors.end_position(), MALFORMED, "unexpected token: <EOF>")
    return errors.at(ast.Position(exc.line, exc.column), MALFORMED, str(exc))


def _pos(token: Token) -> ast.Position:
    return ast.Position(token.line or 1, token.column or 1)


class _ToAst(Transformer[Token, ast.Query]):
    """One method per grammar rule (named after the rule or its ``-> alias``), bottom-up."""

    def __init__(self, errors: QueryErrors) -> None:
        super().__init__()
        self._errors = errors

    def start(self, items: list[Any]) -> ast.Query:
        fields, sobject, scope, where, order_by, limit, offset = items
        return ast.Query(
            fields=fields,
            sobject=ast.Name(str(sobject), _pos(sobject)),
            scope=scope,
            where=where,
            order_by=order_by or (),
            limit=limit,
            offset=offset,
        )

    def count_only(self, items: list[Any]) -> None:
        return None

    def field_list(self, items: list[ast.FieldPath]) -> tuple[ast.FieldPath, ...]:
        return tuple(items)

    def field_path(self, items: list[Token]) -> ast.FieldPath:
        return ast.FieldPath(tuple(str(name) for name in items), _pos(items[0]))

    def scope(self, items: list[Token]) -> ast.Name:
        return ast.Name(str(items[0]), _pos(items[0]))

    def where(self, items: list[ast.Condition]) -> ast.Condition:
        return items[0]

    def and_(self, items: list[ast.Condition]) -> ast.And:
        return ast.And(tuple(items))

    def or_(self, items: list[ast.Condition]) -> ast.Or:
        return ast.Or(tuple(items))

    def not_(self, items: list[ast.Condition]) -> ast.Not:
        return ast.Not(items[0])

    def comparison(self, items: list[Any]) -> ast.Comparison:
        field, operator, value = items
        op = str(operator).upper()
        return ast.Comparison(field, "!=" if op == "<>" else op, value)

    def in_(self, items: list[Any]) -> ast.InList:
        return ast.InList(items[0], items[1], negated=False)

    def not_in(self, items: list[Any]) -> ast.InList:
        return ast.InList(items[0], items[1], negated=True)

    def values(self, items: list[ast.Value]) -> tuple[ast.Value, ...]:
        return tuple(items)

    def string(self, items: list[Token]) -> ast.StringValue:
        token = items[0]
        raw = str(token)[1:-1]
        try:
            decode_string(raw)  # validated here so the error can point at the literal
        except InvalidEscape as exc:
            reason = f"Invalid string literal '{raw}'. Illegal character sequence '{exc}' in string literal."
            raise self._errors.at(_pos(token), MALFORMED, reason) from None
        return ast.StringValue(raw, _pos(token))

    def number(self, items: list[Token]) -> ast.NumberValue:
        text = str(items[0])
        return ast.NumberValue(float(text) if "." in text else int(text), _pos(items[0]))

    def true(self, items: list[Token]) -> ast.BooleanValue:
        return ast.BooleanValue(True, _pos(items[0]))

    def false(self, items: list[Token]) -> ast.BooleanValue:
        return ast.BooleanValue(False, _pos(items[0]))

    def null(self, items: list[Token]) -> ast.NullValue:
        return ast.NullValue(_pos(items[0]))

    def date(self, items: list[Token]) -> ast.DateValue:
        token = items[0]
        try:
            return ast.DateValue(normalize_date(str(token)), _pos(token))
        except ValueError:
            raise self._errors.at(_pos(token), MALFORMED, f"invalid date: {token}") from None

    def datetime(self, items: list[Token]) -> ast.DateTimeValue:
        token = items[0]
        try:
            return ast.DateTimeValue(normalize_datetime(str(token)), _pos(token))
        except ValueError:
            raise self._errors.at(_pos(token), MALFORMED, f"invalid datetime: {token}") from None

    def date_literal(self, items: list[Token | None]) -> ast.DateLiteral:
        name, number = items
        assert name is not None  # the grammar always has the NAME
        text = f"{name}:{number}" if number is not None else str(name)
        try:
            span = literal_span(str(name), int(number) if number is not None else None)
        except ValueError:
            # An unquoted word in value position: Salesforce reports it as an unexpected token too.
            raise self._errors.at(_pos(name), MALFORMED, f"unexpected token: {text}") from None
        return ast.DateLiteral(text.upper(), span, _pos(name))

    def order_by(self, items: list[ast.OrderItem]) -> tuple[ast.OrderItem, ...]:
        return tuple(items)

    def order_item(self, items: list[Any]) -> ast.OrderItem:
        field, direction, nulls = items
        descending = direction is not None and direction.type == "DESC"
        nulls_first = not descending if nulls is None else nulls.type == "FIRST"
        return ast.OrderItem(field, descending, nulls_first)

    def limit(self, items: list[Token]) -> ast.IntegerClause:
        return ast.IntegerClause(int(items[0]), _pos(items[0]))

    def offset(self, items: list[Token]) -> ast.IntegerClause:
        return ast.IntegerClause(int(items[0]), _pos(items[0]))
