"""Tooling API (``/tooling/query``, ``/tooling/sobjects``).

Not served yet: a placeholder registered in ``app.create_app``.
"""

from __future__ import annotations

from starlette.routing import BaseRoute


def get_routes() -> list[BaseRoute]:
    return []
