"""SOSL for the emulator: the search resources' language, matched over the SQLite store.

Public interface:

- ``parse_sosl(text) -> SearchRequest``: a SOSL statement (``FIND {...} IN ... FIELDS RETURNING ...``).
- ``parse_terms(text, SearchErrors(None)) -> Expression``: a bare search expression (parameterized
  search's ``q``), for building a ``SearchRequest`` from parameters.
- ``run_search(store, request, api_version=..., user_id=...) -> list[dict]``: the records found, each
  the JSON record a SOQL query would give (``attributes`` first), object after object.
- Errors are ``SoqlError``s: MALFORMED_SEARCH (positioned in the statement like SOQL's, columns counted
  from 0 as Salesforce's search parser does), INVALID_SEARCH (a term shorter than two characters),
  and SOQL's own INVALID_FIELD / INVALID_TYPE for a RETURNING item's fields and conditions.

A RETURNING item's field list, WHERE and ORDER BY are compiled by the SOQL compiler, so they accept
what SOQL accepts. Ranking is not emulated: records come object by object, oldest first unless the
item has an ORDER BY.

Reference: Salesforce SOQL and SOSL Reference, SOSL syntax,
https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_sosl_syntax.htm
"""

from .ast import MAX_RESULTS, SEARCH_GROUPS, Expression, Fragment, ObjectRequest, SearchGroup, SearchRequest
from .engine import run_search
from .errors import INVALID_SEARCH, MALFORMED_SEARCH, SearchErrors
from .parser import parse_sosl
from .terms import parse_terms

__all__ = [
    "INVALID_SEARCH",
    "MALFORMED_SEARCH",
    "MAX_RESULTS",
    "SEARCH_GROUPS",
    "Expression",
    "Fragment",
    "ObjectRequest",
    "SearchErrors",
    "SearchGroup",
    "SearchRequest",
    "parse_sosl",
    "parse_terms",
    "run_search",
]
