"""``Api``: ``requests`` bound to one emulator and one session, for the emulator's own tests."""

from __future__ import annotations

import uuid
from typing import Any

import requests

from airflow_provider_sfpy.emulator.testing import RunningEmulator


class Api:
    """``requests`` bound to one emulator, one API version and one fresh session."""

    def __init__(self, emulator: RunningEmulator, version: str = "62.0") -> None:
        self.emulator = emulator
        self.version = version
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {emulator.login()['access_token']}"

    def url(self, path: str) -> str:
        return path if path.startswith("http") else self.emulator.base_url + self.path(path)

    def path(self, path: str) -> str:
        return path if path.startswith("/services/") else f"/services/data/v{self.version}{path}"

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        # Per request: a session-level ``verify`` loses to REQUESTS_CA_BUNDLE from the environment.
        kwargs.setdefault("verify", self.emulator.verify)
        return self.http.request(method, self.url(path), **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def create(self, sobject: str, record: dict[str, Any]) -> str:
        response = self.post(f"/sobjects/{sobject}/", json=record)
        assert response.status_code == 201, response.text
        record_id: str = response.json()["id"]
        return record_id

    def query(self, soql: str, **kwargs: Any) -> dict[str, Any]:
        response = self.get("/query/", params={"q": soql}, **kwargs)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    @staticmethod
    def error(response: requests.Response) -> dict[str, Any]:
        """The single error of a REST error response (``[{"message", "errorCode"[, "fields"]}]``)."""
        body = response.json()
        assert isinstance(body, list) and len(body) == 1, body
        error: dict[str, Any] = body[0]
        return error


def unique(prefix: str) -> str:
    """A value no other test (of any suite sharing the emulator) uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"
