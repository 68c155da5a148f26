"""A DML batch's results, one per record in request order, in the job's content type.

- CSV: ``"Id","Success","Created","Error"``, every value quoted; ``Error`` is
  ``STATUS_CODE:message:FIELDS --`` as in Bulk API 2.0's ``sf__Error``.
- JSON: ``[{"success": true, "created": true, "id": "001...", "errors": []}, ...]``; a failure has
  ``"id": null`` (or the record's Id) and ``errors: [{"statusCode", "message", "fields"}]``, the shape
  the official Airflow provider's ``SalesforceBulkOperator`` reads when it retries transient errors.
- XML: ``<results><result><id>..</id><success>true</success><created>true</created></result>...``,
  a failure's ``<errors>`` first and its missing Id ``xsi:nil``.

Reference: "Get Batch Results",
https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/asynch_api_batches_get_results.htm
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from airflow_provider_sfpy.emulator.bulk.formats import CsvFormat, RowFormatter
from airflow_provider_sfpy.emulator.bulk.operations import Outcome
from airflow_provider_sfpy.emulator.bulk1.wire import JSON, XML, xml_document
from airflow_provider_sfpy.emulator.responses import dumps
from airflow_provider_sfpy.emulator.soap.messages import Fields, Value

CSV_HEADER = ("Id", "Success", "Created", "Error")


def parse_error(cell: str) -> tuple[str, str, list[str]]:
    """``STATUS_CODE:message:FIELDS --`` (``sf__Error``) -> status code, message, fields."""
    body = cell.removesuffix("--").rstrip()
    code, _, rest = body.partition(":")
    message, _, fields = rest.rpartition(":")
    return code, message, [f for f in fields.split(",") if f]


def _json_result(outcome: Outcome) -> dict[str, Any]:
    errors = []
    if outcome.error is not None:
        code, message, fields = parse_error(outcome.error)
        errors.append({"statusCode": code, "message": message, "fields": fields})
    return {
        "success": outcome.error is None,
        "created": outcome.created,
        "id": outcome.record_id or None,
        "errors": errors,
    }


def _xml_result(outcome: Outcome) -> Fields:
    fields: list[tuple[str, Value]] = []
    if outcome.error is not None:
        code, message, names = parse_error(outcome.error)
        error: list[tuple[str, Value]] = [("fields", name) for name in names]
        error += [("message", message), ("statusCode", code)]
        fields.append(("errors", error))
    fields += [("id", outcome.record_id or None), ("success", outcome.error is None), ("created", outcome.created)]
    return fields


def write_results(path: Path, content_type: str, outcomes: Sequence[Outcome]) -> None:
    if content_type == JSON:
        data = dumps([_json_result(o) for o in outcomes])
    elif content_type == XML:
        data = xml_document("results", [("result", _xml_result(o)) for o in outcomes], nil_namespace=True)
    else:
        line = RowFormatter(CsvFormat()).line
        rows = [line(CSV_HEADER)]
        rows += [
            line([o.record_id, str(o.error is None).lower(), str(o.created).lower(), o.error or ""]) for o in outcomes
        ]
        data = "".join(rows).encode("utf-8")
    path.write_bytes(data)
