"""The two formats Bulk API 1.0 speaks about jobs and batches, XML and JSON, and how a call picks one.

The request's ``Content-Type`` decides (``application/json`` or ``application/xml``); a call without
one that says which — a ``GET``, or a batch posted as ``text/csv`` — is answered in JSON for a JSON
job and in XML otherwise, XML being the API's original and default format. The same choice applies
to errors. XML documents use the API's namespace as the default one, as Salesforce's do
(``<jobInfo xmlns="http://www.force.com/2009/06/asyncapi/dataload">``); JSON objects are compact.
Bodies are parsed with the SOAP API's hardened XML reader (no DTD, so no entity tricks) and the REST
API's JSON reader (Salesforce's parser messages). Reference: "Bulk API Request and Response
Formats" / JobInfo, https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/asynch_api_reference_jobinfo.htm
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from airflow_provider_sfpy.emulator.bulk1.errors import Bulk1Error, invalid_xml
from airflow_provider_sfpy.emulator.errors import ApiError
from airflow_provider_sfpy.emulator.responses import dumps
from airflow_provider_sfpy.emulator.routes.json_input import parse_json
from airflow_provider_sfpy.emulator.soap.messages import Fields, elements
from airflow_provider_sfpy.emulator.soap.xml_input import XmlRejected, parse_xml

JSON = "JSON"
XML = "XML"
CSV = "CSV"
ASYNC_NS = "http://www.force.com/2009/06/asyncapi/dataload"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'
MEDIA_TYPES = {JSON: "application/json", XML: "application/xml", CSV: "text/csv"}


def declared_format(request: Request) -> str | None:
    """``JSON`` or ``XML`` when the request's ``Content-Type`` names one, else ``None``."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media.endswith("json"):
        return JSON
    if media.endswith("xml"):
        return XML
    return None


def answer_format(request: Request, job_content_type: str | None = None) -> str:
    """The format of the answer: the request's own, else the job's JSON, else XML."""
    return declared_format(request) or (JSON if job_content_type == JSON else XML)


def xml_document(root: str, fields: Fields, *, nil_namespace: bool = False) -> bytes:
    """``<root xmlns="...dataload">fields</root>`` with the XML declaration."""
    xsi = f' xmlns:xsi="{XSI_NS}"' if nil_namespace else ""
    return f'{DECLARATION}<{root} xmlns="{ASYNC_NS}"{xsi}>{elements(fields)}</{root}>'.encode()


def document_response(fmt: str, root: str, data: object, fields: Fields, status: int = 200) -> Response:
    """``data`` as JSON, or ``fields`` as the XML document ``root``."""
    if fmt == JSON:
        return Response(dumps(data), status_code=status, media_type=MEDIA_TYPES[JSON])
    return Response(xml_document(root, fields), status_code=status, media_type=MEDIA_TYPES[XML])


def error_response(error: Bulk1Error, fmt: str) -> Response:
    code, message = error.exception_code, error.message
    return document_response(
        fmt,
        "error",
        {"exceptionCode": code, "exceptionMessage": message},
        [("exceptionCode", code), ("exceptionMessage", message)],
        status=error.status,
    )


def local_name(tag: str) -> str:
    """``{namespace}name`` -> ``name``."""
    return tag.rpartition("}")[2]


def read_xml(body: bytes) -> ET.Element:
    """The document element of an XML body, or ``InvalidXML`` saying what is wrong with it."""
    try:
        return parse_xml(body)
    except XmlRejected as exc:
        raise invalid_xml(f"Failed to parse XML: {exc}") from None


def read_json(body: bytes, code: str) -> Any:
    """A JSON body, or the error ``code`` with the parser's message (position included)."""
    try:
        return parse_json(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise Bulk1Error(code, "Failed to parse JSON: the body is not valid UTF-8") from None
    except ApiError as exc:
        raise Bulk1Error(code, f"Failed to parse JSON: {exc.message}") from None
