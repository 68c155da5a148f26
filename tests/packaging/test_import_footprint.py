"""What a worker loads: the provider's task-side modules import nothing of the emulator, and no JWT code
unless the connection uses the JWT flow.

The emulator's server and parsers (Starlette, uvicorn, python-multipart, Lark) are the ``emulator`` extra,
which workers do not install; a task-side import of any of them would fail there. PyJWT and cryptography
are installed everywhere (the JWT bearer flow needs them) but cost every task their import time unless
only that flow loads them. Airflow itself imports part of cryptography (its Fernet key), so for those two
the probe records *who* imported each module: an import hook notes the innermost caller outside the
import machinery and outside PyJWT/cryptography, and only imports made by this package's code count.

Measured in a fresh interpreter (an import is only visible the first time), with an Airflow home of its
own as a worker has. It imports every module the provider registers for tasks (the hook, each operator,
sensor and trigger module, discovered from the package so a new one is covered), then logs in through
the hook with the password flow and runs one query against the session's emulator.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fresh_interpreter import fresh_python

#: Top-level modules only the emulator uses (``multipart`` is python-multipart's old name).
EMULATOR_ONLY = ("starlette", "uvicorn", "multipart", "python_multipart", "lark")
#: Packages only the JWT bearer flow needs.
JWT_ONLY = ("jwt", "cryptography")
#: The Pub/Sub API's libraries (gRPC, Avro): only ``client/pubsub`` imports them, when a trigger or operator
#: that talks to the Pub/Sub API runs (not when its module is imported).
PUBSUB_ONLY = ("grpc", "fastavro")

PROBE = """
import importlib, json, pkgutil, sys

OWN, WATCHED = "airflow_provider_sfpy", {watched!r}
MACHINERY = ("importlib", "_frozen_importlib", "__main__")


def importer_of(frame):
    # The innermost frame that is neither the import machinery nor a watched package: whose code asked for it.
    while frame is not None:
        name = frame.f_globals.get("__name__", "")
        if not name.startswith(MACHINERY) and name.split(".")[0] not in WATCHED:
            return name
        frame = frame.f_back
    return ""


class Attribution:
    def __init__(self):
        self.ours = []

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in WATCHED:
            importer = importer_of(sys._getframe(1))
            if importer == OWN or importer.startswith(OWN + "."):
                self.ours.append(name + " <- " + importer)
        return None


attribution = Attribution()
sys.meta_path.insert(0, attribution)

modules = ["airflow_provider_sfpy.hooks.salesforce"]
for package in ("operators", "sensors", "triggers"):
    found = importlib.import_module(OWN + "." + package)
    modules += [OWN + "." + package + "." + m.name for m in pkgutil.iter_modules(found.__path__)]
for module in modules:
    importlib.import_module(module)
by_imports = list(attribution.ours)

from airflow_provider_sfpy.hooks.salesforce import SalesforcePyHook

client = SalesforcePyHook(sfpy_conn_id="sfpy_default").get_conn()
body, _ = client.query("SELECT Id FROM Account LIMIT 1")

print(json.dumps({{
    "modules": modules,
    "loaded": sorted({{m.split(".")[0] for m in sys.modules}}),
    "jwt_by_imports": by_imports,
    "jwt_by_password_login": attribution.ours[len(by_imports):],
    "records": body["totalSize"],
}}))
"""


@pytest.fixture(scope="module")
def worker(emulator: Any) -> dict[str, Any]:
    """What a fresh worker interpreter loaded: every task-side module imported, then a password login and a query."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW_CONN_SFPY_DEFAULT", json.dumps(emulator.airflow_connection()))
        measured = fresh_python(PROBE.format(watched=set(JWT_ONLY)))
    # The probe covered what it claims to: the hook and every task-side module, then a real login and query.
    assert {f"airflow_provider_sfpy.{m}.bulk" for m in ("operators", "sensors", "triggers")} <= set(measured["modules"])
    assert measured["records"] == 1
    return measured


def test_task_side_modules_import_no_emulator_package(worker: dict[str, Any]) -> None:
    assert [m for m in EMULATOR_ONLY if m in worker["loaded"]] == []


def test_task_side_modules_and_a_rest_query_import_no_pubsub_library(worker: dict[str, Any]) -> None:
    assert [m for m in PUBSUB_ONLY if m in worker["loaded"]] == []


def test_jwt_and_cryptography_are_imported_neither_by_task_side_modules_nor_by_a_password_login(
    worker: dict[str, Any],
) -> None:
    assert worker["jwt_by_imports"] == [], "imported by the provider's task-side modules"
    assert worker["jwt_by_password_login"] == [], "imported by a password-flow login"
