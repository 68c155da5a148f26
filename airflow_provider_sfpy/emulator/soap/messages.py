"""Writing SOAP responses the way Salesforce lays them out, with every value XML-escaped.

Prefixes matter to clients that match tag names literally: simple-salesforce looks for
``sf:exceptionCode`` and ``sessionId``, jsforce matches ``<sessionId>``/``<faultstring>`` with
regular expressions. So results use the API namespace as the *default* namespace (unprefixed
``<loginResponse>``), faults bind the fault namespace to ``sf``, and the envelope is ``soapenv``, as in
responses from real orgs. ElementTree cannot be told to keep those prefixes, hence small templates;
text goes through ``xml.sax.saxutils.escape``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias
from xml.sax.saxutils import escape

from starlette.responses import Response

from airflow_provider_sfpy.emulator.soap.apis import SoapApi
from airflow_provider_sfpy.emulator.soap.envelope import SOAP_ENV_NS
from airflow_provider_sfpy.emulator.soap.faults import FAULT_STATUS, SoapFault

XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
XML_CONTENT_TYPE = "text/xml;charset=UTF-8"
_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'

#: A value in a response: text, a boolean or number, ``None`` (``xsi:nil``), or nested elements.
Value: TypeAlias = str | bool | int | Sequence[tuple[str, "Value"]] | None
Fields = Sequence[tuple[str, Value]]


def _text(value: str | bool | int) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return escape(str(value))


def elements(fields: Fields) -> str:
    """``[("a", 1), ("b", None), ("c", [("d", True)])]`` -> ``<a>1</a><b xsi:nil="true"/><c><d>true</d></c>``."""
    parts: list[str] = []
    for name, value in fields:
        if value is None:
            parts.append(f'<{name} xsi:nil="true"/>')
        elif isinstance(value, (str, bool, int)):
            parts.append(f"<{name}>{_text(value)}</{name}>")
        else:
            parts.append(f"<{name}>{elements(value)}</{name}>")
    return "".join(parts)


def result_envelope(api: SoapApi, body: str) -> bytes:
    """A successful response whose ``Body`` holds ``body`` (elements in the API's namespace)."""
    return (
        f'{_DECLARATION}<soapenv:Envelope xmlns:soapenv="{SOAP_ENV_NS}" xmlns="{api.namespace}"'
        f' xmlns:xsi="{XSI_NS}"><soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>'
    ).encode()


def fault_envelope(api: SoapApi, fault: SoapFault) -> bytes:
    detail = ""
    if fault.detail is not None:
        kind = fault.detail.fault_type
        detail = (
            f'<detail><sf:{kind} xsi:type="sf:{kind}">'
            f"<sf:exceptionCode>{_text(fault.detail.exception_code)}</sf:exceptionCode>"
            f"<sf:exceptionMessage>{_text(fault.detail.exception_message)}</sf:exceptionMessage>"
            f"</sf:{kind}></detail>"
        )
    return (
        f'{_DECLARATION}<soapenv:Envelope xmlns:soapenv="{SOAP_ENV_NS}" xmlns:sf="{api.fault_namespace}"'
        f' xmlns:xsi="{XSI_NS}"><soapenv:Body><soapenv:Fault>'
        f"<faultcode>{_text(fault.faultcode)}</faultcode><faultstring>{_text(fault.faultstring)}</faultstring>"
        f"{detail}</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    ).encode()


def soap_response(content: bytes, status: int = 200) -> Response:
    return Response(content, status_code=status, media_type=XML_CONTENT_TYPE)


def fault_response(api: SoapApi, fault: SoapFault) -> Response:
    return soap_response(fault_envelope(api, fault), FAULT_STATUS)
