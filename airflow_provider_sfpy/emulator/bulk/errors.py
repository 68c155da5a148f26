"""Bulk API 2.0's three kinds of errors, in Salesforce's shapes.

- Request errors: the REST API's JSON list, with the Bulk API's own upper-cased codes (``INVALIDJOB``,
  ``INVALIDJOBSTATE``, ``INVALIDENTITY``: Bulk API 1.0's exception codes, which 2.0 reports as-is).
- Job failures: the job ends ``Failed`` with an ``errorMessage`` of the form ``Code : message``
  (``InvalidBatch : Field name not found : Foo``), and nothing of its data is applied.
- Record errors: one ``sf__Error`` cell per failed row, ``STATUS_CODE:message:FIELDS --`` (or ``:--``
  when no field is involved), e.g. ``REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --``.
"""

from __future__ import annotations

from collections.abc import Mapping

from airflow_provider_sfpy.emulator.errors import ApiError, json_parser_error, not_found
from airflow_provider_sfpy.emulator.schema import SObjectDef
from airflow_provider_sfpy.emulator.values import BodyLocator, to_storage


class JobFailure(Exception):
    """Processing stops and the job ends ``Failed`` with this ``errorMessage``."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def job_not_found() -> ApiError:
    return not_found()


def invalid_job(message: str) -> ApiError:
    return ApiError(400, "INVALIDJOB", message)


def invalid_job_state(message: str) -> ApiError:
    return ApiError(400, "INVALIDJOBSTATE", message)


def invalid_enum(type_name: str, value: object, raw_body: str, key: str) -> ApiError:
    """A job property outside its enum, reported the way Salesforce's JSON binding rejects it."""
    return json_parser_error(
        f'Cannot deserialize value of type `{type_name}` from String "{value}": value not one of declared '
        f"Enum instance names{BodyLocator(raw_body).suffix(key)}"
    )


def field_not_found(name: str) -> JobFailure:
    return JobFailure(f"InvalidBatch : Field name not found : {name}")


def sf_error(exc: ApiError) -> str:
    """A record error as the ``sf__Error`` cell of ``failedResults``."""
    fields = ",".join(exc.fields or ())
    return f"{exc.error_code}:{exc.message}:{fields} --" if fields else f"{exc.error_code}:{exc.message}:--"


def record_error(obj: SObjectDef, values: Mapping[str, object], exc: ApiError) -> ApiError:
    """The Bulk API's error for a record the store rejected.

    The store validates JSON bodies, so a value of the wrong type comes back as a ``JSON_PARSER_ERROR``
    about a token; CSV has no tokens, and Salesforce reports the field instead:
    ``INVALID_TYPE_ON_FIELD_IN_RECORD:Employees: value not of required type: abc:NumberOfEmployees --``.
    """
    if exc.error_code != "JSON_PARSER_ERROR":
        return exc
    locator = BodyLocator(None)
    for key, raw in values.items():
        f = obj.field(key)
        if f is None:
            continue
        try:
            to_storage(obj, f, raw, locator)
        except ApiError:
            message = f"{f.label or f.name}: value not of required type: {raw}"
            return ApiError(400, "INVALID_TYPE_ON_FIELD_IN_RECORD", message, [f.name])
    return exc
