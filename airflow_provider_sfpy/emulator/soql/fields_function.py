"""``FIELDS(ALL)``, ``FIELDS(STANDARD)``, ``FIELDS(CUSTOM)``: field groups in a SELECT list.

``CUSTOM`` is every field whose name ends in ``__c``, ``STANDARD`` every other one, ``ALL`` both, in
describe order. Because ``ALL`` and ``CUSTOM`` are unbounded, Salesforce requires the query (or child
subquery) that uses them to have ``LIMIT`` 200 or less, and refuses them outright in Apex.

Reference: FIELDS(), https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_fields.htm
"""

from __future__ import annotations

from ..schema import FieldDef, SObjectDef
from .ast import FieldsFunction, Query
from .errors import SoqlError

MAX_UNBOUNDED_LIMIT = 200
UNBOUNDED_GROUPS = frozenset({"ALL", "CUSTOM"})
LIMIT_REQUIRED = f"The SOQL FIELDS function must have a LIMIT of at most {MAX_UNBOUNDED_LIMIT}"


def fields_in_group(sobject: SObjectDef, group: str) -> list[FieldDef]:
    if group == "ALL":
        return list(sobject.fields)
    custom = group == "CUSTOM"
    return [f for f in sobject.fields if f.name.endswith("__c") == custom]


def unbounded(query: Query) -> bool:
    """Whether this query level selects ``FIELDS(ALL)`` or ``FIELDS(CUSTOM)``."""
    return any(isinstance(item, FieldsFunction) and item.group in UNBOUNDED_GROUPS for item in query.select or ())


def check_limit(query: Query) -> None:
    """``FIELDS(ALL)`` and ``FIELDS(CUSTOM)`` need ``LIMIT`` of at most 200 at their own query level."""
    if unbounded(query) and (query.limit is None or query.limit.value > MAX_UNBOUNDED_LIMIT):
        raise SoqlError("MALFORMED_QUERY", LIMIT_REQUIRED)
