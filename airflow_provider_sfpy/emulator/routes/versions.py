"""``GET /services/data/`` (the versions this org serves, no auth), ``GET /services/data/vXX.X/`` (the
resource map of one version), and the directory of a resource served only below its own URL.

The resource map lists what the emulator *routes*, computed from the application's routes rather
than from a fixed list: a client that follows it (or a person reading it) never meets a resource
that answers 404, and a route module that starts serving ``/search`` appears in the map without
anyone editing this file. A top-level resource is listed when a route serves its URL or a path
below it. One served only below (``/composite`` has ``/composite/sobjects``, ``/jobs`` has
``/jobs/ingest``) answers ``GET`` with the list of what is under it, as Salesforce documents for
``GET /services/data/vXX.X/composite`` ("Get a List of Composite Resources",
https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_composite_get.htm;
the map itself: "Resources by Version",
https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_discoveryresource.htm).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import Scope

from airflow_provider_sfpy.emulator.responses import json_response
from airflow_provider_sfpy.emulator.routes.common import VERSION_PREFIX, ApiContext, api_endpoint, routes
from airflow_provider_sfpy.emulator.state import get_state

SEASONS = ("Winter", "Spring", "Summer")
DATA_ROOT = VERSION_PREFIX + "/"
#: A route without a method list (a ``Mount``) serves every method.
ANY_METHOD = "*"


def release_label(version: str) -> str:
    """Salesforce's release name of an API version: three releases a year, v20.0 was Winter '11."""
    offset = int(float(version)) - 20
    return f"{SEASONS[offset % 3]} '{11 + offset // 3:02d}"


@dataclass
class ResourceNode:
    """One literal path segment below ``/services/data/vXX.X/``: the methods routed at exactly this
    path, and the literal segments routed below it (paths stop at their first ``{parameter}``)."""

    methods: set[str] = field(default_factory=set)
    children: dict[str, ResourceNode] = field(default_factory=dict)

    @property
    def served(self) -> bool:
        """Some route answers here or somewhere below."""
        return bool(self.methods) or any(child.served for child in self.children.values())

    @property
    def is_directory(self) -> bool:
        """No route answers ``GET`` here, but something below is served: ``GET`` lists it."""
        return not ({"GET", ANY_METHOD} & self.methods) and any(child.served for child in self.children.values())

    def served_children(self) -> list[str]:
        return [name for name, child in self.children.items() if child.served]

    def find(self, path: str) -> ResourceNode | None:
        """The node of a path relative to the version root (``composite/`` or ``jobs``), if any."""
        node: ResourceNode | None = self
        for segment in (s for s in path.split("/") if s):
            node = node.children.get(segment) if node else None
        return node


def resource_tree(app_routes: Iterable[BaseRoute]) -> ResourceNode:
    """The literal resource paths of ``app_routes`` under ``/services/data/vXX.X/``, as a tree."""
    root = ResourceNode()
    for route in app_routes:
        path = getattr(route, "path", None)
        if not isinstance(path, str) or not path.startswith(DATA_ROOT):
            continue
        node = root
        for segment in (s for s in path[len(DATA_ROOT) :].split("/") if s):
            if "{" in segment:
                break
            node = node.children.setdefault(segment, ResourceNode())
        else:
            methods = getattr(route, "methods", None)
            node.methods |= set(methods) if methods else {ANY_METHOD}
    return root


_TREES: weakref.WeakKeyDictionary[Any, ResourceNode] = weakref.WeakKeyDictionary()


def tree_of(app: Any) -> ResourceNode:
    """The resource tree of a Starlette application, built once (its routes are fixed by then)."""
    tree = _TREES.get(app)
    if tree is None:
        tree = _TREES[app] = resource_tree(app.routes)
    return tree


async def list_versions(request: Request) -> Response:
    versions = get_state(request).config.api_versions
    return json_response([{"label": release_label(v), "url": f"/services/data/v{v}", "version": v} for v in versions])


@api_endpoint
async def resources(request: Request, ctx: ApiContext) -> Response:
    body = {name: ctx.data_url(f"/{name}") for name in tree_of(request.app).served_children()}
    org_id = ctx.state.store.org_id
    body["identity"] = f"{ctx.state.base_url(request)}/id/{org_id}/{ctx.user_id}"
    return json_response(body)


@api_endpoint
async def directory(request: Request, ctx: ApiContext) -> Response:
    path = request.path_params["path"].strip("/")
    node = tree_of(request.app).find(path)
    names = node.served_children() if node else []
    return json_response({name: ctx.data_url(f"/{path}/{name}") for name in names})


class DirectoryRoute(Route):
    """``GET`` on a resource served only below its URL. It matches no other path, and defers to any
    other route that fully matches, so it never shadows a real resource wherever it sits in the list."""

    def __init__(self) -> None:
        super().__init__(DATA_ROOT + "{path:path}", directory, methods=["GET"])

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child_scope = super().matches(scope)
        if match is Match.NONE:
            return match, child_scope
        app = scope["app"]
        node = tree_of(app).find(child_scope["path_params"]["path"])
        if node is None or not node.is_directory:
            return Match.NONE, {}
        if match is Match.PARTIAL and node.methods:
            return Match.NONE, {}  # another method at a routed path: its own route answers (or says 405)
        others = (route for route in app.routes if not isinstance(route, DirectoryRoute))
        if any(route.matches(scope)[0] is Match.FULL for route in others):
            return Match.NONE, {}
        return match, child_scope


def get_routes() -> list[BaseRoute]:
    return [
        *routes("/services/data/", list_versions, ["GET"]),
        *routes(VERSION_PREFIX + "/", resources, ["GET"]),
        DirectoryRoute(),
    ]
