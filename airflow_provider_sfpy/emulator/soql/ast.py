"""The parsed form of a SOQL query: frozen dataclasses with no dependency on lark.

The parser builds these and the compiler reads them, so the compiler never has to know the grammar's
rule names. Every node a semantic error can point at carries its ``Position`` in the query text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

from .dates import PeriodSpan


@dataclass(frozen=True)
class Position:
    """1-based row and column of a token, as Salesforce reports them (``ERROR at Row:R:Column:C``)."""

    line: int
    column: int


@dataclass(frozen=True)
class FieldPath:
    """``Name`` or ``Account.Owner.Email``, exactly as written (resolution fixes the case later)."""

    parts: tuple[str, ...]
    pos: Position


@dataclass(frozen=True)
class StringValue:
    """A quoted literal; ``raw`` keeps the escapes because ``LIKE`` decodes ``\\%`` and ``\\\\`` differently."""

    raw: str
    pos: Position


@dataclass(frozen=True)
class NumberValue:
    value: int | float
    pos: Position


@dataclass(frozen=True)
class BooleanValue:
    value: bool
    pos: Position


@dataclass(frozen=True)
class NullValue:
    pos: Position


@dataclass(frozen=True)
class DateValue:
    """``2024-01-31`` (already checked to be a real calendar date)."""

    text: str
    pos: Position


@dataclass(frozen=True)
class DateTimeValue:
    """A datetime literal, already normalised to the stored UTC text form."""

    text: str
    pos: Position


@dataclass(frozen=True)
class DateLiteral:
    """A relative date literal (``TODAY``, ``LAST_N_DAYS:30``); ``span`` says which periods it covers."""

    text: str
    span: PeriodSpan
    pos: Position


Value: TypeAlias = StringValue | NumberValue | BooleanValue | NullValue | DateValue | DateTimeValue | DateLiteral


@dataclass(frozen=True)
class Comparison:
    """``field <operator> value``; ``operator`` is one of ``= != < <= > >= LIKE`` (``<>`` arrives as ``!=``)."""

    field: FieldPath
    operator: str
    value: Value


@dataclass(frozen=True)
class InList:
    field: FieldPath
    values: tuple[Value, ...]
    negated: bool


@dataclass(frozen=True)
class Not:
    operand: Condition


@dataclass(frozen=True)
class And:
    operands: tuple[Condition, ...]


@dataclass(frozen=True)
class Or:
    operands: tuple[Condition, ...]


Condition: TypeAlias = Comparison | InList | Not | And | Or


@dataclass(frozen=True)
class OrderItem:
    """One ORDER BY term with Salesforce's defaults applied (ASC NULLS FIRST, DESC NULLS LAST)."""

    field: FieldPath
    descending: bool
    nulls_first: bool


@dataclass(frozen=True)
class IntegerClause:
    """The number after ``LIMIT`` or ``OFFSET``, kept with its position for range errors."""

    value: int
    pos: Position


@dataclass(frozen=True)
class Name:
    """An identifier with its position (the FROM object, the USING SCOPE filter)."""

    text: str
    pos: Position


@dataclass(frozen=True)
class Query:
    """A whole SELECT; ``fields`` is ``None`` for ``SELECT COUNT()``."""

    fields: tuple[FieldPath, ...] | None
    sobject: Name
    scope: Name | None
    where: Condition | None
    order_by: tuple[OrderItem, ...]
    limit: IntegerClause | None
    offset: IntegerClause | None
