"""Turning one SQL result row into Salesforce's REST query record.

The compiler lays a row out as the selected columns followed by hidden Id columns (the root's, then
each joined parent's). The ``RecordShape`` built alongside knows which column feeds which key, so
``to_record`` is a walk: nested parents become ``{"attributes": ..., ...}`` dicts, or ``None`` when
the parent's Id is empty (no parent, or a dangling reference).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
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
    _compiled: list[tuple[str, RecordShape | None, int, _Converter | None]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def render(self, row: Sequence[Any], api_version: str) -> dict[str, Any] | None:
        record_id = row[self.id_column]
        if record_id is None:
            return None
        type_name = self._type_of(record_id)
        sobject_url = f"/services/data/v{api_version}/sobjects/{type_name}/{record_id}"
        record: dict[str, Any] = {"attributes": {"type": type_name, "url": sobject_url}}
        for key, parent, column, convert in self._steps():
            if parent is not None:
                record[key] = parent.render(row, api_version)
                continue
            value = row[column]
            record[key] = value if convert is None or value is None else convert(value, sobject_url, key)
        return record

    def _steps(self) -> list[tuple[str, RecordShape | None, int, _Converter | None]]:
        """The children as ``(key, parent shape, column, converter)``, worked out once per query.

        A query page renders 2,000 records; choosing each field's conversion once, instead of per
        value, is most of what keeps the emulator from being the bottleneck of a benchmark.
        """
        if self._compiled is None:
            self._compiled = [
                (key, child, -1, None)
                if isinstance(child, RecordShape)
                else (key, None, child.column, _CONVERTERS.get(child.field.type))
                for key, child in self.children.items()
            ]
        return self._compiled

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


# Stored value -> JSON value, per field type; types not listed are stored as they are sent.
# A converter gets the (non-null) value, the record's URL and the field's key.
_Converter = Callable[[Any, str, str], Any]
_CONVERTERS: dict[str, _Converter] = {
    # Blobs are never selected: the row holds whether one exists, and the record links to it.
    "base64": lambda value, url, key: f"{url}/{key}" if value else None,
    "boolean": lambda value, url, key: bool(value),
    "int": lambda value, url, key: int(value),
    "double": lambda value, url, key: float(value),
    "currency": lambda value, url, key: float(value),
    "percent": lambda value, url, key: float(value),
}
