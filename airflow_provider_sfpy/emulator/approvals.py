"""Approval processes: the org's process definitions and the state machine records go through.

A record is *submitted* to the first active process of its object whose entry criteria it meets (or
to a named one, optionally skipping the criteria): that opens a ``Pending`` process instance (``04g``)
with one work item (``04i``) assigned to an approver. *Approving* the work item moves the instance to
its next step (a new work item) or, at the last step, to ``Approved``; *rejecting* ends it as
``Rejected``. Closed work items are gone, as ``ProcessInstanceWorkitem`` rows are in Salesforce.

Entry criteria are SOQL conditions evaluated against the record through the emulator's SOQL compiler,
so they mean exactly what a ``WHERE`` clause means. Process instances live in memory with the app.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from airflow_provider_sfpy.emulator import ids
from airflow_provider_sfpy.emulator.errors import ApiError
from airflow_provider_sfpy.emulator.schema import sobject_for_key_prefix
from airflow_provider_sfpy.emulator.soql import compile_soql
from airflow_provider_sfpy.emulator.store import FIRST_COUNTER, Store

DEFINITION_PREFIX = "04a"
INSTANCE_PREFIX = "04g"
WORKITEM_PREFIX = "04i"
ACTIONS = ("Submit", "Approve", "Reject")

NO_APPLICABLE_PROCESS = "No applicable approval process was found."
ALREADY_IN_PROCESS = "Cannot submit object already in process."
INVALID_CROSS_REFERENCE = "invalid cross reference id"


class ApprovalError(Exception):
    """One request that Salesforce refuses: its ``statusCode`` and message."""

    def __init__(self, status_code: str, message: str) -> None:
        super().__init__(f"{status_code}: {message}")
        self.status_code = status_code
        self.message = message


@dataclass(frozen=True)
class ProcessDefinition:
    """An active approval process of one object (``steps`` approvals in a row)."""

    id: str
    name: str
    object_name: str
    description: str | None
    sort_order: int
    #: A SOQL condition the record must meet to enter the process (``None``: every record).
    entry_criteria: str | None = None
    steps: int = 1

    def to_json(self) -> dict[str, Any]:
        """The entry of ``GET /process/approvals/`` (15-character Id, as the REST API shows it)."""
        return {
            "description": self.description,
            "id": self.id[:15],
            "name": self.name,
            "object": self.object_name,
            "sortOrder": self.sort_order,
        }


@dataclass
class ProcessInstance:
    id: str
    definition: ProcessDefinition
    target_id: str
    submitter_id: str
    status: str = "Pending"
    step: int = 1


@dataclass(frozen=True)
class ProcessRequest:
    """One element of ``{"requests": [...]}``."""

    action: str
    context_id: str
    context_actor_id: str | None = None
    comments: str | None = None
    next_approver_ids: tuple[str, ...] = ()
    process_name_or_id: str | None = None
    skip_entry_criteria: bool = False


@dataclass(frozen=True)
class ProcessResult:
    entity_id: str
    instance_id: str
    instance_status: str
    actor_ids: tuple[str, ...] | None
    new_workitem_ids: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "actorIds": list(self.actor_ids) if self.actor_ids is not None else None,
            "entityId": self.entity_id,
            "errors": None,
            "instanceId": self.instance_id,
            "instanceStatus": self.instance_status,
            "newWorkitemIds": list(self.new_workitem_ids),
            "success": True,
        }


#: The processes every emulated org has: (name, object, description, entry criteria, steps).
DEFAULT_PROCESSES: tuple[tuple[str, str, str, str | None, int], ...] = (
    ("Account_Approval", "Account", "Accounts with revenue need a manager's approval.", "AnnualRevenue > 0", 1),
    (
        "Large_Opportunity_Approval",
        "Opportunity",
        "Opportunities of 100,000 or more: the manager approves, then finance.",
        "Amount >= 100000",
        2,
    ),
)


def default_definitions() -> list[ProcessDefinition]:
    return [
        ProcessDefinition(ids.make_id(DEFINITION_PREFIX, FIRST_COUNTER + n), name, obj, desc, 1, criteria, steps)
        for n, (name, obj, desc, criteria, steps) in enumerate(DEFAULT_PROCESSES)
    ]


class ApprovalRegistry:
    """Process definitions and the instances and open work items of one org (thread-safe)."""

    def __init__(self, definitions: Iterable[ProcessDefinition] | None = None) -> None:
        self._lock = threading.RLock()
        self.definitions = list(definitions) if definitions is not None else default_definitions()
        self._instances: dict[str, ProcessInstance] = {}
        self._pending: dict[str, str] = {}  # record id -> its pending instance
        self._workitems: dict[str, str] = {}  # open work item -> its instance

    def by_object(self) -> dict[str, list[ProcessDefinition]]:
        """Definitions grouped by object, in sort order."""
        grouped: dict[str, list[ProcessDefinition]] = {}
        for definition in sorted(self.definitions, key=lambda d: (d.object_name, d.sort_order)):
            grouped.setdefault(definition.object_name, []).append(definition)
        return grouped

    def process(self, request: ProcessRequest, store: Store, user_id: str) -> ProcessResult:
        """Carry out one Submit/Approve/Reject as ``user_id``; raises ``ApprovalError`` when refused."""
        with self._lock:
            if request.action == "Submit":
                return self._submit(request, store, user_id)
            return self._decide(request, store, user_id)

    # --------------------------------------------------------------------------- submit

    def _submit(self, request: ProcessRequest, store: Store, user_id: str) -> ProcessResult:
        record_id = _live_record(store, request.context_id)
        if record_id in self._pending:
            raise ApprovalError("ALREADY_IN_PROCESS", ALREADY_IN_PROCESS)
        definition = self._applicable(request, store, record_id)
        submitter = _user(store, request.context_actor_id) if request.context_actor_id else user_id
        approver = self._approver(request, store, user_id)
        instance = ProcessInstance(store.new_ids(INSTANCE_PREFIX, 1)[0], definition, record_id, submitter)
        self._instances[instance.id] = instance
        self._pending[record_id] = instance.id
        workitem = self._open_workitem(instance, store)
        return ProcessResult(record_id, instance.id, instance.status, (approver,), (workitem,))

    def _applicable(self, request: ProcessRequest, store: Store, record_id: str) -> ProcessDefinition:
        obj = sobject_for_key_prefix(record_id)
        candidates = self.by_object().get(obj.name if obj else "", [])
        if request.process_name_or_id:
            wanted = request.process_name_or_id
            named = [d for d in candidates if d.name.lower() == wanted.lower() or d.id == ids.normalize(wanted)]
            if named and (request.skip_entry_criteria or _meets(named[0], store, record_id)):
                return named[0]
            raise ApprovalError("NO_APPLICABLE_PROCESS", NO_APPLICABLE_PROCESS)
        for definition in candidates:
            if _meets(definition, store, record_id):
                return definition
        raise ApprovalError("NO_APPLICABLE_PROCESS", NO_APPLICABLE_PROCESS)

    # --------------------------------------------------------------------------- approve / reject

    def _decide(self, request: ProcessRequest, store: Store, user_id: str) -> ProcessResult:
        workitem = ids.normalize(request.context_id)
        open_item = self._workitems.pop(workitem, None) if workitem else None
        if open_item is None:
            raise ApprovalError("INVALID_CROSS_REFERENCE_KEY", INVALID_CROSS_REFERENCE)
        instance = self._instances[open_item]
        if request.action == "Approve" and instance.step < instance.definition.steps:
            instance.step += 1
            approver = self._approver(request, store, user_id)
            new_item = self._open_workitem(instance, store)
            return ProcessResult(instance.target_id, instance.id, instance.status, (approver,), (new_item,))
        instance.status = "Approved" if request.action == "Approve" else "Rejected"
        del self._pending[instance.target_id]
        return ProcessResult(instance.target_id, instance.id, instance.status, None, ())

    def _open_workitem(self, instance: ProcessInstance, store: Store) -> str:
        workitem = store.new_ids(WORKITEM_PREFIX, 1)[0]
        self._workitems[workitem] = instance.id
        return workitem

    @staticmethod
    def _approver(request: ProcessRequest, store: Store, user_id: str) -> str:
        """The next approver: the one the request names, else the acting user (an approval admin)."""
        return _user(store, request.next_approver_ids[0]) if request.next_approver_ids else user_id


def _live_record(store: Store, record_id: str) -> str:
    normalized = ids.normalize(record_id)
    obj = sobject_for_key_prefix(normalized) if normalized else None
    if normalized is None or obj is None:
        raise ApprovalError("INVALID_CROSS_REFERENCE_KEY", INVALID_CROSS_REFERENCE)
    try:
        return store.resolve_id(obj, normalized)
    except ApiError as exc:
        if exc.error_code == "ENTITY_IS_DELETED":
            raise ApprovalError("ENTITY_IS_DELETED", "entity is deleted") from None
        raise ApprovalError("INVALID_CROSS_REFERENCE_KEY", INVALID_CROSS_REFERENCE) from None


def _user(store: Store, user_id: str) -> str:
    normalized = ids.normalize(user_id)
    if normalized is None or normalized[:3] != "005" or store.user_by_id(normalized) is None:
        raise ApprovalError("INVALID_CROSS_REFERENCE_KEY", INVALID_CROSS_REFERENCE)
    return normalized


def _meets(definition: ProcessDefinition, store: Store, record_id: str) -> bool:
    if not definition.entry_criteria:
        return True
    compiled = compile_soql(
        f"SELECT COUNT() FROM {definition.object_name} WHERE Id = '{record_id}' AND ({definition.entry_criteria})"
    )
    return bool(store.scalar(compiled.sql, compiled.params))
