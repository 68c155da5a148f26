"""``jobInfo``, ``batchInfo`` and ``batchInfoList`` as Salesforce writes them, in XML and in JSON.

XML elements come in the schema's order and leave out what is unset (``externalIdFieldName``,
``stateMessage``); dates end in ``Z`` (``2015-12-15T21:41:45.000Z``). JSON objects carry the same
values with their keys in alphabetical order, as the guide's examples and real responses show, dates
as ``2015-12-15T21:41:45.000+0000``, ``apiVersion`` as a number, and unset properties of a job as
``null`` (plus ``fastPathEnabled``). References: "JobInfo" and "BatchInfo",
https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/asynch_api_reference_jobinfo.htm
https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/asynch_api_reference_batchinfo.htm
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.responses import Response

from airflow_provider_sfpy.emulator.bulk1.jobs import COMPLETED, FAILED, IN_PROGRESS, QUEUED, Batch, JobView
from airflow_provider_sfpy.emulator.bulk1.wire import document_response
from airflow_provider_sfpy.emulator.soap.messages import Fields, Value

DATE_KEYS = frozenset({"createdDate", "systemModstamp"})
#: Properties only the JSON binding writes out.
JSON_ONLY = frozenset({"fastPathEnabled"})


def _xml_fields(pairs: Sequence[tuple[str, Any]]) -> Fields:
    fields: list[tuple[str, Value]] = []
    for key, value in pairs:
        if value is None or key in JSON_ONLY:
            continue
        if key in DATE_KEYS:
            value = str(value).replace("+0000", "Z")
        elif isinstance(value, float):
            value = str(value)
        fields.append((key, value))
    return fields


def _json_object(pairs: Sequence[tuple[str, Any]]) -> dict[str, Any]:
    return dict(sorted(pairs))


def job_pairs(view: JobView) -> list[tuple[str, Any]]:
    job = view.job
    counts = view.batches_by_state
    return [
        ("id", job.id),
        ("operation", job.operation),
        ("object", job.sobject),
        ("createdById", job.created_by_id),
        ("createdDate", job.created_date),
        ("systemModstamp", job.system_modstamp),
        ("state", job.state),
        ("externalIdFieldName", job.external_id_field),
        ("assignmentRuleId", job.assignment_rule_id),
        ("concurrencyMode", job.concurrency_mode),
        ("contentType", job.content_type),
        ("numberBatchesQueued", counts.get(QUEUED, 0)),
        ("numberBatchesInProgress", counts.get(IN_PROGRESS, 0)),
        ("numberBatchesCompleted", counts.get(COMPLETED, 0)),
        ("numberBatchesFailed", counts.get(FAILED, 0)),
        ("numberBatchesTotal", view.batches_total),
        ("numberRecordsProcessed", view.records_processed),
        ("numberRetries", 0),
        ("apiVersion", float(job.api_version)),
        ("numberRecordsFailed", view.records_failed),
        ("totalProcessingTime", view.processing_ms),
        ("apiActiveProcessingTime", view.processing_ms),
        ("apexProcessingTime", 0),
        ("fastPathEnabled", False),
    ]


def batch_pairs(batch: Batch) -> list[tuple[str, Any]]:
    return [
        ("id", batch.id),
        ("jobId", batch.job_id),
        ("state", batch.state),
        ("stateMessage", batch.state_message),
        ("createdDate", batch.created_date),
        ("systemModstamp", batch.system_modstamp),
        ("numberRecordsProcessed", batch.processed),
        ("numberRecordsFailed", batch.failed),
        ("totalProcessingTime", batch.processing_ms),
        ("apiActiveProcessingTime", batch.processing_ms),
        ("apexProcessingTime", 0),
    ]


def _batch_json(batch: Batch) -> dict[str, Any]:
    return _json_object([(key, value) for key, value in batch_pairs(batch) if value is not None])


def job_response(view: JobView, fmt: str) -> Response:
    pairs = job_pairs(view)
    return document_response(fmt, "jobInfo", _json_object(pairs), _xml_fields(pairs))


def batch_response(batch: Batch, fmt: str) -> Response:
    pairs = batch_pairs(batch)
    return document_response(fmt, "batchInfo", _batch_json(batch), _xml_fields(pairs))


def batch_list_response(batches: Sequence[Batch], fmt: str) -> Response:
    """``GET /job/{id}/batch``: ``{"batchInfo": [...]}`` or ``<batchInfoList><batchInfo>...``."""
    data = {"batchInfo": [_batch_json(b) for b in batches]}
    fields: Fields = [("batchInfo", _xml_fields(batch_pairs(b))) for b in batches]
    return document_response(fmt, "batchInfoList", data, fields)
