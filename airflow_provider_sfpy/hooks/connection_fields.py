"""The ``sfpy`` connection form: one definition for provider info (Airflow 3.2+) and legacy widgets.

Airflow 3.2+ renders ``conn-fields`` / ``ui-field-behaviour`` from provider metadata without
importing the hook; older 3.x asks the hook's ``get_connection_form_widgets``. Both are built from
``CONN_FIELDS`` below so the two forms can never drift apart. No Airflow imports here: provider
info must stay cheap to load.
"""

from __future__ import annotations

from typing import Any

CONN_TYPE = "sfpy"
AUTH_TYPES = ("password", "jwt", "client_credentials", "refresh_token", "session")

_STR = ["string", "null"]

CONN_FIELDS: dict[str, dict[str, Any]] = {
    "auth_type": {
        "label": "Auth type",
        "description": (
            "OAuth flow: password (username + password), jwt (JWT bearer with a private key), "
            "client_credentials (connected app id + secret, My Domain host), refresh_token, or session "
            "(an existing access token). Left empty, it is inferred from the fields that are filled."
        ),
        # No None in the enum: Airflow's form would list it as a "null" option and preselect it; an
        # empty dropdown (value null, allowed by the type) already means "infer".
        "schema": {"type": _STR, "enum": list(AUTH_TYPES), "default": None},
    },
    "client_id": {
        "label": "Client ID (consumer key)",
        "description": "The connected app's consumer key. Needed by every flow except session.",
        "schema": {"type": _STR},
    },
    "client_secret": {
        "label": "Client secret (consumer secret)",
        "description": "The connected app's consumer secret (password and client_credentials flows).",
        "schema": {"type": _STR, "format": "password"},
    },
    "security_token": {
        "label": "Security token",
        "description": "Appended to the password in the password flow when the org requires it.",
        "schema": {"type": _STR, "format": "password"},
    },
    "private_key": {
        "label": "Private key (PEM)",
        "description": "JWT flow: the PEM private key whose certificate is uploaded to the connected app.",
        "schema": {"type": _STR, "format": "password"},
    },
    "private_key_file": {
        "label": "Private key file",
        "description": "JWT flow: path to the PEM private key on the workers (instead of pasting it).",
        "schema": {"type": _STR},
    },
    "refresh_token": {
        "label": "Refresh token",
        "description": "refresh_token flow: a refresh token issued to the connected app.",
        "schema": {"type": _STR, "format": "password"},
    },
    "instance_url": {
        "label": "Instance URL",
        "description": "session flow: the instance the access token belongs to, e.g. https://acme.my.salesforce.com.",
        "schema": {"type": _STR},
    },
    "access_token": {
        "label": "Access token (session id)",
        "description": "session flow: an existing access token. It cannot be renewed when it expires.",
        "schema": {"type": _STR, "format": "password"},
    },
    "version": {
        "label": "API version",
        "description": "e.g. 62.0. Empty: the highest version the org offers.",
        "schema": {"type": _STR},
    },
    "timeout": {
        "label": "Timeout (seconds)",
        "description": "Read timeout for each request (connect timeout is 10 s). Default 120.",
        "schema": {"type": ["number", "null"]},
    },
    "request_deadline": {
        "label": "Request deadline (seconds)",
        "description": "Longest time one request may take in all, its answer included (a server sending "
        "slowly). Default 900; 0 for no limit.",
        "schema": {"type": ["number", "null"]},
    },
    "max_api_usage": {
        "label": "Max API usage",
        "description": "Stop before the org's daily API requests (shared by all its integrations, counted over "
        "24 hours) pass this: a fraction of the org's allocation (0.8 = 80 %) or a number of requests "
        "(12000). The task fails before sending the request that would pass it. Empty: no limit.",
        "schema": {"type": ["number", "null"]},
    },
    "proxies": {
        "label": "Proxies (JSON)",
        "description": 'e.g. {"https": "http://proxy.internal:3128"}.',
        "schema": {"type": _STR},
    },
    "pubsub_url": {
        "label": "Pub/Sub API endpoint",
        "description": "Where change events and platform events are streamed from (gRPC): "
        "grpcs://api.pubsub.salesforce.com:7443 by default; grpc://host:port for a local emulator without TLS "
        "(loopback hosts only). The CA bundle below is trusted for it too.",
        "schema": {"type": _STR},
    },
    "ca_bundle": {
        "label": "CA bundle path",
        "description": "PEM file of CA certificates to trust (a private CA). TLS verification is always on.",
        "schema": {"type": _STR},
    },
}

UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["schema", "port", "extra"],
    "relabeling": {"host": "Login URL", "login": "Username", "password": "Password"},
    "placeholders": {
        "host": "login.salesforce.com, test.salesforce.com or https://acme.my.salesforce.com",
        "login": "integration.user@acme.com (password and jwt flows)",
        "password": "password flow only",
        "auth_type": "password",
        "client_id": "3MVG9...",
        "private_key_file": "/opt/airflow/secrets/salesforce.key",
        "instance_url": "https://acme.my.salesforce.com",
        "version": "62.0",
        "timeout": "120",
        "request_deadline": "900",
        "max_api_usage": "0.8",
        "proxies": '{"https": "http://proxy:3128"}',
        "pubsub_url": "grpcs://api.pubsub.salesforce.com:7443",
        "ca_bundle": "/etc/ssl/certs/corp-ca.pem",
    },
}
