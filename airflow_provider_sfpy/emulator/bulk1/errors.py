"""Bulk API 1.0's request errors: ``exceptionCode`` and ``exceptionMessage``, in XML or JSON.

Unlike the REST API's JSON list, a refused Bulk API 1.0 call answers one object, in the format the
call was made in::

    <error xmlns="http://www.force.com/2009/06/asyncapi/dataload">
      <exceptionCode>InvalidSessionId</exceptionCode><exceptionMessage>Invalid session id</exceptionMessage>
    </error>

or ``{"exceptionCode": "InvalidSessionId", "exceptionMessage": "Invalid session id"}``, with HTTP 400
for every code, a bad session included (clients such as simple-salesforce surface it as a malformed
request; Apache Camel's Bulk client re-logs in on exactly that 400). The codes are the guide's
"Errors" page: https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/asynch_api_reference_errors.htm
"""

from __future__ import annotations

BAD_REQUEST = 400


class Bulk1Error(Exception):
    """A refused Bulk API 1.0 request: HTTP status, ``exceptionCode`` and ``exceptionMessage``."""

    def __init__(self, exception_code: str, message: str, status: int = BAD_REQUEST) -> None:
        super().__init__(f"{exception_code}: {message}")
        self.status = status
        self.exception_code = exception_code
        self.message = message


def invalid_session() -> Bulk1Error:
    return Bulk1Error("InvalidSessionId", "Invalid session id")


def invalid_url(message: str) -> Bulk1Error:
    return Bulk1Error("InvalidUrl", message, status=404)


def invalid_job(message: str) -> Bulk1Error:
    return Bulk1Error("InvalidJob", message)


def invalid_job_state(message: str) -> Bulk1Error:
    return Bulk1Error("InvalidJobState", message)


def invalid_batch(message: str) -> Bulk1Error:
    return Bulk1Error("InvalidBatch", message)


def invalid_entity(message: str) -> Bulk1Error:
    return Bulk1Error("InvalidEntity", message)


def invalid_xml(message: str) -> Bulk1Error:
    return Bulk1Error("InvalidXML", message)
