"""simple-salesforce 1.12, unchanged, running the SOQL people write beyond field lists against the
emulator: an aggregate with GROUP BY, a child relationship subquery and a semi-join, each read back
exactly as simple-salesforce hands Salesforce's answer to its caller."""

from __future__ import annotations

import uuid
from typing import Any


def _accounts(sf: Any, *rows: dict[str, Any]) -> tuple[str, list[str]]:
    """Creates accounts named ``<prefix>-<name>`` through simple-salesforce; the prefix and their Ids."""
    prefix = f"SsSoql-{uuid.uuid4().hex[:10]}"
    ids = [sf.Account.create({**row, "Name": f"{prefix}-{row['Name']}"})["id"] for row in rows]
    return prefix, ids


def test_aggregate_query_returns_aggregate_results(sf: Any) -> None:
    prefix, _ = _accounts(
        sf,
        {"Name": "a", "Industry": "Energy", "AnnualRevenue": 100},
        {"Name": "b", "Industry": "Energy", "AnnualRevenue": 50.5},
        {"Name": "c", "Industry": "Banking", "AnnualRevenue": 7},
    )
    result = sf.query_all(
        f"SELECT Industry, COUNT(Id) n, SUM(AnnualRevenue) FROM Account WHERE Name LIKE '{prefix}-%' "
        "GROUP BY Industry ORDER BY Industry"
    )
    assert result["totalSize"] == 2 and result["done"] is True
    assert [dict(record) for record in result["records"]] == [
        {"attributes": {"type": "AggregateResult"}, "Industry": "Banking", "n": 1, "expr0": 7.0},
        {"attributes": {"type": "AggregateResult"}, "Industry": "Energy", "n": 2, "expr0": 150.5},
    ]
    assert sf.query(f"SELECT COUNT() FROM Account WHERE Name LIKE '{prefix}-%'")["totalSize"] == 3


def test_child_subquery_nests_each_parents_children(sf: Any) -> None:
    prefix, (with_contacts, without) = _accounts(sf, {"Name": "parent"}, {"Name": "childless"})
    for last_name in ("Young", "Adams"):
        sf.Contact.create({"LastName": last_name, "AccountId": with_contacts})
    result = sf.query(
        "SELECT Name, (SELECT LastName FROM Contacts ORDER BY LastName) FROM Account "
        f"WHERE Name LIKE '{prefix}-%' ORDER BY Name"
    )
    childless, parent = result["records"]
    assert childless["Name"] == f"{prefix}-childless" and childless["Contacts"] is None
    contacts = parent["Contacts"]
    assert contacts["totalSize"] == 2 and contacts["done"] is True
    assert [c["LastName"] for c in contacts["records"]] == ["Adams", "Young"]
    assert contacts["records"][0]["attributes"]["type"] == "Contact"
    assert without not in {c["attributes"]["url"].rsplit("/", 1)[1] for c in contacts["records"]}


def test_semi_join_and_anti_join_filter_by_another_objects_ids(sf: Any) -> None:
    prefix, (won, lost) = _accounts(sf, {"Name": "won"}, {"Name": "lost"})
    sf.Opportunity.create({"Name": "Deal", "StageName": "Closed Won", "CloseDate": "2024-06-30", "AccountId": won})
    deals = "SELECT AccountId FROM Opportunity WHERE StageName = 'Closed Won'"
    ours = f"Name LIKE '{prefix}-%'"
    semi = sf.query_all(f"SELECT Id FROM Account WHERE {ours} AND Id IN ({deals})")
    assert [record["Id"] for record in semi["records"]] == [won]
    anti = sf.query_all(f"SELECT Id FROM Account WHERE {ours} AND Id NOT IN ({deals})")
    assert [record["Id"] for record in anti["records"]] == [lost]
