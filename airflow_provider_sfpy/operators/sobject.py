"""``SalesforceSObjectOperator`` (DML on many records) and ``SalesforceFileInsertOperator`` (files as records)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import Context, ObjectStoragePath
from airflow.sdk.exceptions import AirflowException

from airflow_provider_sfpy.client.sobjects import BLOB_FIELDS
from airflow_provider_sfpy.operators.base import SalesforceBaseOperator, is_templated
from airflow_provider_sfpy.operators.records_input import as_id_list, as_record_list
from airflow_provider_sfpy.operators.storage import storage_path

OPERATIONS = ("insert", "update", "upsert", "delete")
MAX_ERRORS_IN_MESSAGE = 10


class SalesforceSObjectOperator(SalesforceBaseOperator):
    """Insert, update, upsert or delete one record or many.

    Many records go through the sObject Collections API, 200 per call; ``all_or_none`` makes each
    call atomic. Per-record failures are collected: the task fails listing them unless
    ``fail_on_error=False``, in which case they are returned (and pushed to XCom) for a downstream
    task to handle. Returns ``{"ids", "created", "success_count", "failure_count", "failures"}``
    where ``ids`` follows the input order (``None`` where a record failed).

    Example::

        SalesforceSObjectOperator(
            task_id="upsert_accounts",
            operation="upsert",
            object_type="Account",
            external_id_field="External_Id__c",
            records="{{ ti.xcom_pull(task_ids='transform') | tojson }}",
        )

    :param operation: ``insert``, ``update``, ``upsert`` or ``delete``.
    :param object_type: the sObject (templated).
    :param records: a dict, a list of dicts, JSON text or an XComArg (templated). ``update`` needs ``Id``
        in each record, ``upsert`` the external id field.
    :param record_ids: for ``delete``: ids as a list, a comma-separated string or records with ``Id`` (templated).
    :param external_id_field: for ``upsert``: the external id field's name (templated).
    :param all_or_none: roll back each 200-record call if any of its records fails.
    :param fail_on_error: fail the task when any record fails (default); else report failures in XCom.
    """

    template_fields: Sequence[str] = ("object_type", "records", "record_ids", "external_id_field")
    template_fields_renderers = {"records": "json"}
    ui_color = "#00a1e0"

    def __init__(
        self,
        *,
        operation: str,
        object_type: str | None = None,
        records: Any = None,
        record_ids: Any = None,
        external_id_field: str | None = None,
        all_or_none: bool = False,
        fail_on_error: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if operation not in OPERATIONS:
            raise ValueError(f"operation must be one of {', '.join(OPERATIONS)}, not {operation!r}")
        if operation != "delete" and not object_type:
            raise ValueError(f"{operation} needs object_type, e.g. object_type='Account'")
        if operation == "upsert" and not external_id_field:
            raise ValueError("upsert needs external_id_field: the external id field that matches records")
        if operation == "delete" and record_ids is None and records is None:
            raise ValueError("delete needs record_ids (or records carrying Id)")
        if operation != "delete" and records is None:
            raise ValueError(f"{operation} needs records: a dict, a list of dicts, JSON text or an XComArg")
        if isinstance(records, (list, dict)) or (isinstance(records, str) and not is_templated(records)):
            as_record_list(records)  # literal input: refuse a malformed value when the DAG is parsed
        self.operation = operation
        self.object_type = object_type
        self.records = records
        self.record_ids = record_ids
        self.external_id_field = external_id_field
        self.all_or_none = all_or_none
        self.fail_on_error = fail_on_error

    def execute(self, context: Context) -> dict[str, Any]:
        collections = self.client.collections
        if self.operation == "delete":
            ids = as_id_list(self.record_ids if self.record_ids is not None else self.records)
            if not ids:
                raise AirflowException("delete was given no record ids; nothing would be deleted")
            items: list[dict[str, Any]] = [{"Id": record_id} for record_id in ids]
            self.log.info("Deleting %d records", len(ids))
            results, _ = collections.delete(ids, all_or_none=self.all_or_none)
        else:
            items = as_record_list(self.records)
            if not items:
                raise AirflowException(f"{self.operation} was given no records")
            self.log.info("%s of %d %s records", self.operation.capitalize(), len(items), self.object_type)
            assert self.object_type is not None
            if self.operation == "insert":
                results, _ = collections.create(items, object_type=self.object_type, all_or_none=self.all_or_none)
            elif self.operation == "update":
                results, _ = collections.update(items, object_type=self.object_type, all_or_none=self.all_or_none)
            else:
                assert self.external_id_field is not None
                results, _ = collections.upsert(
                    items,
                    object_type=self.object_type,
                    external_id_field=self.external_id_field,
                    all_or_none=self.all_or_none,
                )
        summary = summarize(items, results, already_done="ENTITY_IS_DELETED" if self.operation == "delete" else None)
        self.log.info("%d succeeded, %d failed", summary["success_count"], summary["failure_count"])
        if summary["failures"]:
            ti = context.get("ti") if isinstance(context, dict) else None
            if ti is not None:
                ti.xcom_push(key="failures", value=summary["failures"])
            if self.fail_on_error:
                raise AirflowException(failure_message(self.operation, summary["failures"]))
        return summary


def summarize(
    items: Sequence[dict[str, Any]], results: Sequence[dict[str, Any]], *, already_done: str | None = None
) -> dict[str, Any]:
    """Per-record results -> ids in input order, created flags, and the failures with their input.

    ``already_done`` names an error code that means the wanted end state already holds (a delete
    re-sent after its answer was lost finds ENTITY_IS_DELETED): such a record counts as a success.
    """
    ids: list[str | None] = []
    created: list[bool | None] = []
    failures: list[dict[str, Any]] = []
    for index, (item, result) in enumerate(zip(items, results, strict=True)):
        codes = {error.get("statusCode") for error in result.get("errors") or []}
        if result.get("success") or (already_done is not None and codes == {already_done}):
            ids.append(result.get("id") or item.get("Id"))
            created.append(result.get("created"))
        else:
            ids.append(None)
            created.append(None)
            failures.append({"index": index, "record": item, "errors": result.get("errors", [])})
    return {
        "ids": ids,
        "created": created,
        "success_count": len(items) - len(failures),
        "failure_count": len(failures),
        "failures": failures,
    }


def failure_message(operation: str, failures: Sequence[dict[str, Any]]) -> str:
    lines = [f"{len(failures)} record(s) failed to {operation}:"]
    for failure in failures[:MAX_ERRORS_IN_MESSAGE]:
        reasons = "; ".join(
            f"{e.get('statusCode', '?')}: {e.get('message', '')}"
            + (f" [{', '.join(e['fields'])}]" if e.get("fields") else "")
            for e in failure["errors"]
        )
        lines.append(f"  record {failure['index']}: {reasons}")
    if len(failures) > MAX_ERRORS_IN_MESSAGE:
        lines.append(f"  ... and {len(failures) - MAX_ERRORS_IN_MESSAGE} more (set fail_on_error=False to get all)")
    return "\n".join(lines)


class SalesforceFileInsertOperator(SalesforceBaseOperator):
    """Upload a file from object storage as an Attachment, Document or ContentVersion, streamed.

    Example::

        SalesforceFileInsertOperator(
            task_id="attach_report",
            object_type="ContentVersion",
            source="s3://reports/{{ ds }}/summary.pdf",
            source_conn_id="aws_default",
            fields={"Title": "Daily summary {{ ds }}", "PathOnClient": "summary.pdf"},
        )

    :param object_type: ``Attachment``, ``Document`` or ``ContentVersion`` (templated).
    :param source: the file, as an ObjectStoragePath URL (templated).
    :param fields: the record's other fields, e.g. ``ParentId`` for an Attachment (templated).
    :param content_type: the file's MIME type (default ``application/octet-stream``).
    """

    template_fields: Sequence[str] = ("object_type", "source", "source_conn_id", "fields")
    ui_color = "#00a1e0"

    def __init__(
        self,
        *,
        object_type: str,
        source: str | ObjectStoragePath,
        fields: dict[str, Any] | None = None,
        source_conn_id: str | None = None,
        content_type: str = "application/octet-stream",
        binary_field: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not binary_field and object_type.lower() not in BLOB_FIELDS and not is_templated(object_type):
            raise ValueError(
                f"{object_type} has no known file field; use Attachment, Document or ContentVersion, "
                "or name the field with binary_field="
            )
        self.object_type = object_type
        self.source = source
        self.source_conn_id = source_conn_id
        self.fields = fields or {}
        self.content_type = content_type
        self.binary_field = binary_field

    def execute(self, context: Context) -> str:
        path = storage_path(self.source, self.source_conn_id)
        if not path.exists():
            raise AirflowException(f"source file {path} does not exist")
        sobjects = self.client.sobjects(object_type=self.object_type, binary_field=self.binary_field)
        self.log.info("Uploading %s as a %s", path, self.object_type)
        with path.open("rb") as handle:
            body, _ = sobjects.insert(dict(self.fields), binary=(path.name, handle, self.content_type))
        self.log.info("Created %s %s", self.object_type, body["id"])
        return str(body["id"])
