"""Request bodies of sObject writes: JSON records and multipart (JSON entity + binary file) uploads.

JSON problems are reported as ``JSON_PARSER_ERROR`` with a Jackson-style message and position,
because that is what Salesforce's parser answers. Multipart follows the documented layout for blob
inserts: a JSON part named ``entity_<object>`` (``entity_content`` for ContentVersion,
``entity_document``, ``entity_attachment``) and a binary part named after the blob field; its framing
may use CRLF or bare LF, as Salesforce accepts both (``multipart.py``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request

from airflow_provider_sfpy.emulator.errors import json_parser_error
from airflow_provider_sfpy.emulator.multipart import invalid_multipart, read_multipart_form
from airflow_provider_sfpy.emulator.schema import SObjectDef
from airflow_provider_sfpy.emulator.values import jackson_token

MAX_ENTITY_PART_BYTES = 16 * 1024 * 1024
#: Multipart entity part names Salesforce documents, beyond the generic ``entity_<object>``.
ENTITY_PART_ALIASES = {"ContentVersion": ("entity_content",)}


@dataclass
class WriteBody:
    """A parsed write request: field values, the raw JSON text (for error positions), binary parts."""

    values: dict[str, Any]
    raw: str | None = None
    blobs: dict[str, bytes] = field(default_factory=dict)


def _position(text: str, index: int) -> str:
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return f"[line:{line}, column:{column}]"


def parse_json_record(text: str, obj: SObjectDef) -> dict[str, Any]:
    """A JSON object body, or the ``JSON_PARSER_ERROR`` Salesforce gives for it."""
    if not text.strip():
        raise json_parser_error("No content to map due to end-of-input at [line:1, column:0]")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.pos >= len(text.rstrip()):
            raise json_parser_error(f"Unexpected end-of-input: {exc.msg} at {_position(text, exc.pos)}") from None
        char = text[exc.pos]
        raise json_parser_error(
            f"Unexpected character ('{char}' (code {ord(char)})): {exc.msg} at {_position(text, exc.pos)}"
        ) from None
    if not isinstance(data, dict):
        raise json_parser_error(
            f"Cannot deserialize instance of {obj.name} from {jackson_token(data)} or request may be "
            "missing a required field at [line:1, column:1]"
        )
    return data


async def read_write_body(request: Request, obj: SObjectDef) -> WriteBody:
    """The body of a create/update/upsert, JSON or multipart."""
    if request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        return await _read_multipart(request, obj)
    text = _utf8(await request.body())
    return WriteBody(parse_json_record(text, obj), text)


def _utf8(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise json_parser_error("Invalid UTF-8 start byte at [line:1, column:1]") from None


async def _read_multipart(request: Request, obj: SObjectDef) -> WriteBody:
    entity_names = {f"entity_{obj.name.lower()}", *ENTITY_PART_ALIASES.get(obj.name, ())}
    entity_text: str | None = None
    blobs: dict[str, bytes] = {}
    form = await read_multipart_form(request, max_part_size=MAX_ENTITY_PART_BYTES)
    try:
        for name, part in form.multi_items():
            if name.lower() in entity_names:
                entity_text = _utf8(await part.read()) if isinstance(part, UploadFile) else part
            elif obj.blob_field and name.lower() == obj.blob_field.lower():
                blobs[obj.blob_field] = await part.read() if isinstance(part, UploadFile) else part.encode()
    finally:
        await form.close()
    if entity_text is None:
        expected = " or ".join(sorted(entity_names))
        raise invalid_multipart(f"Multipart message must include a part named {expected}")
    return WriteBody(parse_json_record(entity_text, obj), entity_text, blobs)
