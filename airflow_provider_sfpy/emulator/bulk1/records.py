"""A DML batch's records, from CSV, JSON or XML, as the Bulk API 2.0 engine's header and rows of cells.

One representation lets Bulk API 1.0 reuse the 2.0 engine's column mapping and DML wholesale. CSV is
read by the 2.0 reader (RFC 4180, UTF-8, ``#N/A`` for null, an empty cell for "not given"), except
that either line ending is accepted, as Bulk API 1.0 does. JSON is a list of objects; XML an
``<sObjects>`` document of ``<sObject>`` elements. In both, a parent found by external id is a nested
object (``"Account": {"External_Id__c": "A-1"}``, ``<Account><External_Id__c>A-1</...``), which becomes
the CSV column ``Account.External_Id__c`` (``Type:Relationship.Field`` for a polymorphic lookup whose
``type`` is given); ``null``, ``xsi:nil="true"`` and an empty value set the field to null, and a key
that is absent leaves it alone. JSON numbers in date and datetime fields are read as epoch
milliseconds, the form Bulk API 1.0 JSON query results use, so such results load back unchanged.
A batch whose data cannot be read fails as a whole, as Salesforce's does.
References: "Prepare Data Files" and "Map Data Fields",
https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/datafiles_prepare_data.htm
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path

from airflow_provider_sfpy.emulator.bulk.formats import CsvFormat, CsvParseError, UploadReader
from airflow_provider_sfpy.emulator.bulk.operations import NULL_VALUE
from airflow_provider_sfpy.emulator.bulk1.wire import JSON, XML, XSI_NS, local_name
from airflow_provider_sfpy.emulator.schema import FieldDef, SObjectDef
from airflow_provider_sfpy.emulator.soap.xml_input import XmlRejected, parse_xml
from airflow_provider_sfpy.emulator.values import format_datetime

Table = tuple[list[str], list[list[str]]]
NIL = f"{{{XSI_NS}}}nil"


class BatchDataError(Exception):
    """The batch's data cannot be read; ``message`` is the batch's ``stateMessage``."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def read_records(path: Path, content_type: str, obj: SObjectDef) -> Table:
    """The batch file at ``path`` as a header and rows of CSV cells."""
    if content_type == JSON:
        return _tabulate(_json_records(path.read_bytes(), obj))
    if content_type == XML:
        return _tabulate(_xml_records(path.read_bytes(), obj))
    try:
        with UploadReader(path, CsvFormat()) as reader:
            return reader.header, list(reader.rows())
    except CsvParseError as exc:
        raise BatchDataError(exc.message) from None


def _tabulate(records: Iterable[Mapping[str, str]]) -> Table:
    """Records with differing keys as one table: the union of their keys (case-insensitively, in the
    order first seen), a missing key an empty cell."""
    header: list[str] = []
    columns: dict[str, int] = {}
    cells_by_record: list[dict[int, str]] = []
    for record in records:
        cells: dict[int, str] = {}
        for key, value in record.items():
            index = columns.setdefault(key.lower(), len(header))
            if index == len(header):
                header.append(key)
            cells[index] = value
        cells_by_record.append(cells)
    rows = [[cells.get(i, "") for i in range(len(header))] for cells in cells_by_record]
    return header, rows


# ------------------------------------------------------------------------------------- JSON


def _json_records(data: bytes, obj: SObjectDef) -> list[dict[str, str]]:
    try:
        records = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BatchDataError(f"InvalidBatch : Failed to parse JSON. {exc}") from None
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise BatchDataError("InvalidBatch : Failed to parse JSON. Expected an array of record objects")
    return [_json_record(obj, record) for record in records]


def _json_record(obj: SObjectDef, record: Mapping[str, object]) -> dict[str, str]:
    cells: dict[str, str] = {}
    for key, value in record.items():
        if key == "attributes":
            continue
        if isinstance(value, dict):
            attributes = value.get("attributes")
            type_name = attributes.get("type") if isinstance(attributes, dict) else None
            prefix = _relationship_column(obj, key, type_name if isinstance(type_name, str) else None)
            for nested_key, nested in value.items():
                if nested_key != "attributes":
                    cells[f"{prefix}.{nested_key}"] = _json_cell(None, nested)
        else:
            cells[key] = _json_cell(obj.field(key), value)
    return cells


def _json_cell(f: FieldDef | None, value: object) -> str:
    if value is None or value == "":
        return NULL_VALUE
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)) and f is not None and f.type in ("date", "datetime"):
        moment = datetime.fromtimestamp(value / 1000, timezone.utc)
        return moment.date().isoformat() if f.type == "date" else format_datetime(moment)
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _relationship_column(obj: SObjectDef, relationship: str, type_name: str | None) -> str:
    """``Relationship``, or ``Type:Relationship`` for a polymorphic lookup given its ``type``."""
    reference = obj.relationship(relationship)
    if type_name and reference is not None and len(reference.reference_to) > 1:
        return f"{type_name}:{relationship}"
    return relationship


# ------------------------------------------------------------------------------------- XML


def _xml_records(data: bytes, obj: SObjectDef) -> list[dict[str, str]]:
    try:
        root = parse_xml(data)
    except XmlRejected as exc:
        raise BatchDataError(f"InvalidBatch : Failed to parse XML. {exc}") from None
    if local_name(root.tag) != "sObjects":
        raise BatchDataError(f"InvalidBatch : Failed to parse XML. Expected sObjects, found {local_name(root.tag)}")
    return [_xml_record(obj, element) for element in root if local_name(element.tag) == "sObject"]


def _xml_record(obj: SObjectDef, element: ET.Element) -> dict[str, str]:
    cells: dict[str, str] = {}
    for child in element:
        name = local_name(child.tag)
        nested = list(child)
        if not nested:
            cells[name] = _xml_cell(child)
            continue
        type_name = next(((n.text or "").strip() for n in nested if local_name(n.tag) == "type"), None)
        prefix = _relationship_column(obj, name, type_name)
        for grandchild in nested:
            if local_name(grandchild.tag) != "type":
                cells[f"{prefix}.{local_name(grandchild.tag)}"] = _xml_cell(grandchild)
    return cells


def _xml_cell(element: ET.Element) -> str:
    if element.get(NIL) == "true":
        return NULL_VALUE
    return element.text or NULL_VALUE
