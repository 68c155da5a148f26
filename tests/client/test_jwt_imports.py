"""PyJWT and cryptography are loaded only when a JWT bearer assertion is signed, not by the client itself.

A fresh interpreter (an import shows only the first time) builds a password-flow ``Client``, and the
async client's module, and logs in against the session's emulator; then it logs in with the JWT flow.
Only the client is imported, not Airflow: Airflow loads cryptography for its own Fernet key, which the
hook-level probe (tests/packaging/test_import_footprint.py) tells apart by importer.

requests and urllib3 import cryptography on their own only through pyOpenSSL, which urllib3 2 never
injects and requests injects only when the ``ssl`` module lacks SNI. The probe imports the HTTP stack
first and records whether it loaded either package; only what our code loads is asserted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import airflow_provider_sfpy

JWT_PACKAGES = ["cryptography", "jwt"]

PROBE = """
import json, os, sys

WATCHED = ("jwt", "cryptography")


def loaded():
    return sorted(name for name in WATCHED if name in sys.modules)


import httpx, requests, requests_toolbelt, tenacity, urllib3  # the HTTP stack on its own

by_http_stack = loaded()
from airflow_provider_sfpy.client import Client
import airflow_provider_sfpy.client.aio

env = os.environ
client = Client(
    env["SFPY_PROBE_USERNAME"],
    env["SFPY_PROBE_PASSWORD"],
    env["SFPY_PROBE_CLIENT_ID"],
    env["SFPY_PROBE_CLIENT_SECRET"],
    login_url=env["SFPY_PROBE_URL"],
)
client.login()
after_password_login = loaded()
Client.with_jwt(
    username=env["SFPY_PROBE_USERNAME"],
    client_id=env["SFPY_PROBE_CLIENT_ID"],
    private_key=env["SFPY_PROBE_JWT_KEY"],
    login_url=env["SFPY_PROBE_URL"],
).login()
found = {"by_http_stack": by_http_stack, "after_password_login": after_password_login, "after_jwt_login": loaded()}
print(json.dumps(found))
"""


def probe(emulator: Any) -> dict[str, list[str]]:
    env = {
        **os.environ,
        "SFPY_PROBE_URL": emulator.base_url,
        "SFPY_PROBE_USERNAME": emulator.username,
        "SFPY_PROBE_PASSWORD": emulator.password,
        "SFPY_PROBE_CLIENT_ID": emulator.client_id,
        "SFPY_PROBE_CLIENT_SECRET": emulator.client_secret,
        "SFPY_PROBE_JWT_KEY": emulator.jwt_private_key_pem,
    }
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=os.path.dirname(os.path.dirname(airflow_provider_sfpy.__file__)),  # measure this checkout's code
    )
    assert result.returncode == 0, result.stderr[-4000:]
    found: dict[str, list[str]] = json.loads(result.stdout.strip().splitlines()[-1])
    return found


def test_a_password_login_loads_no_jwt_code(emulator: Any) -> None:
    found = probe(emulator)
    ours = [name for name in found["after_password_login"] if name not in found["by_http_stack"]]
    assert ours == [], found
    assert found["after_jwt_login"] == JWT_PACKAGES, found  # the probe sees them when they are loaded
