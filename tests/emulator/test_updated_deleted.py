"""sObject Get Updated / Get Deleted (``/sobjects/{Object}/updated/?start=&end=``): which records a
window reports, and Salesforce's rules for the window, answered before the record route can take
``updated`` for a record Id."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from emulator_api import Api, unique

from airflow_provider_sfpy.emulator import replication
from airflow_provider_sfpy.emulator.errors import ApiError

STAMP = "%Y-%m-%dT%H:%M:%S+00:00"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _window(minutes_before: int = 5, minutes_after: int = 2) -> dict[str, str]:
    now = _now()
    return {
        "start": (now - timedelta(minutes=minutes_before)).strftime(STAMP),
        "end": (now + timedelta(minutes=minutes_after)).strftime(STAMP),
    }


def test_updated_lists_records_written_in_the_window(api: Api) -> None:
    created = api.create("Lead", {"LastName": unique("Updated"), "Company": "Co"})
    changed = api.create("Lead", {"LastName": unique("Changed"), "Company": "Co"})
    api.patch(f"/sobjects/Lead/{changed}", json={"Rating": "Hot"})
    gone = api.create("Lead", {"LastName": unique("Gone"), "Company": "Co"})
    api.delete(f"/sobjects/Lead/{gone}")
    response = api.get("/sobjects/Lead/updated/", params=_window())
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"ids", "latestDateCovered"}
    assert {created, changed} <= set(body["ids"]) and gone not in body["ids"]
    assert len(body["ids"]) == len(set(body["ids"]))
    covered = datetime.strptime(body["latestDateCovered"], "%Y-%m-%dT%H:%M:%S.%f%z")
    assert covered.second == 0 and covered <= _now()  # the current minute: the end lies in the future


def test_records_written_outside_the_window_are_left_out(api: Api) -> None:
    record = api.create("Lead", {"LastName": unique("Later"), "Company": "Co"})
    window = _window(minutes_before=30, minutes_after=-10)
    past = api.get("/sobjects/Lead/updated/", params=window).json()
    assert record not in past["ids"]
    end = datetime.strptime(window["end"], STAMP)
    assert past["latestDateCovered"] == end.strftime("%Y-%m-%dT%H:%M:00.000+0000")


def test_deleted_lists_deletions_with_their_dates(api: Api) -> None:
    keep = api.create("Case", {"Subject": unique("keep")})
    gone = api.create("Case", {"Subject": unique("gone")})
    assert api.delete(f"/sobjects/Case/{gone}").status_code == 204
    body = api.get("/sobjects/Case/deleted/", params=_window()).json()
    assert set(body) == {"deletedRecords", "earliestDateAvailable", "latestDateCovered"}
    deleted = {r["id"]: r["deletedDate"] for r in body["deletedRecords"]}
    assert gone in deleted and keep not in deleted
    stamps = api.get("/queryAll/", params={"q": f"SELECT SystemModstamp FROM Case WHERE Id = '{gone}'"}).json()
    assert deleted[gone] == stamps["records"][0]["SystemModstamp"]
    assert body["earliestDateAvailable"].endswith(":00.000+0000") and body["earliestDateAvailable"] <= deleted[gone]


@pytest.mark.parametrize(
    ("params", "code", "message"),
    [
        ({}, "MISSING_ARGUMENT", "start is required"),
        ({"start": "2030-01-01T00:00:00Z"}, "MISSING_ARGUMENT", "end is required"),
        ({"start": "yesterday", "end": "2030-01-01T00:00:00Z"}, "INVALID_REPLICATION_DATE", "not an ISO 8601"),
        ({"start": "2030-01-01T00:00:00", "end": "2030-01-02T00:00:00Z"}, "INVALID_REPLICATION_DATE", "time zone"),
    ],
)
def test_missing_or_unreadable_dates_are_refused(api: Api, params: dict[str, str], code: str, message: str) -> None:
    response = api.get("/sobjects/Account/updated/", params=params)
    assert response.status_code == 400
    assert api.error(response)["errorCode"] == code and message in api.error(response)["message"]


def test_a_bare_plus_in_the_offset_gets_a_hint(api: Api) -> None:
    now = _now()
    query = f"start={(now - timedelta(hours=1)).strftime(STAMP)}&end={now.strftime(STAMP)}"  # '+' not %2B
    response = api.get(f"/sobjects/Account/deleted/?{query}")
    assert response.status_code == 400 and "%2B" in api.error(response)["message"]


def test_window_rules(api: Api) -> None:
    now = _now().replace(second=10)
    same_minute = {"start": now.strftime(STAMP), "end": now.replace(second=50).strftime(STAMP)}
    for params in (same_minute, {"start": _window()["end"], "end": _window()["start"]}):
        refused = api.get("/sobjects/Account/updated/", params=params)
        assert api.error(refused) == {
            "errorCode": "INVALID_REPLICATION_DATE",
            "message": "startDate must be at least one minute greater than endDate",
        }
    too_old = api.get("/sobjects/Account/deleted/", params=_window(minutes_before=31 * 24 * 60))
    assert api.error(too_old) == {
        "errorCode": "INVALID_REPLICATION_DATE",
        "message": "startDate cannot be more than 30 days ago",
    }
    assert api.get("/sobjects/Account/updated/", params=_window(minutes_before=29 * 24 * 60)).status_code == 200


def test_seconds_are_ignored_and_offsets_honoured() -> None:
    now = datetime(2030, 5, 1, 12, 0, tzinfo=timezone.utc)
    window = replication.window("2030-05-01T13:30:59.999+02:00", "2030-05-01T11:59:45Z", now=now)
    assert (window.start, window.end) == (
        datetime(2030, 5, 1, 11, 30, tzinfo=timezone.utc),
        datetime(2030, 5, 1, 11, 59, tzinfo=timezone.utc),
    )
    assert window.latest_covered == window.end
    later = replication.window("2030-05-01T11:00:00Z", "2030-05-02T00:00:00Z", now=now)
    assert later.latest_covered == now
    with pytest.raises(ApiError, match="30 days"):
        replication.window("2030-03-31T11:59:00Z", "2030-05-01T11:00:00Z", now=now)


def test_more_ids_than_the_limit_is_refused(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    for _ in range(2):
        api.create("Campaign", {"Name": unique("Limit")})
    monkeypatch.setattr(replication, "MAX_IDS", 1)
    response = api.get("/sobjects/Campaign/updated/", params=_window())
    assert response.status_code == 400 and api.error(response)["errorCode"] == "EXCEEDED_ID_LIMIT"


def test_unknown_and_unreplicated_objects(api: Api) -> None:
    assert api.get("/sobjects/Nope/updated/", params=_window()).status_code == 404
    refused = api.get("/sobjects/Organization/updated/", params=_window())
    assert refused.status_code == 400 and api.error(refused)["errorCode"] == "INVALID_TYPE_FOR_OPERATION"
    assert api.get("/sobjects/Organization/describe").json()["replicateable"] is False


def test_an_account_id_still_answers_on_the_record_route(api: Api) -> None:
    record = api.create("Account", {"Name": unique("Route")})
    assert api.get(f"/sobjects/Account/{record}").json()["Id"] == record
    assert api.patch("/sobjects/Account/updated", json={"Name": "x"}).status_code == 404  # not an Id
