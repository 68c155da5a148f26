"""Which change events a ``SalesforceChangeEventTrigger`` hands to Airflow, and what it hands: no Airflow imports.

A change event (Change Data Capture) carries a ``ChangeEventHeader`` and the values of the fields
that changed; every other field is null. So a condition on a field is a condition on the *change*:
``{"field": "StageName", "op": "==", "value": "Closed Won"}`` matches the update that set the stage
to Closed Won (or a create with that stage), not later edits of other fields of a won Opportunity
(https://developer.salesforce.com/docs/atlas.en-us.change_data_capture.meta/change_data_capture/cdc_event_fields_body.htm).

Change types are Salesforce's (``airflow_provider_sfpy.change_types.CHANGE_TYPES``): ``CREATE``, ``UPDATE``,
``DELETE``, ``UNDELETE`` and, when Salesforce could not build a full event, ``GAP_CREATE``/``GAP_UPDATE``/
``GAP_DELETE``/``GAP_UNDELETE``/``GAP_OVERFLOW``
(https://developer.salesforce.com/docs/atlas.en-us.change_data_capture.meta/change_data_capture/cdc_other_events_gap.htm).
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from airflow_provider_sfpy.change_types import CHANGE_TYPES

#: The header fields a trigger event carries (the decoded ``ChangeEventHeader``).
HEADER_FIELDS = (
    "entityName",
    "recordIds",
    "changeType",
    "changeOrigin",
    "transactionKey",
    "sequenceNumber",
    "commitTimestamp",
    "commitNumber",
    "commitUser",
    "changedFields",
    "nulledFields",
    "diffFields",
)


def _is_in(value: Any, expected: Any) -> bool:
    return value in expected


def _not_in(value: Any, expected: Any) -> bool:
    return value not in expected


def _ordered(compare: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    """An ordering that is simply false when the two values cannot be ordered (a number and a string)."""

    def check(value: Any, expected: Any) -> bool:
        try:
            return bool(compare(value, expected))
        except TypeError:
            return False

    return check


#: The operators of a field condition.
OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "in": _is_in,
    "not in": _not_in,
    ">": _ordered(operator.gt),
    ">=": _ordered(operator.ge),
    "<": _ordered(operator.lt),
    "<=": _ordered(operator.le),
}

_MISSING = object()


@dataclass(frozen=True)
class FieldCondition:
    """``field op value`` on the event's changed values; a field the change did not set never matches.

    ``field`` may name a part of a compound field (``BillingAddress.City``). ``op`` is one of
    ``OPERATORS``: ``==``, ``!=``, ``in``, ``not in`` (``value`` a list), ``>``, ``>=``, ``<``, ``<=``.
    """

    field: str
    op: str
    value: Any

    @classmethod
    def parse(cls, raw: Mapping[str, Any] | Sequence[Any]) -> FieldCondition:
        """From ``{"field", "op", "value"}``, or ``[field, op, value]`` (the trigger's serialized form)."""
        if isinstance(raw, (list, tuple)) and len(raw) == 3:
            raw = {"field": raw[0], "op": raw[1], "value": raw[2]}
        if not isinstance(raw, Mapping) or set(raw) - {"field", "op", "value"} or "field" not in raw:
            raise ValueError(
                f"a condition is a dict {{'field': ..., 'op': ..., 'value': ...}}, not {raw!r}; "
                f"op is one of {', '.join(OPERATORS)} (default '==')"
            )
        op = raw.get("op", "==")
        if op not in OPERATORS:
            raise ValueError(f"condition op {op!r} is not one of {', '.join(OPERATORS)}")
        value = raw.get("value")
        if op in ("in", "not in"):
            if not isinstance(value, (list, tuple)):
                raise ValueError(f"condition op {op!r} takes a list as its value, not {value!r}")
            value = list(value)
        return cls(field=str(raw["field"]), op=op, value=value)

    def as_list(self) -> list[Any]:
        """``[field, op, value]``: Airflow 3.3 hashes a dict nested in a trigger's kwargs differently before and
        after storing it, which would leave an asset watcher's trigger unlinked, so kwargs carry this instead."""
        return [self.field, self.op, self.value]

    def matches(self, values: Mapping[str, Any]) -> bool:
        found = lookup(values, self.field)
        if found is _MISSING or found is None:
            return False
        return OPERATORS[self.op](found, self.value)


def lookup(values: Mapping[str, Any], path: str) -> Any:
    """``values["BillingAddress"]["City"]`` for ``BillingAddress.City`` (or a flat key of that name)."""
    if path in values:
        return values[path]
    current: Any = values
    for part in path.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return _MISSING
        current = current[part]
    return current


@dataclass(frozen=True)
class ChangeEventFilter:
    """What a trigger keeps: every given criterion must hold (an empty filter keeps every change).

    :param entities: entity names (``Opportunity``); useful on ``/data/ChangeEvents``, which carries
        every selected object's changes.
    :param change_types: ``CREATE``, ``UPDATE``, ... (see ``CHANGE_TYPES``).
    :param changed_fields: keep a change only if it changed at least one of these fields. A create
        counts as changing every field it sets (Salesforce lists changed fields for updates only).
    :param conditions: ``FieldCondition`` s on the changed values, all of which must hold.
    """

    entities: frozenset[str] | None = None
    change_types: frozenset[str] | None = None
    changed_fields: frozenset[str] | None = None
    conditions: tuple[FieldCondition, ...] = ()

    @classmethod
    def build(
        cls,
        *,
        entities: Iterable[str] | None = None,
        change_types: Iterable[str] | None = None,
        changed_fields: Iterable[str] | None = None,
        condition: Mapping[str, Any] | Sequence[Mapping[str, Any] | Sequence[Any]] | None = None,
    ) -> ChangeEventFilter:
        """Validate the trigger's filter arguments; a mistake raises ``ValueError`` naming it."""
        types = _names(change_types, "change_types")
        if types is not None:
            wrong = sorted(t for t in types if t.upper() not in CHANGE_TYPES)
            if wrong:
                raise ValueError(f"change_types {wrong} are not among {', '.join(sorted(CHANGE_TYPES))}")
            types = frozenset(t.upper() for t in types)
        raw_conditions = [condition] if isinstance(condition, Mapping) else list(condition or [])
        return cls(
            entities=_names(entities, "entities"),
            change_types=types,
            changed_fields=_names(changed_fields, "changed_fields"),
            conditions=tuple(FieldCondition.parse(c) for c in raw_conditions),
        )

    def matches(self, header: Mapping[str, Any], values: Mapping[str, Any]) -> bool:
        if self.entities is not None and header.get("entityName") not in self.entities:
            return False
        change_type = str(header.get("changeType") or "")
        if self.change_types is not None and change_type not in self.change_types:
            return False
        if self.changed_fields is not None and not self.changed_fields & _changed(header, values):
            return False
        return all(condition.matches(values) for condition in self.conditions)


def _changed(header: Mapping[str, Any], values: Mapping[str, Any]) -> set[str]:
    """The fields a change changed: the header's list, or for a create every field it set."""
    listed = {str(name) for name in header.get("changedFields") or ()}
    if header.get("changeType") in ("CREATE", "UNDELETE") and not listed:
        listed = set(_flat_names(values))
    return listed | {name.split(".", 1)[0] for name in listed}


def _flat_names(values: Mapping[str, Any], prefix: str = "") -> Iterable[str]:
    for name, value in values.items():
        if value is None:
            continue
        yield f"{prefix}{name}"
        if isinstance(value, Mapping):
            yield from _flat_names(value, f"{prefix}{name}.")


def _names(raw: Iterable[str] | None, what: str) -> frozenset[str] | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        raw = [raw]
    names = frozenset(str(name) for name in raw)
    if not names:
        raise ValueError(f"{what} is empty: leave it out (None) to keep every change")
    return names


def json_safe(value: Any) -> Any:
    """A change's values as plain JSON (a trigger event's payload must be): dates as ISO text, bytes as base64."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_safe(v) for v in value]
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    return str(value)
