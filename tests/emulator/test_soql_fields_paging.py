"""FIELDS(ALL|STANDARD|CUSTOM), OFFSET and NULLS FIRST|LAST over HTTP (/query), checked against describe."""

from __future__ import annotations

from typing import Any

import pytest
from emulator_api import Api, unique

from airflow_provider_sfpy.emulator.testing import RunningEmulator

LIMIT_REQUIRED = "The SOQL FIELDS function must have a LIMIT of at most 200"


@pytest.fixture(scope="module")
def prefix(emulator: RunningEmulator) -> str:
    """Five accounts; two without industry."""
    api = Api(emulator)
    prefix = unique("Flds")
    for key, industry in [("a", "Energy"), ("b", None), ("c", "Banking"), ("d", None), ("e", "Apparel")]:
        account = api.create("Account", {"Name": f"{prefix}-{key}", "Industry": industry, "External_Id__c": key})
        api.create("Contact", {"LastName": f"{prefix}-{key}", "AccountId": account})
    return prefix


def described(api: Api, sobject: str) -> list[str]:
    return [f["name"] for f in api.get(f"/sobjects/{sobject}/describe").json()["fields"]]


def keys(record: dict[str, Any]) -> list[str]:
    return [key for key in record if key != "attributes"]


def test_fields_standard_custom_and_all_follow_describe(api: Api, prefix: str) -> None:
    fields = described(api, "Account")
    custom = [name for name in fields if name.endswith("__c")]
    where = f"WHERE Name = '{prefix}-a'"
    [standard] = api.query(f"SELECT FIELDS(STANDARD) FROM Account {where}")["records"]  # no LIMIT needed
    assert keys(standard) == [name for name in fields if name not in custom]
    [only_custom] = api.query(f"SELECT FIELDS(CUSTOM) FROM Account {where} LIMIT 200")["records"]
    assert keys(only_custom) == custom and only_custom["External_Id__c"] == "a"
    [everything] = api.query(f"SELECT FIELDS(ALL) FROM Account {where} LIMIT 1")["records"]
    assert keys(everything) == fields
    [mixed] = api.query(f"SELECT Owner.Name, FIELDS(CUSTOM) FROM Account {where} LIMIT 1")["records"]
    assert keys(mixed) == ["Owner", *custom]


def test_fields_in_a_child_subquery_needs_its_own_limit(api: Api, prefix: str) -> None:
    soql = f"SELECT Name, (SELECT FIELDS(ALL) FROM Contacts LIMIT 200) FROM Account WHERE Name = '{prefix}-c'"
    [account] = api.query(soql)["records"]
    assert keys(account["Contacts"]["records"][0]) == described(api, "Contact")
    response = api.get("/query/", params={"q": soql.replace(" LIMIT 200", "")})
    assert response.status_code == 400
    assert api.error(response) == {"errorCode": "MALFORMED_QUERY", "message": LIMIT_REQUIRED}


@pytest.mark.parametrize(
    ("soql", "message"),
    [
        ("SELECT FIELDS(ALL) FROM Account", LIMIT_REQUIRED),
        ("SELECT FIELDS(CUSTOM) FROM Account LIMIT 201", LIMIT_REQUIRED),
        ("SELECT Id, FIELDS(STANDARD) FROM Account", "duplicate field selected: Id"),
        (
            "SELECT FIELDS(EVERYTHING) FROM Account",
            "FIELDS() takes exactly one of ALL, STANDARD or CUSTOM, as in FIELDS(STANDARD)",
        ),
    ],
)
def test_fields_refusals(api: Api, soql: str, message: str) -> None:
    response = api.get("/query/", params={"q": soql})
    assert response.status_code == 400
    error = api.error(response)
    assert error["errorCode"] == "MALFORMED_QUERY"
    assert error["message"].endswith(message)


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        ("Industry NULLS FIRST, Name", ["b", "d", "e", "c", "a"]),
        ("Industry NULLS LAST, Name", ["e", "c", "a", "b", "d"]),
        ("Industry DESC, Name", ["a", "c", "e", "b", "d"]),  # DESC puts nulls last by default
        ("Industry DESC NULLS FIRST, Name DESC", ["d", "b", "a", "c", "e"]),
        ("Industry, Name LIMIT 2 OFFSET 1", ["d", "e"]),
        ("Name OFFSET 4", ["e"]),
    ],
)
def test_nulls_placement_and_offset(api: Api, prefix: str, order: str, expected: list[str]) -> None:
    body = api.query(f"SELECT Name FROM Account WHERE Name LIKE '{prefix}-%' ORDER BY {order}")
    assert [record["Name"].rsplit("-", 1)[1] for record in body["records"]] == expected


def test_offset_beyond_2000_is_refused(api: Api) -> None:
    response = api.get("/query/", params={"q": "SELECT Id FROM Account ORDER BY Name LIMIT 5 OFFSET 2001"})
    assert response.status_code == 400
    error = api.error(response)
    assert error["errorCode"] == "NUMBER_OUTSIDE_VALID_RANGE"
    assert error["message"].endswith("Maximum SOQL offset allowed is 2000")
