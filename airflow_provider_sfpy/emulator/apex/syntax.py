"""The Apex syntax tree: what the parser builds, the checker annotates and the interpreter runs.

Every node carries the position (1-based line and column) of its first token, because both compile
problems and runtime exceptions are reported by position. Fields the checker fills in (static types,
resolved fields, methods) are declared here with ``init=False`` so the parser never sets them and the
interpreter can rely on them being present once checking has succeeded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_sfpy.emulator.schema import FieldDef, SObjectDef

    from .types import ApexType


@dataclass(frozen=True)
class Pos:
    line: int
    column: int


@dataclass(eq=False)
class Node:
    pos: Pos


@dataclass(eq=False)
class TypeRef(Node):
    """A type as written: ``Integer``, ``Account``, ``List<Account>``."""

    name: str
    args: tuple[TypeRef, ...] = ()

    @property
    def text(self) -> str:
        if not self.args:
            return self.name
        return f"{self.name}<{','.join(a.text for a in self.args)}>"


# ---------------------------------------------------------------------------------------- expressions


@dataclass(eq=False)
class Expr(Node):
    #: Set by the checker: the expression's compile-time type.
    static_type: ApexType | None = field(default=None, init=False, repr=False)


@dataclass(eq=False)
class Literal(Expr):
    value: Any
    kind: str  # "Integer", "Long", "Decimal", "String", "Boolean" or "null"


@dataclass(eq=False)
class Name(Expr):
    name: str


@dataclass(eq=False)
class FieldAccess(Expr):
    """``target.name``: an sObject field or parent relationship."""

    target: Expr
    name: str
    name_pos: Pos
    #: Set by the checker: the field read, or the relationship's reference field (``parent`` set).
    field_def: FieldDef | None = field(default=None, init=False, repr=False)
    parent: SObjectDef | None = field(default=None, init=False, repr=False)


@dataclass(eq=False)
class Call(Expr):
    """``target.name(args)``; ``target`` is a class name (``System``) for static methods."""

    target: Expr
    name: str
    name_pos: Pos
    args: list[Expr]
    #: Set by the checker: the method's implementation and whether the target is a class name.
    impl: Callable[..., Any] | None = field(default=None, init=False, repr=False)
    static: bool = field(default=False, init=False, repr=False)


@dataclass(eq=False)
class Index(Expr):
    target: Expr
    index: Expr


@dataclass(eq=False)
class Unary(Expr):
    op: str  # "-", "+" or "!"
    operand: Expr


@dataclass(eq=False)
class Step(Expr):
    """``++x``, ``x--``..."""

    op: str  # "++" or "--"
    operand: Expr
    prefix: bool


@dataclass(eq=False)
class Binary(Expr):
    op: str
    left: Expr
    right: Expr
    #: Set by the checker: the type both operands are converted to before the operation.
    operand_type: ApexType | None = field(default=None, init=False, repr=False)


@dataclass(eq=False)
class Ternary(Expr):
    condition: Expr
    then: Expr
    otherwise: Expr


@dataclass(eq=False)
class Assign(Expr):
    op: str  # "=", "+=", "-=", "*=", "/="
    target: Expr
    value: Expr
    #: Set by the checker for compound assignments: the ``target op value`` computation.
    operation: Binary | None = field(default=None, init=False, repr=False)


@dataclass(eq=False)
class NewObject(Expr):
    """``new Account(Name = 'x')``, ``new MathException('m')``, ``new List<Account>()``."""

    type_ref: TypeRef
    args: list[Expr]
    #: Set by the checker for sObjects: the fields initialised, in order.
    field_inits: list[tuple[FieldDef, Expr]] = field(default_factory=list, init=False, repr=False)


@dataclass(eq=False)
class NewCollection(Expr):
    """``new List<Account>{a, b}``."""

    type_ref: TypeRef
    items: list[Expr]


@dataclass(eq=False)
class Bind:
    """``:name`` or ``:a.b`` inside inline SOQL: where it is in the query text, and what it reads."""

    start: int
    end: int
    expr: Expr


@dataclass(eq=False)
class Soql(Expr):
    """Inline SOQL ``[SELECT ...]``; ``text`` is the query without the brackets."""

    text: str
    binds: list[Bind] = field(default_factory=list)
    #: Set by the checker: assigned to a single sObject (one row expected) rather than a list.
    single: bool = field(default=False, init=False, repr=False)


# ---------------------------------------------------------------------------------------- statements


@dataclass(eq=False)
class Stmt(Node):
    pass


@dataclass(eq=False)
class Block(Stmt):
    body: list[Stmt]


@dataclass(eq=False)
class Declarator(Node):
    name: str
    init: Expr | None


@dataclass(eq=False)
class LocalDecl(Stmt):
    type_ref: TypeRef
    declarators: list[Declarator]
    #: Set by the checker.
    declared_type: ApexType | None = field(default=None, init=False, repr=False)


@dataclass(eq=False)
class ExprStmt(Stmt):
    expr: Expr


@dataclass(eq=False)
class If(Stmt):
    condition: Expr
    then: Stmt
    otherwise: Stmt | None


@dataclass(eq=False)
class For(Stmt):
    init: LocalDecl | list[Expr] | None
    condition: Expr | None
    updates: list[Expr]
    body: Stmt


@dataclass(eq=False)
class ForEach(Stmt):
    type_ref: TypeRef
    name: str
    iterable: Expr
    body: Stmt
    declared_type: ApexType | None = field(default=None, init=False, repr=False)


@dataclass(eq=False)
class While(Stmt):
    condition: Expr
    body: Stmt


@dataclass(eq=False)
class DoWhile(Stmt):
    body: Stmt
    condition: Expr


@dataclass(eq=False)
class Dml(Stmt):
    op: str  # "insert", "update", "upsert" or "delete" (lower case)
    expr: Expr


@dataclass(eq=False)
class Throw(Stmt):
    expr: Expr


@dataclass(eq=False)
class Catch(Node):
    type_ref: TypeRef
    name: str
    body: Block
    caught_type: ApexType | None = field(default=None, init=False, repr=False)


@dataclass(eq=False)
class Try(Stmt):
    body: Block
    catches: list[Catch]
    finally_: Block | None


@dataclass(eq=False)
class Break(Stmt):
    pass


@dataclass(eq=False)
class Continue(Stmt):
    pass


@dataclass(eq=False)
class Empty(Stmt):
    pass
