"""``POST /composite/batch``: up to 25 independent subrequests, answered as
``{"hasErrors": bool, "results": [{"statusCode", "result"}, ...]}`` in request order.

Subrequests do not see each other's results and are not one transaction: each commits on its own.
With ``haltOnError``, the first one answering 400 or above stops the batch and every later one answers
412 BATCH_PROCESSING_HALTED. A subrequest's ``url`` is relative to ``/services/data/``
(``v62.0/sobjects/Account/001...``; the absolute form is accepted too) and ``richInput`` is its JSON
body. A subrequest may call limits, the sObject resources, query/queryAll, search and parameterized
search, Chatter and process approvals; anything else answers 400 INVALID_API_INPUT. Each subrequest
counts toward the org's API usage, as Salesforce counts them.

References (REST API Developer Guide):
- Composite Batch: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_batch.htm
- Batch request body: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/requests_composite_batch.htm
- Batch response body: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/responses_composite_batch.htm
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from airflow_provider_sfpy.emulator.routes.json_input import json_flag

from .chain import check_subrequest, subrequest_entries
from .subrequests import SubResponse, dispatch

DATA_ROOT = "/services/data/"
#: The resources a batch subrequest may call (path after ``/services/data/vXX.X/``).
ALLOWED_RESOURCES = re.compile(
    r"/services/data/v\d+\.\d+/(limits|sobjects|query|queryAll|search|parameterizedSearch|chatter|process)(/|\?|$)"
)
HALTED = SubResponse(412, [{"errorCode": "BATCH_PROCESSING_HALTED", "message": "Batch processing halted per request"}])


@dataclass(frozen=True)
class BatchSubrequest:
    method: str
    url: str
    body: Any = None


@dataclass(frozen=True)
class BatchRequest:
    subrequests: tuple[BatchSubrequest, ...]
    halt_on_error: bool


def parse_batch(body: Mapping[str, Any]) -> BatchRequest:
    """The batch in ``body``, or the 400 Salesforce answers before running anything."""
    entries = subrequest_entries(body, "batchRequests", "batch")
    return BatchRequest(tuple(_subrequest(e) for e in entries), json_flag(body.get("haltOnError"), "haltOnError"))


def _subrequest(raw: object) -> BatchSubrequest:
    entry = check_subrequest(raw, "batchRequests", ("url",))
    url = entry["url"]
    absolute = url if url.startswith("/") else DATA_ROOT + url
    return BatchSubrequest(entry["method"], absolute, entry.get("richInput"))


async def run_batch(parent: Request, batch: BatchRequest) -> dict[str, Any]:
    """Run the subrequests; ``{"hasErrors", "results"}``."""
    results: list[SubResponse] = []
    for sub in batch.subrequests:
        if batch.halt_on_error and any(r.failed for r in results):
            results.append(HALTED)
        elif not ALLOWED_RESOURCES.match(sub.url):
            message = (
                f"{sub.url} cannot be called from a batch: a subrequest may call limits, the sObject resources, "
                "query, queryAll, search, parameterizedSearch, chatter and process."
            )
            results.append(SubResponse(400, [{"message": message, "errorCode": "INVALID_API_INPUT"}]))
        else:
            results.append(await dispatch(parent, sub.method, sub.url, sub.body))
    return {
        "hasErrors": any(r.failed for r in results),
        "results": [{"statusCode": r.status, "result": r.body} for r in results],
    }
