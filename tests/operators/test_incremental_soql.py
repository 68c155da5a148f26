"""The SOQL of an incremental export: the user's query split safely, the window written by us."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from airflow_provider_sfpy.operators.incremental_soql import (
    IncrementalQueryError,
    QueryParts,
    Window,
    parse_salesforce_datetime,
    soql_datetime,
    split_query,
    windowed_query,
)

LOWER = datetime(2026, 3, 1, 8, 15, 30, 123456, tzinfo=timezone.utc)
UPPER = datetime(2026, 3, 2, 1, 0, 0, tzinfo=timezone(timedelta(hours=2)))


def test_keywords_inside_strings_and_subqueries_do_not_split_the_query() -> None:
    soql = (
        "select Id, Name from Account where Name = 'x\\' ORDER BY Name LIMIT 1 from y' "
        "AND Id IN (SELECT AccountId FROM Contact WHERE Email != null ORDER BY Email LIMIT 5)"
    )
    parts = split_query(soql)
    assert parts == QueryParts(
        fields=("Id", "Name"),
        object_name="Account",
        condition=(
            "Name = 'x\\' ORDER BY Name LIMIT 1 from y' "
            "AND Id IN (SELECT AccountId FROM Contact WHERE Email != null ORDER BY Email LIMIT 5)"
        ),
    )


def test_the_window_wraps_the_users_condition_and_adds_the_key_once() -> None:
    parts = split_query("SELECT Id, systemmodstamp FROM Lead WHERE IsConverted = false OR Status = 'Open'")
    query = windowed_query(parts, "SystemModstamp", Window(LOWER, UPPER), extra_fields=("IsDeleted",))
    assert query == (
        "SELECT Id, systemmodstamp, IsDeleted FROM Lead WHERE (IsConverted = false OR Status = 'Open') "
        "AND SystemModstamp >= 2026-03-01T08:15:30.123Z AND SystemModstamp <= 2026-03-01T23:00:00.000Z "
        "ORDER BY SystemModstamp"
    )


def test_a_full_window_has_no_lower_bound_and_deletes_only_adds_is_deleted() -> None:
    parts = split_query("SELECT Id FROM Account")
    query = windowed_query(parts, "LastModifiedDate", Window(None, UPPER), deleted_only=True, ordered=False)
    assert query == (
        "SELECT Id, LastModifiedDate FROM Account WHERE IsDeleted = true "
        "AND LastModifiedDate <= 2026-03-01T23:00:00.000Z"
    )


@pytest.mark.parametrize(
    ("soql", "message"),
    [
        ("SELECT Id FROM Account WITH SECURITY_ENFORCED", "found 'WITH'"),
        ("SELECT Id FROM Account USING SCOPE mine", "found 'USING'"),
        ("SELECT Id FROM Account WHERE Name != null GROUP BY Id", "found 'GROUP'"),
        ("SELECT Id FROM Account WHERE Name != null FOR VIEW", "found 'FOR'"),
        ("SELECT Id FROM Account WHERE ", "has no condition"),
        ("UPDATE Account", "must start with SELECT"),
        ("SELECT Id, (SELECT Id FROM Contacts) FROM Account", "subquery"),
        ("SELECT Id FROM Account WHERE Name = 'a') OR (Name = 'b'", "a '\\)' without its '\\('"),
        ("SELECT Id FROM Account WHERE (Name = 'a' OR Name = 'b'", "1 '\\(' without its '\\)'"),
    ],
)
def test_queries_that_cannot_be_windowed_are_refused(soql: str, message: str) -> None:
    with pytest.raises(IncrementalQueryError, match=message):
        split_query(soql)


@pytest.mark.parametrize(
    "text",
    ["2026-03-01T08:15:30.123+0000", "2026-03-01T08:15:30.123Z", "2026-03-01T10:15:30.123+02:00"],
)
def test_salesforce_datetimes_in_every_form_read_back_to_the_same_moment(text: str) -> None:
    moment = parse_salesforce_datetime(text)
    assert moment == LOWER.replace(microsecond=123000)
    assert soql_datetime(moment) == "2026-03-01T08:15:30.123Z"


def test_a_naive_datetime_is_not_written_as_a_bound() -> None:
    with pytest.raises(ValueError, match="time zone"):
        soql_datetime(datetime(2026, 3, 1))
