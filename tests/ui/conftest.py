"""Fixtures for the browser tests: Debian's Chromium driven by Playwright, and one ``airflow api-server``
per module (it is the slow part: ~20 s for ``db migrate`` and startup).

Playwright is imported inside the fixtures so that a module skipped before using them (an Airflow
too old for the UI under test) never needs it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from airflow_ui_server import CHROMIUM_ARGS, AirflowApiServer, ensure_chromium

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, ViewportSize

ROOT = Path(__file__).resolve().parents[2]
VIEWPORT: ViewportSize = {"width": 1280, "height": 900}
ACTION_TIMEOUT_MS = 15_000


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    return ensure_chromium()


@pytest.fixture(scope="module")
def airflow_api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AirflowApiServer]:
    server = AirflowApiServer(tmp_path_factory.mktemp("airflow-ui-home"))
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser(chromium_executable: str) -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_executable, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context (no cookies or storage from other tests) at 1280x900."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    """``docs/img``: the screenshots of the real form shown in the documentation (rewritten each run)."""
    path = ROOT / "docs" / "img"
    path.mkdir(parents=True, exist_ok=True)
    return path
