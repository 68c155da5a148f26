"""The version resource map lists only what the emulator serves, computed from its routes.

Salesforce's map (``GET /services/data/vXX.X/``) names each resource and its URL; a client or a person
following it must never meet a 404. A resource served only below its URL (``/composite`` has
``/composite/sobjects``) answers ``GET`` with the list of what is under it, as Salesforce does.
"""

from __future__ import annotations

import pytest
from emulator_api import Api
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from airflow_provider_sfpy.emulator.routes.common import VERSION_PREFIX
from airflow_provider_sfpy.emulator.routes.versions import resource_tree

#: Served today by the emulator's own route modules; search, tooling query... join as they land.
SERVED = (
    "sobjects", "query", "queryAll", "limits", "composite", "chatter", "wave", "jobs", "tooling", "process", "search",
    "parameterizedSearch",
)  # fmt: skip
#: Advertised by the old fixed list although nothing served them.
NEVER_SERVED = ("recent", "tabs", "theme", "metadata", "eclair", "appMenu", "licensing", "knowledgeManagement")


def _is_not_served(response_status: int, body: object) -> bool:
    codes = {e.get("errorCode") for e in body if isinstance(e, dict)} if isinstance(body, list) else set()
    return response_status == 404 or "NOT_FOUND" in codes


def test_every_advertised_resource_is_served(api: Api) -> None:
    resource_map = api.get("/").json()
    assert set(SERVED) <= set(resource_map)
    for name, url in resource_map.items():
        response = api.get(url)
        body = response.json() if response.headers.get("content-type", "").startswith("application/json") else None
        # A resource may want parameters (query without q is a 400): only "does not exist" means not served.
        assert not _is_not_served(response.status_code, body), f"{name} -> {url}: {response.status_code} {body}"


def test_resources_nothing_serves_are_not_advertised(api: Api) -> None:
    resource_map = api.get("/").json()
    assert not set(NEVER_SERVED) & set(resource_map)
    assert resource_map["composite"] == "/services/data/v62.0/composite"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/composite", {"sobjects": "/services/data/v62.0/composite/sobjects"}),
        ("/jobs/", {"ingest": "/services/data/v62.0/jobs/ingest", "query": "/services/data/v62.0/jobs/query"}),
        ("/process", {"approvals": "/services/data/v62.0/process/approvals"}),
    ],
)
def test_resource_served_only_below_lists_what_is_under_it(api: Api, path: str, expected: dict[str, str]) -> None:
    response = api.get(path)
    assert response.status_code == 200, response.text
    assert expected.items() <= response.json().items()
    for url in response.json().values():
        assert not _is_not_served(api.get(url).status_code, None), url


def test_directories_follow_the_rules_of_every_data_resource(api: Api) -> None:
    assert api.get("/services/data/v99.0/composite").status_code == 404  # a version the org does not serve
    assert api.request("PUT", "/jobs").status_code == 405
    assert api.get("/composite/nothing-here").status_code == 404
    anonymous = api.http.get(
        api.url("/composite"), headers={"Authorization": ""}, timeout=30, verify=api.emulator.verify
    )
    assert anonymous.status_code == 401


async def _endpoint(request: Request) -> Response:
    return Response()


def test_map_follows_the_routes_as_modules_add_them() -> None:
    before = resource_tree([Route(VERSION_PREFIX + "/query", _endpoint)])
    after = resource_tree(
        [
            Route(VERSION_PREFIX + "/query", _endpoint),
            Route(VERSION_PREFIX + "/search", _endpoint),
            Route(VERSION_PREFIX + "/tooling/query", _endpoint),
            Route(VERSION_PREFIX + "/tooling/sobjects/{name}", _endpoint),  # /tooling/sobjects itself: 404
            Route(VERSION_PREFIX + "/feeds/{id}/items", _endpoint),
        ]
    )
    assert before.served_children() == ["query"]
    assert after.served_children() == ["query", "search", "tooling"]
    tooling = after.find("tooling")
    assert tooling is not None and tooling.is_directory and tooling.served_children() == ["query"]
    query = after.find("query")
    assert query is not None and not query.is_directory
