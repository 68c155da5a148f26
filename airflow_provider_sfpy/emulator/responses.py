"""JSON responses serialised the way Salesforce sends them: compact, UTF-8, ``application/json``.

One helper so every route (query pages of 2000 records included) uses the stdlib encoder with
compact separators and no ASCII escaping, which is both what Salesforce emits and the fastest path.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from starlette.responses import Response

JSON_CONTENT_TYPE = "application/json;charset=UTF-8"
_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False, check_circular=False)


def dumps(data: object) -> bytes:
    return _encoder.encode(data).encode("utf-8")


def json_response(data: object, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(dumps(data), status_code=status, headers=headers, media_type=JSON_CONTENT_TYPE)


def no_content(headers: Mapping[str, str] | None = None) -> Response:
    return Response(status_code=204, headers=headers)
