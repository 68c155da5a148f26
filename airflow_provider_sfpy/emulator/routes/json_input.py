"""JSON request bodies of the resources that take a document rather than one record: sObject
Collections, Chatter feed elements and comments, and Wave queries.

Salesforce parses all of them with the same Jackson-based reader, so a malformed body is the same
``400 JSON_PARSER_ERROR`` with a ``[line:L, column:C]`` pointer that single-record writes give
(``bodies.py``); clients that surface that message keep working whichever resource they called.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from airflow_provider_sfpy.emulator.errors import json_parser_error
from airflow_provider_sfpy.emulator.values import jackson_token


def _position(text: str, index: int) -> str:
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return f"[line:{line}, column:{column}]"


def parse_json(text: str) -> Any:
    """A JSON document, or the ``JSON_PARSER_ERROR`` Salesforce answers for it."""
    if not text.strip():
        raise json_parser_error("No content to map due to end-of-input at [line:1, column:0]")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.pos >= len(text.rstrip()):
            raise json_parser_error(f"Unexpected end-of-input: {exc.msg} at {_position(text, exc.pos)}") from None
        char = text[exc.pos]
        raise json_parser_error(
            f"Unexpected character ('{char}' (code {ord(char)})): {exc.msg} at {_position(text, exc.pos)}"
        ) from None


async def read_json_object(request: Request, input_name: str) -> dict[str, Any]:
    """The request body as a JSON object; ``input_name`` names the expected input in the error
    Salesforce gives for any other JSON value (``Cannot deserialize instance of <input> ...``)."""
    raw = await request.body()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise json_parser_error("Invalid UTF-8 start byte at [line:1, column:1]") from None
    data = parse_json(text)
    if not isinstance(data, dict):
        raise json_parser_error(
            f"Cannot deserialize instance of {input_name} from {jackson_token(data)} at [line:1, column:1]"
        )
    return data


def json_flag(value: object, name: str) -> bool:
    """A boolean option (``allOrNone``, ``haltOnError``...) as Jackson reads it: JSON true/false, or the
    strings "true"/"false"."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise json_parser_error(f"Cannot deserialize value of type `boolean` from {jackson_token(value)} ({name})")
