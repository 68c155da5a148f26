"""Provider metadata read by Airflow's ProvidersManager through the ``apache_airflow_provider`` entry point.

Kept free of Airflow imports and of hook imports: Airflow 3.2+ renders the connection form from
``conn-fields`` / ``ui-field-behaviour`` here without importing the hook.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_sfpy.hooks.connection_fields import CONN_FIELDS, CONN_TYPE, UI_FIELD_BEHAVIOUR

PACKAGE_NAME = "airflow-provider-sfpy"
VERSION = "0.1.0"


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": PACKAGE_NAME,
        "name": "Salesforce (sfpy)",
        "description": (
            "Salesforce for Apache Airflow: a SalesforcePy-shaped client with typed errors, retries and "
            "modern OAuth flows, hooks, operators, Bulk API 2.0 with deferrable waits, and a local "
            "Salesforce emulator for offline development and tests."
        ),
        "versions": [VERSION],
        "integrations": [
            {
                "integration-name": "Salesforce (sfpy)",
                "external-doc-url": "https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/",
                "tags": ["service"],
            }
        ],
        "hooks": [
            {
                "integration-name": "Salesforce (sfpy)",
                "python-modules": ["airflow_provider_sfpy.hooks.salesforce"],
            }
        ],
        "operators": [
            {
                "integration-name": "Salesforce (sfpy)",
                "python-modules": [
                    "airflow_provider_sfpy.operators.query_to_file",
                    "airflow_provider_sfpy.operators.sobject",
                    "airflow_provider_sfpy.operators.apex",
                    "airflow_provider_sfpy.operators.approval",
                    "airflow_provider_sfpy.operators.chatter",
                    "airflow_provider_sfpy.operators.wave",
                    "airflow_provider_sfpy.operators.bulk",
                    "airflow_provider_sfpy.operators.bulk_query",
                    "airflow_provider_sfpy.operators.bulk_query_mapped",
                    "airflow_provider_sfpy.operators.platform_event",
                ],
            }
        ],
        "sensors": [
            {"integration-name": "Salesforce (sfpy)", "python-modules": ["airflow_provider_sfpy.sensors.bulk"]}
        ],
        "triggers": [
            {
                "integration-name": "Salesforce (sfpy)",
                "python-modules": [
                    "airflow_provider_sfpy.triggers.bulk",
                    "airflow_provider_sfpy.triggers.change_events",
                ],
            }
        ],
        "extra-links": ["airflow_provider_sfpy.operators.bulk.SalesforceBulkJobLink"],
        "connection-types": [
            {
                "hook-class-name": "airflow_provider_sfpy.hooks.salesforce.SalesforcePyHook",
                "hook-name": "Salesforce (sfpy)",
                "connection-type": CONN_TYPE,
                "conn-fields": CONN_FIELDS,
                "ui-field-behaviour": UI_FIELD_BEHAVIOUR,
            }
        ],
    }
