"""``SalesforceApprovalOperator``: submit records for approval, or approve/reject work items.

Request fields and what Salesforce does when one is left out: "Submit, Approve, or Reject Process
Approvals", https://developer.salesforce.com/docs/platform/api-rest/guide/resources-process-approvals-post.html
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import Context
from airflow.sdk.exceptions import AirflowException

from airflow_provider_sfpy.operators.base import SalesforceBaseOperator
from airflow_provider_sfpy.operators.records_input import as_id_list
from airflow_provider_sfpy.operators.task_state import send_once

ACTIONS = ("Submit", "Approve", "Reject")


class SalesforceApprovalOperator(SalesforceBaseOperator):
    """Run approval actions; the task fails if any request reports ``success: false``.

    Example::

        SalesforceApprovalOperator(
            task_id="submit_for_approval",
            action="Submit",
            context_ids="{{ ti.xcom_pull(task_ids='create_deal')['ids'] | join(',') }}",
            process_definition="Account_Approval",
            comments="Submitted by the nightly load",
        )

    :param action: ``Submit`` (context ids are records), ``Approve`` or ``Reject`` (context ids are work items).
    :param context_ids: one id, several (list or comma-separated), or records with ``Id`` (templated).
    :param comments: comment attached to each request (templated) (default ``None``).
    :param next_approver_ids: user ids for the next approval step (templated) (default ``None``).
    :param process_definition: approval process name or id (``processDefinitionNameOrId``) (templated)
        (default ``None``: Salesforce takes the first process, in process order, whose entry criteria
        the record meets).
    :param skip_entry_criteria: skip the process's entry criteria, Submit only (default ``None``: not
        sent, so Salesforce evaluates them).
    :param context_actor_id: submit on behalf of this user (default ``None``: the connection's user).
    :returns: ``{"instance_ids", "new_workitem_ids", "statuses", "results"}``.
    """

    template_fields: Sequence[str] = ("context_ids", "comments", "process_definition", "next_approver_ids")
    ui_color = "#00a1e0"

    def __init__(
        self,
        *,
        action: str,
        context_ids: Any,
        comments: str | None = None,
        next_approver_ids: Sequence[str] | None = None,
        process_definition: str | None = None,
        skip_entry_criteria: bool | None = None,
        context_actor_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        normalized = action.capitalize() if isinstance(action, str) else action
        if normalized not in ACTIONS:
            raise ValueError(f"action must be one of {', '.join(ACTIONS)}, not {action!r}")
        if context_ids is None or context_ids == "" or context_ids == []:
            raise ValueError("context_ids is empty: give the record ids (Submit) or work item ids (Approve/Reject)")
        if skip_entry_criteria is not None and normalized != "Submit":
            raise ValueError("skip_entry_criteria applies to Submit only")
        self.action = normalized
        self.context_ids = context_ids
        self.comments = comments
        self.next_approver_ids = next_approver_ids
        self.process_definition = process_definition
        self.skip_entry_criteria = skip_entry_criteria
        self.context_actor_id = context_actor_id

    def build_requests(self) -> list[dict[str, Any]]:
        ids = as_id_list(self.context_ids)
        if not ids:
            raise AirflowException("context_ids rendered to no ids; nothing to submit")
        requests = []
        for context_id in ids:
            request: dict[str, Any] = {"actionType": self.action, "contextId": context_id}
            optional = {
                "comments": self.comments,
                "nextApproverIds": list(self.next_approver_ids) if self.next_approver_ids else None,
                "processDefinitionNameOrId": self.process_definition,
                "skipEntryCriteria": self.skip_entry_criteria,
                "contextActorId": self.context_actor_id,
            }
            request.update({key: value for key, value in optional.items() if value is not None})
            requests.append(request)
        return requests

    def execute(self, context: Context) -> dict[str, Any]:
        requests = self.build_requests()
        self.log.info("%s: %d approval request(s)", self.action, len(requests))
        results: list[dict[str, Any]] = send_once(
            context,
            what=f"{len(requests)} approval request(s) ({self.action})",
            send=lambda: list(self.client.approvals({"requests": requests}).body),
            logger=self.log,
        )
        failures = [(req, res) for req, res in zip(requests, results, strict=True) if not res.get("success")]
        if failures:
            details = "; ".join(
                f"{req['contextId']}: "
                + ", ".join(f"{e.get('statusCode', '?')}: {e.get('message', '')}" for e in (res.get("errors") or []))
                for req, res in failures
            )
            raise AirflowException(f"{len(failures)} of {len(requests)} approval request(s) failed: {details}")
        return {
            "instance_ids": [r.get("instanceId") for r in results],
            "new_workitem_ids": [wid for r in results for wid in (r.get("newWorkitemIds") or [])],
            "statuses": [r.get("instanceStatus") for r in results],
            "results": results,
        }
