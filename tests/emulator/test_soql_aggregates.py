"""Aggregate SOQL over HTTP (/query): COUNT() totals, AggregateResult rows keyed expr0.../alias, GROUP BY
(plain, ROLLUP, CUBE), HAVING, date functions, the 2,000-group ceiling, and Salesforce's refusals."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from emulator_api import Api, unique

from airflow_provider_sfpy.emulator.testing import RunningEmulator, start_emulator

AGGREGATE = {"type": "AggregateResult"}


@dataclass(frozen=True)
class Org:
    """Four accounts (two Energy, one Banking, one without industry), three contacts, three deals."""

    prefix: str
    like: str  # a LIKE pattern matching exactly this module's accounts


@pytest.fixture(scope="module")
def org(emulator: RunningEmulator) -> Org:
    api = Api(emulator)
    prefix = unique("Agg")
    accounts = {}
    for key, industry, revenue, employees, active in [
        ("a1", "Energy", 100, 10, True),
        ("a2", "Energy", 300.5, 30, False),
        ("a3", "Banking", 50, 5, True),
        ("a4", None, None, None, True),
    ]:
        record = {"Name": f"{prefix}-{key}", "Industry": industry, "AnnualRevenue": revenue}
        accounts[key] = api.create("Account", {**record, "NumberOfEmployees": employees, "Active__c": active})
    for last_name, account in [("Zed", "a1"), ("Amy", "a1"), ("Bob", "a2")]:
        api.create("Contact", {"LastName": last_name, "AccountId": accounts[account]})
    for name, close_date, amount, account in [
        ("Spring", "2024-03-15", 1000, "a1"),
        ("Autumn", "2024-11-02", 500, "a1"),
        ("Summer", "2023-07-01", 250, "a3"),
    ]:
        deal = {"Name": name, "CloseDate": close_date, "Amount": amount, "StageName": "Prospecting"}
        api.create("Opportunity", {**deal, "AccountId": accounts[account]})
    return Org(prefix, f"{prefix}-%")


def error_of(api: Api, soql: str, version: str | None = None) -> dict[str, Any]:
    path = f"/services/data/v{version}/query/" if version else "/query/"
    response = api.get(path, params={"q": soql})
    assert response.status_code == 400, response.text
    return api.error(response)


def test_count_only_answers_total_size_and_no_records(api: Api, org: Org) -> None:
    body = api.query(f"SELECT COUNT() FROM Account WHERE Name LIKE '{org.like}'")
    assert body == {"totalSize": 4, "done": True, "records": []}
    grouped = api.query(f"SELECT COUNT() FROM Account WHERE Name LIKE '{org.like}' GROUP BY Industry")
    assert grouped["totalSize"] == 3 and grouped["records"] == []


def test_grouped_rows_are_aggregate_results_keyed_by_field_alias_and_expr_n(api: Api, org: Org) -> None:
    body = api.query(
        "SELECT Industry, COUNT(Id), SUM(AnnualRevenue) total, AVG(NumberOfEmployees), MIN(Name), "
        f"MAX(NumberOfEmployees) FROM Account WHERE Name LIKE '{org.like}' GROUP BY Industry "
        "ORDER BY Industry NULLS LAST"
    )
    p = org.prefix
    assert body == {
        "totalSize": 3,
        "done": True,
        "records": [
            {"attributes": AGGREGATE, "Industry": "Banking", "expr0": 1, "total": 50.0, "expr1": 5.0,
             "expr2": f"{p}-a3", "expr3": 5},
            {"attributes": AGGREGATE, "Industry": "Energy", "expr0": 2, "total": 400.5, "expr1": 20.0,
             "expr2": f"{p}-a1", "expr3": 30},
            {"attributes": AGGREGATE, "Industry": None, "expr0": 1, "total": None, "expr1": None,
             "expr2": f"{p}-a4", "expr3": None},
        ],
    }  # fmt: skip
    assert list(body["records"][0]) == ["attributes", "Industry", "expr0", "total", "expr1", "expr2", "expr3"]
    assert isinstance(body["records"][0]["expr0"], int) and isinstance(body["records"][0]["expr3"], int)


def test_an_ungrouped_aggregate_is_one_row(api: Api, org: Org) -> None:
    soql = (
        f"SELECT COUNT(Id), COUNT_DISTINCT(Industry), SUM(NumberOfEmployees) FROM Account WHERE Name LIKE '{org.like}'"
    )
    body = api.query(soql)
    assert body["totalSize"] == 1
    assert body["records"] == [{"attributes": AGGREGATE, "expr0": 4, "expr1": 2, "expr2": 45}]
    nothing = api.query("SELECT COUNT(Id), MAX(Name) FROM Account WHERE Name = 'no such account anywhere'")
    assert nothing["records"] == [{"attributes": AGGREGATE, "expr0": 0, "expr1": None}]


def test_an_int_field_is_groupable_as_in_salesforce(api: Api, org: Org) -> None:
    """NumberOfEmployees (int) groups; AnnualRevenue (currency) does not (describe says which)."""
    soql = f"SELECT NumberOfEmployees, COUNT(Id) FROM Account WHERE Name LIKE '{org.like}' GROUP BY NumberOfEmployees"
    rows = api.query(soql + " ORDER BY NumberOfEmployees NULLS LAST")["records"]
    assert [(r["NumberOfEmployees"], r["expr0"]) for r in rows] == [(5, 1), (10, 1), (30, 1), (None, 1)]
    refused = error_of(api, f"SELECT AnnualRevenue FROM Account WHERE Name LIKE '{org.like}' GROUP BY AnnualRevenue")
    assert refused["errorCode"] in ("MALFORMED_QUERY", "INVALID_FIELD")


def test_having_filters_groups_and_order_by_sorts_by_an_aggregate(api: Api, org: Org) -> None:
    where = f"WHERE Account.Name LIKE '{org.like}'"
    body = api.query(
        f"SELECT Account.Name, COUNT(Id) n FROM Contact {where} GROUP BY Account.Name ORDER BY COUNT(Id) DESC"
    )
    assert [(r["Name"], r["n"]) for r in body["records"]] == [(f"{org.prefix}-a1", 2), (f"{org.prefix}-a2", 1)]
    having = api.query(f"SELECT AccountId, COUNT(Id) FROM Contact {where} GROUP BY AccountId HAVING COUNT(Id) > 1")
    assert [r["expr0"] for r in having["records"]] == [2]
    grouped_filter = api.query(
        f"SELECT Industry, SUM(AnnualRevenue) FROM Account WHERE Name LIKE '{org.like}' GROUP BY Industry "
        "HAVING Industry IN ('energy', 'Retail') AND SUM(AnnualRevenue) >= 400.5"
    )
    assert grouped_filter["records"] == [{"attributes": AGGREGATE, "Industry": "Energy", "expr0": 400.5}]


def test_date_functions_group_filter_and_sort(api: Api, org: Org) -> None:
    where = f"WHERE Account.Name LIKE '{org.like}'"
    body = api.query(
        "SELECT CALENDAR_YEAR(CloseDate) yr, CALENDAR_QUARTER(CloseDate), SUM(Amount) FROM Opportunity "
        f"{where} GROUP BY CALENDAR_YEAR(CloseDate), CALENDAR_QUARTER(CloseDate) "
        "ORDER BY CALENDAR_YEAR(CloseDate), CALENDAR_QUARTER(CloseDate)"
    )
    assert [(r["yr"], r["expr0"], r["expr1"]) for r in body["records"]] == [
        (2023, 3, 250.0),
        (2024, 1, 1000.0),
        (2024, 4, 500.0),
    ]
    november = api.query(f"SELECT Name FROM Opportunity {where} AND CALENDAR_MONTH(CloseDate) = 11")
    assert [r["Name"] for r in november["records"]] == ["Autumn"]
    weekday = api.query(f"SELECT Name FROM Opportunity {where} AND DAY_IN_WEEK(CloseDate) = 1")  # 2023-07-01: Sat
    assert weekday["records"] == []
    created = api.query(f"SELECT CreatedDate FROM Account WHERE Name = '{org.prefix}-a1'")["records"][0]["CreatedDate"]
    day, hour = created[:10], int(created[11:13])
    same_day = api.query(
        f"SELECT COUNT() FROM Account WHERE Name LIKE '{org.like}' AND DAY_ONLY(CreatedDate) = {day} "
        f"AND HOUR_IN_DAY(CreatedDate) >= {hour}"
    )
    assert same_day["totalSize"] >= 1


def test_rollup_and_cube_add_subtotals_that_grouping_identifies(api: Api, org: Org) -> None:
    rollup = api.query(
        f"SELECT Industry, GROUPING(Industry) subtotal, COUNT(Id) n FROM Account WHERE Name LIKE '{org.like}' "
        "GROUP BY ROLLUP(Industry) ORDER BY GROUPING(Industry), Industry NULLS LAST"
    )
    assert [(r["Industry"], r["subtotal"], r["n"]) for r in rollup["records"]] == [
        ("Banking", 0, 1),
        ("Energy", 0, 2),
        (None, 0, 1),
        (None, 1, 4),
    ]
    cube = api.query(
        f"SELECT Industry, Active__c, COUNT(Id) FROM Account WHERE Name LIKE '{org.like}' "
        "GROUP BY CUBE(Industry, Active__c)"
    )
    # (Industry, Active__c): 4 groups; (Industry): 3; (Active__c): 2; the grand total: 1.
    assert cube["totalSize"] == 10
    assert {"attributes": AGGREGATE, "Industry": None, "Active__c": None, "expr0": 4} in cube["records"]
    assert {"attributes": AGGREGATE, "Industry": None, "Active__c": False, "expr0": 1} in cube["records"]


@pytest.mark.parametrize(
    ("soql", "code", "reason"),
    [
        ("SELECT Name, COUNT(Id) FROM Account", "MALFORMED_QUERY", "Field must be grouped or aggregated: Name"),
        ("SELECT Industry FROM Account GROUP BY Industry ORDER BY Name", "MALFORMED_QUERY",
         "Ordered field must be grouped or aggregated: Name"),
        ("SELECT AnnualRevenue, COUNT(Id) FROM Account GROUP BY AnnualRevenue", "MALFORMED_QUERY",
         "field 'AnnualRevenue' can not be grouped in a query call"),
        ("SELECT Description FROM Account GROUP BY Description", "MALFORMED_QUERY",
         "field 'Description' can not be grouped in a query call"),
        ("SELECT SUM(Name) FROM Account", "MALFORMED_QUERY", "field Name does not support aggregate operator SUM"),
        ("SELECT COUNT(Active__c) FROM Account", "MALFORMED_QUERY",
         "field Active__c does not support aggregate operator COUNT"),
        ("SELECT Industry, COUNT(Industry) FROM Account GROUP BY Industry", "MALFORMED_QUERY",
         "Grouped field should not be aggregated: Industry"),
        ("SELECT COUNT(Id) FROM Account LIMIT 1", "MALFORMED_QUERY",
         "Non-grouped query that uses overall aggregate functions cannot also use LIMIT"),
        ("SELECT MAX(Name) FROM Account OFFSET 1", "MALFORMED_QUERY",
         "Non-grouped query that uses overall aggregate functions cannot also use OFFSET"),
        ("SELECT Name n FROM Account", "MALFORMED_QUERY", "only aggregate expressions use field aliasing"),
        ("SELECT Industry i, COUNT(Id) i FROM Account GROUP BY Industry", "MALFORMED_QUERY", "duplicate alias: i"),
        ("SELECT Id FROM Account WHERE COUNT(Id) > 1", "MALFORMED_QUERY",
         "Aggregate functions are not allowed in the WHERE clause: COUNT(Id)"),
        ("SELECT Name FROM Account HAVING COUNT(Id) > 1", "MALFORMED_QUERY", "HAVING can only be used with GROUP BY"),
        ("SELECT GROUPING(Industry) FROM Account GROUP BY Industry", "MALFORMED_QUERY",
         "GROUPING() can only be used with GROUP BY ROLLUP or GROUP BY CUBE"),
        ("SELECT COUNT(Id) FROM Account GROUP BY ROLLUP(Industry, Type, Rating, Name)", "MALFORMED_QUERY",
         "GROUP BY ROLLUP takes at most 3 fields"),
        ("SELECT CALENDAR_YEAR(Name), COUNT(Id) FROM Account GROUP BY CALENDAR_YEAR(Name)", "MALFORMED_QUERY",
         "CALENDAR_YEAR() only applies to date and dateTime fields, not to Name (string)"),
        ("SELECT Id FROM Opportunity WHERE HOUR_IN_DAY(CloseDate) = 1", "MALFORMED_QUERY",
         "HOUR_IN_DAY() only applies to dateTime fields, not to CloseDate (date)"),
        ("SELECT CALENDAR_YEAR(CreatedDate) FROM Account", "MALFORMED_QUERY",
         "CALENDAR_YEAR(CreatedDate) can only be selected in an aggregate query"),
        ("SELECT Id FROM Account WHERE CALENDAR_YEAR(CreatedDate) = '2024'", "INVALID_FIELD",
         "value of filter criterion for field 'CALENDAR_YEAR(CreatedDate)' must be of type integer"),
        ("SELECT Industry, (SELECT Id FROM Contacts) FROM Account GROUP BY Industry", "MALFORMED_QUERY",
         "only fields, date functions and aggregate functions can be selected in an aggregate query"),
        ("SELECT FOO(Name) FROM Account", "MALFORMED_QUERY", "Unknown function FOO()"),
    ],
)  # fmt: skip
def test_salesforce_refusals(api: Api, soql: str, code: str, reason: str) -> None:
    error = error_of(api, soql)
    assert error["errorCode"] == code
    assert "\nERROR at Row:1:Column:" in error["message"]
    assert error["message"].split("\n", 4)[4].startswith(reason)


# ------------------------------------------------------------------------------- more groups than a batch

GENERATED_ACCOUNTS = 2100


@pytest.fixture(scope="module")
def crowded() -> Iterator[RunningEmulator]:
    """An org of generated accounts, each with its own AccountNumber: more groups than one batch holds."""
    with start_emulator(sample_data=False, generate={"Account": GENERATED_ACCOUNTS}) as running:
        yield running


def test_more_groups_than_one_batch_is_refused_not_paged(crowded: RunningEmulator) -> None:
    api = Api(crowded)
    error = error_of(api, "SELECT AccountNumber, COUNT(Id) FROM Account GROUP BY AccountNumber")
    assert error == {
        "errorCode": "EXCEEDED_ID_LIMIT",
        "message": "Aggregate query does not support queryMore(), use LIMIT to restrict the results to a single batch",
    }
    assert crowded.store.open_cursor_count() == 0
    limited = api.query(
        "SELECT AccountNumber, COUNT(Id) FROM Account GROUP BY AccountNumber LIMIT 2000",
        headers={"Sforce-Query-Options": "batchSize=200"},
    )
    assert limited["done"] is True and "nextRecordsUrl" not in limited
    assert limited["totalSize"] == len(limited["records"]) == 2000
    records = api.query(f"SELECT Id FROM Account LIMIT {GENERATED_ACCOUNTS}")
    assert records["done"] is False  # record queries still page
