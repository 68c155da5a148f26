"""The ``jobInfo`` a client sends: to create a job (``POST /job``) or change its state (``POST /job/{id}``).

XML (``<jobInfo><operation>insert</operation><object>Account</object>...``) or JSON
(``{"operation": "insert", "object": "Account", "contentType": "CSV"}``). ``contentType`` defaults to
XML and ``concurrencyMode`` to ``Parallel``, as the guide says; in JSON ``concurrencyMode`` may also be
the enum's ordinal (``0`` Parallel, ``1`` Serial), which is what simple-salesforce sends and
Salesforce's JSON binding accepts. Upsert needs ``externalIdFieldName``: an external id field, an
idLookup field or ``Id``. Operation names are case-sensitive (``INSERT`` is refused). Reference:
"JobInfo", https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/asynch_api_reference_jobinfo.htm
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from airflow_provider_sfpy.emulator.bulk1.errors import invalid_entity, invalid_job, invalid_xml
from airflow_provider_sfpy.emulator.bulk1.jobs import PARALLEL, SERIAL
from airflow_provider_sfpy.emulator.bulk1.wire import CSV, JSON, XML, local_name, read_json, read_xml
from airflow_provider_sfpy.emulator.schema import SObjectDef, lookup_sobject

OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete", "query", "queryAll")
CONTENT_TYPES = (CSV, JSON, XML)
#: Binary attachments come zipped; the emulator has no binary loads.
ZIP_CONTENT_TYPES = ("ZIP_CSV", "ZIP_JSON", "ZIP_XML")
CONCURRENCY_MODES = (PARALLEL, SERIAL)


def read_job_info(body: bytes, fmt: str) -> dict[str, Any]:
    """The body's ``jobInfo`` properties: JSON values, or each XML child element's text."""
    if fmt == JSON:
        data = read_json(body, "InvalidJob")
        if not isinstance(data, dict):
            raise invalid_job("The request body must be a JSON object of jobInfo properties")
        return data
    root = read_xml(body)
    if local_name(root.tag) != "jobInfo":
        raise invalid_xml(f"Expected a jobInfo element, found {local_name(root.tag)}")
    return {local_name(child.tag): (child.text or "").strip() for child in root}


@dataclass(frozen=True)
class JobSpec:
    """A validated create request."""

    operation: str
    sobject: str
    content_type: str
    concurrency_mode: str
    external_id_field: str | None
    assignment_rule_id: str | None


def job_spec(info: dict[str, Any]) -> JobSpec:
    """The job ``info`` asks for, or the ``InvalidJob`` / ``InvalidEntity`` Salesforce answers."""
    operation = info.get("operation")
    if operation in (None, ""):
        raise invalid_job("Operation is required: one of " + ", ".join(OPERATIONS))
    if operation not in OPERATIONS:
        raise invalid_job(f"Invalid operation: {operation}. Use one of {', '.join(OPERATIONS)} (case-sensitive)")
    name = info.get("object")
    if not isinstance(name, str) or not name:
        raise invalid_job("Object is required: the API name of the sObject the job's batches process")
    obj = lookup_sobject(name)
    if obj is None:
        raise invalid_entity(f"Unable to find object: {name}")
    rule = info.get("assignmentRuleId")
    return JobSpec(
        operation=operation,
        sobject=obj.name,
        content_type=_content_type(info.get("contentType")),
        concurrency_mode=_concurrency_mode(info.get("concurrencyMode")),
        external_id_field=_external_id_field(obj, info.get("externalIdFieldName")) if operation == "upsert" else None,
        assignment_rule_id=rule if isinstance(rule, str) and rule else None,
    )


def _content_type(value: object) -> str:
    if value in (None, ""):
        return XML
    if value in CONTENT_TYPES:
        return str(value)
    if value in ZIP_CONTENT_TYPES:
        raise invalid_job(
            f"contentType {value} (binary attachments) is not supported by the emulator: use CSV, JSON or XML"
        )
    raise invalid_job(f"Invalid contentType: {value}. Use one of {', '.join(CONTENT_TYPES)}")


def _concurrency_mode(value: object) -> str:
    if value in (None, ""):
        return PARALLEL
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(CONCURRENCY_MODES):
        return CONCURRENCY_MODES[value]
    if value in CONCURRENCY_MODES:
        return str(value)
    raise invalid_job(f"Invalid concurrencyMode: {value}. Use Parallel or Serial")


def _external_id_field(obj: SObjectDef, name: object) -> str:
    if not isinstance(name, str) or not name:
        raise invalid_job(f"External ID was blank for {obj.name}. An External ID must be specified for upsert.")
    f = obj.field(name)
    if f is None or not f.lookup_key:
        raise invalid_job(
            f"Field name provided, {name} does not match an External ID, Salesforce Id, or indexed field for {obj.name}"
        )
    return f.name


def requested_state(info: dict[str, Any]) -> str:
    """The ``state`` a state-change request asks for (validated by the caller)."""
    state = info.get("state")
    return state if isinstance(state, str) else ""
