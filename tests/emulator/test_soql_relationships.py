"""Relationship SOQL over HTTP (/query): child subqueries nested per parent (or null), deeper nesting from
API 58.0, paging parents that carry children, semi-joins and anti-joins, and Salesforce's refusals."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from emulator_api import Api, unique

from airflow_provider_sfpy.emulator.testing import RunningEmulator, start_emulator


@dataclass(frozen=True)
class Org:
    """Acme (parent of Globex) with contacts Zed and Amy and a won deal; Globex with Bob and a deleted
    contact; Hooli with only a deleted contact; Initech with nothing."""

    prefix: str
    ids: dict[str, str]

    @property
    def like(self) -> str:
        return f"{self.prefix}-%"

    def name(self, key: str) -> str:
        return f"{self.prefix}-{key}"


@pytest.fixture(scope="module")
def org(emulator: RunningEmulator) -> Org:
    api = Api(emulator)
    prefix = unique("Rel")
    ids = {"acme": api.create("Account", {"Name": f"{prefix}-acme"})}
    ids["globex"] = api.create("Account", {"Name": f"{prefix}-globex", "ParentId": ids["acme"]})
    ids["hooli"] = api.create("Account", {"Name": f"{prefix}-hooli"})
    ids["initech"] = api.create("Account", {"Name": f"{prefix}-initech"})
    for last_name, account, email in [
        ("Zed", "acme", None),
        ("Amy", "acme", "amy@example.com"),
        ("Bob", "globex", None),
        ("Gone", "globex", None),
        ("Ghost", "hooli", None),
    ]:
        ids[last_name] = api.create("Contact", {"LastName": last_name, "AccountId": ids[account], "Email": email})
    for deleted in ("Gone", "Ghost"):
        assert api.delete(f"/sobjects/Contact/{ids[deleted]}").status_code == 204
    deal = {"Name": "Deal", "StageName": "Closed Won", "CloseDate": "2024-01-31", "AccountId": ids["acme"]}
    ids["deal"] = api.create("Opportunity", deal)
    return Org(prefix, ids)


def error_of(api: Api, soql: str, version: str | None = None) -> dict[str, Any]:
    path = f"/services/data/v{version}/query/" if version else "/query/"
    response = api.get(path, params={"q": soql})
    assert response.status_code == 400, response.text
    return api.error(response)


def assert_refused(api: Api, soql: str, code: str, reason: str) -> None:
    """A 400 with ``code`` whose message, after the echoed query and the location, starts with ``reason``."""
    error = error_of(api, soql)
    assert error["errorCode"] == code
    assert "\nERROR at Row:1:Column:" in error["message"]
    assert error["message"].split("\n", 4)[4].startswith(reason)


def contact(api: Api, org: Org, last_name: str, **fields: Any) -> dict[str, Any]:
    url = f"/services/data/v{api.version}/sobjects/Contact/{org.ids[last_name]}"
    return {"attributes": {"type": "Contact", "url": url}, **fields}


# ------------------------------------------------------------------------------- child subqueries


def test_child_subquery_nests_a_query_result_per_parent_or_null(api: Api, org: Org) -> None:
    body = api.query(
        "SELECT Name, (SELECT LastName, Email FROM Contacts ORDER BY LastName) FROM Account "
        f"WHERE Name LIKE '{org.like}' ORDER BY Name"
    )
    assert body["totalSize"] == 4
    by_name = {record["Name"]: record for record in body["records"]}
    assert list(by_name[org.name("acme")]) == ["attributes", "Name", "Contacts"]
    assert by_name[org.name("acme")]["Contacts"] == {
        "totalSize": 2,
        "done": True,
        "records": [
            contact(api, org, "Amy", LastName="Amy", Email="amy@example.com"),
            contact(api, org, "Zed", LastName="Zed", Email=None),
        ],
    }
    assert by_name[org.name("globex")]["Contacts"]["records"] == [contact(api, org, "Bob", LastName="Bob", Email=None)]
    assert by_name[org.name("hooli")]["Contacts"] is None  # its only contact is deleted
    assert by_name[org.name("initech")]["Contacts"] is None


def test_child_subquery_filters_limits_and_reads_its_parents(api: Api, org: Org) -> None:
    body = api.query(
        "SELECT Id, (SELECT LastName, Account.Name FROM Account.contacts WHERE LastName != 'Amy' LIMIT 1), "
        f"(SELECT Name, StageName FROM Opportunities) FROM Account WHERE Id = '{org.ids['acme']}'"
    )
    [acme] = body["records"]
    [zed] = acme["Contacts"]["records"]
    assert zed["LastName"] == "Zed" and zed["Account"]["Name"] == org.name("acme")
    assert acme["Opportunities"]["records"][0]["StageName"] == "Closed Won"
    assert list(acme) == ["attributes", "Id", "Contacts", "Opportunities"]


def test_children_of_children_from_api_58_and_one_level_before(api: Api, org: Org) -> None:
    soql = (
        "SELECT Name, (SELECT Name, (SELECT LastName FROM Contacts) FROM ChildAccounts) FROM Account "
        f"WHERE Id = '{org.ids['acme']}'"
    )
    [acme] = api.query(soql)["records"]
    [globex] = acme["ChildAccounts"]["records"]
    assert globex["Name"] == org.name("globex")
    assert [c["LastName"] for c in globex["Contacts"]["records"]] == ["Bob"]
    error = error_of(api, soql, version="57.0")
    assert error["errorCode"] == "MALFORMED_QUERY"
    assert error["message"].endswith(
        "SOQL statements cannot query aggregate relationships more than 1 level away from the root entity object."
    )


@pytest.fixture(scope="module")
def populous() -> Iterator[RunningEmulator]:
    """Generated accounts and contacts only, so the child counts are exact."""
    with start_emulator(sample_data=False, generate={"Account": 450, "Contact": 900}) as running:
        yield running


def test_parents_with_children_page_like_any_query(populous: RunningEmulator) -> None:
    api = Api(populous)
    headers = {"Sforce-Query-Options": "batchSize=200"}
    page = api.query("SELECT Id, (SELECT Id, AccountId FROM Contacts) FROM Account", headers=headers)
    pages = [page]
    while not pages[-1]["done"]:
        pages.append(api.get(pages[-1]["nextRecordsUrl"], headers=headers).json())
    assert [len(p["records"]) for p in pages] == [200, 200, 50]
    children = [
        (parent["Id"], child["AccountId"])
        for p in pages
        for parent in p["records"]
        for child in (parent["Contacts"] or {"records": []})["records"]
    ]
    assert all(parent == account for parent, account in children)
    assert len(children) == api.query("SELECT COUNT() FROM Contact WHERE AccountId != null")["totalSize"]


@pytest.mark.parametrize(
    ("soql", "code", "reason"),
    [
        ("SELECT Name, (SELECT Id FROM Contactz) FROM Account", "INVALID_TYPE",
         "Didn't understand relationship 'Contactz' in FROM part of query call."),
        ("SELECT Name, (SELECT Id FROM Contact.Contacts) FROM Account", "INVALID_TYPE",
         "Didn't understand relationship 'Contact.Contacts' in FROM part of query call."),
        ("SELECT Name, (SELECT COUNT(Id) FROM Contacts) FROM Account", "MALFORMED_QUERY",
         "only root queries support aggregate expressions"),
        ("SELECT Name, (SELECT Id FROM Contacts), (SELECT Id FROM Contacts) FROM Account", "MALFORMED_QUERY",
         "duplicate field selected: Contacts"),
    ],
)  # fmt: skip
def test_child_subquery_refusals(api: Api, soql: str, code: str, reason: str) -> None:
    assert_refused(api, soql, code, reason)


# ------------------------------------------------------------------------------- semi-joins and anti-joins


def names(api: Api, soql: str) -> list[str]:
    return [record["Name"] for record in api.query(soql)["records"]]


def test_semi_join_keeps_records_whose_id_the_subquery_returns(api: Api, org: Org) -> None:
    ours = f"Name LIKE '{org.like}'"
    with_bob = f"SELECT Name FROM Account WHERE {ours} AND Id IN (SELECT AccountId FROM Contact WHERE LastName = 'Bob')"
    assert names(api, with_bob) == [org.name("globex")]
    with_contacts = f"SELECT Name FROM Account WHERE Id IN (SELECT AccountId FROM Contact) AND {ours} ORDER BY Name"
    assert names(api, with_contacts) == [org.name("acme"), org.name("globex")]  # not Hooli: its contact is deleted
    won = "SELECT AccountId FROM Opportunity WHERE StageName = 'Closed Won'"
    siblings = api.query(
        f"SELECT LastName FROM Contact WHERE AccountId IN ({won}) AND Account.{ours} ORDER BY LastName"
    )
    assert [r["LastName"] for r in siblings["records"]] == ["Amy", "Zed"]


def test_anti_join_keeps_records_the_subquery_does_not_return(api: Api, org: Org) -> None:
    # Contacts without an account (the sample data has some) must not make NOT IN match nothing.
    soql = f"SELECT Name FROM Account WHERE Id NOT IN (SELECT AccountId FROM Contact) AND Name LIKE '{org.like}'"
    assert sorted(names(api, soql)) == [org.name("hooli"), org.name("initech")]
    both = (
        f"SELECT Name FROM Account WHERE Name LIKE '{org.like}' AND Id IN (SELECT AccountId FROM Contact) "
        "AND Id NOT IN (SELECT AccountId FROM Opportunity)"
    )
    assert names(api, both) == [org.name("globex")]


@pytest.mark.parametrize(
    ("soql", "code", "reason"),
    [
        ("SELECT Id FROM Account WHERE Id IN (SELECT Id FROM Account)", "MALFORMED_QUERY",
         "The inner and outer selects should not be on the same object type"),
        ("SELECT Id FROM Account WHERE Id IN (SELECT LastName FROM Contact)", "MALFORMED_QUERY",
         "semi join sub selects can only query id fields, cannot use: 'LastName'"),
        ("SELECT Id FROM Account WHERE Id IN (SELECT Account.ParentId FROM Contact)", "MALFORMED_QUERY",
         "inner select field cannot have more than one level of relationships"),
        ("SELECT Id FROM Account WHERE Name IN (SELECT AccountId FROM Contact)", "MALFORMED_QUERY",
         "semi join sub selects can only be compared with id or reference fields, cannot use: 'Name'"),
        ("SELECT Id FROM Account WHERE Name = 'x' OR Id IN (SELECT AccountId FROM Contact)", "MALFORMED_QUERY",
         "Semi join sub-selects are not allowed with the 'OR' operator"),
        ("SELECT Id FROM Account WHERE NOT Id IN (SELECT AccountId FROM Contact)", "MALFORMED_QUERY",
         "Semi join sub-selects are not allowed with the 'NOT' operator"),
        ("SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Contact WHERE Id IN "
         "(SELECT ParentId FROM Attachment))", "MALFORMED_QUERY", "Nesting of semi join sub-selects is not supported"),
        ("SELECT Id FROM Account WHERE Id IN (SELECT ParentId FROM Attachment)", "MALFORMED_QUERY",
         "Entity 'Attachment' is not supported for semi join inner selects"),
        ("SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Contact) AND Id IN (SELECT AccountId FROM "
         "Opportunity) AND ParentId IN (SELECT AccountId FROM Contact)", "MALFORMED_QUERY",
         "A query can have at most 2 semi join or anti join sub-selects"),
        ("SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Contact ORDER BY LastName)", "MALFORMED_QUERY",
         "semi join and anti join sub-selects cannot use ORDER BY"),
        ("SELECT Id FROM Account WHERE Id IN (SELECT AccountId, Id FROM Contact)", "MALFORMED_QUERY",
         "a semi join sub-select selects exactly one Id or reference field"),
        ("SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Contacts)", "INVALID_TYPE",
         "sObject type 'Contacts' is not supported."),
    ],
)  # fmt: skip
def test_semi_join_refusals(api: Api, soql: str, code: str, reason: str) -> None:
    assert_refused(api, soql, code, reason)
