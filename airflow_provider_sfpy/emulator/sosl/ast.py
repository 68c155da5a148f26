"""What a search asks for, whether it came as SOSL (``/search``) or as parameters (``/parameterizedSearch``).

Field lists, WHERE conditions and ORDER BY lists stay text (``Fragment``): the SOQL compiler checks
and runs them. A fragment cut from a SOSL statement remembers where it starts, so an error SOQL finds
in it can be reported against the statement the caller wrote.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

SearchGroup = Literal["ALL", "NAME", "EMAIL", "PHONE", "SIDEBAR"]
SEARCH_GROUPS: tuple[SearchGroup, ...] = ("ALL", "NAME", "EMAIL", "PHONE", "SIDEBAR")
#: The most records one search returns (SOSL's LIMIT and parameterized search's overallLimit cap).
MAX_RESULTS = 2000


@dataclass(frozen=True)
class Fragment:
    """A piece of SOQL taken from the request; ``start`` is its offset in the SOSL text, if it came from one."""

    text: str
    start: int | None = None


@dataclass(frozen=True)
class ObjectRequest:
    """One object to search and what to return of it (a RETURNING item, or parameterized search's sobject)."""

    name: str
    fields: Fragment | None = None
    where: Fragment | None = None
    order_by: Fragment | None = None
    limit: int | None = None
    offset: int | None = None
    #: Offset of the object's name in the SOSL text (for errors about the object).
    start: int | None = None


# --------------------------------------------------------------------------------- the search expression


@dataclass(frozen=True)
class Term:
    """A word or a quoted phrase: the tokens a field must contain one after the other.

    ``tokens`` are case-folded regular expressions matching one whole token (``*`` and ``?`` become
    ``.*`` and ``.``); ``literal`` is the longest run of plain characters, for a cheap SQL pre-filter;
    ``characters`` counts the letters and digits searched for (wildcards excluded).
    """

    text: str
    tokens: tuple[re.Pattern[str], ...]
    literal: str
    characters: int


@dataclass(frozen=True)
class AllOf:
    """Every ``include`` matches and no ``exclude`` does (AND / AND NOT)."""

    include: tuple[Expression, ...]
    exclude: tuple[Expression, ...] = ()


@dataclass(frozen=True)
class AnyOf:
    """At least one of ``options`` matches (OR)."""

    options: tuple[Expression, ...]


Expression = Term | AllOf | AnyOf


@dataclass(frozen=True)
class SearchRequest:
    """A whole search: what to look for, in which fields, which objects to return and how many."""

    expression: Expression
    group: SearchGroup = "ALL"
    #: Empty: every searchable object, records with their Id only.
    objects: tuple[ObjectRequest, ...] = ()
    limit: int = MAX_RESULTS
    #: The SOSL statement, when the search was one (errors in fragments are reported against it).
    source: str | None = None
