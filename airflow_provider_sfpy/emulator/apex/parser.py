"""Apex source -> syntax tree, with lark's failures mapped to the Apex compiler's messages.

Salesforce's parser reports a syntax error at the offending token as ``Unexpected token 'x'.``,
``Missing ';' at 'x'`` (a statement ran into the next one) or, at the end of the text,
``Unexpected token '<EOF>'.``; a character no token starts with is ``Found punctuation symbol or
operator ...``. The grammar is compiled once per process.
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError
from lark.tree import Meta

from . import syntax as ast
from .errors import CompileError

INTEGER_MAX = 2**31 - 1
LONG_MAX = 2**63 - 1
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_STRING_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "'": "'", "\\": "\\"}
_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|.)", re.DOTALL)
#: ``:name`` or ``:a.b`` outside string literals of an inline query.
_BIND = re.compile(r"'(?:[^'\\]|\\.)*'|:\s*([A-Za-z][A-Za-z0-9_]*(?:\s*\.\s*[A-Za-z][A-Za-z0-9_]*)*)")
#: Tokens that can begin a statement: a parse stopping on one of them after an expression means the
#: previous statement lacks its semicolon.
_STATEMENT_STARTS = frozenset(
    {"NAME", "IF", "FOR", "WHILE", "DO", "DML_OP", "THROW", "TRY", "BREAK", "CONTINUE", "LBRACE", "RBRACE",
     "GENERIC", "NEW", "STRING", "INT", "LONG", "DECIMAL", "TRUE", "FALSE", "NULL", "SOQL", "INC_OP"}
)  # fmt: skip


@cache
def _lark() -> Lark:
    grammar = resources.files(__package__).joinpath("grammar.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", lexer="contextual", propagate_positions=True, maybe_placeholders=True)


def parse(source: str) -> list[ast.Stmt]:
    """The statements of an anonymous block; raises ``CompileError`` on a syntax error."""
    try:
        tree = _lark().parse(source)
    except UnexpectedInput as exc:
        raise _syntax_error(exc, source) from None
    try:
        statements: list[ast.Stmt] = _ToAst().transform(tree)
    except VisitError as exc:
        if isinstance(exc.orig_exc, (CompileError, RecursionError)):
            raise exc.orig_exc from None
        raise
    return statements


def _syntax_error(exc: UnexpectedInput, source: str) -> CompileError:
    if isinstance(exc, UnexpectedCharacters):
        pos = ast.Pos(exc.line, exc.column)
        offset = exc.pos_in_stream or 0
        char = source[offset]
        if char == "'":
            return CompileError("Missing closing quote character ' on string.", pos)
        word = _WORD.match(source, offset)
        if word:
            return CompileError(f"Unexpected token '{word.group(0)}'.", pos)
        return CompileError(f"Found punctuation symbol or operator '{char}' that isn't valid in Apex.", pos)
    if isinstance(exc, UnexpectedToken) and exc.token.type != "$END":
        token = exc.token
        pos = ast.Pos(token.line or 1, token.column or 1)
        if "_SEMI" in (exc.accepts or exc.expected) and token.type in _STATEMENT_STARTS:
            return CompileError(f"Missing ';' at '{token}'", pos)
        return CompileError(f"Unexpected token '{token}'.", pos)
    end = _end_position(source)
    if isinstance(exc, UnexpectedToken) and "_SEMI" in (exc.accepts or exc.expected):
        return CompileError("Missing ';' at '<EOF>'", end)
    if isinstance(exc, (UnexpectedToken, UnexpectedEOF)):
        return CompileError("Unexpected token '<EOF>'.", end)
    return CompileError(str(exc), ast.Pos(exc.line, exc.column))


def _end_position(source: str) -> ast.Pos:
    lines = source.split("\n")
    return ast.Pos(len(lines), len(lines[-1].rstrip("\r")) + 1)


def _pos(item: Token | Meta | ast.Node) -> ast.Pos:
    if isinstance(item, ast.Node):
        return item.pos
    return ast.Pos(getattr(item, "line", 1) or 1, getattr(item, "column", 1) or 1)


def decode_string(token: Token) -> str:
    """An Apex string literal's value (Java-style escapes); Salesforce rejects unknown escapes."""
    raw = str(token)[1:-1]

    def replace(match: re.Match[str]) -> str:
        sequence = match.group(1)
        if len(sequence) == 5:
            return chr(int(sequence[1:], 16))
        decoded = _STRING_ESCAPES.get(sequence)
        if decoded is None:
            raise CompileError(
                f"Invalid string literal '{raw}'. Illegal character sequence '\\{sequence}' in string literal.",
                _pos(token),
            )
        return decoded

    return _ESCAPE.sub(replace, raw)


def soql_binds(token: Token) -> list[ast.Bind]:
    """The bind expressions (``:name``, ``:rec.Field``) of an inline query token, positioned in the source."""
    text = str(token)[1:-1]
    binds = []
    for match in _BIND.finditer(text):
        if match.group(1) is None:
            continue
        before = str(token)[: match.start(1) + 1]
        newlines = before.count("\n")
        line = (token.line or 1) + newlines
        column = len(before) - before.rfind("\n") if newlines else (token.column or 1) + len(before)
        pos = ast.Pos(line, column)
        parts = [p.strip() for p in match.group(1).split(".")]
        expr: ast.Expr = ast.Name(pos, parts[0])
        for part in parts[1:]:
            expr = ast.FieldAccess(pos, expr, part, pos)
        binds.append(ast.Bind(match.start(), match.end(), expr))
    return binds


@v_args(meta=True)
class _ToAst(Transformer[Token, list[ast.Stmt]]):
    """One method per grammar rule or alias, bottom-up; keyword tokens are only kept for positions."""

    # --------------------------------------------------------------------------- statements

    def start(self, meta: Meta, items: list[ast.Stmt]) -> list[ast.Stmt]:
        return items

    def block(self, meta: Meta, items: list[Any]) -> ast.Block:
        return ast.Block(_pos(items[0]), [s for s in items[1:-1]])

    def local_decl(self, meta: Meta, items: list[Any]) -> ast.LocalDecl:
        return ast.LocalDecl(_pos(meta), items[0], items[1:])

    def declarator(self, meta: Meta, items: list[Any]) -> ast.Declarator:
        name, init = items
        return ast.Declarator(_pos(name), str(name), init)

    def expr_stmt(self, meta: Meta, items: list[Any]) -> ast.ExprStmt:
        return ast.ExprStmt(_pos(meta), items[0])

    def if_stmt(self, meta: Meta, items: list[Any]) -> ast.If:
        keyword, condition, then, otherwise = items
        return ast.If(_pos(keyword), condition, then, otherwise)

    def for_init(self, meta: Meta, items: list[Any]) -> ast.LocalDecl:
        decl: ast.LocalDecl = items[0]
        return decl

    def for_exprs(self, meta: Meta, items: list[ast.Expr]) -> list[ast.Expr]:
        return items

    def for_update(self, meta: Meta, items: list[ast.Expr]) -> list[ast.Expr]:
        return items

    def for_stmt(self, meta: Meta, items: list[Any]) -> ast.For:
        keyword, init, condition, updates, body = items
        return ast.For(_pos(keyword), init, condition, updates or [], body)

    def foreach_stmt(self, meta: Meta, items: list[Any]) -> ast.ForEach:
        keyword, type_ref, name, iterable, body = items
        return ast.ForEach(_pos(keyword), type_ref, str(name), iterable, body)

    def while_stmt(self, meta: Meta, items: list[Any]) -> ast.While:
        keyword, condition, body = items
        return ast.While(_pos(keyword), condition, body)

    def do_stmt(self, meta: Meta, items: list[Any]) -> ast.DoWhile:
        keyword, body, _, condition = items
        return ast.DoWhile(_pos(keyword), body, condition)

    def dml_stmt(self, meta: Meta, items: list[Any]) -> ast.Dml:
        keyword, expr = items
        return ast.Dml(_pos(keyword), str(keyword).lower(), expr)

    def throw_stmt(self, meta: Meta, items: list[Any]) -> ast.Throw:
        keyword, expr = items
        return ast.Throw(_pos(keyword), expr)

    def try_stmt(self, meta: Meta, items: list[Any]) -> ast.Try:
        keyword, body, *rest = items
        finally_ = rest[-1] if isinstance(rest[-1], ast.Block) else None
        catches = [c for c in rest if isinstance(c, ast.Catch)]
        return ast.Try(_pos(keyword), body, catches, finally_)

    def catch_clause(self, meta: Meta, items: list[Any]) -> ast.Catch:
        keyword, type_ref, name, body = items
        return ast.Catch(_pos(keyword), type_ref, str(name), body)

    def break_stmt(self, meta: Meta, items: list[Any]) -> ast.Break:
        return ast.Break(_pos(items[0]))

    def continue_stmt(self, meta: Meta, items: list[Any]) -> ast.Continue:
        return ast.Continue(_pos(items[0]))

    def empty_stmt(self, meta: Meta, items: list[Any]) -> ast.Empty:
        return ast.Empty(_pos(meta))

    # --------------------------------------------------------------------------- types

    def simple_type(self, meta: Meta, items: list[Token]) -> ast.TypeRef:
        return ast.TypeRef(_pos(items[0]), str(items[0]))

    def generic_type(self, meta: Meta, items: list[Any]) -> ast.TypeRef:
        name, *args = items
        return ast.TypeRef(_pos(name), str(name), tuple(args))

    # --------------------------------------------------------------------------- expressions

    def assign(self, meta: Meta, items: list[Any]) -> ast.Assign:
        target, op, value = items
        return ast.Assign(target.pos, str(op), target, value)

    def ternary(self, meta: Meta, items: list[Any]) -> ast.Ternary:
        condition, then, otherwise = items
        return ast.Ternary(condition.pos, condition, then, otherwise)

    def binary(self, meta: Meta, items: list[Any]) -> ast.Binary:
        left, op, right = items
        return ast.Binary(left.pos, str(op), left, right)

    def unary(self, meta: Meta, items: list[Any]) -> ast.Unary:
        op, operand = items
        return ast.Unary(_pos(op), str(op), operand)

    def prefix_step(self, meta: Meta, items: list[Any]) -> ast.Step:
        op, operand = items
        return ast.Step(_pos(op), str(op), operand, prefix=True)

    def postfix_step(self, meta: Meta, items: list[Any]) -> ast.Step:
        operand, op = items
        return ast.Step(operand.pos, str(op), operand, prefix=False)

    def field(self, meta: Meta, items: list[Any]) -> ast.FieldAccess:
        target, name = items
        return ast.FieldAccess(target.pos, target, str(name), _pos(name))

    def call(self, meta: Meta, items: list[Any]) -> ast.Call:
        target, name, args = items
        return ast.Call(target.pos, target, str(name), _pos(name), args or [])

    def index(self, meta: Meta, items: list[Any]) -> ast.Index:
        target, index = items
        return ast.Index(target.pos, target, index)

    def arguments(self, meta: Meta, items: list[ast.Expr]) -> list[ast.Expr]:
        return items

    def name(self, meta: Meta, items: list[Token]) -> ast.Name:
        return ast.Name(_pos(items[0]), str(items[0]))

    def string(self, meta: Meta, items: list[Token]) -> ast.Literal:
        return ast.Literal(_pos(items[0]), decode_string(items[0]), "String")

    def integer(self, meta: Meta, items: list[Token]) -> ast.Literal:
        value = int(items[0])
        if value > INTEGER_MAX:
            raise CompileError("Illegal integer", _pos(items[0]))
        return ast.Literal(_pos(items[0]), value, "Integer")

    def long(self, meta: Meta, items: list[Token]) -> ast.Literal:
        value = int(str(items[0])[:-1])
        if value > LONG_MAX:
            raise CompileError("Illegal long", _pos(items[0]))
        return ast.Literal(_pos(items[0]), value, "Long")

    def decimal(self, meta: Meta, items: list[Token]) -> ast.Literal:
        return ast.Literal(_pos(items[0]), Decimal(str(items[0])), "Decimal")

    def true(self, meta: Meta, items: list[Token]) -> ast.Literal:
        return ast.Literal(_pos(items[0]), True, "Boolean")

    def false(self, meta: Meta, items: list[Token]) -> ast.Literal:
        return ast.Literal(_pos(items[0]), False, "Boolean")

    def null(self, meta: Meta, items: list[Token]) -> ast.Literal:
        return ast.Literal(_pos(items[0]), None, "null")

    def soql(self, meta: Meta, items: list[Token]) -> ast.Soql:
        token = items[0]
        return ast.Soql(_pos(token), str(token)[1:-1], soql_binds(token))

    def new_object(self, meta: Meta, items: list[Any]) -> ast.NewObject:
        keyword, type_ref, args = items
        return ast.NewObject(_pos(keyword), type_ref, args or [])

    def new_collection(self, meta: Meta, items: list[Any]) -> ast.NewCollection:
        keyword, type_ref, args = items
        return ast.NewCollection(_pos(keyword), type_ref, args or [])
