"""``/services/data/vXX.X/process/approvals/``: list approval processes, submit/approve/reject records.

``GET`` answers ``{"approvals": {"Account": [{description, id, name, object, sortOrder}]}}``.
``POST`` takes ``{"requests": [{actionType, contextId, ...}]}`` and answers one ProcessResult per
request (``actorIds``, ``entityId``, ``errors``, ``instanceId``, ``instanceStatus``,
``newWorkitemIds``, ``success``). As documented, requests that succeed are committed and those that
fail "send back an error": when any request is refused the answer is HTTP 400 with the REST error
list (``[{"errorCode": "ALREADY_IN_PROCESS", "message": "Cannot submit object already in process."}]``),
one entry per refused request.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from airflow_provider_sfpy.emulator.approvals import ACTIONS, ApprovalError, ProcessRequest, ProcessResult
from airflow_provider_sfpy.emulator.errors import json_parser_error
from airflow_provider_sfpy.emulator.responses import json_response
from airflow_provider_sfpy.emulator.routes.common import VERSION_PREFIX, ApiContext, api_endpoint, routes
from airflow_provider_sfpy.emulator.values import jackson_token

APPROVALS = VERSION_PREFIX + "/process/approvals"
_STRING_FIELDS = ("contextId", "contextActorId", "comments", "processDefinitionNameOrId")


@api_endpoint
async def approvals(request: Request, ctx: ApiContext) -> Response:
    registry = ctx.state.approvals
    if request.method != "POST":
        by_object = registry.by_object()
        return json_response({"approvals": {obj: [d.to_json() for d in defs] for obj, defs in by_object.items()}})
    process_requests = _parse(await request.body())
    results: list[ProcessResult] = []
    refused: list[ApprovalError] = []
    for process_request in process_requests:
        try:
            results.append(registry.process(process_request, ctx.state.store, ctx.user_id))
        except ApprovalError as exc:
            refused.append(exc)
    if refused:
        return json_response([{"errorCode": e.status_code, "message": e.message} for e in refused], status=400)
    return json_response([r.to_json() for r in results])


def _parse(raw: bytes) -> list[ProcessRequest]:
    """The body's requests, or the JSON_PARSER_ERROR Salesforce's deserializer gives."""
    text = raw.decode("utf-8", errors="replace")
    if not text.strip():
        raise json_parser_error("No content to map due to end-of-input at [line:1, column:0]")
    try:
        body = json.loads(text)
    except json.JSONDecodeError as exc:
        raise json_parser_error(f"Unexpected character: {exc.msg} at [line:{exc.lineno}, column:{exc.colno}]") from None
    requests = body.get("requests") if isinstance(body, dict) else body
    if not isinstance(requests, list):
        raise _cannot_deserialize("ProcessRequest[]", requests)
    return [_request(item) for item in requests]


def _request(item: Any) -> ProcessRequest:
    if not isinstance(item, dict):
        raise _cannot_deserialize("ProcessRequest", item)
    action = item.get("actionType")
    if action not in ACTIONS:
        raise _cannot_deserialize("ProcessRequest.ActionType", action)
    for name in _STRING_FIELDS:
        if item.get(name) is not None and not isinstance(item[name], str):
            raise _cannot_deserialize("String", item[name])
    approvers = item.get("nextApproverIds") or []
    if not isinstance(approvers, list) or not all(isinstance(a, str) for a in approvers):
        raise _cannot_deserialize("ID[]", approvers)
    skip = item.get("skipEntryCriteria", False)
    return ProcessRequest(
        action=action,
        context_id=item.get("contextId") or "",
        context_actor_id=item.get("contextActorId"),
        comments=item.get("comments"),
        next_approver_ids=tuple(approvers),
        process_name_or_id=item.get("processDefinitionNameOrId"),
        # The documented example sends "true" as a string; the deserializer takes both.
        skip_entry_criteria=skip is True or (isinstance(skip, str) and skip.lower() == "true"),
    )


def _cannot_deserialize(type_name: str, value: Any) -> Exception:
    token = "VALUE_NULL" if value is None else jackson_token(value)
    return json_parser_error(
        f"Cannot deserialize instance of {type_name} from {token} or request may be missing a required field"
    )


def get_routes() -> list[BaseRoute]:
    return routes(APPROVALS, approvals, ["GET", "POST"])
