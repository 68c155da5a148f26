"""An sObject type the org does not have (or the user cannot reach), reported one way whichever API said so.

Salesforce says "no such object" in four ways (checked against the emulator, which follows the
documented answers):

- ``/sobjects/<name>`` resources answer 404 ``NOT_FOUND`` "The requested resource does not exist" —
  the REST API's answer for a URI naming nothing the user can see ("Check the URI for errors, and
  verify that there are no sharing issues": REST API Developer Guide, Status Codes and Error
  Responses, https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm);
- a SOQL query (REST or a Bulk query job) answers 400 ``INVALID_TYPE`` "sObject type 'Acount' is not
  supported. If you are attempting to use a custom object, be sure to append the '__c' ...";
- a Bulk ingest job answers 400 ``INVALIDENTITY`` "sObject type 'Acount' is not supported.";
- sObject Collections answer 200 with a per-record ``INVALID_TYPE`` error of the same words.

``ObjectChecker.explain`` turns each into one ``SalesforceUnknownObjectError`` with one message
naming the object and the fix. A 404 on a record's resource (``/sobjects/Account/<id>``) may mean a
missing record as well as a missing object, and both answers read the same; there the checker asks
Salesforce once (``GET /sobjects/<name>``, the object's basic information) and remembers objects
that exist, so a run of missing records costs one extra request per object type, not one per record.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import unquote

from airflow_provider_sfpy.client.errors import (
    SalesforceError,
    SalesforceMalformedQueryError,
    SalesforceMalformedRequestError,
    SalesforceNotFoundError,
    SalesforceUnknownObjectError,
    SalesforceUnknownObjectInQueryError,
    SalesforceUnknownObjectInRequestError,
)

#: Salesforce's words for an object type it does not know, in every API that names objects in a body.
NOT_SUPPORTED = re.compile(r"sObject type '([^']+)' is not supported")
#: Where a query's error points: "ERROR at Row:1:Column:16".
QUERY_LOCATION = re.compile(r"ERROR at Row:(\d+):Column:(\d+)")
#: ``/services/data/vXX.X/sobjects/<name>...`` and ``.../composite/sobjects/<name>...``.
SOBJECT_PATH = re.compile(r"/services/data/v[^/]+/(?:composite/)?sobjects/([^/]+)(/[^?]*)?$")
#: What may follow the object's name in a path that names nothing but the object.
OBJECT_ONLY_SUFFIXES = frozenset({"", "/", "/describe", "/describe/"})
#: ``Probe(name)``: True if the object exists, False if Salesforce says it does not, None if it cannot tell.
Probe = Callable[[str], "bool | None"]


def unknown_object_message(object_type: str, where: str = "") -> str:
    return (
        f"unknown object {object_type!r}{where}: the org has no sObject type of that name that this user can "
        "see. Check the spelling (custom objects end in __c, e.g. Invoice__c) and that the user's profile or "
        "permission sets give access to it."
    )


def unknown_object_error(object_type: str, answer: SalesforceError) -> SalesforceUnknownObjectError:
    """The typed error for ``answer``, Salesforce's own error saying ``object_type`` does not exist."""
    location = QUERY_LOCATION.search(answer.message)
    where = f" (at row {location[1]}, column {location[2]} of the query)" if location else ""
    if isinstance(answer, SalesforceMalformedQueryError):
        error_class: type[SalesforceUnknownObjectError] = SalesforceUnknownObjectInQueryError
    elif isinstance(answer, SalesforceMalformedRequestError):
        error_class = SalesforceUnknownObjectInRequestError
    else:
        error_class = SalesforceUnknownObjectError
    return error_class(unknown_object_message(object_type, where), object_type=object_type, **answer.answer_details())


def named_as_not_supported(message: str) -> str | None:
    """The object a Salesforce error message says is not supported, if it says so."""
    found = NOT_SUPPORTED.search(message or "")
    return found[1] if found else None


def unknown_object_in_results(
    results: Sequence[Mapping[str, Any]], *, method: str, url: str, status: int
) -> SalesforceUnknownObjectError | None:
    """The error for an sObject Collections answer in which nothing was applied because a record's type is
    unknown (the others then fail, or are rolled back with ``allOrNone``); ``None`` for any other answer."""
    if not results or any(result.get("success") for result in results):
        return None
    for result in results:
        for error in result.get("errors") or ():
            name = named_as_not_supported(str(error.get("message", "")))
            if name is not None:
                answer = SalesforceMalformedRequestError(
                    str(error.get("message", "")),
                    status=status,
                    error_code=error.get("statusCode"),
                    method=method,
                    url=url,
                    errors=[dict(error)],
                )
                return unknown_object_error(name, answer)
    return None


class ObjectChecker:
    """Recognises Salesforce's answers that mean "no such object" (see the module's docstring). Thread-safe."""

    def __init__(self, probe: Probe) -> None:
        self._probe = probe
        self._existing: set[str] = set()
        self._lock = threading.Lock()

    def explain(self, error: SalesforceError) -> SalesforceError:
        """``error`` as a ``SalesforceUnknownObjectError`` when it means the object does not exist, else ``error``."""
        if isinstance(error, SalesforceUnknownObjectError):
            return error
        named = named_as_not_supported(error.message) if error.status is not None and error.status < 500 else None
        if named is not None:
            return unknown_object_error(named, error)
        not_found = isinstance(error, SalesforceNotFoundError) and error.error_code == "NOT_FOUND"
        path = SOBJECT_PATH.match(error.url or "") if not_found else None
        if path is None:
            return error
        name = unquote(path[1])
        if (path[2] or "") in OBJECT_ONLY_SUFFIXES or self._missing(name):
            return unknown_object_error(name, error)
        return error

    def _missing(self, name: str) -> bool:
        """Whether Salesforce says the object does not exist (asked once per object that does)."""
        key = name.lower()
        with self._lock:
            if key in self._existing:
                return False
        exists = self._probe(name)
        if exists:
            with self._lock:
                self._existing.add(key)
        return exists is False
