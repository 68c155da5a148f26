"""Chatter feed elements over HTTP: posting with mentions, reading back, commenting, record feeds,
and the Connect API's errors."""

from __future__ import annotations

import re
from typing import Any

import pytest
from emulator_api import Api, unique

from airflow_provider_sfpy.emulator import ids
from airflow_provider_sfpy.emulator.testing import RunningEmulator

FEED_ELEMENTS = "/chatter/feed-elements"
CONNECT_DATE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
MISSING_ACCOUNT_ID = ids.make_id("001", 62**9 - 1)
MISSING_USER_ID = ids.make_id("005", 62**9 - 1)


def _text(text: str) -> dict[str, str]:
    return {"type": "Text", "text": text}


def _post(api: Api, subject: str, *segments: dict[str, str], status: int = 201) -> dict[str, Any]:
    body = {"body": {"messageSegments": list(segments)}, "feedElementType": "FeedItem", "subjectId": subject}
    response = api.post(FEED_ELEMENTS, json=body)
    assert response.status_code == status, response.text
    result: dict[str, Any] = response.json()
    return result


def _user(api: Api, username: str) -> dict[str, Any]:
    record: dict[str, Any] = api.query(f"SELECT Id, Name FROM User WHERE Username = '{username}'")["records"][0]
    return record


def test_post_to_a_record_with_a_mention(api: Api, emulator: RunningEmulator) -> None:
    account_name = unique("chatter-acct")
    account = api.create("Account", {"Name": account_name})
    ana = _user(api, "ana.garcia@sfpy.example")
    item = _post(api, account, _text("Please review, "), {"type": "Mention", "id": ana["Id"][:15]}, _text("!"))

    assert item["id"].startswith("0D5") and len(item["id"]) == 18
    assert item["feedElementType"] == "FeedItem"
    assert item["type"] == "TextPost"
    assert item["url"] == f"/services/data/v62.0/chatter/feed-elements/{item['id']}"
    assert CONNECT_DATE.fullmatch(item["createdDate"])
    assert item["body"]["text"] == f"Please review, @{ana['Name']}!"
    assert item["body"]["isRichText"] is False
    mention = item["body"]["messageSegments"][1]
    assert mention["type"] == "Mention"
    assert mention["text"] == f"@{ana['Name']}"
    assert mention["name"] == ana["Name"]
    assert mention["record"]["id"] == ana["Id"]
    assert mention["record"]["type"] == "User"
    assert item["body"]["messageSegments"][0] == {"text": "Please review, ", "type": "Text"}
    assert item["parent"]["id"] == account
    assert item["parent"]["type"] == "Account"
    assert item["parent"]["name"] == account_name
    assert item["parent"]["url"] == f"/services/data/v62.0/chatter/records/{account}"
    assert item["actor"]["id"] == emulator.state.admin_user_id
    assert item["actor"]["type"] == "User"
    assert item["capabilities"]["comments"]["page"]["items"] == []
    assert item["capabilities"]["comments"]["page"]["total"] == 0

    fetched = api.get(f"{FEED_ELEMENTS}/{item['id']}")
    assert fetched.status_code == 200
    assert fetched.json()["body"] == item["body"]
    assert fetched.json()["id"] == item["id"]


def test_post_to_me_has_the_user_as_parent(api: Api, emulator: RunningEmulator) -> None:
    item = _post(api, "me", _text(unique("note to self")))
    assert item["parent"]["id"] == emulator.state.admin_user_id
    assert item["parent"]["type"] == "User"
    assert item["parent"]["url"] == f"/services/data/v62.0/chatter/users/{emulator.state.admin_user_id}"


def test_comments_are_created_and_embedded_in_the_item(api: Api, emulator: RunningEmulator) -> None:
    account = api.create("Account", {"Name": unique("chatter-comments")})
    item = _post(api, account, _text("first post"))
    ben = _user(api, "ben.oconnor@sfpy.example")
    comment_url = f"{FEED_ELEMENTS}/{item['id']}/capabilities/comments/items"
    response = api.post(
        comment_url, json={"body": {"messageSegments": [_text("cc "), {"type": "Mention", "id": ben["Id"]}]}}
    )
    assert response.status_code == 201, response.text
    comment = response.json()
    assert comment["id"].startswith("0D7")
    assert comment["type"] == "TextComment"
    assert comment["body"]["text"] == f"cc @{ben['Name']}"
    assert comment["feedElement"] == {
        "id": item["id"],
        "url": f"/services/data/v62.0/chatter/feed-elements/{item['id']}",
    }
    assert comment["parent"]["id"] == account
    assert comment["user"]["id"] == emulator.state.admin_user_id

    page = api.get(f"{FEED_ELEMENTS}/{item['id']}").json()["capabilities"]["comments"]["page"]
    assert page["total"] == 1
    assert [c["id"] for c in page["items"]] == [comment["id"]]
    listed = api.get(comment_url).json()
    assert listed["total"] == 1 and listed["items"][0]["body"] == comment["body"]


def test_record_feed_is_newest_first_and_paged(api: Api) -> None:
    account = api.create("Account", {"Name": unique("chatter-feed")})
    posted = [_post(api, account, _text(f"post {n}"))["id"] for n in range(3)]
    feed_url = f"/chatter/feeds/record/{account}/feed-elements"
    page = api.get(feed_url).json()
    assert [e["id"] for e in page["elements"]] == posted[::-1]
    assert page["nextPageUrl"] is None
    first = api.get(feed_url, params={"pageSize": 2}).json()
    assert [e["id"] for e in first["elements"]] == posted[:0:-1]
    second = api.get(first["nextPageUrl"]).json()
    assert [e["id"] for e in second["elements"]] == posted[:1]
    other = api.create("Account", {"Name": unique("chatter-empty")})
    assert api.get(f"/chatter/feeds/record/{other}/feed-elements").json()["elements"] == []


def test_body_over_10000_characters_is_rejected(api: Api) -> None:
    response = api.post(
        FEED_ELEMENTS,
        json={"body": {"messageSegments": [_text("x" * 10_001)]}, "feedElementType": "FeedItem", "subjectId": "me"},
    )
    assert response.status_code == 400
    assert api.error(response)["errorCode"] == "INVALID_API_INPUT"
    assert "10,000" in api.error(response)["message"]
    _post(api, "me", _text("x" * 10_000))


@pytest.mark.parametrize(
    ("subject", "segment", "status", "code"),
    [
        (MISSING_ACCOUNT_ID, _text("hi"), 404, "NOT_FOUND"),
        ("not-an-id", _text("hi"), 400, "INVALID_ID_FIELD"),
        ("me", {"type": "Mention", "id": MISSING_USER_ID}, 404, "NOT_FOUND"),
        ("me", {"type": "Mention", "id": MISSING_ACCOUNT_ID}, 400, "INVALID_ID_FIELD"),
        ("me", {"type": "Poll", "text": "?"}, 400, "INVALID_API_INPUT"),
    ],
)
def test_unknown_subjects_and_mentions(api: Api, subject: str, segment: dict[str, str], status: int, code: str) -> None:
    body = {"body": {"messageSegments": [segment]}, "feedElementType": "FeedItem", "subjectId": subject}
    response = api.post(FEED_ELEMENTS, json=body)
    assert response.status_code == status
    assert api.error(response)["errorCode"] == code


def test_invalid_feed_element_inputs_and_ids(api: Api) -> None:
    no_type = api.post(FEED_ELEMENTS, json={"body": {"messageSegments": [_text("x")]}, "subjectId": "me"})
    assert api.error(no_type)["errorCode"] == "INVALID_API_INPUT"
    missing = api.get(f"{FEED_ELEMENTS}/{ids.make_id('0D5', 62**9 - 1)}")
    assert missing.status_code == 404
    assert missing.json() == [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}]
    comment_id = ids.make_id("0D7", 5)
    wrong_kind = api.get(f"{FEED_ELEMENTS}/{comment_id}")
    assert wrong_kind.status_code == 400
    assert wrong_kind.json() == [{"message": f"Invalid identifier: {comment_id}", "errorCode": "INVALID_ID_FIELD"}]
