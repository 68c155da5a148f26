"""Approval processes over HTTP (``/process/approvals/``): the seeded definitions, the Submit -> Pending ->
Approved/Rejected state machine, entry criteria, multi-step processes and Salesforce's refusals."""

from __future__ import annotations

from typing import Any

import requests
from emulator_api import Api, unique

RESULT_KEYS = ["actorIds", "entityId", "errors", "instanceId", "instanceStatus", "newWorkitemIds", "success"]


def submit(api: Api, record_id: str, **extra: Any) -> requests.Response:
    return api.post(
        "/process/approvals/", json={"requests": [{"actionType": "Submit", "contextId": record_id, **extra}]}
    )


def decide(api: Api, action: str, workitem_id: str, **extra: Any) -> requests.Response:
    return api.post(
        "/process/approvals/", json={"requests": [{"actionType": action, "contextId": workitem_id, **extra}]}
    )


def only_result(response: requests.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert isinstance(body, list) and len(body) == 1, body
    result: dict[str, Any] = body[0]
    assert list(result) == RESULT_KEYS
    return result


def account(api: Api, revenue: float | None = 250_000) -> str:
    return api.create("Account", {"Name": unique("Approval"), "AnnualRevenue": revenue})


def other_user(api: Api) -> str:
    admin = api.emulator.state.admin_user_id
    users = api.query(f"SELECT Id FROM User WHERE Id != '{admin}' ORDER BY Username LIMIT 1")["records"]
    user_id: str = users[0]["Id"]
    return user_id


# ------------------------------------------------------------------------------------------ definitions


def test_lists_the_seeded_processes(api: Api) -> None:
    response = api.get("/process/approvals/")
    assert response.status_code == 200
    approvals = response.json()["approvals"]
    assert set(approvals) >= {"Account", "Opportunity"}
    (process,) = approvals["Account"]
    assert list(process) == ["description", "id", "name", "object", "sortOrder"]
    assert process["name"] == "Account_Approval" and process["object"] == "Account" and process["sortOrder"] == 1
    assert process["id"].startswith("04a") and len(process["id"]) == 15
    assert approvals["Opportunity"][0]["name"] == "Large_Opportunity_Approval"
    assert api.get("/process/approvals").json() == response.json()


def test_needs_a_session(api: Api) -> None:
    response = requests.get(api.url("/process/approvals/"), timeout=30)
    assert response.status_code == 401
    assert api.error(response)["errorCode"] == "INVALID_SESSION_ID"


# ------------------------------------------------------------------------------------------ state machine


def test_submit_then_approve(api: Api) -> None:
    record_id = account(api)
    admin = api.emulator.state.admin_user_id
    pending = only_result(submit(api, record_id, comments="please"))
    assert pending["success"] is True and pending["errors"] is None
    assert pending["entityId"] == record_id and pending["instanceStatus"] == "Pending"
    assert pending["instanceId"].startswith("04g") and len(pending["instanceId"]) == 18
    assert pending["actorIds"] == [admin]
    (workitem,) = pending["newWorkitemIds"]
    assert workitem.startswith("04i")

    approved = only_result(decide(api, "Approve", workitem, comments="ok"))
    assert approved == {
        "actorIds": None,
        "entityId": record_id,
        "errors": None,
        "instanceId": pending["instanceId"],
        "instanceStatus": "Approved",
        "newWorkitemIds": [],
        "success": True,
    }
    again = decide(api, "Approve", workitem)
    assert again.status_code == 400
    assert again.json() == [{"errorCode": "INVALID_CROSS_REFERENCE_KEY", "message": "invalid cross reference id"}]


def test_reject_closes_the_instance_and_allows_a_new_submission(api: Api) -> None:
    record_id = account(api)
    pending = only_result(submit(api, record_id[:15]))
    assert pending["entityId"] == record_id
    rejected = only_result(decide(api, "Reject", pending["newWorkitemIds"][0], comments="no"))
    assert rejected["instanceStatus"] == "Rejected" and rejected["newWorkitemIds"] == []
    assert rejected["instanceId"] == pending["instanceId"]
    resubmitted = only_result(submit(api, record_id))
    assert resubmitted["instanceStatus"] == "Pending" and resubmitted["instanceId"] != pending["instanceId"]


def test_a_two_step_process_assigns_the_named_next_approver(api: Api) -> None:
    account_id = account(api)
    opportunity = api.create(
        "Opportunity",
        {"Name": unique("Big deal"), "AccountId": account_id, "StageName": "Prospecting",
         "CloseDate": "2030-01-31", "Amount": 150_000},
    )  # fmt: skip
    finance = other_user(api)
    first = only_result(submit(api, opportunity, processDefinitionNameOrId="Large_Opportunity_Approval"))
    second = only_result(decide(api, "Approve", first["newWorkitemIds"][0], nextApproverIds=[finance]))
    assert second["instanceStatus"] == "Pending" and second["actorIds"] == [finance]
    assert second["newWorkitemIds"] != first["newWorkitemIds"] and second["instanceId"] == first["instanceId"]
    final = only_result(decide(api, "Approve", second["newWorkitemIds"][0]))
    assert final["instanceStatus"] == "Approved" and final["actorIds"] is None


# ------------------------------------------------------------------------------------------ refusals


def test_a_record_already_pending_cannot_be_submitted_again(api: Api) -> None:
    record_id = account(api)
    only_result(submit(api, record_id))
    again = submit(api, record_id)
    assert again.status_code == 400
    assert again.json() == [{"errorCode": "ALREADY_IN_PROCESS", "message": "Cannot submit object already in process."}]


def test_entry_criteria_and_process_names(api: Api) -> None:
    no_revenue = account(api, revenue=None)
    refused = submit(api, no_revenue)
    assert refused.status_code == 400
    assert refused.json() == [
        {"errorCode": "NO_APPLICABLE_PROCESS", "message": "No applicable approval process was found."}
    ]
    unknown = submit(api, no_revenue, processDefinitionNameOrId="No_Such_Process", skipEntryCriteria=True)
    assert api.error(unknown)["errorCode"] == "NO_APPLICABLE_PROCESS"
    skipped = submit(api, no_revenue, processDefinitionNameOrId="Account_Approval", skipEntryCriteria="true")
    assert only_result(skipped)["instanceStatus"] == "Pending"
    process_id = api.get("/process/approvals/").json()["approvals"]["Account"][0]["id"]
    by_id = submit(api, account(api), processDefinitionNameOrId=process_id)
    assert only_result(by_id)["instanceStatus"] == "Pending"
    contact = api.create("Contact", {"LastName": unique("NoProcess")})
    assert api.error(submit(api, contact))["errorCode"] == "NO_APPLICABLE_PROCESS"


def test_missing_and_deleted_records(api: Api) -> None:
    deleted = account(api)
    assert api.delete(f"/sobjects/Account/{deleted}").status_code == 204
    assert api.error(submit(api, deleted)) == {"errorCode": "ENTITY_IS_DELETED", "message": "entity is deleted"}
    for missing in ("001000000000000AAA", "not-an-id"):
        assert api.error(submit(api, missing)) == {
            "errorCode": "INVALID_CROSS_REFERENCE_KEY",
            "message": "invalid cross reference id",
        }
    assert api.error(submit(api, account(api), nextApproverIds=["005000000000000AAA"]))["errorCode"] == (
        "INVALID_CROSS_REFERENCE_KEY"
    )


def test_in_a_bulk_call_the_successful_requests_are_committed(api: Api) -> None:
    good, bad = account(api), account(api, revenue=None)
    response = api.post(
        "/process/approvals/",
        json={"requests": [{"actionType": "Submit", "contextId": good}, {"actionType": "Submit", "contextId": bad}]},
    )
    assert response.status_code == 400
    assert response.json() == [
        {"errorCode": "NO_APPLICABLE_PROCESS", "message": "No applicable approval process was found."}
    ]
    assert api.error(submit(api, good))["errorCode"] == "ALREADY_IN_PROCESS"
    both = api.post(
        "/process/approvals/",
        json={"requests": [{"actionType": "Submit", "contextId": account(api)} for _ in range(2)]},
    )
    assert both.status_code == 200 and [r["instanceStatus"] for r in both.json()] == ["Pending", "Pending"]


def test_malformed_requests(api: Api) -> None:
    for body in ("{", "", '{"requests": {}}', '{"requests": [{"actionType": "Escalate", "contextId": "x"}]}'):
        response = api.post("/process/approvals/", data=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 400, body
        assert api.error(response)["errorCode"] == "JSON_PARSER_ERROR"
