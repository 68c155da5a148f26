"""Job info JSON, key for key and in Salesforce's order.

Three shapes per job type, as the Bulk API 2.0 guide shows them: the short one returned by create,
close and abort; the list entry of ``GET /jobs/{ingest,query}`` (short + ``jobType``); and the detail
of ``GET /jobs/.../{id}`` with the processing counters. ``contentUrl`` (no leading slash, as Salesforce
sends it) appears only while an ingest job is ``Open``: it is the upload URL, valid only then.
``apiVersion`` is a JSON number (``62.0``).
"""

from __future__ import annotations

from typing import Any

from airflow_provider_sfpy.emulator.bulk.jobs import INGEST, OPEN, Job

INGEST_JOB_TYPE = "V2Ingest"
QUERY_JOB_TYPE = "V2Query"
CONCURRENCY_MODE = "Parallel"
#: Objects whose Bulk API 2.0 queries Salesforce chunks by primary key (``isPkChunkingSupported``).
PK_CHUNKING_OBJECTS = frozenset({"Account", "Contact", "Opportunity", "User", "ContentVersion"})


def content_url(job: Job) -> str:
    return f"services/data/v{job.api_version}/jobs/ingest/{job.id}/batches"


def summary(job: Job, *, job_type: bool = False) -> dict[str, Any]:
    """The short shape (create/close/abort); with ``job_type``, the job-list entry."""
    info: dict[str, Any] = {
        "id": job.id,
        "operation": job.operation,
        "object": job.sobject,
        "createdById": job.created_by_id,
        "createdDate": job.created_date,
        "systemModstamp": job.system_modstamp,
        "state": job.state,
    }
    if job.external_id_field:
        info["externalIdFieldName"] = job.external_id_field
    if job.assignment_rule_id:
        info["assignmentRuleId"] = job.assignment_rule_id
    info["concurrencyMode"] = CONCURRENCY_MODE
    info["contentType"] = "CSV"
    info["apiVersion"] = float(job.api_version)
    if job_type:
        info["jobType"] = INGEST_JOB_TYPE if job.kind == INGEST else QUERY_JOB_TYPE
    if job.kind == INGEST and job.state == OPEN:
        info["contentUrl"] = content_url(job)
    info["lineEnding"] = job.csv_format.line_ending
    info["columnDelimiter"] = job.csv_format.column_delimiter
    return info


def detail(job: Job) -> dict[str, Any]:
    """``GET .../jobs/{ingest,query}/{id}``: the list entry plus the processing counters."""
    info = summary(job, job_type=True)
    info["numberRecordsProcessed"] = job.processed
    if job.kind == INGEST:
        info["numberRecordsFailed"] = job.failed
    info["retries"] = 0
    info["totalProcessingTime"] = job.processing_ms
    if job.kind == INGEST:
        info["apiActiveProcessingTime"] = job.processing_ms
        info["apexProcessingTime"] = 0
    else:
        info["isPkChunkingSupported"] = job.sobject in PK_CHUNKING_OBJECTS
    if job.error_message:
        info["errorMessage"] = job.error_message
    return info
