"""Turning one SQL result row into Salesforce's REST query record.

The compiler lays a row out as the selected columns followed by hidden Id columns (the root's, then
each joined parent's). The ``RecordShape`` built alongside knows which column feeds which key, so
``to_record`` is a walk: nested parents become ``{"attributes": ..., ...}`` dicts, or ``None`` when
the parent's Id is empty (no parent, or a dangling reference).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..schema import FieldDef, sobject_for_key_prefix
from .resolver import ROOT_ALIAS, ResolvedField


@dataclass(frozen=True)
class FieldSlot:
    """A selected field: its output key (canonical name) and its column in the row."""

    field: FieldDef
    column: int


@dataclass
class RecordShape:
    """One record in the output (the root or a parent): where its Id is, its type, its keys in order.

    A ``polymorphic`` parent's type is read off its Id's key prefix (``type_name`` is the fallback).
    """

    type_name: str
    id_column: int
    polymorphic: bool = False
    children: dict[str, FieldSlot | RecordShape] = field(default_factory=dict)

    def render(self, row: Sequence[Any], api_version: str) -> dict[str, Any] | None:
        record_id = row[self.id_column]
        if record_id is None:
            return None
        sobject_url = f"/services/data/v{api_version}/sobjects/{self._type_of(record_id)}/{record_id}"
        record: dict[str, Any] = {"attributes": {"type": self._type_of(record_id), "url": sobject_url}}
        for key, child in self.children.items():
            if isinstance(child, RecordShape):
                record[key] = child.render(row, api_version)
            else:
                record[key] = _convert(child.field, row[child.column], f"{sobject_url}/{key}")
        return record

    def _type_of(self, record_id: str) -> str:
        sobject = sobject_for_key_prefix(record_id) if self.polymorphic else None
        return sobject.name if sobject else self.type_name


def build_shape(root_type: str, selected: Sequence[ResolvedField], id_columns: Mapping[str, int]) -> RecordShape:
    """The output layout: keys in SELECT order, each parent placed where its first field was selected.

    ``selected[i]`` is read from column ``i``; ``id_columns`` maps each table alias to its hidden Id column.
    """
    root = RecordShape(root_type, id_columns[ROOT_ALIAS])
    for index, resolved in enumerate(selected):
        shape = root
        for join in resolved.joins:
            child = shape.children.get(join.relationship)
            if not isinstance(child, RecordShape):
                child = RecordShape(join.sobject.name, id_columns[join.alias], join.polymorphic)
                shape.children[join.relationship] = child
            shape = child
        shape.children[resolved.field.name] = FieldSlot(resolved.field, index)
    return root


def _convert(field: FieldDef, value: Any, blob_url: str) -> Any:
    """Stored value -> JSON value. Blobs are never selected: the row holds whether one exists."""
    if value is None:
        return None
    if field.type == "base64":
        return blob_url if value else None
    if field.type == "boolean":
        return bool(value)
    if field.type == "int":
        return int(value)
    if field.type in ("double", "currency", "percent"):
        return float(value)
    return value
