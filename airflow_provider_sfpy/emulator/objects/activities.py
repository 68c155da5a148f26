"""Activities: Task and Event.

Fields follow the Object Reference and the Field Reference:
- https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_task.htm
- https://developer.salesforce.com/docs/platform/object-reference/references/standard-objects/object-event.html
- https://developer.salesforce.com/docs/atlas.en-us.228.0.sfFieldRef.meta/sfFieldRef/salesforce_field_reference_Event.htm

Representative subsets:
- Task: Subject (combobox), WhoId, WhatId, AccountId (read-only), ActivityDate, Status, Priority,
  IsHighPriority, IsClosed, CompletedDateTime, Description, Type, TaskSubtype, the call fields
  (CallDurationInSeconds, CallType, CallDisposition), reminder fields and OwnerId.
- Event: Subject (combobox), WhoId, WhatId, AccountId (read-only), ActivityDate, ActivityDateTime,
  StartDateTime, EndDateTime, EndDate, DurationInMinutes, IsAllDayEvent, Location, Description,
  ShowAs, IsPrivate, Type, EventSubtype and OwnerId. No recurrence or invitee (relation) fields.

``WhoId`` points at a Contact or a Lead. ``WhatId`` lists Account, Opportunity and Campaign only: in a
real org it also takes Case, Contract, Product2 and more, but SOQL's polymorphic ``What.Name`` is
served from the fields all targets share, and Case has no ``Name`` field (its name is CaseNumber).
Deleting the Who or What record deletes its activities, as in Salesforce.
"""

from __future__ import annotations

from airflow_provider_sfpy.emulator.objects.model import FieldDef, computed, picklist, ref, sobject

WHO = ("Contact", "Lead")
WHAT = ("Account", "Opportunity", "Campaign")
TASK_STATUSES = ("Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred")
CLOSED_TASK_STATUSES = frozenset({"Completed"})
TASK_PRIORITIES = ("High", "Normal", "Low")
HIGH_PRIORITY = "High"
ACTIVITY_TYPES = ("Call", "Email", "Meeting", "Other")


def _who_what(child: str) -> list[FieldDef]:
    return [
        ref("WhoId", WHO, "Who", label="Name ID", child=child, cascade=True),
        ref("WhatId", WHAT, "What", label="Related To ID", child=child, cascade=True),
        ref("AccountId", "Account", "Account", label="Account ID", createable=False, updateable=False),
    ]


TASK = sobject(
    "Task",
    "00T",
    [
        picklist("Subject", "Subject", ("Call", "Send Letter", "Send Quote", "Other"), type_="combobox"),
        *_who_what("Tasks"),
        FieldDef("ActivityDate", "date", "Due Date Only"),
        picklist("Status", "Status", TASK_STATUSES, default="Not Started", nillable=False),
        picklist("Priority", "Priority", TASK_PRIORITIES, default="Normal", nillable=False),
        computed("IsHighPriority", "boolean", "High Priority", default=False),
        computed("IsClosed", "boolean", "Closed", default=False),
        computed("CompletedDateTime", "datetime", "Completed Date/Time"),
        FieldDef("Description", "textarea", "Description", 32000),
        picklist("Type", "Type", ACTIVITY_TYPES),
        picklist(
            "TaskSubtype",
            "Task Subtype",
            ("Task", "Email", "ListEmail", "Cadence", "Call", "LinkedIn"),
            default="Task",
            updateable=False,
        ),
        FieldDef("CallDurationInSeconds", "int", "Call Duration", precision=8),
        picklist("CallType", "Call Type", ("Internal", "Inbound", "Outbound")),
        FieldDef("CallDisposition", "string", "Call Result", 255),
        FieldDef("IsReminderSet", "boolean", "Reminder Set", default=False),
        FieldDef("ReminderDateTime", "datetime", "Reminder Date/Time"),
    ],
    name_field="Subject",
)

EVENT = sobject(
    "Event",
    "00U",
    [
        picklist("Subject", "Subject", ("Call", "Email", "Meeting", "Send Letter/Quote", "Other"), type_="combobox"),
        *_who_what("Events"),
        FieldDef("ActivityDate", "date", "Due Date Only"),
        FieldDef("ActivityDateTime", "datetime", "Due Date Time"),
        FieldDef("StartDateTime", "datetime", "Start Date Time"),
        FieldDef("EndDateTime", "datetime", "End Date Time"),
        computed("EndDate", "date", "End Date"),
        FieldDef("DurationInMinutes", "int", "Duration", precision=8),
        FieldDef("IsAllDayEvent", "boolean", "All-Day Event", default=False),
        FieldDef("Location", "string", "Location", 255),
        FieldDef("Description", "textarea", "Description", 32000),
        picklist("ShowAs", "Show Time As", ("Busy", "OutOfOffice", "Free"), default="Busy"),
        FieldDef("IsPrivate", "boolean", "Private", default=False),
        picklist("Type", "Type", ACTIVITY_TYPES),
        picklist("EventSubtype", "Event Subtype", ("Event",), default="Event", updateable=False),
    ],
    name_field="Subject",
)

ACTIVITY_OBJECTS = (TASK, EVENT)
