"""The parsed form of a SOQL query: frozen dataclasses with no dependency on lark.

The parser builds these and the compiler reads them, so the compiler never has to know the grammar's
rule names. Every node a semantic error can point at carries its ``Position`` in the query text.
Subqueries (child relationship queries in SELECT, semi-joins in WHERE) are ``Query`` nodes too:
which clauses they may use is a semantic rule, checked by the compiler with Salesforce's messages.
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

    @property
    def text(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True)
class FunctionCall:
    """``COUNT(Id)``, ``CALENDAR_YEAR(CreatedDate)``, ``COUNT()``: ``name`` upper-cased, at most one argument."""

    name: str
    argument: FieldPath | FunctionCall | None
    pos: Position

    @property
    def text(self) -> str:
        return f"{self.name}({self.argument.text if self.argument is not None else ''})"


Operand: TypeAlias = FieldPath | FunctionCall


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
    """``operand <operator> value``; ``operator`` is one of ``= != < <= > >= LIKE`` (``<>`` arrives as ``!=``)."""

    operand: Operand
    operator: str
    value: Value


@dataclass(frozen=True)
class InList:
    operand: Operand
    values: tuple[Value, ...]
    negated: bool


@dataclass(frozen=True)
class SubqueryIn:
    """A semi-join (``Id IN (SELECT AccountId FROM Contact)``) or, ``negated``, an anti-join."""

    operand: Operand
    query: Query
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


Condition: TypeAlias = Comparison | InList | SubqueryIn | Not | And | Or


@dataclass(frozen=True)
class Name:
    """An identifier with its position (an alias, the USING SCOPE filter)."""

    text: str
    pos: Position


@dataclass(frozen=True)
class SelectField:
    """A field path or function call in the SELECT list, with its alias (``MAX(Amount) top``) if any."""

    expression: Operand
    alias: Name | None


@dataclass(frozen=True)
class FieldsFunction:
    """``FIELDS(ALL)``, ``FIELDS(STANDARD)`` or ``FIELDS(CUSTOM)``; ``group`` is upper-cased."""

    group: str
    pos: Position


@dataclass(frozen=True)
class ChildQuery:
    """``(SELECT LastName FROM Contacts)``: a parent-to-child relationship subquery in the SELECT list."""

    query: Query

    @property
    def pos(self) -> Position:
        return self.query.sobject.pos


SelectItem: TypeAlias = SelectField | FieldsFunction | ChildQuery


@dataclass(frozen=True)
class OrderItem:
    """One ORDER BY term with Salesforce's defaults applied (ASC NULLS FIRST, DESC NULLS LAST)."""

    operand: Operand
    descending: bool
    nulls_first: bool


@dataclass(frozen=True)
class GroupBy:
    """``GROUP BY a, b`` (``kind`` "PLAIN"), ``GROUP BY ROLLUP(a, b)`` or ``GROUP BY CUBE(a, b)``."""

    kind: str
    items: tuple[Operand, ...]
    pos: Position


@dataclass(frozen=True)
class IntegerClause:
    """The number after ``LIMIT`` or ``OFFSET``, kept with its position for range errors."""

    value: int
    pos: Position


@dataclass(frozen=True)
class ObjectName:
    """The FROM target: ``Account``, or for a child subquery ``Contacts`` / ``Account.Contacts``."""

    parts: tuple[str, ...]
    pos: Position

    @property
    def text(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True)
class Query:
    """A whole SELECT; ``select`` is ``None`` for ``SELECT COUNT()``, whose position is ``count_pos``."""

    select: tuple[SelectItem, ...] | None
    sobject: ObjectName
    scope: Name | None
    where: Condition | None
    group_by: GroupBy | None
    having: Condition | None
    order_by: tuple[OrderItem, ...]
    limit: IntegerClause | None
    offset: IntegerClause | None
    count_pos: Position | None = None
