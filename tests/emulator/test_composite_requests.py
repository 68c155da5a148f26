"""The composite resources over HTTP: ``/composite`` (references between subrequests, allOrNone
rollback, one API call), ``/composite/batch`` (independent subrequests, haltOnError) and
``/composite/tree/{object}`` (nested records created all or nothing), with their request errors."""

from __future__ import annotations

from typing import Any

import pytest
from emulator_api import Api, unique

V = "/services/data/v62.0"
HALTED = {
    "errorCode": "PROCESSING_HALTED",
    "message": "The transaction was rolled back since another operation in the same transaction failed.",
}


def _composite(api: Api, subrequests: list[dict[str, Any]], **options: Any) -> list[dict[str, Any]]:
    response = api.post("/composite/", json={"compositeRequest": subrequests, **options})
    assert response.status_code == 200, response.text
    results: list[dict[str, Any]] = response.json()["compositeResponse"]
    return results


def _account_names(api: Api, name: str) -> list[str]:
    return [
        r["Name"] for r in api.query(f"SELECT Name FROM Account WHERE Name LIKE '{name}%' ORDER BY Name")["records"]
    ]


def _create(reference: str, sobject: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"method": "POST", "url": f"{V}/sobjects/{sobject}", "referenceId": reference, "body": body}


# ------------------------------------------------------------------------------------- /composite


def test_subrequests_use_earlier_results_through_references(api: Api) -> None:
    name = unique("cmp-ref")
    results = _composite(
        api,
        [
            _create("NewAccount", "Account", {"Name": name}),
            _create("NewContact", "Contact", {"LastName": "Ref", "AccountId": "@{NewAccount.id}"}),
            {
                "method": "GET",
                "url": f"{V}/query/?q=SELECT+Id,Name+FROM+Account+WHERE+Id='@{{NewAccount.id}}'",
                "referenceId": "Found",
            },
            {
                "method": "GET",
                "url": f"{V}/sobjects/Account/@{{Found.records[0].Id}}?fields=Name",
                "referenceId": "Got",
            },
            {
                "method": "PATCH",
                "url": f"{V}/sobjects/Contact/@{{NewContact.id}}",
                "referenceId": "Renamed",
                "body": {"Title": "Account @{Got.Name}"},
            },
        ],
    )
    account_id = results[0]["body"]["id"]
    assert [r["referenceId"] for r in results] == ["NewAccount", "NewContact", "Found", "Got", "Renamed"]
    assert [r["httpStatusCode"] for r in results] == [201, 201, 200, 200, 204]
    assert results[0] == {
        "body": {"id": account_id, "success": True, "errors": []},
        "httpHeaders": {"Location": f"{V}/sobjects/Account/{account_id}"},
        "httpStatusCode": 201,
        "referenceId": "NewAccount",
    }
    assert results[2]["body"]["records"][0]["Name"] == name
    assert results[3]["body"]["Name"] == name and results[4]["body"] is None and results[4]["httpHeaders"] == {}
    contact = api.get(f"/sobjects/Contact/{results[1]['body']['id']}").json()
    assert contact["AccountId"] == account_id and contact["Title"] == f"Account {name}"


def test_subrequest_urls_may_hold_blanks_and_non_ascii_text(api: Api) -> None:
    name = unique("Zoë Müller")
    account = api.create("Account", {"Name": name})
    soql = f"SELECT Id FROM Account WHERE Name = '{name}'"
    (result,) = _composite(api, [{"method": "GET", "url": f"{V}/query/?q={soql}", "referenceId": "Found"}])
    assert [r["Id"] for r in result["body"]["records"]] == [account]


def test_all_or_none_rolls_every_write_back_and_halts_the_others(api: Api) -> None:
    name = unique("cmp-aon")
    results = _composite(
        api,
        [
            _create("First", "Account", {"Name": f"{name}-1"}),
            _create("Broken", "Contact", {"AccountId": "@{First.id}"}),
            _create("Never", "Account", {"Name": f"{name}-2"}),
        ],
        allOrNone=True,
    )
    assert [(r["referenceId"], r["httpStatusCode"]) for r in results] == [
        ("First", 400),
        ("Broken", 400),
        ("Never", 400),
    ]
    assert results[0]["body"] == [HALTED] and results[2]["body"] == [HALTED]
    assert results[1]["body"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert _account_names(api, name) == []


def test_without_all_or_none_failures_stay_local_and_dependents_are_not_sent(api: Api) -> None:
    name = unique("cmp-partial")
    results = _composite(
        api,
        [
            _create("Broken", "Account", {"Industry": "Energy"}),
            _create("Dependent", "Contact", {"LastName": "X", "AccountId": "@{Broken.id}"}),
            _create("Independent", "Account", {"Name": name}),
        ],
        allOrNone=False,
    )
    assert [r["httpStatusCode"] for r in results] == [400, 400, 201]
    assert results[0]["body"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert results[1]["body"] == [
        {
            "errorCode": "PROCESSING_HALTED",
            "message": "Invalid reference specified. No value for Broken.id found in Broken. Provided referenceId "
            "('Broken') must start with a letter or a number, and it can contain only letters, numbers and "
            "underscores ('_').",
        }
    ]
    assert _account_names(api, name) == [name]


def test_a_composite_call_counts_as_one_api_request(api: Api) -> None:
    def used(response: Any) -> int:
        return int(response.headers["Sforce-Limit-Info"].split("=")[1].split("/")[0])

    before = used(api.get("/limits/"))
    response = api.post(
        "/composite/",
        json={
            "compositeRequest": [
                {"method": "GET", "url": f"{V}/sobjects/Account/describe", "referenceId": f"d{n}"} for n in range(3)
            ]
        },
    )
    assert response.status_code == 200
    assert used(response) == before + 1
    assert used(api.get("/limits/")) == before + 2


def test_subrequest_errors_are_the_resources_own(api: Api) -> None:
    results = _composite(
        api,
        [
            {"method": "GET", "url": f"{V}/sobjects/Nothing/describe", "referenceId": "NoObject"},
            {"method": "DELETE", "url": f"{V}/query/?q=SELECT+Id+FROM+Account", "referenceId": "WrongMethod"},
            {"method": "GET", "url": f"{V}/query/?q=SELECT+Nme+FROM+Account", "referenceId": "BadQuery"},
            {"method": "GET", "url": f"{V}/limits", "referenceId": "NotAllowed"},
        ],
    )
    assert [r["httpStatusCode"] for r in results] == [404, 405, 400, 400]
    assert results[0]["body"][0]["errorCode"] == "NOT_FOUND"
    assert results[1]["body"][0]["errorCode"] == "METHOD_NOT_ALLOWED"
    assert results[2]["body"][0]["errorCode"] == "INVALID_FIELD"
    assert results[3]["body"][0]["errorCode"] == "INVALID_API_INPUT"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, "JSON_PARSER_ERROR"),
        ({"compositeRequest": [{"method": "GET", "url": f"{V}/limits"}]}, "JSON_PARSER_ERROR"),
        ({"compositeRequest": [{"method": "get", "url": f"{V}/limits", "referenceId": "a"}]}, "JSON_PARSER_ERROR"),
        ({"compositeRequest": [{"method": "GET", "url": f"{V}/limits", "referenceId": "a.b"}]}, "JSON_PARSER_ERROR"),
        (
            {"compositeRequest": [{"method": "GET", "url": f"{V}/limits", "referenceId": r} for r in ("a", "a")]},
            "JSON_PARSER_ERROR",
        ),
        (
            {"compositeRequest": [{"method": "GET", "url": f"{V}/limits", "referenceId": f"r{n}"} for n in range(26)]},
            "LIMIT_EXCEEDED",
        ),
        (
            {
                "compositeRequest": [
                    {"method": "GET", "url": f"{V}/limits", "referenceId": "a", "httpHeaders": {"Accept": "text/xml"}}
                ]
            },
            "INVALID_INPUT",
        ),
        ({"compositeRequest": [], "allOrNone": True}, "JSON_PARSER_ERROR"),
        (
            {
                "compositeRequest": [{"method": "GET", "url": f"{V}/limits", "referenceId": "a"}],
                "allOrNone": "sometimes",
            },
            "JSON_PARSER_ERROR",
        ),
    ],
)
def test_malformed_composite_requests_are_refused_whole(api: Api, body: dict[str, Any], code: str) -> None:
    response = api.post("/composite/", json=body)
    assert response.status_code == 400
    assert api.error(response)["errorCode"] == code


def test_composite_resources_exist_from_their_api_versions(api: Api) -> None:
    request = {"compositeRequest": [{"method": "GET", "url": f"{V}/sobjects", "referenceId": "a"}]}
    assert api.post("/services/data/v37.0/composite/", json=request).status_code == 404
    assert api.post("/services/data/v38.0/composite/", json=request).status_code == 200
    assert api.post("/services/data/v33.0/composite/batch", json={"batchRequests": []}).status_code == 404
    assert api.post("/services/data/v41.0/composite/tree/Account", json={"records": []}).status_code == 404
    assert {"sobjects", "batch"} <= set(api.get("/composite/").json())


# ------------------------------------------------------------------------------------- /composite/batch


def test_batch_runs_independent_subrequests(api: Api) -> None:
    account = api.create("Account", {"Name": unique("batch")})
    response = api.post(
        "/composite/batch",
        json={
            "batchRequests": [
                {"method": "PATCH", "url": f"v62.0/sobjects/Account/{account}", "richInput": {"Name": "Renamed"}},
                {"method": "GET", "url": f"v62.0/sobjects/Account/{account}?fields=Name"},
                {"method": "GET", "url": f"{V}/sobjects/Account/001000000000000AAA"},
                {
                    "method": "GET",
                    "url": "v62.0/search/?q=FIND+{Renamed}+RETURNING+Account(Name+WHERE+Id='" + account + "')",
                },
            ]
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["hasErrors"] is True
    assert [r["statusCode"] for r in body["results"]] == [204, 200, 404, 200]
    assert body["results"][0]["result"] is None
    assert body["results"][1]["result"]["Name"] == "Renamed"
    assert body["results"][2]["result"][0]["errorCode"] in ("NOT_FOUND", "MALFORMED_ID")
    assert body["results"][3]["result"]["searchRecords"][0]["Name"] == "Renamed"


def test_batch_halt_on_error_stops_at_the_first_failure(api: Api) -> None:
    name = unique("batch-halt")
    response = api.post(
        "/composite/batch",
        json={
            "haltOnError": True,
            "batchRequests": [
                {"method": "GET", "url": "v62.0/limits"},
                {"method": "POST", "url": "v62.0/sobjects/Account", "richInput": {"Industry": "Energy"}},
                {"method": "POST", "url": "v62.0/sobjects/Account", "richInput": {"Name": name}},
            ],
        },
    )
    body = response.json()
    assert [r["statusCode"] for r in body["results"]] == [200, 400, 412]
    assert body["results"][2]["result"][0]["errorCode"] == "BATCH_PROCESSING_HALTED"
    assert _account_names(api, name) == []


def test_batch_without_errors_and_its_request_errors(api: Api) -> None:
    ok = api.post("/composite/batch", json={"batchRequests": [{"method": "GET", "url": "v62.0/limits"}]})
    assert ok.json()["hasErrors"] is False
    missing_url = api.post("/composite/batch", json={"batchRequests": [{"method": "GET"}]})
    assert missing_url.status_code == 400 and api.error(missing_url)["errorCode"] == "JSON_PARSER_ERROR"
    too_many = api.post("/composite/batch", json={"batchRequests": [{"method": "GET", "url": "v62.0/limits"}] * 26})
    assert too_many.status_code == 400 and api.error(too_many)["errorCode"] == "LIMIT_EXCEEDED"


# ------------------------------------------------------------------------------------- /composite/tree


def _tree_record(reference: str, sobject: str, **fields: Any) -> dict[str, Any]:
    return {"attributes": {"type": sobject, "referenceId": reference}, **fields}


def test_tree_creates_nested_records_level_by_level(api: Api) -> None:
    name = unique("tree")
    records = [
        _tree_record(
            "ref1",
            "Account",
            Name=f"{name}-1",
            Contacts={
                "records": [
                    _tree_record("ref2", "Contact", LastName="One"),
                    _tree_record("ref3", "Contact", LastName="Two"),
                ]
            },
        ),
        _tree_record("ref4", "Account", Name=f"{name}-2"),
    ]
    response = api.post("/composite/tree/Account/", json={"records": records})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["hasErrors"] is False
    assert [r["referenceId"] for r in body["results"]] == ["ref1", "ref4", "ref2", "ref3"]
    ids = {r["referenceId"]: r["id"] for r in body["results"]}
    contacts = api.query(f"SELECT LastName FROM Contact WHERE AccountId = '{ids['ref1']}' ORDER BY LastName")
    assert [c["LastName"] for c in contacts["records"]] == ["One", "Two"]
    assert _account_names(api, name) == [f"{name}-1", f"{name}-2"]


def test_tree_failure_creates_nothing_and_names_the_record(api: Api) -> None:
    name = unique("tree-fail")
    records = [
        _tree_record(
            "good", "Account", Name=name, Contacts={"records": [_tree_record("bad", "Contact", FirstName="X")]}
        )
    ]
    response = api.post("/composite/tree/Account", json={"records": records})
    assert response.status_code == 400
    assert response.json() == {
        "hasErrors": True,
        "results": [
            {
                "referenceId": "bad",
                "errors": [
                    {
                        "statusCode": "REQUIRED_FIELD_MISSING",
                        "message": "Required fields are missing: [LastName]",
                        "fields": ["LastName"],
                    }
                ],
            }
        ],
    }
    assert _account_names(api, name) == []


def test_tree_refuses_duplicate_references_and_oversized_requests(api: Api) -> None:
    duplicates = [_tree_record("same", "Account", Name="a"), _tree_record("same", "Account", Name="b")]
    response = api.post("/composite/tree/Account", json={"records": duplicates})
    assert response.status_code == 400
    assert [r["referenceId"] for r in response.json()["results"]] == ["same", "same"]
    oversized = [_tree_record(f"r{n}", "Account", Name="x") for n in range(201)]
    too_many = api.post("/composite/tree/Account", json={"records": oversized})
    assert too_many.status_code == 400 and api.error(too_many)["errorCode"] == "LIMIT_EXCEEDED"
    wrong_root = api.post("/composite/tree/Account", json={"records": [_tree_record("c", "Contact", LastName="x")]})
    assert wrong_root.status_code == 400 and api.error(wrong_root)["errorCode"] == "INVALID_TYPE"
    assert api.post("/composite/tree/Nothing", json={"records": duplicates}).status_code == 404
