"""Customer service: Case.

Fields follow the Field Reference and the Object Reference:
- https://developer.salesforce.com/docs/atlas.en-us.228.0.sfFieldRef.meta/sfFieldRef/salesforce_field_reference_Case.htm
- https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_case.htm

Representative subset: CaseNumber (auto-number, idLookup), AccountId, ContactId, ParentId, Subject,
Description, Status, Priority, Origin, Type, Reason, IsClosed, ClosedDate, IsEscalated, the four
web-to-case ``Supplied*`` fields and OwnerId. No entitlement, asset, business-hours or
Salesforce-to-Salesforce fields. Status, Priority, Origin, Type and Reason have a new org's values.
"""

from __future__ import annotations

from airflow_provider_sfpy.emulator.objects.model import FieldDef, computed, picklist, ref, sobject

CASE_STATUSES = ("New", "Working", "Escalated", "Closed")
CLOSED_CASE_STATUSES = frozenset({"Closed"})
CASE_PRIORITIES = ("High", "Medium", "Low")
CASE_ORIGINS = ("Phone", "Email", "Web")
CASE_TYPES = ("Mechanical", "Electrical", "Electronic", "Structural", "Other")
CASE_REASONS = (
    "Installation",
    "Equipment Complexity",
    "Performance",
    "Breakdown",
    "Equipment Design",
    "Feedback",
    "Other",
)

CASE = sobject(
    "Case",
    "500",
    [
        computed("CaseNumber", "string", "Case Number", 30, auto_number=True, id_lookup=True),
        ref("AccountId", "Account", "Account", label="Account ID", child="Cases"),
        ref("ContactId", "Contact", "Contact", label="Contact ID", child="Cases"),
        ref("ParentId", "Case", "Parent", label="Parent Case ID", child="Cases"),
        FieldDef("Subject", "string", "Subject", 255),
        FieldDef("Description", "textarea", "Description", 32000),
        picklist("Status", "Status", CASE_STATUSES, default="New"),
        picklist("Priority", "Priority", CASE_PRIORITIES, default="Medium"),
        picklist("Origin", "Case Origin", CASE_ORIGINS),
        picklist("Type", "Case Type", CASE_TYPES),
        picklist("Reason", "Case Reason", CASE_REASONS),
        computed("IsClosed", "boolean", "Closed", default=False),
        computed("ClosedDate", "datetime", "Closed Date"),
        FieldDef("IsEscalated", "boolean", "Escalated", default=False),
        FieldDef("SuppliedName", "string", "Name", 80),
        FieldDef("SuppliedEmail", "email", "Email Address", 80),
        FieldDef("SuppliedPhone", "string", "Phone", 40),
        FieldDef("SuppliedCompany", "string", "Company", 80),
    ],
    name_field="CaseNumber",
    feed_enabled=True,
    mergeable=True,
)

SERVICE_OBJECTS = (CASE,)
