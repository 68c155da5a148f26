"""The SELECT list of a SOQL query, so exported columns follow the query, not the first record.

Records omit nothing Salesforce was asked for, but a first record cannot tell the column order
when a parent is null (``"Account": null`` hides ``Account.Name``), and zero rows tell nothing at
all. The query text does. This is a light tokenizer for the field list only — the server parses
and validates the whole query.
"""

from __future__ import annotations

import re

_SELECT = re.compile(r"^\s*select\s+", re.IGNORECASE)
_FROM = re.compile(r"\bfrom\b", re.IGNORECASE)
_FROM_OBJECT = re.compile(r"\bfrom\s+([A-Za-z_][A-Za-z0-9_]*)", re.IGNORECASE)


class SoqlFieldListError(ValueError):
    """The query's field list cannot be turned into columns (e.g. a subquery or an aggregate)."""


def select_fields(soql: str) -> list[str]:
    """``SELECT Id, Account.Name FROM Contact`` -> ``["Id", "Account.Name"]`` (as written).

    Child subqueries, ``TYPEOF`` and aggregate functions have no flat column form and are refused
    with a message saying so.
    """
    match = _SELECT.match(soql)
    if not match:
        raise SoqlFieldListError("the query must start with SELECT")
    rest = soql[match.end() :]
    depth = 0
    end = None
    for position, char in enumerate(rest):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif depth == 0 and _FROM.match(rest, position) and (position == 0 or not rest[position - 1].isalnum()):
            end = position
            break
    if end is None:
        raise SoqlFieldListError("the query has no FROM clause")
    fields = [part.strip() for part in rest[:end].split(",")]
    if any(not field for field in fields):
        raise SoqlFieldListError("the SELECT list has an empty field")
    for field in fields:
        if "(" in field or " " in field:
            raise SoqlFieldListError(
                f"the SELECT item {field!r} (a subquery, TYPEOF or function) has no flat column; "
                "export it as JSON Lines, or select plain fields"
            )
    if [f.lower() for f in fields] == ["count()"]:
        raise SoqlFieldListError("SELECT COUNT() returns no records to export")
    return fields


def from_object(soql: str) -> str:
    """The object after the outermost FROM (``Contact`` in ``SELECT Account.Name FROM Contact``)."""
    depth = 0
    for position, char in enumerate(soql):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif depth == 0:
            match = _FROM_OBJECT.match(soql, position)
            if match and (position == 0 or not soql[position - 1].isalnum()):
                return match.group(1)
    raise SoqlFieldListError("the query has no FROM clause")
