"""``POST /composite/tree/{Object}``: record trees (a record, its children in child relationships, theirs
...) created all or nothing.

Each record carries ``attributes: {type, referenceId}``; a child relationship is a member named after
it (``"Contacts": {"records": [...]}``), and each child gets its parent's new Id in the relationship's
lookup field. Records are created level by level (every root, then every second-level record ...),
which is also the order of ``results``. Success is 201 ``{"hasErrors": false, "results": [{"referenceId",
"id"}]}``; the first record that fails rolls everything back and the answer is 400 ``{"hasErrors": true,
"results": [{"referenceId", "errors": [{"statusCode", "message", "fields"}]}]}`` for that record, with
the error a single create would give. Duplicate referenceIds are reported the same way, one result per
duplicate. At most 200 records in all, five levels deep, of at most five object types; the roots must
be of the URL's object. The request counts as one API call.

References (REST API Developer Guide):
- sObject Tree: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobject_tree.htm
- sObject Tree request body: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/requests_composite_sobject_tree.htm
- sObject Tree response body: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/responses_composite_sobject_tree.htm
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_sfpy.emulator.errors import ApiError, json_parser_error
from airflow_provider_sfpy.emulator.schema import SCHEMA, FieldDef, SObjectDef, lookup_sobject
from airflow_provider_sfpy.emulator.store import Store

from .chain import REFERENCE_ID

MAX_RECORDS = 200
MAX_DEPTH = 5
MAX_TYPES = 5
DUPLICATE_REFERENCE = "Duplicate ReferenceId provided in the request"


@dataclass
class _Node:
    """One record of a tree: its object, values, and the parent whose new Id goes into ``link``."""

    obj: SObjectDef
    reference_id: str
    values: dict[str, Any]
    depth: int
    parent: _Node | None = None
    link: FieldDef | None = None
    record_id: str | None = None


#: A record still to read: its JSON, its object, its parent node and the lookup to the parent.
_Pending = tuple[dict[str, Any], SObjectDef, _Node | None, FieldDef | None]


class TreeFailure(Exception):
    """The tree-shaped 400 answer: ``results`` name the records at fault."""

    def __init__(self, results: list[dict[str, Any]]) -> None:
        super().__init__("sObject tree failed")
        self.body = {"hasErrors": True, "results": results}


def parse_tree(root: SObjectDef, body: Mapping[str, Any]) -> list[_Node]:
    """The records of ``body`` in creation order (level by level), checked against the limits."""
    level: list[_Pending] = [(record, root, None, None) for record in _records(body.get("records"), "records")]
    nodes: list[_Node] = []
    depth = 1
    while level:
        if depth > MAX_DEPTH:
            raise ApiError(400, "LIMIT_EXCEEDED", f"An sObject tree can be at most {MAX_DEPTH} levels deep.")
        next_level: list[_Pending] = []
        for record, obj, parent, link in level:
            node = _node(record, obj, depth, parent, link)
            nodes.append(node)
            for child_obj, child_link, records in _children(node, record):
                next_level.extend((child, child_obj, node, child_link) for child in records)
        level, depth = next_level, depth + 1
    if len(nodes) > MAX_RECORDS:
        raise ApiError(
            400,
            "LIMIT_EXCEEDED",
            f"An sObject tree request can hold at most {MAX_RECORDS} records across all trees; this one has "
            f"{len(nodes)}. Split it into several requests.",
        )
    if len({node.obj.name for node in nodes}) > MAX_TYPES:
        raise ApiError(400, "LIMIT_EXCEEDED", f"An sObject tree request can hold records of at most {MAX_TYPES} types.")
    _refuse_duplicates(nodes)
    return nodes


def create_tree(store: Store, nodes: list[_Node], user_id: str) -> dict[str, Any]:
    """Create every record in one transaction; the success body, or ``TreeFailure`` (nothing created)."""
    with store.transaction():
        for node in nodes:
            values = dict(node.values)
            if node.parent is not None and node.link is not None:
                values[node.link.name] = node.parent.record_id
            try:
                node.record_id = store.create(node.obj, values, user_id)
            except ApiError as exc:
                error = {"statusCode": exc.error_code, "message": exc.message, "fields": exc.fields or []}
                raise TreeFailure([{"referenceId": node.reference_id, "errors": [error]}]) from None
    return {"hasErrors": False, "results": [{"referenceId": n.reference_id, "id": n.record_id} for n in nodes]}


def _records(value: object, name: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not value:
        raise json_parser_error(f"'{name}' is a required field: a list of records.")
    if not all(isinstance(record, dict) for record in value):
        raise json_parser_error(f"Each of '{name}' must be a JSON object.")
    return value


def _node(record: dict[str, Any], obj: SObjectDef, depth: int, parent: _Node | None, link: FieldDef | None) -> _Node:
    attributes = record.get("attributes")
    if not isinstance(attributes, dict):
        raise json_parser_error("Each record needs 'attributes' with its 'type' and 'referenceId'.")
    reference_id, type_name = attributes.get("referenceId"), attributes.get("type")
    if not isinstance(reference_id, str) or not REFERENCE_ID.match(reference_id):
        raise json_parser_error(
            f"Invalid referenceId {reference_id!r}: it must start with a letter or a number, and it can contain "
            "only letters, numbers and underscores ('_')."
        )
    typed = lookup_sobject(type_name) if isinstance(type_name, str) else None
    if typed is not obj:
        raise ApiError(400, "INVALID_TYPE", f"Record {reference_id} must be of type {obj.name}, not {type_name}.")
    values = {key: value for key, value in record.items() if key != "attributes" and not _is_children(value)}
    return _Node(obj, reference_id, values, depth, parent, link)


def _is_children(value: object) -> bool:
    return isinstance(value, dict) and "records" in value


def _children(node: _Node, record: dict[str, Any]) -> list[tuple[SObjectDef, FieldDef, list[dict[str, Any]]]]:
    found = []
    for key, value in record.items():
        if key == "attributes" or not _is_children(value):
            continue
        relationship = _child_relationship(node.obj, key)
        if relationship is None:
            node.values[key] = value  # not a relationship: the create reports the unknown field
            continue
        child_obj, link = relationship
        found.append((child_obj, link, _records(value["records"], f"{key}.records")))
    return found


def _child_relationship(parent: SObjectDef, name: str) -> tuple[SObjectDef, FieldDef] | None:
    """The child object and lookup field behind ``parent``'s child relationship ``name`` (``Contacts``)."""
    for child in SCHEMA.values():
        for f in child.fields:
            if f.child_relationship and f.child_relationship.lower() == name.lower() and parent.name in f.reference_to:
                return child, f
    return None


def _refuse_duplicates(nodes: list[_Node]) -> None:
    counts = Counter(node.reference_id for node in nodes)
    duplicates = [node.reference_id for node in nodes if counts[node.reference_id] > 1]
    if duplicates:
        error = {
            "statusCode": "INVALID_INPUT",
            "message": "Duplicate ReferenceId provided in the request",
            "fields": [],
        }
        raise TreeFailure([{"referenceId": ref, "errors": [error]} for ref in duplicates])
