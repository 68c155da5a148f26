"""The SOQL of an incremental export: the user's query narrowed to one window of a datetime key.

An incremental export runs the user's ``SELECT ... FROM Object [WHERE ...]`` as

    SELECT <fields>[, <key>][, IsDeleted] FROM Object
    WHERE (<user's condition>) AND <key> >= <watermark> AND <key> <= <upper> ORDER BY <key>

The user's condition is kept whole inside parentheses, so an ``OR`` in it cannot widen the window;
the bounds are datetime literals this module writes from ``datetime`` values (never text from a
template or the state store), and the key is checked to be a plain field name. ``ORDER BY``,
``LIMIT``, ``OFFSET``, ``GROUP BY`` and the other trailing clauses are refused: the export decides
the order, and a limit would silently drop changes.

SOQL datetime literals are unquoted ISO 8601 with a zone (``2005-10-08T01:02:03Z``; Salesforce
SOQL and SOSL Reference, "Date Formats and Date Literals in WHERE":
https://developer.salesforce.com/docs/platform/salesforce-soql-sosl/guide/sforce-api-calls-soql-select-dateformats.md).
Fractional seconds are accepted too (``2020-03-17T21:04:32.000+0000`` runs in the Developer Console,
AllanOricil/SOQL-Editor-Issues#10; ``%Y-%m-%dT%H:%M:%S.%f%z`` is the fix given in
simple-salesforce/simple-salesforce#500), and ``SystemModstamp`` carries milliseconds, so bounds are
written to the millisecond with ``Z``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from airflow_provider_sfpy.formats.soql_fields import SoqlFieldListError, select_fields

#: A plain field or object API name: ``SystemModstamp``, ``Last_Sync__c``, ``ns__Object__c``.
API_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
#: Clauses that may not follow an incremental query's WHERE: the export orders, and must not limit.
TRAILING_CLAUSES = frozenset({"ORDER", "GROUP", "HAVING", "LIMIT", "OFFSET", "FOR", "WITH", "USING", "UPDATE"})
_TOKEN = re.compile(r"'(?:[^'\\]|\\.)*'?|[()]|[A-Za-z_][A-Za-z0-9_]*|\s+|.", re.DOTALL)
_SALESFORCE_DATETIME = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})", re.I)


class IncrementalQueryError(ValueError):
    """A query that cannot be exported incrementally; the message says what to change."""


@dataclass(frozen=True)
class QueryParts:
    """``SELECT <fields> FROM <object_name> [WHERE <condition>]``, as the user wrote it."""

    fields: tuple[str, ...]
    object_name: str
    condition: str | None


@dataclass(frozen=True)
class Window:
    """The rows one run exports: ``lower <= key <= upper`` (no lower bound on a full run)."""

    lower: datetime | None
    upper: datetime

    def as_dict(self) -> dict[str, str | None]:
        return {"from": soql_datetime(self.lower) if self.lower else None, "to": soql_datetime(self.upper)}


def check_key(key: str) -> str:
    """``key`` if it is a plain field name of the queried object (not a path, not an expression)."""
    if not isinstance(key, str) or not API_NAME.fullmatch(key):
        raise IncrementalQueryError(
            f"incremental_key must be a datetime field of the queried object, such as SystemModstamp or "
            f"LastModifiedDate, not {key!r}"
        )
    return key


def split_query(soql: str) -> QueryParts:
    """The parts of ``SELECT ... FROM Object [WHERE ...]``; anything else is refused, saying why."""
    words = list(_top_level_words(soql))
    if not words or words[0][0] != "SELECT":
        raise IncrementalQueryError("an incremental export's soql must start with SELECT")
    from_at = next((i for i, (word, _, _) in enumerate(words) if word == "FROM"), None)
    if from_at is None or from_at + 1 >= len(words):
        raise IncrementalQueryError("an incremental export's soql has no FROM <object>")
    _, object_start, object_end = words[from_at + 1]
    object_name = soql[object_start:object_end]
    rest = words[from_at + 2 :]
    condition = None
    if rest:
        word, start, end = rest[0]
        if word != "WHERE":
            raise IncrementalQueryError(_unsupported(soql[start:end], f"after FROM {object_name}"))
        trailing = next(((w, s, e) for w, s, e in rest[1:] if w in TRAILING_CLAUSES), None)
        if trailing is not None:
            raise IncrementalQueryError(_unsupported(soql[trailing[1] : trailing[2]], "in the query"))
        condition = soql[end:].strip()
        if not condition:
            raise IncrementalQueryError("the soql's WHERE has no condition")
    try:
        fields = tuple(select_fields(soql))
    except SoqlFieldListError as exc:
        raise IncrementalQueryError(f"soql: {exc}") from None
    return QueryParts(fields=fields, object_name=object_name, condition=condition)


def _unsupported(found: str, where: str) -> str:
    return (
        f"an incremental export supports SELECT ... FROM Object [WHERE ...] only, but found {found!r} {where}. "
        "Leave out ORDER BY and LIMIT (the export orders by the incremental key, and a limit would drop "
        "changes), and aliases, USING SCOPE, GROUP BY, OFFSET, WITH and FOR clauses."
    )


def _top_level_words(soql: str) -> Iterator[tuple[str, int, int]]:
    """``(WORD, start, end)`` of each word outside string literals and parentheses.

    Parentheses must balance: the user's condition is wrapped in one pair, and ``a = 1) OR (b = 2``
    would otherwise close it early and let the OR widen the window.
    """
    depth = 0
    for match in _TOKEN.finditer(soql):
        token = match.group()
        if token == "(":
            depth += 1
        elif token == ")":
            depth -= 1
            if depth < 0:
                raise IncrementalQueryError(f"the soql has a ')' without its '(' at character {match.start() + 1}")
        elif depth == 0 and (token[0].isalpha() or token[0] == "_"):
            yield token.upper(), match.start(), match.end()
    if depth != 0:
        raise IncrementalQueryError(f"the soql has {depth} '(' without its ')'")


def windowed_query(
    parts: QueryParts,
    key: str,
    window: Window,
    *,
    extra_fields: Sequence[str] = (),
    deleted_only: bool = False,
    ordered: bool = True,
) -> str:
    """The SOQL that exports ``window`` of ``parts``: the key (and ``extra_fields``) added to the
    SELECT list when missing, the user's condition in parentheses, the bounds, and ``ORDER BY key``
    unless ``ordered`` is false (Bulk API 2.0 queries should not sort)."""
    selected = list(parts.fields)
    present = {field.lower() for field in selected}
    for field in (check_key(key), *extra_fields):
        if field.lower() not in present:
            selected.append(field)
            present.add(field.lower())
    conditions = [f"({parts.condition})"] if parts.condition else []
    if deleted_only:
        conditions.append("IsDeleted = true")
    if window.lower is not None:
        conditions.append(f"{key} >= {soql_datetime(window.lower)}")
    conditions.append(f"{key} <= {soql_datetime(window.upper)}")
    query = f"SELECT {', '.join(selected)} FROM {parts.object_name} WHERE {' AND '.join(conditions)}"
    return f"{query} ORDER BY {key}" if ordered else query


def soql_datetime(moment: datetime) -> str:
    """``2026-05-01T12:30:00.123Z``: a SOQL datetime literal (UTC, milliseconds) of an aware datetime."""
    if moment.tzinfo is None:
        raise ValueError(f"a SOQL datetime needs a time zone: {moment!r}")
    utc = moment.astimezone(timezone.utc)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z"


def parse_salesforce_datetime(text: str) -> datetime:
    """A datetime as Salesforce writes it (REST ``...000+0000``, Bulk CSV ``...000Z``, or our own literal)."""
    match = _SALESFORCE_DATETIME.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"not a Salesforce datetime: {text!r}")
    base, fraction, zone = match.groups()
    millis = (fraction or "0").ljust(3, "0")[:3]
    zone = "+00:00" if zone.upper() == "Z" else zone
    return datetime.strptime(f"{base}.{millis}000{zone.replace(':', '')}", "%Y-%m-%dT%H:%M:%S.%f%z").astimezone(
        timezone.utc
    )


def truncate_to_millisecond(moment: datetime) -> datetime:
    """Salesforce keeps datetimes to the millisecond; a bound finer than that would not round-trip."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)
