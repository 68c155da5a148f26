"""Salesforce's REST error shapes, as exceptions the store and the routes raise.

REST API errors are a JSON *list* of ``{"message", "errorCode"[, "fields"]}`` objects; OAuth errors
are a single ``{"error", "error_description"}`` object. Raising these from anywhere (the store's
validation included) and rendering them in one place keeps every error body byte-compatible with
what clients parse.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.responses import Response

from airflow_provider_sfpy.emulator.responses import json_response

NOT_FOUND_MESSAGE = "The requested resource does not exist"


class ApiError(Exception):
    """One REST API error: HTTP status, Salesforce error code, message and (for DML) the fields."""

    def __init__(
        self,
        status: int,
        error_code: str,
        message: str,
        fields: Sequence[str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{error_code}: {message}")
        self.status = status
        self.error_code = error_code
        self.message = message
        self.fields = list(fields) if fields is not None else None
        self.headers = headers or {}

    def to_json(self) -> dict[str, object]:
        body: dict[str, object] = {"message": self.message, "errorCode": self.error_code}
        if self.fields is not None:
            body["fields"] = self.fields
        return body

    def response(self) -> Response:
        return json_response([self.to_json()], status=self.status, headers=self.headers)


def not_found(message: str = NOT_FOUND_MESSAGE) -> ApiError:
    return ApiError(404, "NOT_FOUND", message)


def invalid_session() -> ApiError:
    return ApiError(401, "INVALID_SESSION_ID", "Session expired or invalid", headers={"WWW-Authenticate": "Token"})


def json_parser_error(message: str) -> ApiError:
    return ApiError(400, "JSON_PARSER_ERROR", message)


class OAuthError(Exception):
    """An OAuth endpoint error: ``{"error": ..., "error_description": ...}`` (HTTP 400 by default)."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status

    def response(self) -> Response:
        return json_response({"error": self.error, "error_description": self.description}, status=self.status)
