"""Chatter feed elements (Connect REST API): post a feed item to a record's or a user's feed, read
it, comment on it, and page through a record's feed.

Bodies follow the documented representations — Feed Item, Comment, Comment Page, Feed Element Page,
User Summary, Record Summary and the Text/Mention/Hashtag/Link message segments — with the
properties clients read; of the capabilities only ``comments`` is emulated. A Mention segment is
resolved to the user (``"text": "@Ana García"`` plus a User Summary in ``record``), so a client can
check who was notified.

Errors use the Connect error list ``[{"errorCode", "message"}]``: an Id that is malformed or of the
wrong kind for the resource is ``400 INVALID_ID_FIELD`` ("Invalid identifier: ..."), a well-formed
Id of nothing is ``404 NOT_FOUND``, an unusable input is ``400 INVALID_API_INPUT``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from airflow_provider_sfpy.emulator import ids
from airflow_provider_sfpy.emulator.errors import ApiError, not_found
from airflow_provider_sfpy.emulator.feeds import (
    FEED_COMMENT_PREFIX,
    FEED_ITEM_PREFIX,
    FeedComment,
    FeedItem,
    Segment,
)
from airflow_provider_sfpy.emulator.responses import json_response
from airflow_provider_sfpy.emulator.routes.common import VERSION_PREFIX, ApiContext, api_endpoint, routes
from airflow_provider_sfpy.emulator.routes.json_input import read_json_object
from airflow_provider_sfpy.emulator.schema import SCHEMA, FieldDef, SObjectDef, sobject_for_key_prefix

FEED_ELEMENTS = VERSION_PREFIX + "/chatter/feed-elements"
RECORD_FEED = VERSION_PREFIX + "/chatter/feeds/record/{record_id}/feed-elements"
#: ``/chatter/feed-elements`` exists from API 31.0, its comments capability resource from 32.0.
FEED_ELEMENTS_VERSION = 31.0
COMMENTS_VERSION = 32.0
#: Feed item and comment bodies: at most 10,000 characters and 25 mentions.
MAX_BODY_CHARACTERS = 10_000
MAX_MENTIONS = 25
#: Comments embedded in a feed item's comments capability (the resources' recentCommentCount default).
RECENT_COMMENT_COUNT = 3
DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
VISIBILITIES = ("AllUsers", "InternalUsers")
USER = SCHEMA["User"]
USER_PREFIX = USER.key_prefix
USER_MOTIF = {
    "color": "1B96FF",
    "largeIconUrl": "/img/icon/profile64.png",
    "mediumIconUrl": "/img/icon/profile32.png",
    "smallIconUrl": "/img/icon/profile16.png",
    "svgIconUrl": None,
}


def _fields(obj: SObjectDef, *names: str) -> list[FieldDef]:
    return [f for f in (obj.field(n) for n in names) if f is not None]


USER_FIELDS = _fields(USER, "FirstName", "LastName", "Name", "Title", "IsActive", "Alias")


def _invalid_input(message: str) -> ApiError:
    return ApiError(400, "INVALID_API_INPUT", message)


def _invalid_id(raw: object) -> ApiError:
    return ApiError(400, "INVALID_ID_FIELD", f"Invalid identifier: {raw}")


def _require_version(ctx: ApiContext, minimum: float) -> None:
    if float(ctx.version) < minimum:
        raise not_found()


def _iso(moment: datetime) -> str:
    """Connect's date format: ISO 8601 in UTC with milliseconds (``2011-02-25T18:24:31.000Z``)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _relative(moment: datetime, now: datetime) -> str:
    """``relativeCreatedDate``: "Just now", "17m ago", "3h ago", then the date."""
    seconds = (now - moment).total_seconds()
    if seconds < 60:
        return "Just now"
    if seconds < 3600:
        return f"{int(seconds // 60)}m ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)}h ago"
    return f"{moment:%B} {moment.day}, {moment.year}"


# ------------------------------------------------------------------------------------- Id resolution


def _live_id(ctx: ApiContext, obj: SObjectDef, normalized: str) -> str:
    """The canonical Id of a live record, or 404 (Connect does not tell deleted from missing)."""
    try:
        return ctx.state.store.resolve_id(obj, normalized)
    except ApiError:
        raise not_found() from None


def _subject_id(ctx: ApiContext, raw: object) -> str:
    """A feed's owner: ``me``, a user or a record of any emulated object."""
    if raw == "me":
        return ctx.user_id
    normalized = ids.normalize(raw) if isinstance(raw, str) else None
    if normalized is None:
        raise _invalid_id(raw)
    obj = sobject_for_key_prefix(normalized)
    if obj is None:
        raise not_found()
    return _live_id(ctx, obj, normalized)


def _user_id(ctx: ApiContext, raw: object) -> str:
    """A mentioned user (``me`` allowed); another kind of Id is 400, an unknown user 404."""
    if raw == "me":
        return ctx.user_id
    normalized = ids.normalize(raw) if isinstance(raw, str) else None
    if normalized is None or normalized[:3] != USER_PREFIX:
        raise _invalid_id(raw)
    return _live_id(ctx, USER, normalized)


def _feed_item(ctx: ApiContext, raw: str) -> FeedItem:
    normalized = ids.normalize(raw)
    if normalized is None or normalized[:3] != FEED_ITEM_PREFIX:
        raise _invalid_id(raw)
    item = ctx.state.feeds.item(normalized)
    if item is None:
        raise not_found()
    return item


def _segments(ctx: ApiContext, body: object) -> tuple[Segment, ...]:
    """The ``body.messageSegments`` of a feed item or comment input, validated and with Ids resolved."""
    raw_segments = body.get("messageSegments") if isinstance(body, dict) else None
    if not isinstance(raw_segments, list) or not raw_segments:
        raise _invalid_input("The body must contain at least one message segment.")
    segments: list[Segment] = []
    for raw in raw_segments:
        if not isinstance(raw, dict):
            raise _invalid_input("A message segment must be a JSON object.")
        kind = raw.get("type")
        if kind == "Mention":
            segments.append(Segment("Mention", _user_id(ctx, raw.get("id"))))
            continue
        member = {"Text": "text", "Hashtag": "tag", "Link": "url"}.get(str(kind))
        if member is None:
            raise _invalid_input(f"Unsupported message segment type: {kind}")
        value = raw.get(member)
        if not isinstance(value, str):
            raise _invalid_input(f"A {kind} message segment needs a string '{member}'.")
        segments.append(Segment(str(kind), value))
    if sum(s.type == "Mention" for s in segments) > MAX_MENTIONS:
        raise _invalid_input(f"A post or comment can mention at most {MAX_MENTIONS} users or groups.")
    return tuple(segments)


# ------------------------------------------------------------------------------------- rendering


class _Renderer:
    """Connect representations for one request: its API version, server URL and a user cache."""

    def __init__(self, ctx: ApiContext, request: Request) -> None:
        self.ctx = ctx
        self.server = ctx.state.base_url(request)
        self.now = datetime.now(timezone.utc)
        self._users: dict[str, dict[str, Any]] = {}

    def url(self, path: str) -> str:
        return self.ctx.data_url(path)

    def user_summary(self, user_id: str) -> dict[str, Any]:
        summary = self._users.get(user_id)
        if summary is None:
            row = self.ctx.state.store.get(USER, user_id, USER_FIELDS)
            photo = f"{self.server}/profilephoto/005"
            summary = {
                "additionalLabel": None,
                "communityNickname": row["Alias"],
                "companyName": None,
                "displayName": row["Name"],
                "firstName": row["FirstName"],
                "id": user_id,
                "isActive": bool(row["IsActive"]),
                "isInThisCommunity": True,
                "lastName": row["LastName"],
                "motif": dict(USER_MOTIF),
                "mySubscription": None,
                "name": row["Name"],
                "outOfOffice": {"message": ""},
                "photo": {
                    "largePhotoUrl": f"{photo}/F",
                    "mediumPhotoUrl": f"{photo}/M",
                    "photoVersionId": None,
                    "smallPhotoUrl": f"{photo}/T",
                    "url": self.url(f"/connect/user-profiles/{user_id}/photo"),
                },
                "reputation": None,
                "title": row["Title"],
                "type": "User",
                "url": self.url(f"/chatter/users/{user_id}"),
                "userType": "Internal",
            }
            self._users[user_id] = summary
        return summary

    def record_summary(self, record_id: str) -> dict[str, Any]:
        obj = sobject_for_key_prefix(record_id)
        assert obj is not None  # subjects are resolved on input
        name_fields = _fields(obj, "Name") or _fields(obj, "Title")
        try:
            name = self.ctx.state.store.get(obj, record_id, name_fields).get(name_fields[0].name)
        except ApiError:  # deleted after the post
            name = None
        icon = obj.label_plural.lower().replace(" ", "")
        return {
            "id": record_id,
            "motif": {
                "color": None,
                "largeIconUrl": f"/img/icon/{icon}64.png",
                "mediumIconUrl": f"/img/icon/{icon}32.png",
                "smallIconUrl": f"/img/icon/{icon}16.png",
                "svgIconUrl": None,
            },
            "mySubscription": None,
            "name": name,
            "type": obj.name,
            "url": self.url(f"/chatter/records/{record_id}"),
        }

    def parent(self, parent_id: str) -> dict[str, Any]:
        """A User Summary for a user (not a Record Summary of type User, as documented)."""
        return self.user_summary(parent_id) if parent_id[:3] == USER_PREFIX else self.record_summary(parent_id)

    def parent_reference(self, parent_id: str) -> dict[str, Any]:
        kind = "users" if parent_id[:3] == USER_PREFIX else "records"
        return {"id": parent_id, "url": self.url(f"/chatter/{kind}/{parent_id}")}

    def segment(self, segment: Segment) -> dict[str, Any]:
        if segment.type == "Mention":
            user = self.user_summary(segment.value)
            return {
                "accessible": True,
                "name": user["name"],
                "record": user,
                "text": f"@{user['name']}",
                "type": "Mention",
            }
        if segment.type == "Hashtag":
            topic_url = self.url(f"/connect/topics?exactMatch=true&q={quote(segment.value)}")
            return {"tag": segment.value, "text": f"#{segment.value}", "topicUrl": topic_url, "type": "Hashtag"}
        if segment.type == "Link":
            return {"text": segment.value, "type": "Link", "url": segment.value}
        return {"text": segment.value, "type": "Text"}

    def body(self, segments: tuple[Segment, ...]) -> dict[str, Any]:
        rendered = [self.segment(s) for s in segments]
        return {"isRichText": False, "messageSegments": rendered, "text": "".join(s["text"] for s in rendered)}

    def comment(self, comment: FeedComment, item: FeedItem) -> dict[str, Any]:
        return {
            "body": self.body(comment.segments),
            "capabilities": {},
            "clientInfo": None,
            "createdDate": _iso(comment.created),
            "feedElement": {"id": item.id, "url": self.url(f"/chatter/feed-elements/{item.id}")},
            "id": comment.id,
            "isDeleteRestricted": False,
            "myLike": None,
            "parent": self.parent_reference(item.parent_id),
            "relativeCreatedDate": _relative(comment.created, self.now),
            "threadLevel": 0,
            "threadParentId": None,
            "type": "TextComment",
            "url": self.url(f"/chatter/comments/{comment.id}"),
            "user": self.user_summary(comment.user_id),
        }

    def comment_page(self, item: FeedItem, comments: list[FeedComment], total: int) -> dict[str, Any]:
        return {
            "currentPageToken": None,
            "currentPageUrl": self.url(f"/chatter/feed-elements/{item.id}/capabilities/comments/items"),
            "items": [self.comment(c, item) for c in comments],
            "nextPageToken": None,
            "nextPageUrl": None,
            "previousPageToken": None,
            "previousPageUrl": None,
            "total": total,
        }

    def feed_item(self, item: FeedItem) -> dict[str, Any]:
        comments = self.ctx.state.feeds.comments(item.id)
        modified = comments[-1].created if comments else item.created
        actor = self.user_summary(item.actor_id)
        return {
            "actor": actor,
            "body": self.body(item.segments),
            "capabilities": {
                "comments": {"page": self.comment_page(item, comments[-RECENT_COMMENT_COUNT:], len(comments))}
            },
            "clientInfo": None,
            "createdDate": _iso(item.created),
            "event": False,
            "feedElementType": "FeedItem",
            "hasVerifiedComment": False,
            "id": item.id,
            "isDeleteRestricted": False,
            "isSharable": True,
            "modifiedDate": _iso(modified),
            "originalFeedItem": None,
            "originalFeedItemActor": None,
            "parent": self.parent(item.parent_id),
            "photoUrl": actor["photo"]["smallPhotoUrl"],
            "relativeCreatedDate": _relative(item.created, self.now),
            "type": "TextPost",
            "url": self.url(f"/chatter/feed-elements/{item.id}"),
            "visibility": item.visibility,
        }


def _checked_length(renderer: _Renderer, segments: tuple[Segment, ...]) -> None:
    """The 10,000-character limit applies to the text as posted (a mention counts as ``@Name``)."""
    length = len(renderer.body(segments)["text"])
    if length > MAX_BODY_CHARACTERS:
        raise _invalid_input(
            f"The body can contain at most {MAX_BODY_CHARACTERS:,} characters; this one has {length:,}."
        )


# ------------------------------------------------------------------------------------- endpoints


@api_endpoint
async def post_feed_element(request: Request, ctx: ApiContext) -> Response:
    """POST ``/chatter/feed-elements``: 201 with the new Feed Item."""
    _require_version(ctx, FEED_ELEMENTS_VERSION)
    data = await read_json_object(request, "FeedItemInput")
    if data.get("feedElementType") != "FeedItem":
        raise _invalid_input("feedElementType is required and must be FeedItem.")
    if data.get("subjectId") in (None, ""):
        raise _invalid_input("subjectId is required: the Id of a user, group or record, or me.")
    visibility = data.get("visibility") or "AllUsers"
    if visibility not in VISIBILITIES:
        raise _invalid_input(f"Invalid visibility: {visibility}. Valid values are {', '.join(VISIBILITIES)}.")
    parent_id = _subject_id(ctx, data["subjectId"])
    segments = _segments(ctx, data.get("body"))
    renderer = _Renderer(ctx, request)
    _checked_length(renderer, segments)
    item_id = ctx.state.store.new_ids(FEED_ITEM_PREFIX, 1)[0]
    item = FeedItem(item_id, parent_id, ctx.user_id, segments, str(visibility), renderer.now)
    ctx.state.feeds.add_item(item)
    return json_response(renderer.feed_item(item), status=201)


@api_endpoint
async def feed_element(request: Request, ctx: ApiContext) -> Response:
    """GET ``/chatter/feed-elements/{id}``."""
    _require_version(ctx, FEED_ELEMENTS_VERSION)
    item = _feed_item(ctx, request.path_params["feed_element_id"])
    return json_response(_Renderer(ctx, request).feed_item(item))


@api_endpoint
async def comment_items(request: Request, ctx: ApiContext) -> Response:
    """GET: the feed item's Comment Page; POST ``{"body": {...}}``: 201 with the new Comment."""
    _require_version(ctx, COMMENTS_VERSION)
    item = _feed_item(ctx, request.path_params["feed_element_id"])
    renderer = _Renderer(ctx, request)
    if request.method == "GET":
        comments = ctx.state.feeds.comments(item.id)
        return json_response(renderer.comment_page(item, comments, len(comments)))
    data = await read_json_object(request, "CommentInput")
    segments = _segments(ctx, data.get("body"))
    _checked_length(renderer, segments)
    comment_id = ctx.state.store.new_ids(FEED_COMMENT_PREFIX, 1)[0]
    comment = FeedComment(comment_id, item.id, ctx.user_id, segments, renderer.now)
    ctx.state.feeds.add_comment(comment)
    return json_response(renderer.comment(comment, item), status=201)


def _page_request(request: Request) -> tuple[int, int]:
    """``page`` (a token: the offset) and ``pageSize`` (1-100, default 25)."""
    try:
        offset = int(request.query_params.get("page") or 0)
        size = int(request.query_params.get("pageSize") or DEFAULT_PAGE_SIZE)
    except ValueError:
        raise _invalid_input("page must be a page token and pageSize a number from 1 to 100.") from None
    if offset < 0 or not 1 <= size <= MAX_PAGE_SIZE:
        raise _invalid_input("page must be a page token and pageSize a number from 1 to 100.")
    return offset, size


@api_endpoint
async def record_feed(request: Request, ctx: ApiContext) -> Response:
    """GET ``/chatter/feeds/record/{recordId}/feed-elements``: a Feed Element Page, newest first."""
    _require_version(ctx, FEED_ELEMENTS_VERSION)
    record_id = _subject_id(ctx, request.path_params["record_id"])
    offset, size = _page_request(request)
    items = ctx.state.feeds.feed(record_id)
    renderer = _Renderer(ctx, request)
    base = renderer.url(f"/chatter/feeds/record/{record_id}/feed-elements")
    has_next = offset + size < len(items)
    return json_response(
        {
            "currentPageToken": str(offset) if offset else None,
            "currentPageUrl": f"{base}?page={offset}&pageSize={size}" if offset else base,
            "elements": [renderer.feed_item(i) for i in items[offset : offset + size]],
            "isModifiedToken": None,
            "isModifiedUrl": None,
            "nextPageToken": str(offset + size) if has_next else None,
            "nextPageUrl": f"{base}?page={offset + size}&pageSize={size}" if has_next else None,
            "updatesToken": None,
            "updatesUrl": None,
        }
    )


def get_routes() -> list[BaseRoute]:
    return [
        *routes(FEED_ELEMENTS, post_feed_element, ["POST"]),
        *routes(FEED_ELEMENTS + "/{feed_element_id}", feed_element, ["GET"]),
        *routes(FEED_ELEMENTS + "/{feed_element_id}/capabilities/comments/items", comment_items, ["GET", "POST"]),
        *routes(RECORD_FEED, record_feed, ["GET"]),
    ]
