"""Parent-to-child relationship subqueries: ``SELECT Name, (SELECT LastName FROM Contacts) FROM Account``.

A child subquery names one of the parent's child relationships (as describe lists them), may filter,
sort and limit its rows, and may itself hold child subqueries: one level below the root up to API
57.0, four (five levels counting the root) from 58.0, as Salesforce allows through REST. Aggregates
and GROUP BY are for root queries only.

Each subquery compiles to one correlated scalar subquery in the parent's SELECT list whose value is a
JSON array of the child rows (see ``records`` for how they render), so the parent statement stays a
single statement that a cursor can materialise and page.

References:
- Using Relationship Queries: https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_relationships_query_using.htm
- Understanding Relationship Query Limitations: https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_relationships_query_limits.htm
"""

from __future__ import annotations

from collections.abc import Sequence

from ..schema import SObjectDef
from .aggregates import is_aggregate_query
from .ast import ObjectName, Query
from .describe_facts import ChildRelationship, child_relationship
from .errors import QueryErrors
from .sql import Sql

MALFORMED = "MALFORMED_QUERY"
MAX_CHILD_RELATIONSHIPS = 20
#: API version from which REST queries may nest child subqueries below a child subquery.
NESTED_CHILDREN_VERSION = 58.0

_BAD_RELATIONSHIP = (
    "Didn't understand relationship '{name}' in FROM part of query call. If you are attempting to use a custom "
    "relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL "
    "or the describe call for the appropriate names."
)


def child_depth_limit(api_version: str | None) -> int:
    """How many levels of child subqueries may sit below the root (None: the newest rules)."""
    if api_version is not None and float(api_version) < NESTED_CHILDREN_VERSION:
        return 1
    return 4


def depth_error(limit: int) -> str:
    levels = "1 level" if limit == 1 else f"{limit} levels"
    return f"SOQL statements cannot query aggregate relationships more than {levels} away from the root entity object."


def relationship_of(parent: SObjectDef, name: ObjectName, errors: QueryErrors) -> ChildRelationship:
    """The relationship a child subquery's FROM names: ``Contacts`` or ``Account.Contacts``."""
    parts = name.parts
    if len(parts) == 2 and parts[0].lower() == parent.name.lower():
        parts = parts[1:]
    found = child_relationship(parent, parts[0]) if len(parts) == 1 else None
    if found is None:
        raise errors.at(name.pos, "INVALID_TYPE", _BAD_RELATIONSHIP.format(name=name.text))
    return found


def check_child_query(query: Query, errors: QueryErrors) -> None:
    """Child subqueries return records: no COUNT(), aggregates, GROUP BY or HAVING."""
    if query.select is None or is_aggregate_query(query) or query.having is not None:
        pos = query.count_pos or (query.group_by.pos if query.group_by else query.sobject.pos)
        raise errors.at(pos, MALFORMED, "only root queries support aggregate expressions")


def json_column(columns: Sequence[tuple[Sql, bool]], order: Sequence[str], body: Sql) -> Sql:
    """The child rows as one JSON value: ``[[position, *columns], ...]``.

    ``columns`` pairs each column with whether it is itself JSON (a nested child subquery), so it is
    embedded as an array rather than as a string; ``body`` is everything from FROM to LIMIT.
    """
    position = f"row_number() OVER (ORDER BY {', '.join(order)})" if order else "row_number() OVER ()"
    values = [column.wrap("json(", ")") if is_json else column for column, is_json in columns]
    row = Sql.join(", ", [Sql(position), *values]).wrap("SELECT json_array(", ") AS child_row ")
    rows = Sql.join("", [row, body])
    return rows.wrap("(SELECT json_group_array(json(child_row)) FROM (", "))")
