"""Fixtures of the emulator's own tests: an authenticated REST caller over real HTTP."""

from __future__ import annotations

import pytest
from emulator_api import Api

from airflow_provider_sfpy.emulator.testing import RunningEmulator


@pytest.fixture
def api(emulator: RunningEmulator) -> Api:
    return Api(emulator)
