"""CRM Analytics over HTTP: the datasets resources and SAQL queries, whose results are checked
against what the same data gives through SOQL ``/query``."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest
from emulator_api import Api, unique

from airflow_provider_sfpy.emulator.saql import find_dataset

INDUSTRIES = ("Apparel", "Banking", "Biotechnology")


def _dataset(api: Api, name: str) -> dict[str, Any]:
    response = api.get(f"/wave/datasets/{name}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _load(api: Api, name: str = "opportunities") -> str:
    dataset = _dataset(api, name)
    return f'q = load "{dataset["id"]}/{dataset["currentVersionId"]}";\n'


def _saql(api: Api, query: str) -> dict[str, Any]:
    response = api.post("/wave/query", json={"query": query})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _records(api: Api, query: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = _saql(api, query)["results"]["records"]
    return records


def _opportunities(api: Api) -> list[dict[str, Any]]:
    """Every Opportunity through SOQL (all pages), to check SAQL results against."""
    page = api.query("SELECT Name, StageName, Amount, Probability, Account.Name, Account.Industry FROM Opportunity")
    records: list[dict[str, Any]] = list(page["records"])
    while not page["done"]:
        page = api.get(page["nextRecordsUrl"]).json()
        records.extend(page["records"])
    return records


def test_datasets_list_and_lookup(api: Api) -> None:
    response = api.get("/wave/datasets")
    assert response.status_code == 200
    listing = response.json()
    assert listing["url"] == "/services/data/v62.0/wave/datasets"
    assert listing["totalSize"] == len(listing["datasets"])
    names = {d["name"] for d in listing["datasets"]}
    assert {"opportunities", "accounts"} <= names

    by_name = _dataset(api, "opportunities")
    assert _dataset(api, by_name["id"]) == by_name
    assert by_name["id"] == find_dataset("opportunities").id  # type: ignore[union-attr]
    assert by_name["id"].startswith("0Fb") and by_name["currentVersionId"].startswith("0Fc")
    assert by_name["label"] == "Opportunities"
    assert by_name["type"] == "dataset"
    assert by_name["url"] == f"/services/data/v62.0/wave/datasets/{by_name['id']}"
    assert by_name["currentVersionUrl"] == f"{by_name['url']}/versions/{by_name['currentVersionId']}"
    assert by_name["versionsUrl"] == f"{by_name['url']}/versions"
    assert by_name["currentVersionTotalRowCount"] == api.query("SELECT COUNT() FROM Opportunity")["totalSize"]


def test_unknown_dataset_is_not_found(api: Api) -> None:
    response = api.get("/wave/datasets/no_such_dataset")
    assert response.status_code == 404
    assert response.json() == [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}]
    query = api.post("/wave/query", json={"query": 'q = load "no_such_dataset"; q = limit q 1;'})
    assert query.status_code == 404
    assert api.error(query)["errorCode"] == "NOT_FOUND"
    dataset = _dataset(api, "opportunities")
    stale = api.post("/wave/query", json={"query": f'q = load "{dataset["id"]}/0Fc000000000000AAA"; q = limit q 1;'})
    assert stale.status_code == 404


def test_the_salesforcepy_example_query(api: Api) -> None:
    query = (
        _load(api)
        + 'q = filter q by \'Account.Industry\' in ["Apparel", "Banking", "Biotechnology"];\n'
        + "q = group q by 'Account.Industry';\n"
        + "q = foreach q generate 'Account.Industry' as 'Account.Industry', count() as 'count';\n"
        + "q = order q by 'Account.Industry' asc;\n"
        + "q = limit q 2000;"
    )
    body = _saql(api, query)
    assert list(body) == ["action", "responseId", "results", "query", "responseTime"]
    assert body["action"] == "query"
    assert body["query"] == query
    assert body["results"]["metadata"] == [
        {
            "lineage": {
                "type": "foreach",
                "projections": [
                    {
                        "field": {"id": "q.Account.Industry", "type": "string"},
                        "inputs": [{"id": "q.Account.Industry"}],
                    },
                    {"field": {"id": "q.count", "type": "numeric"}},
                ],
                "input": {"type": "group", "groups": [{"id": "q.Account.Industry"}]},
            },
            "queryLanguage": "SAQL",
        }
    ]
    counts: dict[str, int] = defaultdict(int)
    for record in _opportunities(api):
        industry = (record["Account"] or {}).get("Industry")
        if industry in INDUSTRIES:
            counts[industry] += 1
    assert body["results"]["records"] == [{"Account.Industry": k, "count": counts[k]} for k in sorted(counts)]


def test_aggregates_match_soql(api: Api) -> None:
    query = _load(api) + (
        "q = group q by 'StageName';\n"
        "q = foreach q generate 'StageName' as 'StageName', count() as 'count', sum('Amount') as 'sum_Amount', "
        "avg('Amount') as 'avg_Amount', min('Probability') as 'min_Probability', max('Amount') as 'max_Amount';\n"
        "q = order q by 'count' desc;"
    )
    records = _records(api, query)
    by_stage: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in _opportunities(api):
        by_stage[record["StageName"]].append(record)
    assert sorted(r["StageName"] for r in records) == sorted(by_stage)
    assert [r["count"] for r in records] == sorted((len(v) for v in by_stage.values()), reverse=True)
    for record in records:
        rows = by_stage[record["StageName"]]
        amounts = [r["Amount"] for r in rows if r["Amount"] is not None]
        assert record["count"] == len(rows)
        assert record["sum_Amount"] == pytest.approx(sum(amounts))
        assert record["avg_Amount"] == pytest.approx(sum(amounts) / len(amounts))
        assert record["max_Amount"] == pytest.approx(max(amounts))
        assert record["min_Probability"] == pytest.approx(min(r["Probability"] for r in rows))


def test_new_records_show_up_and_filters_combine(api: Api) -> None:
    account_name = unique("saql-acct")
    account = api.create("Account", {"Name": account_name, "Industry": "Energy", "Rating": "Cold"})
    for amount, stage in ((100.0, "Prospecting"), (2500.5, "Closed Won"), (9000.0, "Closed Won")):
        api.create(
            "Opportunity",
            {
                "Name": unique("saql-opp"),
                "AccountId": account,
                "StageName": stage,
                "CloseDate": "2030-02-03",
                "Amount": amount,
            },
        )
    base = _load(api) + f"q = filter q by 'Account.Name' == \"{account_name}\";\n"
    everything = _records(
        api, base + "q = group q by all;\nq = foreach q generate count() as 'n', sum('Amount') as 's';"
    )
    assert everything == [{"n": 3, "s": 11600.5}]
    ranged = _records(
        api,
        base + "q = filter q by ('Amount' >= 1000 && 'Amount' < 9000) || 'StageName' != \"Closed Won\";\n"
        "q = foreach q generate 'Amount' as 'Amount', 'CloseDate_Year' as 'year';\nq = order q by 'Amount' desc;",
    )
    assert ranged == [{"Amount": 2500.5, "year": "2030"}, {"Amount": 100, "year": "2030"}]
    paged = _records(
        api, base + "q = foreach q generate 'Amount' as 'a';\nq = order q by 'a' asc;\nq = offset q 1;\nq = limit q 1;"
    )
    assert paged == [{"a": 2500.5}]
    two_keys = _records(
        api,
        base + "q = group q by ('Account.Industry', 'StageName');\n"
        "q = foreach q generate 'Account.Industry' as 'industry', 'StageName' as 'stage', "
        "sum('Amount') / count() as 'mean';",
    )
    assert two_keys == [
        {"industry": "Energy", "stage": "Closed Won", "mean": 5750.25},
        {"industry": "Energy", "stage": "Prospecting", "mean": 100},
    ]


def test_load_by_api_name_and_accounts_dataset(api: Api) -> None:
    name = unique("saql-acct2")
    api.create("Account", {"Name": name, "NumberOfEmployees": 42, "Active__c": False})
    query = (
        'q = load "accounts";\n'
        f"q = filter q by 'Name' matches \"{name}\" && 'Active__c' == \"false\";\n"
        "q = foreach q generate 'Name' as 'Name', 'NumberOfEmployees' as 'employees';"
    )
    assert _records(api, query) == [{"Name": name, "employees": 42}]


def test_unprojected_result_returns_every_dataset_field(api: Api) -> None:
    body = _saql(api, 'q = load "opportunities";\nq = limit q 1;')
    (record,) = body["results"]["records"]
    assert {"Name", "Amount", "Account.Industry", "CloseDate", "CloseDate_Month"} <= set(record)
    lineage = body["results"]["metadata"][0]["lineage"]
    assert {"field": {"id": "q.Amount", "type": "numeric"}, "inputs": [{"id": "q.Amount"}]} in lineage["projections"]


@pytest.mark.parametrize(
    ("statements", "position"),
    [
        ("q = fitler q by 'Amount' > 1;", "line 2, column 5"),
        ("q = filter q by 'Amount' > \"many\";", "line 2, column 17"),
        ("q = filter q by 'Nope' == \"x\";", "line 2, column 17"),
        ("q = foreach q generate sum('Amount') as 's';", "line 2, column 24"),
        ("q = group q by 'Amount';", "line 2, column 16"),
        ("q = limit q 10", "line 2, column 15"),
    ],
)
def test_saql_errors_are_400_with_position(api: Api, statements: str, position: str) -> None:
    response = api.post("/wave/query", json={"query": 'q = load "opportunities";\n' + statements})
    assert response.status_code == 400
    error = api.error(response)
    assert error["errorCode"] == "119"
    assert position in error["message"]


def test_query_input_is_required(api: Api) -> None:
    response = api.post("/wave/query", json={"queryLanguage": "SAQL"})
    assert response.status_code == 400
    assert (
        api.error(api.post("/wave/query", data="{", headers={"Content-Type": "application/json"}))["errorCode"]
        == "JSON_PARSER_ERROR"
    )
