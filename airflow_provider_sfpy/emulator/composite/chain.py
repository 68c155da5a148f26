"""``POST /composite``: up to 25 subrequests run in order, each able to use earlier results through
``@{referenceId...}`` references, answered as one ``{"compositeResponse": [...]}``.

Each result is ``{"body", "httpHeaders", "httpStatusCode", "referenceId"}``, the body and status the
subrequest's resource gave. With ``allOrNone`` the whole call is one store transaction: when a
subrequest fails, every write is rolled back, the failed subrequest keeps its error and every other
one (run or not) answers 400 PROCESSING_HALTED. Without it, a failed subrequest leaves the others in
place, and only those referring to what it would have returned are not sent. ``collateSubrequests``
only lets Salesforce reorder independent subrequests; running them in order is always a valid
outcome. The whole call counts as one API request.

A subrequest may call the sObject resources (records, describe, external ids, Get Updated/Deleted),
``query``/``queryAll`` and sObject Collections, as Salesforce allows; anything else answers 400
INVALID_API_INPUT without being sent. A malformed request (missing or invalid ``method``, ``url``,
``referenceId``, a duplicate referenceId, forbidden headers, more than 25 subrequests) is rejected
whole with 400 before anything runs.

References (REST API Developer Guide):
- Composite: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_composite.htm
- Composite request body: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/requests_composite.htm
- Composite subrequest result: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_subrequest_result.htm
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from airflow_provider_sfpy.emulator.errors import ApiError, json_parser_error
from airflow_provider_sfpy.emulator.routes.json_input import json_flag
from airflow_provider_sfpy.emulator.state import get_state

from .references import UnresolvedReference, resolve_body, resolve_url
from .subrequests import SubResponse, counted_as_one_call, dispatch

MAX_SUBREQUESTS = 25
METHODS = ("DELETE", "GET", "PATCH", "POST", "PUT")
#: Headers a subrequest inherits from the composite call and may not set itself.
INHERITED_HEADERS = frozenset({"accept", "authorization", "content-type"})
REFERENCE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_]*\Z")
#: The resources a composite subrequest may call (path after ``/services/data/vXX.X/``).
ALLOWED_RESOURCES = re.compile(r"/services/data/v\d+\.\d+/(sobjects|query|queryAll|composite/sobjects)(/|\?|$)")
HALTED_BY_ROLLBACK = "The transaction was rolled back since another operation in the same transaction failed."


@dataclass(frozen=True)
class Subrequest:
    method: str
    url: str
    reference_id: str
    body: Any = None
    headers: Mapping[str, str] | None = None


@dataclass(frozen=True)
class CompositeRequest:
    subrequests: tuple[Subrequest, ...]
    all_or_none: bool


class _RollBack(Exception):
    """Raised inside the call's transaction to undo every write of an ``allOrNone`` call."""


def subrequest_entries(body: Mapping[str, Any], list_name: str, kind: str) -> list[Any]:
    """The non-empty list of at most 25 subrequests ``body[list_name]`` of a ``kind`` of request."""
    entries = body.get(list_name)
    if not isinstance(entries, list) or not entries:
        raise json_parser_error(f"'{list_name}' is a required field: a list of subrequests.")
    if len(entries) > MAX_SUBREQUESTS:
        raise ApiError(
            400,
            "LIMIT_EXCEEDED",
            f"A {kind} can have at most {MAX_SUBREQUESTS} subrequests; this one has {len(entries)}. "
            f"Split it into several {kind}s.",
        )
    return entries


def parse_composite(body: Mapping[str, Any]) -> CompositeRequest:
    """The composite request in ``body``, or the 400 Salesforce answers before running anything."""
    entries = subrequest_entries(body, "compositeRequest", "composite request")
    subrequests = tuple(_subrequest(entry) for entry in entries)
    seen: set[str] = set()
    for sub in subrequests:
        if sub.reference_id in seen:
            raise json_parser_error(f"Duplicate referenceId provided in the request: {sub.reference_id}")
        seen.add(sub.reference_id)
    json_flag(body.get("collateSubrequests"), "collateSubrequests")
    return CompositeRequest(subrequests, json_flag(body.get("allOrNone"), "allOrNone"))


def check_subrequest(entry: object, list_name: str, required: Sequence[str]) -> dict[str, Any]:
    """A subrequest entry as a JSON object with each ``required`` text member and a valid ``method``."""
    if not isinstance(entry, dict):
        raise json_parser_error(f"Each subrequest of {list_name} must be a JSON object.")
    for name in ("method", *required):
        if not isinstance(entry.get(name), str) or not entry[name]:
            raise json_parser_error(f"'{name}' is a required field.")
    if entry["method"] not in METHODS:
        raise json_parser_error(f"Invalid method '{entry['method']}': use one of {', '.join(METHODS)}.")
    return entry


def _subrequest(raw: object) -> Subrequest:
    entry = check_subrequest(raw, "compositeRequest", ("url", "referenceId"))
    if not REFERENCE_ID.match(entry["referenceId"]):
        raise json_parser_error(
            f"Invalid referenceId '{entry['referenceId']}': it must start with a letter or a number, and it can "
            "contain only letters, numbers and underscores ('_')."
        )
    headers = entry.get("httpHeaders") or {}
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise json_parser_error("'httpHeaders' must be a JSON object of header names and string values.")
    forbidden = sorted(name for name in headers if name.lower() in INHERITED_HEADERS)
    if forbidden:
        raise ApiError(
            400,
            "INVALID_INPUT",
            f"A subrequest cannot set {', '.join(forbidden)}: it inherits Accept, Authorization and Content-Type "
            "from the composite request.",
        )
    return Subrequest(entry["method"], entry["url"], entry["referenceId"], entry.get("body"), headers)


async def run_composite(parent: Request, composite: CompositeRequest) -> list[dict[str, Any]]:
    """Run the subrequests; their results, in request order."""
    with counted_as_one_call(parent):
        if not composite.all_or_none:
            return await _run(parent, composite.subrequests, stop_at_failure=False)
        store = get_state(parent).store
        results: list[dict[str, Any]] = []
        try:
            # Subrequests run in this event-loop turn (their routes do not await I/O), so the
            # transaction holds no other request's writes.
            with store.transaction():
                results = await _run(parent, composite.subrequests, stop_at_failure=True)
                if any(r["httpStatusCode"] >= 400 for r in results):
                    raise _RollBack
        except _RollBack:
            return _halted_after_rollback(composite.subrequests, results)
        return results


async def _run(parent: Request, subrequests: Sequence[Subrequest], *, stop_at_failure: bool) -> list[dict[str, Any]]:
    """Send the subrequests in order, each seeing the bodies of the earlier ones that succeeded."""
    bodies: dict[str, Any] = {}
    results = []
    for sub in subrequests:
        response = await _send(parent, sub, bodies)
        results.append(_result(sub, response))
        if not response.failed:
            bodies[sub.reference_id] = response.body
        elif stop_at_failure:
            break
    return results


def _halted_after_rollback(subrequests: Sequence[Subrequest], results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every subrequest but the one that failed answers PROCESSING_HALTED."""
    halted = SubResponse(400, [{"errorCode": "PROCESSING_HALTED", "message": HALTED_BY_ROLLBACK}])
    failed = {r["referenceId"] for r in results if r["httpStatusCode"] >= 400}
    by_reference = {r["referenceId"]: r for r in results}
    return [
        by_reference[sub.reference_id] if sub.reference_id in failed else _result(sub, halted) for sub in subrequests
    ]


async def _send(parent: Request, sub: Subrequest, bodies: Mapping[str, Any]) -> SubResponse:
    try:
        url = resolve_url(sub.url, bodies)
        body = resolve_body(sub.body, bodies)
    except UnresolvedReference as exc:
        return SubResponse(400, [{"errorCode": "PROCESSING_HALTED", "message": exc.message}])
    if not ALLOWED_RESOURCES.match(url):
        message = (
            f"{url} cannot be called from a composite request: a subrequest may call the sObject resources, "
            "query, queryAll and sObject Collections."
        )
        return SubResponse(400, [{"message": message, "errorCode": "INVALID_API_INPUT"}])
    return await dispatch(parent, sub.method, url, body, sub.headers)


def _result(sub: Subrequest, response: SubResponse) -> dict[str, Any]:
    return {
        "body": response.body,
        "httpHeaders": response.headers,
        "httpStatusCode": response.status,
        "referenceId": sub.reference_id,
    }
