"""Reading a SOAP 1.1 request: the operation in ``Body`` and the ``SessionHeader`` in ``Header``.

The operation is the first element of ``Body``; its namespace must be the endpoint's API namespace
(partner operations sent to the enterprise endpoint get "No operation available", as on Salesforce).
Arguments and headers are looked up in the API namespace, or unqualified as lenient clients send
them. ``SessionHeader``: https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_header_sessionheader.htm
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from airflow_provider_sfpy.emulator.soap.apis import SoapApi
from airflow_provider_sfpy.emulator.soap.faults import malformed_request, no_operation
from airflow_provider_sfpy.emulator.soap.xml_input import XmlRejected, parse_xml

SOAP_ENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
ENVELOPE = f"{{{SOAP_ENV_NS}}}Envelope"


def split_tag(tag: str) -> tuple[str, str]:
    """``{namespace}local`` -> ``(namespace, local)``; ``local`` -> ``("", local)``."""
    if tag.startswith("{"):
        namespace, _, local = tag[1:].partition("}")
        return namespace, local
    return "", tag


@dataclass(frozen=True)
class SoapCall:
    """One request: the API it was sent to, the operation element and the session it names (if any)."""

    api: SoapApi
    operation: ET.Element
    session_id: str | None

    @property
    def name(self) -> str:
        return split_tag(self.operation.tag)[1]

    def argument(self, name: str) -> str:
        """The text of argument ``name`` ("" when absent or empty)."""
        element = _child(self.operation, self.api, name)
        return (element.text or "") if element is not None else ""


def _child(parent: ET.Element, api: SoapApi, name: str) -> ET.Element | None:
    for tag in (f"{{{api.namespace}}}{name}", name):
        found = parent.find(tag)
        if found is not None:
            return found
    return None


def _session_id(envelope: ET.Element, api: SoapApi) -> str | None:
    header = envelope.find(f"{{{SOAP_ENV_NS}}}Header")
    session_header = _child(header, api, "SessionHeader") if header is not None else None
    session_id = _child(session_header, api, "sessionId") if session_header is not None else None
    if session_id is None:
        return None
    return (session_id.text or "").strip() or None


def read_call(body: bytes, api: SoapApi) -> SoapCall:
    """The call in ``body``, or the ``SoapFault`` Salesforce answers a broken or foreign request with."""
    try:
        envelope = parse_xml(body)
    except XmlRejected as exc:
        raise malformed_request(str(exc)) from None
    if envelope.tag != ENVELOPE:
        raise malformed_request(f"Expected a SOAP 1.1 Envelope ({{{SOAP_ENV_NS}}}Envelope), found {envelope.tag}")
    soap_body = envelope.find(f"{{{SOAP_ENV_NS}}}Body")
    if soap_body is None or len(soap_body) == 0:
        raise malformed_request("The SOAP Envelope has no Body with an operation in it")
    operation = soap_body[0]
    namespace, name = split_tag(operation.tag)
    if namespace != api.namespace:
        raise no_operation(namespace, name)
    return SoapCall(api, operation, _session_id(envelope, api))
