"""A local Salesforce: a real HTTP server over SQLite speaking the documented REST wire protocol.

Any Salesforce client works against it unchanged (OAuth token endpoint, ``/services/data``
resources, SOQL queries with paging, sObject CRUD, upsert, blobs). Start it with the
``sfpy-emulator`` command, ``python -m airflow_provider_sfpy.emulator``, or in tests with
``airflow_provider_sfpy.emulator.testing.start_emulator``. Fault injection and a request log are
available under ``/__emulator__/`` (see ``faults.py``).

Its server and parsers (Starlette, uvicorn, python-multipart, Lark) come with the ``emulator`` extra,
which workers do not need. This module imports none of them, so the ``sfpy-emulator`` command and
``start_emulator`` can name the missing extra instead of failing with a bare ``ModuleNotFoundError``.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence

#: Module the emulator imports -> the distribution that provides it (listed in the ``emulator`` extra).
EXTRA_MODULES = {"starlette": "starlette", "uvicorn": "uvicorn", "python_multipart": "python-multipart", "lark": "lark"}
INSTALL_HINT = "pip install 'airflow-provider-sfpy[emulator]'"


class EmulatorExtraMissingError(ImportError):
    """The ``emulator`` extra is not installed: the message names the missing packages and the install command."""


def missing_extra_packages() -> list[str]:
    """Distributions of the ``emulator`` extra that cannot be imported here (empty when all are present)."""
    return [dist for module, dist in EXTRA_MODULES.items() if importlib.util.find_spec(module) is None]


def require_emulator_extra() -> None:
    """Raise :class:`EmulatorExtraMissingError` unless every package the emulator imports is installed."""
    missing = missing_extra_packages()
    if missing:
        raise EmulatorExtraMissingError(
            f"the Salesforce emulator needs the 'emulator' extra (missing: {', '.join(missing)}); "
            f"install it with: {INSTALL_HINT}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    """The ``sfpy-emulator`` command: checks the extra first, so a worker-only install gets one clear line."""
    try:
        require_emulator_extra()
    except EmulatorExtraMissingError as exc:
        print(f"sfpy-emulator: {exc}", file=sys.stderr)
        return 1
    from airflow_provider_sfpy.emulator.cli import main as serve

    return serve(argv)
