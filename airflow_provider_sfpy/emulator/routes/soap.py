"""SOAP API login and logout: ``POST /services/Soap/u/XX.X`` (partner) and ``/services/Soap/c/XX.X``
(enterprise), also under the ``serverUrl`` that login hands out (``.../XX.X/<org id>``).

simple-salesforce (and so the official Airflow provider's ``SalesforceHook``) and jsforce log in this
way by default. Every answer is a SOAP envelope, faults included (HTTP 500): an API version the org
does not serve is UNSUPPORTED_API_VERSION, a broken body or an unknown operation a SOAP fault, never
the REST API's JSON. The calls themselves live in ``emulator/soap/`` (see its package docstring).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from airflow_provider_sfpy.emulator.routes.common import routes
from airflow_provider_sfpy.emulator.soap.apis import SOAP_APIS, SoapApi
from airflow_provider_sfpy.emulator.soap.calls import CallContext, perform
from airflow_provider_sfpy.emulator.soap.envelope import read_call
from airflow_provider_sfpy.emulator.soap.faults import SoapFault, unsupported_api_version
from airflow_provider_sfpy.emulator.soap.messages import fault_response, result_envelope, soap_response
from airflow_provider_sfpy.emulator.state import get_state


def soap_endpoint(api: SoapApi) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        state = get_state(request)
        version = request.path_params["version"]
        try:
            if version not in state.config.api_versions:
                raise unsupported_api_version()
            call = read_call(await request.body(), api)
            body = perform(CallContext(state, state.base_url(request), version), call)
        except SoapFault as fault:
            return fault_response(api, fault)
        return soap_response(result_envelope(api, body))

    return endpoint


def get_routes() -> list[BaseRoute]:
    served: list[BaseRoute] = []
    for api in SOAP_APIS:
        endpoint = soap_endpoint(api)
        served += routes(api.path("{version}"), endpoint, ["POST"])
        served += routes(api.path("{version}") + "/{org_id}", endpoint, ["POST"])
    return served
