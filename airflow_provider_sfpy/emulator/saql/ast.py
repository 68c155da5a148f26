"""The parsed form of a SAQL query: statements over named streams, filter conditions and projection
expressions. Every node that can be wrong at run time (an unknown field or stream, a type mismatch)
keeps its source ``Position`` so the error can point at it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

#: A SAQL literal: a string, a number, or null.
Value: TypeAlias = str | float | int | None


@dataclass(frozen=True)
class Position:
    line: int
    column: int


@dataclass(frozen=True)
class Field:
    """A field reference (``'Account.Industry'``, ``Amount``, ``q.'Amount'``); ``stream`` is the qualifier, if any."""

    name: str
    position: Position
    stream: str | None = None


# ------------------------------------------------------------------------------------- filter conditions


@dataclass(frozen=True)
class Compare:
    field: Field
    operator: str  # == != < <= > >=
    value: Value


@dataclass(frozen=True)
class InList:
    field: Field
    values: tuple[Value, ...]
    negated: bool = False


@dataclass(frozen=True)
class InRange:
    """``'Amount' in [1000..5000]``; either bound may be missing."""

    field: Field
    low: float | None
    high: float | None


@dataclass(frozen=True)
class Matches:
    """``'Name' matches "acme"``: case-insensitive substring."""

    field: Field
    pattern: str


@dataclass(frozen=True)
class IsNull:
    field: Field
    negated: bool = False


@dataclass(frozen=True)
class And:
    parts: tuple[Condition, ...]


@dataclass(frozen=True)
class Or:
    parts: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    part: Condition


Condition: TypeAlias = Compare | InList | InRange | Matches | IsNull | And | Or | Not


# ------------------------------------------------------------------------------------- projection expressions


@dataclass(frozen=True)
class FieldRef:
    field: Field


@dataclass(frozen=True)
class Constant:
    value: Value


@dataclass(frozen=True)
class Aggregate:
    """``count()``, ``sum('Amount')``, ... ``field`` is ``None`` for ``count()`` / ``count(q)``."""

    function: str
    field: Field | None
    position: Position


@dataclass(frozen=True)
class Arithmetic:
    operator: str  # + - * / %
    left: Expression
    right: Expression


@dataclass(frozen=True)
class Negate:
    operand: Expression


Expression: TypeAlias = FieldRef | Constant | Aggregate | Arithmetic | Negate


@dataclass(frozen=True)
class Projection:
    expression: Expression
    alias: str


@dataclass(frozen=True)
class OrderKey:
    field: Field
    descending: bool


# ------------------------------------------------------------------------------------- statements


@dataclass(frozen=True)
class Statement:
    """``target = <operation> source ...;`` (``source`` is ``None`` for ``load``)."""

    target: str
    source: str | None
    position: Position


@dataclass(frozen=True)
class Load(Statement):
    dataset: str


@dataclass(frozen=True)
class Filter(Statement):
    condition: Condition


@dataclass(frozen=True)
class Group(Statement):
    keys: tuple[Field, ...] | None  # None: ``group q by all``


@dataclass(frozen=True)
class Foreach(Statement):
    projections: tuple[Projection, ...]


@dataclass(frozen=True)
class Order(Statement):
    keys: tuple[OrderKey, ...]


@dataclass(frozen=True)
class Limit(Statement):
    count: int


@dataclass(frozen=True)
class Offset(Statement):
    count: int


@dataclass(frozen=True)
class Query:
    statements: tuple[Statement, ...]
