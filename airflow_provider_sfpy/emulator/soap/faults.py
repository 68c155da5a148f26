"""SOAP faults with Salesforce's codes, texts and detail elements.

An API fault has a ``faultcode`` of ``sf:<ExceptionCode>``, a ``faultstring`` of ``<ExceptionCode>:
<message>`` and a ``detail`` holding the typed fault (``LoginFault`` for login, ``UnexpectedErrorFault``
otherwise) with ``exceptionCode`` and ``exceptionMessage`` ("API Fault Elements" in
https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_concepts_core_data_objects.htm).
simple-salesforce reads ``sf:exceptionCode``/``sf:exceptionMessage`` and jsforce reads ``faultstring``,
so both are always there. Every fault is answered with HTTP 500, as SOAP 1.1 requires.

The texts are those real orgs send, as reported by their users: INVALID_LOGIN (the login() page),
INVALID_SESSION_ID "Invalid Session ID found in SessionHeader: Illegal Session" (forcedotcom/wsc#56),
UNSUPPORTED_API_VERSION "Invalid Api version specified on URL" (superfell/zkSforce#52), a body the
parser rejects as an unprefixed ``UNKNOWN_EXCEPTION`` carrying the parser's message
(forcedotcom/postman-salesforce-apis#26), and an operation the endpoint does not have as
``soapenv:Client`` "No operation available for request {namespace}name, please check the WSDL for the service."
"""

from __future__ import annotations

from dataclasses import dataclass

FAULT_STATUS = 500
INVALID_LOGIN_MESSAGE = "Invalid username, password, security token; or user locked out."
ILLEGAL_SESSION_MESSAGE = "Invalid Session ID found in SessionHeader: Illegal Session"
UNSUPPORTED_API_VERSION_MESSAGE = "Invalid Api version specified on URL"


@dataclass(frozen=True)
class FaultDetail:
    """The typed API fault inside ``<detail>`` (``LoginFault``, ``UnexpectedErrorFault`` ...)."""

    fault_type: str
    exception_code: str
    exception_message: str


class SoapFault(Exception):
    """A SOAP fault: ``faultcode``, ``faultstring`` and, for API faults, the typed detail."""

    def __init__(self, faultcode: str, faultstring: str, detail: FaultDetail | None = None) -> None:
        super().__init__(faultstring)
        self.faultcode = faultcode
        self.faultstring = faultstring
        self.detail = detail


def api_fault(
    exception_code: str, message: str, fault_type: str = "UnexpectedErrorFault", *, prefixed: bool = True
) -> SoapFault:
    """An API fault; ``prefixed=False`` leaves the ``sf:`` off ``faultcode``, as Salesforce does for
    ``UNKNOWN_EXCEPTION``."""
    faultcode = f"sf:{exception_code}" if prefixed else exception_code
    return SoapFault(faultcode, f"{exception_code}: {message}", FaultDetail(fault_type, exception_code, message))


def invalid_login() -> SoapFault:
    return api_fault("INVALID_LOGIN", INVALID_LOGIN_MESSAGE, "LoginFault")


def invalid_session() -> SoapFault:
    return api_fault("INVALID_SESSION_ID", ILLEGAL_SESSION_MESSAGE)


def unsupported_api_version() -> SoapFault:
    return api_fault("UNSUPPORTED_API_VERSION", UNSUPPORTED_API_VERSION_MESSAGE)


def malformed_request(message: str) -> SoapFault:
    """A body that is not a SOAP 1.1 envelope of well-formed XML."""
    return api_fault("UNKNOWN_EXCEPTION", message, prefixed=False)


def no_operation(namespace: str, name: str) -> SoapFault:
    """An operation this endpoint does not have, or one from another API's namespace."""
    request = f"{{{namespace}}}{name}" if namespace else name
    return SoapFault(
        "soapenv:Client", f"No operation available for request {request}, please check the WSDL for the service."
    )
