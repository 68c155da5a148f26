"""SOAP API login and logout over HTTP: the LoginResult envelope, the same credentials and sessions as
the OAuth password flow, logout ending a session for REST calls too, and every failure as a SOAP fault
(HTTP 500, XML) with Salesforce's ``faultcode``/``faultstring`` and typed detail, never JSON."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from xml.sax.saxutils import escape

import pytest
import requests

from airflow_provider_sfpy.emulator.testing import RunningEmulator, start_emulator

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
PARTNER = "urn:partner.soap.sforce.com"
ENTERPRISE = "urn:enterprise.soap.sforce.com"
XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
VERSION = "62.0"
INVALID_LOGIN = "INVALID_LOGIN: Invalid username, password, security token; or user locked out."
ILLEGAL_SESSION = "Invalid Session ID found in SessionHeader: Illegal Session"
LOGIN_RESULT_FIELDS = [
    "metadataServerUrl",
    "passwordExpired",
    "sandbox",
    "serverUrl",
    "sessionId",
    "userId",
    "userInfo",
]
TOKEN_ORG_USERNAME = "o'neil&sons@sfpy.example"
TOKEN_ORG_SECURITY_TOKEN = "Tk9sfpyTOKEN"


def envelope(operation: str, *, session_id: str | None = None) -> str:
    header = (
        f'<SessionHeader xmlns="{PARTNER}"><sessionId>{session_id}</sessionId></SessionHeader>' if session_id else ""
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><se:Envelope xmlns:se="{SOAP_ENV}">'
        f"<se:Header>{header}</se:Header><se:Body>{operation}</se:Body></se:Envelope>"
    )


def login_envelope(username: str, password: str, namespace: str = PARTNER) -> str:
    """As simple-salesforce sends it: a prefixed operation with prefixed, escaped arguments."""
    return envelope(
        f'<n1:login xmlns:n1="{namespace}"><n1:username>{escape(username)}</n1:username>'
        f"<n1:password>{escape(password)}</n1:password></n1:login>"
    )


def soap_post(
    emulator: RunningEmulator, body: str | bytes, path: str = f"/services/Soap/u/{VERSION}"
) -> requests.Response:
    url = path if path.startswith("http") else emulator.base_url + path
    headers = {"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": '""'}
    return requests.post(url, data=body, headers=headers, timeout=30)


def login(emulator: RunningEmulator, password: str | None = None, **kwargs: str) -> requests.Response:
    return soap_post(emulator, login_envelope(emulator.username, password or emulator.password), **kwargs)


def login_result(response: requests.Response, namespace: str = PARTNER) -> ET.Element:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/xml")
    result = ET.fromstring(response.content).find(
        f"{{{SOAP_ENV}}}Body/{{{namespace}}}loginResponse/{{{namespace}}}result"
    )
    assert result is not None, response.text
    return result


def field(element: ET.Element, name: str, namespace: str = PARTNER) -> str:
    child = element.find(f"{{{namespace}}}{name}")
    assert child is not None, f"no {name}"
    return child.text or ""


def fault(response: requests.Response) -> dict[str, str | None]:
    """``faultcode``, ``faultstring`` and (for API faults) the detail's type, code and message."""
    assert response.status_code == 500, response.text
    assert response.headers["content-type"].startswith("text/xml")
    found = ET.fromstring(response.content).find(f"{{{SOAP_ENV}}}Body/{{{SOAP_ENV}}}Fault")
    assert found is not None, response.text
    detail = found.find("detail")
    typed = detail[0] if detail is not None else None
    return {
        "faultcode": found.findtext("faultcode"),
        "faultstring": found.findtext("faultstring"),
        "detail": typed.tag if typed is not None else None,
        "exceptionCode": typed[0].text if typed is not None else None,
        "exceptionMessage": typed[1].text if typed is not None else None,
    }


def rest_status(emulator: RunningEmulator, token: str) -> int:
    response = requests.get(emulator.data_url("/limits"), headers={"Authorization": f"Bearer {token}"}, timeout=30)
    return response.status_code


@pytest.fixture(scope="module")
def token_org() -> Iterator[RunningEmulator]:
    """An org whose login needs a security token, and whose username needs XML escaping."""
    with start_emulator(username=TOKEN_ORG_USERNAME, security_token=TOKEN_ORG_SECURITY_TOKEN, sample_data=False) as org:
        yield org


# ----------------------------------------------------------------------------------------- login


def test_login_returns_the_login_result(emulator: RunningEmulator) -> None:
    result = login_result(login(emulator))
    org15 = emulator.store.org_id[:15]
    assert [child.tag.split("}")[1] for child in result] == LOGIN_RESULT_FIELDS
    assert field(result, "serverUrl") == f"{emulator.base_url}/services/Soap/u/{VERSION}/{org15}"
    assert field(result, "metadataServerUrl") == f"{emulator.base_url}/services/Soap/m/{VERSION}/{org15}"
    assert field(result, "passwordExpired") == "false"
    assert field(result, "sandbox") == "false"
    assert field(result, "userId") == emulator.state.admin_user_id
    assert field(result, "sessionId").startswith(org15 + "!AQ")


def test_login_user_info_describes_the_user_and_the_org(emulator: RunningEmulator) -> None:
    user_info = login_result(login(emulator)).find(f"{{{PARTNER}}}userInfo")
    assert user_info is not None
    assert field(user_info, "organizationId") == emulator.store.org_id
    assert field(user_info, "userId") == emulator.state.admin_user_id
    assert field(user_info, "userName") == emulator.username
    assert field(user_info, "userEmail") == emulator.username
    assert field(user_info, "userFullName") == "Demo Admin"
    assert field(user_info, "sessionSecondsValid") == "7200"
    assert field(user_info, "organizationName")
    role = user_info.find(f"{{{PARTNER}}}roleId")
    assert role is not None and role.get(XSI_NIL) == "true"


def test_login_session_is_a_rest_bearer_token(emulator: RunningEmulator) -> None:
    session_id = field(login_result(login(emulator)), "sessionId")
    assert rest_status(emulator, session_id) == 200


def test_enterprise_login_answers_in_the_enterprise_namespace(emulator: RunningEmulator) -> None:
    response = soap_post(
        emulator, login_envelope(emulator.username, emulator.password, ENTERPRISE), f"/services/Soap/c/{VERSION}"
    )
    result = login_result(response, ENTERPRISE)
    server_url = field(result, "serverUrl", ENTERPRISE)
    assert server_url == f"{emulator.base_url}/services/Soap/c/{VERSION}/{emulator.store.org_id[:15]}"
    assert rest_status(emulator, field(result, "sessionId", ENTERPRISE)) == 200


def test_login_with_an_unqualified_default_namespace_envelope(emulator: RunningEmulator) -> None:
    """As jsforce sends it: the operation in the default namespace, no prefixes."""
    body = envelope(
        f'<login xmlns="{PARTNER}"><username>{emulator.username}</username>'
        f"<password>{escape(emulator.password)}</password></login>"
    )
    assert field(login_result(soap_post(emulator, body)), "userId") == emulator.state.admin_user_id


def test_username_is_case_insensitive(emulator: RunningEmulator) -> None:
    response = soap_post(emulator, login_envelope(emulator.username.upper(), emulator.password))
    assert field(login_result(response), "userId") == emulator.state.admin_user_id


@pytest.mark.parametrize(
    ("username", "password"),
    [("demo@sfpy.example", "wrong"), ("nobody@sfpy.example", None), ("demo@sfpy.example", ""), ("", "")],
    ids=["wrong-password", "unknown-user", "empty-password", "empty-username"],
)
def test_bad_credentials_are_an_invalid_login_fault(
    emulator: RunningEmulator, username: str, password: str | None
) -> None:
    response = soap_post(emulator, login_envelope(username, emulator.password if password is None else password))
    assert fault(response) == {
        "faultcode": "sf:INVALID_LOGIN",
        "faultstring": INVALID_LOGIN,
        "detail": "{urn:fault.partner.soap.sforce.com}LoginFault",
        "exceptionCode": "INVALID_LOGIN",
        "exceptionMessage": "Invalid username, password, security token; or user locked out.",
    }


def test_enterprise_faults_use_the_enterprise_fault_namespace(emulator: RunningEmulator) -> None:
    response = soap_post(
        emulator, login_envelope(emulator.username, "wrong", ENTERPRISE), f"/services/Soap/c/{VERSION}"
    )
    assert fault(response)["detail"] == "{urn:fault.enterprise.soap.sforce.com}LoginFault"


def test_the_security_token_is_appended_to_the_password(token_org: RunningEmulator) -> None:
    assert fault(login(token_org))["faultcode"] == "sf:INVALID_LOGIN"
    result = login_result(login(token_org, password=token_org.password + TOKEN_ORG_SECURITY_TOKEN))
    assert field(result, "userId") == token_org.state.admin_user_id


def test_values_are_xml_escaped_in_the_result(token_org: RunningEmulator) -> None:
    result = login_result(login(token_org, password=token_org.password + TOKEN_ORG_SECURITY_TOKEN))
    user_info = result.find(f"{{{PARTNER}}}userInfo")
    assert user_info is not None
    assert field(user_info, "userName") == TOKEN_ORG_USERNAME == field(user_info, "userEmail")


def test_an_inactive_user_cannot_log_in(token_org: RunningEmulator) -> None:
    admin = token_org.data_url(f"/sobjects/User/{token_org.state.admin_user_id}")
    headers = token_org.auth_headers()
    assert requests.patch(admin, json={"IsActive": False}, headers=headers, timeout=30).status_code == 204
    try:
        response = login(token_org, password=token_org.password + TOKEN_ORG_SECURITY_TOKEN)
        assert fault(response)["faultcode"] == "sf:INVALID_LOGIN"
    finally:
        assert requests.patch(admin, json={"IsActive": True}, headers=headers, timeout=30).status_code == 204


# ---------------------------------------------------------------------------------------- logout


def test_logout_ends_the_session_for_rest_calls_too(emulator: RunningEmulator) -> None:
    session_id = field(login_result(login(emulator)), "sessionId")
    response = soap_post(emulator, envelope(f'<logout xmlns="{PARTNER}"/>', session_id=session_id))
    assert response.status_code == 200, response.text
    assert ET.fromstring(response.content).find(f"{{{SOAP_ENV}}}Body/{{{PARTNER}}}logoutResponse") is not None
    assert rest_status(emulator, session_id) == 401
    again = soap_post(emulator, envelope(f'<logout xmlns="{PARTNER}"/>', session_id=session_id))
    assert fault(again) == {
        "faultcode": "sf:INVALID_SESSION_ID",
        "faultstring": f"INVALID_SESSION_ID: {ILLEGAL_SESSION}",
        "detail": "{urn:fault.partner.soap.sforce.com}UnexpectedErrorFault",
        "exceptionCode": "INVALID_SESSION_ID",
        "exceptionMessage": ILLEGAL_SESSION,
    }


def test_logout_at_the_server_url_login_handed_out(emulator: RunningEmulator) -> None:
    result = login_result(login(emulator))
    session_id = field(result, "sessionId")
    response = soap_post(
        emulator, envelope(f'<logout xmlns="{PARTNER}"/>', session_id=session_id), field(result, "serverUrl")
    )
    assert response.status_code == 200, response.text
    assert rest_status(emulator, session_id) == 401


def test_logout_ends_an_oauth_session(emulator: RunningEmulator) -> None:
    token = emulator.login()["access_token"]
    response = soap_post(emulator, envelope(f'<logout xmlns="{PARTNER}"/>', session_id=token))
    assert response.status_code == 200, response.text
    assert rest_status(emulator, token) == 401


def test_logout_without_a_session_header_is_an_invalid_session_fault(emulator: RunningEmulator) -> None:
    assert fault(soap_post(emulator, envelope(f'<logout xmlns="{PARTNER}"/>')))["faultcode"] == "sf:INVALID_SESSION_ID"


# ---------------------------------------------------------------------------------------- faults


def test_an_unknown_operation_is_a_soap_fault(emulator: RunningEmulator) -> None:
    response = soap_post(emulator, envelope(f'<getServerTimestamp xmlns="{PARTNER}"/>'))
    assert fault(response) == {
        "faultcode": "soapenv:Client",
        "faultstring": f"No operation available for request {{{PARTNER}}}getServerTimestamp, "
        "please check the WSDL for the service.",
        "detail": None,
        "exceptionCode": None,
        "exceptionMessage": None,
    }


def test_an_operation_of_the_other_api_is_unknown_here(emulator: RunningEmulator) -> None:
    response = soap_post(emulator, login_envelope(emulator.username, emulator.password, ENTERPRISE))
    assert fault(response)["faultstring"] == (
        f"No operation available for request {{{ENTERPRISE}}}login, please check the WSDL for the service."
    )


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not xml at all",
        b"<se:Envelope xmlns:se='http://schemas.xmlsoap.org/soap/envelope/'><se:Body>",
        b"<login xmlns='urn:partner.soap.sforce.com'/>",
        b"<se:Envelope xmlns:se='http://schemas.xmlsoap.org/soap/envelope/'><se:Body/></se:Envelope>",
        b"<se:Envelope xmlns:se='http://schemas.xmlsoap.org/soap/envelope/'><a>&undefined;</a></se:Envelope>",
    ],
    ids=["empty", "not-xml", "truncated", "no-envelope", "empty-body", "undefined-entity"],
)
def test_a_malformed_body_is_a_soap_fault(emulator: RunningEmulator, body: bytes) -> None:
    details = fault(soap_post(emulator, body))
    assert details["faultcode"] == "UNKNOWN_EXCEPTION"
    assert details["exceptionCode"] == "UNKNOWN_EXCEPTION"
    assert details["faultstring"] == f"UNKNOWN_EXCEPTION: {details['exceptionMessage']}"


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE e [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>',
        '<!DOCTYPE e [<!ENTITY b SYSTEM "file:///etc/hostname">]>',
    ],
    ids=["entity-expansion", "external-entity"],
)
def test_a_document_type_declaration_is_refused_unexpanded(emulator: RunningEmulator, doctype: str) -> None:
    body = (
        f'<?xml version="1.0"?>{doctype}<se:Envelope xmlns:se="{SOAP_ENV}"><se:Body><login xmlns="{PARTNER}">'
        "<username>&b;</username><password>x</password></login></se:Body></se:Envelope>"
    )
    response = soap_post(emulator, body)
    details = fault(response)
    assert details["faultcode"] == "UNKNOWN_EXCEPTION"
    assert "DOCTYPE is not allowed" in (details["exceptionMessage"] or "")
    assert "aaaaaaaaaa" not in response.text


@pytest.mark.parametrize("version", ["20.0", "99.0", "latest"])
def test_an_unserved_api_version_is_a_soap_fault(emulator: RunningEmulator, version: str) -> None:
    response = login(emulator, path=f"/services/Soap/u/{version}")
    assert fault(response) == {
        "faultcode": "sf:UNSUPPORTED_API_VERSION",
        "faultstring": "UNSUPPORTED_API_VERSION: Invalid Api version specified on URL",
        "detail": "{urn:fault.partner.soap.sforce.com}UnexpectedErrorFault",
        "exceptionCode": "UNSUPPORTED_API_VERSION",
        "exceptionMessage": "Invalid Api version specified on URL",
    }
