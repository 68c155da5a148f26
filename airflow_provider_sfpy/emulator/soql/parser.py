"""SOQL text -> ``ast.Query``, with lark's failures mapped to Salesforce's MALFORMED_QUERY layout.

Only the shape of the text is checked here (plus literals and the ``FIELDS()`` argument); whether a
name, function or clause is allowed where it appears is the compiler's business.

Reference: SOQL SELECT syntax, https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select.htm
"""

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
#: The arguments ``FIELDS()`` takes.
FIELDS_GROUPS = frozenset({"ALL", "STANDARD", "CUSTOM"})
#: What may follow ``WITH`` and ``FOR``; accepted and ignored (one user who sees everything, no locks).
WITH_MODES = frozenset({"SECURITY_ENFORCED", "USER_MODE", "SYSTEM_MODE"})
FOR_MODES = frozenset({"VIEW", "REFERENCE", "UPDATE"})


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

    def start(self, items: list[ast.Query]) -> ast.Query:
        return items[0]

    def query(self, items: list[Any]) -> ast.Query:
        select, sobject, scope, where, _with, group_by, having, order_by, limit, offset, _for = items
        count_pos = _count_only(select)
        return ast.Query(
            select=None if count_pos is not None else tuple(select),
            sobject=sobject,
            scope=scope,
            where=where,
            group_by=group_by,
            having=having,
            order_by=order_by or (),
            limit=limit,
            offset=offset,
            count_pos=count_pos,
        )

    def select_list(self, items: list[ast.SelectItem]) -> list[ast.SelectItem]:
        return items

    def select_field(self, items: list[Any]) -> ast.SelectItem:
        expression, alias = items
        if isinstance(expression, ast.FunctionCall) and expression.name == "FIELDS":
            return self._fields_function(expression, alias)
        return ast.SelectField(expression, ast.Name(str(alias), _pos(alias)) if alias is not None else None)

    def _fields_function(self, call: ast.FunctionCall, alias: Token | None) -> ast.FieldsFunction:
        argument = call.argument
        group = argument.text.upper() if isinstance(argument, ast.FieldPath) else ""
        if group not in FIELDS_GROUPS:
            reason = "FIELDS() takes exactly one of ALL, STANDARD or CUSTOM, as in FIELDS(STANDARD)"
            raise self._errors.at(call.pos, MALFORMED, reason)
        if alias is not None:
            raise self._errors.at(_pos(alias), MALFORMED, f"unexpected token: {alias}")
        return ast.FieldsFunction(group, call.pos)

    def child_query(self, items: list[ast.Query]) -> ast.ChildQuery:
        return ast.ChildQuery(items[0])

    def object_name(self, items: list[Token]) -> ast.ObjectName:
        return ast.ObjectName(tuple(str(name) for name in items), _pos(items[0]))

    def field_path(self, items: list[Token]) -> ast.FieldPath:
        return ast.FieldPath(tuple(str(name) for name in items), _pos(items[0]))

    def function_call(self, items: list[Any]) -> ast.FunctionCall:
        name, argument = items
        return ast.FunctionCall(str(name).upper(), argument, _pos(name))

    def scope(self, items: list[Token]) -> ast.Name:
        return ast.Name(str(items[0]), _pos(items[0]))

    def where(self, items: list[ast.Condition]) -> ast.Condition:
        return items[0]

    def having(self, items: list[ast.Condition]) -> ast.Condition:
        return items[0]

    def with_(self, items: list[Token]) -> None:
        self._expect_one_of(items[0], WITH_MODES)

    def for_(self, items: list[Token]) -> None:
        self._expect_one_of(items[0], FOR_MODES)

    def _expect_one_of(self, token: Token, allowed: frozenset[str]) -> None:
        if str(token).upper() not in allowed:
            raise self._errors.at(_pos(token), MALFORMED, f"unexpected token: {token}")

    def group_plain(self, items: list[Any]) -> ast.GroupBy:
        return self._group_by("PLAIN", items)

    def group_rollup(self, items: list[Any]) -> ast.GroupBy:
        return self._group_by("ROLLUP", items[1:])

    def group_cube(self, items: list[Any]) -> ast.GroupBy:
        return self._group_by("CUBE", items[1:])

    @staticmethod
    def _group_by(kind: str, operands: list[ast.Operand]) -> ast.GroupBy:
        return ast.GroupBy(kind, tuple(operands), operands[0].pos)

    def and_(self, items: list[ast.Condition]) -> ast.And:
        return ast.And(tuple(items))

    def or_(self, items: list[ast.Condition]) -> ast.Or:
        return ast.Or(tuple(items))

    def not_(self, items: list[ast.Condition]) -> ast.Not:
        return ast.Not(items[0])

    def comparison(self, items: list[Any]) -> ast.Comparison:
        operand, operator, value = items
        op = str(operator).upper()
        return ast.Comparison(operand, "!=" if op == "<>" else op, value)

    def in_(self, items: list[Any]) -> ast.InList:
        return ast.InList(items[0], items[1], negated=False)

    def not_in(self, items: list[Any]) -> ast.InList:
        return ast.InList(items[0], items[1], negated=True)

    def semi_join(self, items: list[Any]) -> ast.SubqueryIn:
        return ast.SubqueryIn(items[0], items[1], negated=False)

    def anti_join(self, items: list[Any]) -> ast.SubqueryIn:
        return ast.SubqueryIn(items[0], items[1], negated=True)

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
        operand, direction, nulls = items
        descending = direction is not None and direction.type == "DESC"
        nulls_first = not descending if nulls is None else nulls.type == "FIRST"
        return ast.OrderItem(operand, descending, nulls_first)

    def limit(self, items: list[Token]) -> ast.IntegerClause:
        return ast.IntegerClause(int(items[0]), _pos(items[0]))

    def offset(self, items: list[Token]) -> ast.IntegerClause:
        return ast.IntegerClause(int(items[0]), _pos(items[0]))


def _count_only(select: list[ast.SelectItem]) -> ast.Position | None:
    """Where ``COUNT()`` is, when it is the whole SELECT list (the record-count form of a query)."""
    if len(select) != 1:
        return None
    item = select[0]
    if isinstance(item, ast.SelectField) and item.alias is None:
        call = item.expression
        if isinstance(call, ast.FunctionCall) and call.name == "COUNT" and call.argument is None:
            return call.pos
    return None
