"""JSON Lines from compact typed records: the same bytes as the dict path, without building a dict per record.

The dict path writes ``json.dumps(record without "attributes", ensure_ascii=False)`` per line. Here a
page is decoded into ``gc=False`` msgspec Structs shaped like the first page's records (every key,
in order; an sObject parent becomes a nested Struct), and each record is encoded by msgspec and
spaced by ``msgspec.json.format(indent=0)``, which gives ``json.dumps``'s ``", "`` and ``": "``
separators and the same string escapes. Two things differ, and are made the same:

- floats Python writes with an exponent (below 1e-4 or from 1e16 on: ``1e+16``, ``1.5e-05``),
  which msgspec writes as ``1e16`` and ``0.000015``: they are decoded as ``_PythonFloat`` and
  written by ``float.__repr__`` (msgspec and Python agree on every other float);
- a nested object that still carries ``attributes`` (a child-relationship subquery, or a parent
  that was null on every record of the first page): its line is written the dict way.

The Structs are strict: every key required, no key unknown, so a record of another shape (a
``TYPEOF`` branch, a parent of another type) makes its page decode to dicts, written the dict way.
A record's keys are written in the first page's order, which is the SELECT order Salesforce keeps.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from airflow_provider_sfpy.formats.records import strip_attributes
from airflow_provider_sfpy.formats.typed_records import TypedPages, typed_page_decode

#: In a line, a nested object that kept its ``attributes`` (a false alarm, such text inside a string,
#: only costs that line the dict way).
_NESTED_ATTRIBUTES = b'"attributes": '
_ATTRIBUTES = "attributes"


class _PythonFloat(float):
    """A float Python writes with an exponent; msgspec hands it to ``_python_repr`` instead of writing it."""


def _decode_float(text: str) -> float:
    number = float(text)
    return _PythonFloat(number) if number and not 1e-4 <= abs(number) < 1e16 else number


def _python_repr(value: Any) -> Any:
    import msgspec

    if value.__class__ is _PythonFloat:
        return msgspec.Raw(float.__repr__(value).encode())
    raise NotImplementedError(f"cannot write {type(value).__name__} as JSON")


def _plain_float(value: Any) -> Any:
    if value.__class__ is _PythonFloat:
        return float(value)  # json.dumps writes it as Python does
    raise NotImplementedError(f"cannot write {type(value).__name__} as JSON")


@dataclass(frozen=True)
class JsonLinesPages(TypedPages):
    """``TypedPages`` for JSON Lines: ``row`` gives top-level values in ``fields`` order, ``lines`` a page's bytes."""

    lines: Callable[[Sequence[Any]], bytes]


@dataclass
class _Layout:
    """The keys of one level of the records, in order, with a layout for each key that holds an sObject parent."""

    keys: list[str]
    parents: dict[str, _Layout | None]


def jsonl_page_decoder(samples: Sequence[Any]) -> JsonLinesPages | None:
    """A decoder for pages shaped like ``samples`` (the first page's records), or ``None`` to keep dicts."""
    try:
        import msgspec
    except ImportError:  # pragma: no cover - Airflow installs msgspec; the client alone may not have it
        return None
    layout = _layout(samples)
    if layout is None or not layout.keys:
        return None
    record_type, clear = _struct(msgspec, layout, "JsonLinesRecord")
    return JsonLinesPages(
        decode=typed_page_decode(msgspec, record_type, float_hook=_decode_float),
        record_type=record_type,
        row=msgspec.structs.astuple,
        fields=(*layout.keys, _ATTRIBUTES),
        lines=_line_writer(msgspec, clear),
    )


def _layout(records: Sequence[Any]) -> _Layout | None:
    """The common layout of ``records`` (the same keys in the same order), or ``None`` when they differ."""
    if not records or not all(isinstance(record, Mapping) for record in records):
        return None
    keys = [key for key in records[0] if key != _ATTRIBUTES]
    if any([key for key in record if key != _ATTRIBUTES] != keys for record in records[1:]):
        return None
    parents: dict[str, _Layout | None] = {}
    for key in keys:
        values = [record[key] for record in records if record[key] is not None]
        if values and all(isinstance(value, Mapping) and _ATTRIBUTES in value for value in values):
            parents[key] = _layout(values)
    return _Layout(keys, parents)


def _struct(msgspec: Any, layout: _Layout, name: str) -> tuple[type, Callable[[Any], None]]:
    """A strict ``gc=False`` Struct for ``layout``, and a function dropping a record's ``attributes`` at every level."""
    definitions: list[tuple[Any, ...]] = []
    rename: dict[str, str] = {}
    children: list[tuple[str, Callable[[Any], None]]] = []
    for index, key in enumerate(layout.keys):
        attribute = f"f{index}"
        rename[attribute] = key
        child = layout.parents.get(key)
        if child is None:
            definitions.append((attribute, Any))
            continue
        child_type, child_clear = _struct(msgspec, child, f"{name}_{index}")
        definitions.append((attribute, child_type | None))
        children.append((attribute, child_clear))
    definitions.append((_ATTRIBUTES, msgspec.Raw | msgspec.UnsetType, msgspec.UNSET))
    record_type = msgspec.defstruct(name, definitions, rename=rename, gc=False, forbid_unknown_fields=True)
    unset = msgspec.UNSET

    def clear(record: Any) -> None:
        record.attributes = unset
        for attribute, child_clear in children:
            child = getattr(record, attribute)
            if child is not None:
                child_clear(child)

    return record_type, clear


def _line_writer(msgspec: Any, clear: Callable[[Any], None]) -> Callable[[Sequence[Any]], bytes]:
    encode = msgspec.json.Encoder(enc_hook=_python_repr).encode
    spaced, builtins = msgspec.json.format, msgspec.to_builtins

    def dict_way(record: Any) -> bytes:
        values = strip_attributes(builtins(record, enc_hook=_plain_float))
        return json.dumps(values, ensure_ascii=False).encode("utf-8")

    def lines(records: Sequence[Any]) -> bytes:
        for record in records:
            clear(record)
        encoded = [spaced(encode(record), indent=0) for record in records]
        text = b"\n".join(encoded) + b"\n" if encoded else b""
        if _NESTED_ATTRIBUTES not in text:
            return text
        return b"".join(
            (dict_way(record) if _NESTED_ATTRIBUTES in line else line) + b"\n"
            for record, line in zip(records, encoded, strict=True)
        )

    return lines
