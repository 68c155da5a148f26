"""Turning one SQL result row into Salesforce's REST query record.

The compiler lays a row out as the selected columns (fields, and one JSON column per child
relationship subquery) followed by hidden Id columns (the root's, then each joined parent's). The
``RecordShape`` built alongside knows which column feeds which key, so ``to_record`` is a walk:
nested parents become ``{"attributes": ..., ...}`` dicts, or ``None`` when the parent's Id is empty
(no parent, or a dangling reference); a child subquery becomes ``{"totalSize", "done", "records"}``,
or ``None`` when the parent has no such children, as Salesforce answers.

A child column holds a JSON array of ``[position, *child row]`` arrays (SQLite's JSON functions
build it inside the one statement, so paging a cursor needs no further queries); ``position`` is the
row's place in the subquery's ORDER BY, because SQLite does not promise to aggregate in that order.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from ..schema import FieldDef, sobject_for_key_prefix
from .resolver import ResolvedField


@dataclass(frozen=True)
class FieldSlot:
    """A selected field: its output key (canonical name) and its column in the row."""

    field: FieldDef
    column: int


@dataclass(frozen=True)
class ChildSlot:
    """A child relationship subquery: the JSON column holding its rows, and how to render each."""

    shape: RecordShape
    column: int


@dataclass(frozen=True)
class ChildColumn:
    """What ``build_shape`` needs of a selected child subquery: its key and its records' shape."""

    relationship: str
    shape: RecordShape


_Step = tuple[str, "RecordShape | ChildSlot | None", int, "_Converter | None"]


@dataclass
class RecordShape:
    """One record in the output (the root, a parent or a child): where its Id is, its type, its keys.

    A ``polymorphic`` parent's type is read off its Id's key prefix (``type_name`` is the fallback).
    """

    type_name: str
    id_column: int
    polymorphic: bool = False
    children: dict[str, FieldSlot | ChildSlot | RecordShape] = field(default_factory=dict)
    _compiled: list[_Step] | None = field(default=None, init=False, repr=False, compare=False)

    def render(self, row: Sequence[Any], api_version: str) -> dict[str, Any] | None:
        record_id = row[self.id_column]
        if record_id is None:
            return None
        type_name = self._type_of(record_id)
        sobject_url = f"/services/data/v{api_version}/sobjects/{type_name}/{record_id}"
        record: dict[str, Any] = {"attributes": {"type": type_name, "url": sobject_url}}
        for key, nested, column, convert in self._steps():
            if nested is None:  # a field: the common case first
                value = row[column]
                record[key] = value if convert is None or value is None else convert(value, sobject_url, key)
            elif isinstance(nested, RecordShape):
                record[key] = nested.render(row, api_version)
            else:
                record[key] = _render_children(row[column], nested.shape, api_version)
        return record

    def _steps(self) -> list[_Step]:
        """The children as ``(key, nested shape, column, converter)``, worked out once per query.

        A query page renders 2,000 records; choosing each field's conversion once, instead of per
        value, is most of what keeps the emulator from being the bottleneck of a benchmark.
        """
        if self._compiled is None:
            self._compiled = [_step(key, child) for key, child in self.children.items()]
        return self._compiled

    def _type_of(self, record_id: str) -> str:
        sobject = sobject_for_key_prefix(record_id) if self.polymorphic else None
        return sobject.name if sobject else self.type_name


def _step(key: str, child: FieldSlot | ChildSlot | RecordShape) -> _Step:
    if isinstance(child, RecordShape):
        return (key, child, -1, None)
    if isinstance(child, ChildSlot):
        return (key, child, child.column, None)
    return (key, None, child.column, _CONVERTERS.get(child.field.type))


def _render_children(value: str | list[Any] | None, shape: RecordShape, api_version: str) -> dict[str, Any] | None:
    """A child column's JSON (text at the top level, already decoded when nested) as a query result."""
    rows = json.loads(value) if isinstance(value, str) else (value or [])
    if not rows:
        return None
    rows.sort(key=itemgetter(0))
    records = [shape.render(row[1:], api_version) for row in rows]
    return {"totalSize": len(records), "done": True, "records": records}


def build_shape(
    root_type: str,
    root_alias: str,
    selected: Sequence[ResolvedField | ChildColumn],
    id_columns: Mapping[str, int],
) -> RecordShape:
    """The output layout: keys in SELECT order, each parent placed where its first field was selected.

    ``selected[i]`` is read from column ``i``; ``id_columns`` maps each table alias to its hidden Id column.
    """
    root = RecordShape(root_type, id_columns[root_alias])
    for index, item in enumerate(selected):
        if isinstance(item, ChildColumn):
            root.children[item.relationship] = ChildSlot(item.shape, index)
            continue
        shape = root
        for join in item.joins:
            child = shape.children.get(join.relationship)
            if not isinstance(child, RecordShape):
                child = RecordShape(join.sobject.name, id_columns[join.alias], join.polymorphic)
                shape.children[join.relationship] = child
            shape = child
        shape.children[item.field.name] = FieldSlot(item.field, index)
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


def value_converter(field_type: str) -> Callable[[Any], Any]:
    """Stored value -> JSON value for a value that belongs to no record (an AggregateResult's)."""
    convert = _CONVERTERS.get(field_type)
    if convert is None or field_type == "base64":
        return lambda value: value
    return lambda value: None if value is None else convert(value, "", "")
