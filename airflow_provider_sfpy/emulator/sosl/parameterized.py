"""Parameterized search: a ``SearchRequest`` from URL parameters (GET) or a JSON body (POST).

GET ``/parameterizedSearch?q=Acme&sobject=Account&Account.fields=Id,Name&Account.limit=5``
takes ``q``, ``in`` (ALL, NAME, EMAIL, PHONE, SIDEBAR), ``sobject`` (repeatable), ``fields`` (for
every listed object), ``<Object>.fields`` / ``.where`` / ``.orderBy`` / ``.limit``, ``defaultLimit``,
``overallLimit`` and ``offset``; POST takes the same as ``{"q", "in", "fields", "sobjects": [{"name",
"fields", "where", "orderBy", "limit"}], "defaultLimit", "overallLimit", "offset"}``. Without an
object the search is global and returns Ids. Spell correction, snippets, data categories, divisions,
networks and metadata change presentation or need features the emulator has not: they are accepted
and ignored.

References (REST API Developer Guide):
- Search with parameters in the URI: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_search_parameterized_get.htm
- Search with parameters in the request body: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_search_parameterized_post.htm
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..soql import SoqlError
from .ast import MAX_RESULTS, SEARCH_GROUPS, Fragment, ObjectRequest, SearchGroup, SearchRequest
from .errors import SearchErrors
from .terms import parse_terms

INVALID_PARAMETER = "INVALID_PARAMETER_VALUE"


def from_query_params(params: Sequence[tuple[str, str]]) -> SearchRequest:
    """The request of ``GET /parameterizedSearch`` (``params``: the query string's pairs, in order)."""
    single = {name.lower(): value for name, value in params}
    per_object: dict[tuple[str, str], str] = {}
    for name, value in params:
        obj, dot, setting = name.rpartition(".")
        if dot:
            per_object[(obj.lower(), setting.lower())] = value
    names = [value for name, value in params if name.lower() == "sobject" and value.strip()]
    default_fields = single.get("fields")
    objects = []
    for name in names:
        option = per_object.get
        objects.append(
            _object(
                name,
                fields=option((name.lower(), "fields"), default_fields),
                where=option((name.lower(), "where")),
                order_by=option((name.lower(), "orderby")),
                limit=option((name.lower(), "limit")),
                default_limit=single.get("defaultlimit"),
                offset=single.get("offset"),
            )
        )
    return _request(single.get("q"), single.get("in"), objects, single.get("overalllimit"))


def from_json(body: Mapping[str, Any]) -> SearchRequest:
    """The request of ``POST /parameterizedSearch``."""
    default_fields = _field_list(body.get("fields"), "fields")
    objects = []
    for entry in _list(body.get("sobjects"), "sobjects"):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
            raise SoqlError(INVALID_PARAMETER, "Each of sobjects must be an object with a name")
        objects.append(
            _object(
                entry["name"],
                fields=_field_list(entry.get("fields"), "fields") or default_fields,
                where=entry.get("where"),
                order_by=_order_by(entry.get("orderBy")),
                limit=entry.get("limit"),
                default_limit=body.get("defaultLimit"),
                offset=body.get("offset"),
            )
        )
    return _request(body.get("q"), body.get("in"), objects, body.get("overallLimit"))


def _request(q: object, group: object, objects: list[ObjectRequest], overall: object) -> SearchRequest:
    if not isinstance(q, str) or not q.strip():
        raise SoqlError(INVALID_PARAMETER, "q is required: the text to search for")
    chosen = str(group or "ALL").upper()
    if chosen not in SEARCH_GROUPS:
        raise SoqlError(INVALID_PARAMETER, f"in must be one of {', '.join(SEARCH_GROUPS)}, not {group}")
    search_group: SearchGroup = chosen
    limit = _number(overall, "overallLimit", MAX_RESULTS) or MAX_RESULTS
    return SearchRequest(parse_terms(q, SearchErrors(None)), search_group, tuple(objects), min(limit, MAX_RESULTS))


def _object(
    name: str,
    *,
    fields: object,
    where: object,
    order_by: object,
    limit: object,
    default_limit: object,
    offset: object,
) -> ObjectRequest:
    own_limit = _number(limit, f"{name}.limit", None)
    return ObjectRequest(
        name=name.strip(),
        fields=Fragment(str(fields)) if fields else None,
        where=Fragment(str(where)) if where else None,
        order_by=Fragment(str(order_by)) if order_by else None,
        limit=own_limit if own_limit is not None else _number(default_limit, "defaultLimit", None),
        offset=_number(offset, "offset", None),
    )


def _number(value: object, name: str, default: int | None) -> int | None:
    if value is None or value == "":
        return default
    try:
        number = int(str(value))
    except ValueError:
        raise SoqlError(INVALID_PARAMETER, f"{name} must be a whole number, not {value}") from None
    if number < 0 or number > MAX_RESULTS:
        raise SoqlError(INVALID_PARAMETER, f"{name} must be between 0 and {MAX_RESULTS}, not {value}")
    return number


def _list(value: object, name: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise SoqlError(INVALID_PARAMETER, f"{name} must be a JSON array")
    return value


def _field_list(value: object, name: str) -> str | None:
    """A POST field list (a JSON array of names) as SOQL's comma-separated text."""
    names = _list(value, name)
    if not all(isinstance(n, str) for n in names):
        raise SoqlError(INVALID_PARAMETER, f"{name} must be an array of field names")
    return ", ".join(names) or None


def _order_by(value: object) -> str | None:
    """``orderBy``: SOQL's ORDER BY text, or ``[{"field", "ascending", "nullsLast"}]``."""
    if value is None or isinstance(value, str):
        return value
    terms = []
    for entry in _list(value, "orderBy"):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("field"), str):
            raise SoqlError(INVALID_PARAMETER, "orderBy entries must be objects with a field")
        direction = "ASC" if entry.get("ascending", True) else "DESC"
        nulls = " NULLS LAST" if entry.get("nullsLast") else ""
        terms.append(f"{entry['field']} {direction}{nulls}")
    return ", ".join(terms) or None
