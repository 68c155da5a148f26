"""Fields Salesforce computes on save: Contact/User ``Name``, Opportunity ``IsClosed``/``IsWon``/``Probability``,
file sizes and extensions. Pure functions over a row dict, shared by validated DML and seeding."""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping
from typing import Any

#: Default probability per stage, as a new org's sales process sets it.
STAGE_PROBABILITY = {
    "Prospecting": 10.0,
    "Qualification": 10.0,
    "Needs Analysis": 20.0,
    "Value Proposition": 50.0,
    "Id. Decision Makers": 60.0,
    "Perception Analysis": 70.0,
    "Proposal/Price Quote": 75.0,
    "Negotiation/Review": 90.0,
    "Closed Won": 100.0,
    "Closed Lost": 0.0,
}


def _full_name(changes: dict[str, Any], existing: Mapping[str, Any]) -> None:
    if existing and "FirstName" not in changes and "LastName" not in changes:
        return
    first = changes.get("FirstName", existing.get("FirstName"))
    last = changes.get("LastName", existing.get("LastName"))
    changes["Name"] = " ".join(part for part in (first, last) if part) or None


def _opportunity(changes: dict[str, Any], existing: Mapping[str, Any]) -> None:
    if "StageName" not in changes:
        return
    stage = changes["StageName"]
    changes["IsClosed"] = int(stage in ("Closed Won", "Closed Lost"))
    changes["IsWon"] = int(stage == "Closed Won")
    if "Probability" not in changes and stage in STAGE_PROBABILITY:
        changes["Probability"] = STAGE_PROBABILITY[stage]


def _body_length(changes: dict[str, Any], existing: Mapping[str, Any]) -> None:
    if "Body" in changes:
        body = changes["Body"]
        changes["BodyLength"] = len(body) if body is not None else None


def _content_version(changes: dict[str, Any], existing: Mapping[str, Any]) -> None:
    if "VersionData" in changes:
        data = changes["VersionData"]
        changes["ContentSize"] = len(data) if data is not None else None
    if changes.get("PathOnClient"):
        extension = posixpath.splitext(str(changes["PathOnClient"]).replace("\\", "/"))[1]
        changes["FileExtension"] = extension[1:].lower() or None


_RULES: dict[str, Callable[[dict[str, Any], Mapping[str, Any]], None]] = {
    "Contact": _full_name,
    "User": _full_name,
    "Opportunity": _opportunity,
    "Attachment": _body_length,
    "Document": _body_length,
    "ContentVersion": _content_version,
}


def apply_computed(object_name: str, changes: dict[str, Any], existing: Mapping[str, Any] | None = None) -> None:
    """Add the computed fields implied by ``changes`` (a create when ``existing`` is empty) in place."""
    rule = _RULES.get(object_name)
    if rule is not None:
        rule(changes, existing or {})
