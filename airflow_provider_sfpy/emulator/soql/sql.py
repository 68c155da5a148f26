"""Small SQL-building helpers: identifier quoting and parameterised fragments.

Values never go into SQL text; every literal becomes a ``?`` with its parameter carried alongside,
so fragments can be combined freely without losing the parameter order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


def quote(identifier: str) -> str:
    """A double-quoted SQLite identifier (object and field names are used verbatim as table/column names)."""
    return '"' + identifier.replace('"', '""') + '"'


def column(alias: str, name: str) -> str:
    return f"{alias}.{quote(name)}"


@dataclass(frozen=True)
class Sql:
    """A piece of SQL and the parameters for its ``?`` placeholders, in order."""

    text: str
    params: tuple[object, ...] = ()

    @staticmethod
    def join(separator: str, parts: Iterable[Sql]) -> Sql:
        collected = list(parts)
        params = tuple(param for part in collected for param in part.params)
        return Sql(separator.join(part.text for part in collected), params)

    def wrap(self, before: str, after: str = "") -> Sql:
        return Sql(f"{before}{self.text}{after}", self.params)


def negate(condition: Sql) -> Sql:
    """SOQL's NOT is two-valued: a comparison against a NULL field is false, so its negation is true.

    ``COALESCE(..., 0)`` turns SQL's unknown into false before negating; that is why ``Name != 'x'``
    and ``NOT IN`` also match records whose field is empty, as they do in Salesforce.
    """
    return condition.wrap("NOT COALESCE(", ", 0)")
