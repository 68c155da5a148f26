"""``SalesforceSObjectOperator`` (DML on many records) and ``SalesforceFileInsertOperator`` (files as records)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from airflow.sdk import Context, ObjectStoragePath
from airflow.sdk.exceptions import AirflowException

from airflow_provider_sfpy.client.sobjects import BLOB_FIELDS
from airflow_provider_sfpy.operators.base import SalesforceBaseOperator, is_templated
from airflow_provider_sfpy.operators.collections_progress import (
    NOT_RECORDED,
    STATE_KEY,
    STATE_MAX_BYTES,
    CollectionsProgress,
    input_fingerprint,
)
from airflow_provider_sfpy.operators.records_input import as_id_list, as_record_list
from airflow_provider_sfpy.operators.storage import storage_path
from airflow_provider_sfpy.operators.task_state import AirflowFailException, TaskState, no_blind_retry, send_once

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

    **When a call fails part way** (say the 2nd of 3 calls meets a 503 that outlasts the retries),
    the records of the calls answered before are in Salesforce. The task pushes
    ``partial_outcome`` to XCom before it fails: ``{"total", "ids" (of the answered records, input
    order), "answered", "succeeded", "unknown", "failed", "not_sent", "error"}``, the ranges being
    0-based ``[first, last]`` or ``None``: ``unknown`` is a call whose answer was lost (its records
    may or may not be there), ``failed`` a call that failed for certain (not applied), ``not_sent``
    the records after it. The error's text says the same.

    **A retry** (Airflow 3.3+, which gives tasks a state store that survives retries) resumes: each
    call's results are recorded under the task state key ``sfpy_collections`` *before the next call is
    sent*, with the input's fingerprint (a SHA-256 of the operation and the records). A retry sends
    only the records no earlier try got an answer for, and returns every record's result in input
    order, earlier tries' included; records Salesforce answered with an error are not sent again
    (they are reported again). A call whose answer was lost (connection dropped, read timeout, 500)
    is sent again by an update, upsert or delete, which are safe to repeat; an insert refuses it,
    since its records may exist already: the task fails without retry (``AirflowFailException``)
    naming the uncertain records and the ids created before them, and every later try refuses the
    same way until a person has checked Salesforce and loaded what is missing. A retry given other
    records than the earlier tries (an upstream XCom changed) fails without retry instead of mixing
    two inputs' results.

    **A clear** does what a retry does: Airflow keeps the task state store when a task instance is
    cleared, and after success, so a cleared task that had finished sends nothing and returns the
    recorded results. To write the records again, delete the key ``sfpy_collections`` of the task
    instance (Airflow's REST API) or start a new DAG run.

    **Size of what is recorded:** ids are recorded for inserts and upserts (about 21 bytes a record)
    and error codes for failed records; updates and deletes record only failures (ids are the
    input's). What is recorded is kept under ``state_max_bytes`` (60,000: Airflow's store holds
    about 64 KB a value), which fits the ids of about 2,800 records. Past that, a warning is logged
    and only the progress is recorded for later calls: a retry still never sends them again, but it
    returns ``None`` for their ids and counts them neither as successes nor as failures (the result
    then has ``not_recorded``, their ``[first, last]`` range). For more records use the Bulk API.

    **Airflow 3.1 and 3.2** have no task state store, so a retry cannot know what an earlier try
    wrote: an insert that fails once a record may have reached Salesforce fails the task without
    retry, the error naming what was written (unless ``retry_after_load=True``). Updates, upserts
    and deletes are safe to repeat and are retried as usual.

    :param operation: ``insert``, ``update``, ``upsert`` or ``delete``.
    :param object_type: the sObject; ``delete`` needs none (templated) (default ``None``).
    :param records: a dict, a list of dicts, JSON text or an XComArg (templated). ``update`` needs ``Id``
        in each record, ``upsert`` the external id field (default ``None``: ``delete`` may take
        ``record_ids`` instead; the other operations need records).
    :param record_ids: for ``delete``: ids as a list, a comma-separated string or records with ``Id``
        (templated) (default ``None``).
    :param external_id_field: for ``upsert``: the external id field's name (templated) (default ``None``).
    :param all_or_none: roll back each 200-record call if any of its records fails (default ``False``).
    :param fail_on_error: fail the task when any record fails; ``False`` reports failures in XCom
        instead (default ``True``).
    :param retry_after_load: on Airflow 3.1/3.2 only: let Airflow retry an insert that failed after
        records reached Salesforce (the retry sends every record again, so those are duplicated)
        (default ``False``).
    """

    template_fields: Sequence[str] = ("object_type", "records", "record_ids", "external_id_field")
    template_fields_renderers = {"records": "json"}
    ui_color = "#00a1e0"
    #: The most bytes of JSON recorded in the task state store (see "Size of what is recorded").
    state_max_bytes: int = STATE_MAX_BYTES

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
        retry_after_load: bool = False,
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
        self.retry_after_load = retry_after_load

    def execute(self, context: Context) -> dict[str, Any]:
        items = self._items()
        state = TaskState(context, STATE_KEY)
        progress = CollectionsProgress(
            state,
            operation=self.operation,
            fingerprint=input_fingerprint(self.operation, self.object_type, self.external_id_field, items),
            items=items,
            max_bytes=self.state_max_bytes,
            log=self.log,
        )
        progress.resume()
        ti = context.get("ti") if isinstance(context, Mapping) else None
        if progress.sending is not None:
            first, last = progress.sending.start, progress.sending.stop - 1
            if self.operation == "insert":
                message = progress.uncertain_message()
                _push(ti, "partial_outcome", progress.outcome(message))
                raise AirflowFailException(f"An earlier try of this task left the insert unfinished. {message}")
            self.log.warning(
                "The answer to records %d-%d was lost in an earlier try; %s is safe to repeat: sending them again",
                first,
                last,
                self.operation,
            )
        if progress.results:
            self.log.info(
                "Records 0-%d were answered in an earlier try of this task instance (task state key %r): "
                "not sent again",
                len(progress.results) - 1,
                STATE_KEY,
            )
        # Updates, upserts and deletes may be repeated without harm: only an insert must not be blindly retried.
        allow_retry = self.retry_after_load or self.operation != "insert"
        with no_blind_retry(state, retry_after_load=allow_retry, loaded=progress.loaded):
            try:
                results = progress.results if progress.complete else self._write(items, progress)
            except Exception as exc:
                progress.fail(exc)
                if progress.started:
                    _push(ti, "partial_outcome", progress.outcome(str(exc)))
                    self.log.error("Stopped: %s", progress.describe())
                if progress.sending is not None and self.operation == "insert" and state.durable:
                    raise AirflowFailException(f"{exc}\n{progress.uncertain_message()}") from exc
                raise
            summary = summarize(
                items, results, already_done="ENTITY_IS_DELETED" if self.operation == "delete" else None
            )
            self.log.info("%d succeeded, %d failed", summary["success_count"], summary["failure_count"])
            if summary.get(NOT_RECORDED):
                self.log.warning(
                    "Records %d-%d were answered in an earlier try but their results did not fit in the task "
                    "state store: their ids are None here",
                    *summary[NOT_RECORDED],
                )
            if summary["failures"]:
                _push(ti, "failures", summary["failures"])
                if self.fail_on_error:
                    message = failure_message(self.operation, summary["failures"])
                    _push(ti, "partial_outcome", progress.outcome(message))
                    raise AirflowException(message)
        return summary

    def _items(self) -> list[dict[str, Any]]:
        """The records to write (for ``delete``: ``{"Id": ...}`` each), refused when there are none."""
        if self.operation == "delete":
            ids = as_id_list(self.record_ids if self.record_ids is not None else self.records)
            if not ids:
                raise AirflowException("delete was given no record ids; nothing would be deleted")
            self.log.info("Deleting %d records", len(ids))
            return [{"Id": record_id} for record_id in ids]
        items = as_record_list(self.records)
        if not items:
            raise AirflowException(f"{self.operation} was given no records")
        self.log.info("%s of %d %s records", self.operation.capitalize(), len(items), self.object_type)
        return items

    def _write(self, items: list[dict[str, Any]], progress: CollectionsProgress) -> list[dict[str, Any]]:
        """Send the records no earlier try got an answer for; every record's result, in input order."""
        collections = self.client.collections
        resume: dict[str, Any] = {"settled": progress.results, "progress": progress.record}
        if self.operation == "delete":
            ids = [item["Id"] for item in items]
            results, _ = collections.delete(ids, all_or_none=self.all_or_none, **resume)
            return list(results)
        assert self.object_type is not None
        if self.operation == "insert":
            results, _ = collections.create(items, object_type=self.object_type, all_or_none=self.all_or_none, **resume)
        elif self.operation == "update":
            results, _ = collections.update(items, object_type=self.object_type, all_or_none=self.all_or_none, **resume)
        else:
            assert self.external_id_field is not None
            results, _ = collections.upsert(
                items,
                object_type=self.object_type,
                external_id_field=self.external_id_field,
                all_or_none=self.all_or_none,
                **resume,
            )
        return list(results)


def _push(ti: Any, key: str, value: Any) -> None:
    if ti is not None:
        ti.xcom_push(key=key, value=value)


def summarize(
    items: Sequence[dict[str, Any]], results: Sequence[dict[str, Any]], *, already_done: str | None = None
) -> dict[str, Any]:
    """Per-record results -> ids in input order, created flags, and the failures with their input.

    ``already_done`` names an error code that means the wanted end state already holds (a delete
    re-sent after its answer was lost finds ENTITY_IS_DELETED): such a record counts as a success.
    Records answered in an earlier try whose results were not recorded (see the operator's "Size of
    what is recorded") get ``None`` and count neither way; ``not_recorded`` gives their range.
    """
    ids: list[str | None] = []
    created: list[bool | None] = []
    failures: list[dict[str, Any]] = []
    not_recorded: list[int] = []
    for index, (item, result) in enumerate(zip(items, results, strict=True)):
        codes = {error.get("statusCode") for error in result.get("errors") or []}
        if result.get(NOT_RECORDED):
            ids.append(None)
            created.append(None)
            not_recorded.append(index)
        elif result.get("success") or (already_done is not None and codes == {already_done}):
            ids.append(result.get("id") or item.get("Id"))
            created.append(result.get("created"))
        else:
            ids.append(None)
            created.append(None)
            failures.append({"index": index, "record": item, "errors": result.get("errors", [])})
    summary: dict[str, Any] = {
        "ids": ids,
        "created": created,
        "success_count": len(items) - len(failures) - len(not_recorded),
        "failure_count": len(failures),
        "failures": failures,
    }
    if not_recorded:
        summary[NOT_RECORDED] = [not_recorded[0], not_recorded[-1]]
    return summary


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
            source="s3://reports/{{ (dag_run.logical_date or dag_run.run_after) | ds }}/summary.pdf",
            source_conn_id="aws_default",
            fields={
                "Title": "Daily summary {{ (dag_run.logical_date or dag_run.run_after) | ds }}",
                "PathOnClient": "summary.pdf",
            },
        )

    :param object_type: ``Attachment``, ``Document`` or ``ContentVersion`` (templated).
    :param source: the file, as an ObjectStoragePath URL (templated).
    :param source_conn_id: the Airflow connection for the source's storage (templated) (default ``None``).
    :param fields: the record's other fields, e.g. ``ParentId`` for an Attachment (templated) (default ``{}``).
    :param content_type: the file's MIME type (default ``'application/octet-stream'``).
    :param binary_field: the field that holds the file, for other objects than those three
        (default ``None``: ``Body`` for Attachment and Document, ``VersionData`` for ContentVersion).
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
        return send_once(
            context, what=f"the {self.object_type} of {path.name}", send=lambda: self._upload(path), logger=self.log
        )

    def _upload(self, path: ObjectStoragePath) -> str:
        sobjects = self.client.sobjects(object_type=self.object_type, binary_field=self.binary_field)
        self.log.info("Uploading %s as a %s", path, self.object_type)
        with path.open("rb") as handle:
            body, _ = sobjects.insert(dict(self.fields), binary=(path.name, handle, self.content_type))
        self.log.info("Created %s %s", self.object_type, body["id"])
        return str(body["id"])
