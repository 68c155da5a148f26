"""The two SOAP APIs the emulator serves: partner (``/services/Soap/u/``) and enterprise (``/services/Soap/c/``).

They differ, for login and logout, only in their namespaces and URL letter: Salesforce's Bulk API
quick start (https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/asynch_api_quickstart_login.htm)
names ``Soap/u/`` for the partner WSDL and ``Soap/c/`` for the enterprise WSDL.
"""

from __future__ import annotations

from dataclasses import dataclass

from airflow_provider_sfpy.emulator import ids


@dataclass(frozen=True)
class SoapApi:
    """One SOAP API: its WSDL name (``partner``/``enterprise``) and its URL letter (``u``/``c``)."""

    name: str
    letter: str

    @property
    def namespace(self) -> str:
        """Where its operations and headers live (``urn:partner.soap.sforce.com``)."""
        return f"urn:{self.name}.soap.sforce.com"

    @property
    def fault_namespace(self) -> str:
        """Where its fault details live, bound to the ``sf`` prefix in faults."""
        return f"urn:fault.{self.name}.soap.sforce.com"

    def path(self, version: str) -> str:
        return f"/services/Soap/{self.letter}/{version}"

    def server_url(self, base_url: str, version: str, org_id: str) -> str:
        """LoginResult's ``serverUrl``: this API on the instance, followed by the 15-character org Id."""
        return f"{base_url}{self.path(version)}/{ids.to_15(org_id)}"


PARTNER = SoapApi("partner", "u")
ENTERPRISE = SoapApi("enterprise", "c")
SOAP_APIS = (PARTNER, ENTERPRISE)


def metadata_server_url(base_url: str, version: str, org_id: str) -> str:
    """LoginResult's ``metadataServerUrl`` (the Metadata API itself is not emulated)."""
    return f"{base_url}/services/Soap/m/{version}/{ids.to_15(org_id)}"
