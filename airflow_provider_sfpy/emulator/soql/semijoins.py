"""Salesforce's restrictions on semi-joins (``Id IN (SELECT ...)``) and anti-joins (``NOT IN``).

The SQL itself is simple (``<left> IN (SELECT <id> FROM ... WHERE <id> IS NOT NULL ...)``, the NULL
filter keeping an anti-join from matching nothing); what makes it SOQL is what Salesforce refuses:
both sides must be Ids or references, the subquery selects exactly one field of its own object, from
another object than the outer query, with no ORDER BY, LIMIT or grouping; at most two per WHERE, not
under OR or NOT, and not nested.

References:
- Comparison Operators, "Semi-Joins with IN and Anti-Joins with NOT IN":
  https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_comparisonoperators.htm
"""

from __future__ import annotations

from ..schema import SObjectDef
from .ast import And, Condition, FieldPath, Not, Or, Query, SelectField, SubqueryIn
from .errors import QueryErrors
from .resolver import ResolvedField

MALFORMED = "MALFORMED_QUERY"
MAX_SEMI_JOINS = 2
ID_TYPES = frozenset({"id", "reference"})
#: Objects Salesforce does not allow as the subject of a semi-join or anti-join subquery.
UNSUPPORTED_INNER = frozenset(
    {"activityhistory", "attachment", "event", "eventattendee", "note", "openactivity", "task"}
)


def check_placement(where: Condition | None, errors: QueryErrors) -> None:
    """At most two semi/anti-joins per WHERE, each joined to the rest with AND only."""
    found: list[SubqueryIn] = []

    def walk(condition: Condition, under: str | None) -> None:
        if isinstance(condition, SubqueryIn):
            if under is not None:
                reason = f"Semi join sub-selects are not allowed with the '{under}' operator"
                raise errors.at(condition.operand.pos, MALFORMED, reason)
            found.append(condition)
        elif isinstance(condition, And):
            for operand in condition.operands:
                walk(operand, under)
        elif isinstance(condition, Or):
            for operand in condition.operands:
                walk(operand, under or "OR")
        elif isinstance(condition, Not):
            walk(condition.operand, under or "NOT")

    if where is not None:
        walk(where, None)
    if len(found) > MAX_SEMI_JOINS:
        reason = f"A query can have at most {MAX_SEMI_JOINS} semi join or anti join sub-selects"
        raise errors.at(found[MAX_SEMI_JOINS].operand.pos, MALFORMED, reason)


def check_left(left: ResolvedField | None, node: SubqueryIn, errors: QueryErrors) -> None:
    """The outer side must be an Id or a reference field."""
    if left is None or not isinstance(node.operand, FieldPath) or left.field.type not in ID_TYPES:
        written = node.operand.text
        reason = f"semi join sub selects can only be compared with id or reference fields, cannot use: '{written}'"
        raise errors.at(node.operand.pos, MALFORMED, reason)


def check_inner_query(node: SubqueryIn, outer: SObjectDef, inner: SObjectDef, errors: QueryErrors) -> FieldPath:
    """The subquery's own restrictions; the one field path it selects."""
    query = node.query
    if inner.name.lower() in UNSUPPORTED_INNER:
        reason = f"Entity '{inner.name}' is not supported for semi join inner selects"
        raise errors.at(query.sobject.pos, MALFORMED, reason)
    if inner.name == outer.name:
        reason = "The inner and outer selects should not be on the same object type"
        raise errors.at(query.sobject.pos, MALFORMED, reason)
    selected = _single_field(query)
    if selected is None:
        reason = "a semi join sub-select selects exactly one Id or reference field: (SELECT AccountId FROM Contact)"
        raise errors.at(query.count_pos or query.sobject.pos, MALFORMED, reason)
    _refuse_clauses(query, errors)
    if _has_subquery(query.where):
        raise errors.at(query.sobject.pos, MALFORMED, "Nesting of semi join sub-selects is not supported")
    return selected


def check_inner_field(resolved: ResolvedField, path: FieldPath, errors: QueryErrors) -> None:
    if resolved.joins:
        raise errors.at(path.pos, MALFORMED, "inner select field cannot have more than one level of relationships")
    if resolved.field.type not in ID_TYPES:
        reason = f"semi join sub selects can only query id fields, cannot use: '{path.text}'"
        raise errors.at(path.pos, MALFORMED, reason)


def _single_field(query: Query) -> FieldPath | None:
    if query.select is None or len(query.select) != 1:
        return None
    item = query.select[0]
    if isinstance(item, SelectField) and item.alias is None and isinstance(item.expression, FieldPath):
        return item.expression
    return None


def _refuse_clauses(query: Query, errors: QueryErrors) -> None:
    refused = [
        ("GROUP BY", query.group_by.pos if query.group_by else None),
        ("ORDER BY", query.order_by[0].operand.pos if query.order_by else None),
        ("LIMIT", query.limit.pos if query.limit else None),
        ("OFFSET", query.offset.pos if query.offset else None),
    ]
    for clause, pos in refused:
        if pos is not None:
            raise errors.at(pos, MALFORMED, f"semi join and anti join sub-selects cannot use {clause}")


def _has_subquery(condition: Condition | None) -> bool:
    if isinstance(condition, SubqueryIn):
        return True
    if isinstance(condition, (And, Or)):
        return any(_has_subquery(operand) for operand in condition.operands)
    if isinstance(condition, Not):
        return _has_subquery(condition.operand)
    return False
