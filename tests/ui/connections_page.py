"""Page objects for Admin → Connections in Airflow 3.3's React UI, as an admin uses it.

What the UI looks like (Airflow 3.3):

* ``/connections`` lists connections; "Add Connection" opens a dialog (there is no add-connection URL).
* The dialog: "Connection ID", a "Connection Type" combobox (react-select: type to filter, pick the
  option by hook name), then three accordion sections of which one is open at a time: "Standard
  Fields" (description, host, login, password, port, schema; relabeled, given placeholders or hidden
  by ``ui-field-behaviour``), "Extra Fields" (one input per ``conn-fields`` entry, named
  ``element_<key>``) and "Extra Fields JSON" (shown even when ``extra`` is in hidden-fields).
* The dialog only saves. "Test Connection" is an icon button on the connection's row in the list; it
  tests the saved connection and reports through a toast ("Test Connection Successful" / "Test
  Connection Failed", with the hook's message as its description).
* Extra-field ``<label>`` elements are mostly not associated with their inputs (``for`` names another
  id), so an extra field is found by its ``name="element_<key>"`` input (text, password, number, or
  the hidden input of a dropdown) and read through the field group around it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from playwright.sync_api import Locator, Page, Response, Route, expect

STANDARD_FIELDS = "Standard Fields"
EXTRA_FIELDS = "Extra Fields"
TEST_SUCCESS = "Test Connection Successful"
TEST_FAILURE = "Test Connection Failed"
TOAST_TIMEOUT_MS = 20_000


def fix_portless_connection_test(route: Route) -> None:
    """Send ``port: null`` instead of ``port: 0`` when the UI tests a connection without a port.

    Airflow 3.3.2's Test button posts ``port: Number(connection.port)``, which is ``0`` for a stored
    NULL, and the API then refuses to reuse the stored (masked) secrets for "a different port":
    every port-less connection fails its Test with "400 Bad Request". Fixed upstream in
    apache/airflow#73298; until the pinned Airflow has it, the browser sends what the UI means.
    """
    body = route.request.post_data_json
    if isinstance(body, dict) and body.get("port") == 0:
        route.continue_(post_data=json.dumps({**body, "port": None}))
    else:
        route.continue_()


@dataclass(frozen=True)
class ExtraField:
    """One ``conn-fields`` entry as rendered in the "Extra Fields" section."""

    group: Locator
    input: Locator

    @property
    def label(self) -> Locator:
        return self.group.locator('[data-part="label"]')

    @property
    def help_text(self) -> Locator:
        return self.group.locator('[data-part="helper-text"]')


class ConnectionDialog:
    """The "Add Connection" / "Edit Connection" dialog."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.root = page.get_by_role("dialog")

    def section_trigger(self, name: str) -> Locator:
        return self.root.get_by_role("button", name=name, exact=True)

    def section(self, name: str) -> Locator:
        """An accordion section's content. (Not by its region role: the "Extra Fields" region's
        ``aria-labelledby`` names an id with a space in it, so that region has no usable name.)"""
        trigger = self.page.get_by_role("button", name=name, exact=True)  # `has=` locators are relative
        item = self.root.locator('[data-scope="accordion"][data-part="item"]').filter(has=trigger)
        return item.locator('[data-scope="accordion"][data-part="item-content"]')

    def open_section(self, name: str) -> Locator:
        """Expand an accordion section (which collapses the open one); returns its content."""
        trigger = self.section_trigger(name)
        if trigger.get_attribute("aria-expanded") != "true":
            trigger.click()
        expect(trigger).to_have_attribute("aria-expanded", "true")
        return self.section(name)

    def choose_type(self, hook_name: str, search: str) -> None:
        self.root.get_by_role("combobox", name="Connection Type").fill(search)
        self.page.get_by_role("option", name=hook_name, exact=True).click()
        expect(self.section_trigger(STANDARD_FIELDS)).to_be_visible()

    def standard_input(self, label: str) -> Locator:
        """A standard field's input by its (possibly relabeled) label; opens "Standard Fields"."""
        return self.open_section(STANDARD_FIELDS).get_by_label(label, exact=True)

    def standard_labels(self) -> Locator:
        """The labels of the standard fields shown; opens "Standard Fields"."""
        return self.open_section(STANDARD_FIELDS).locator("label")

    def extra_field(self, key: str) -> ExtraField:
        """A ``conn-fields`` entry by its key; opens "Extra Fields"."""
        section = self.open_section(EXTRA_FIELDS)
        named = f'[name="element_{key}"]'
        group = section.locator('[data-scope="field"][data-part="root"]').filter(
            has=self.page.locator(named)  # `has=` locators are relative to the group
        )
        return ExtraField(group=group, input=group.locator(named))

    def extra_field_names(self) -> list[str]:
        """The ``conn-fields`` keys rendered in "Extra Fields", in order."""
        inputs = self.open_section(EXTRA_FIELDS).locator('[name^="element_"]')
        expect(inputs.first).to_be_attached()
        return [name.removeprefix("element_") for name in inputs.evaluate_all("found => found.map(e => e.name)")]

    def auth_type_dropdown(self) -> Locator:
        """The "Auth type" select (a react-select; ``extra_field("auth_type").input`` is its hidden input)."""
        return self.extra_field("auth_type").group.locator("#element_auth_type")

    def auth_type_options(self) -> list[str]:
        """The choices the "Auth type" dropdown offers (opens and closes it)."""
        self.auth_type_dropdown().click()
        options = self.page.get_by_role("option")
        expect(options.first).to_be_visible()
        names = [text.strip() for text in options.all_inner_texts()]
        # Close the menu by clicking away: Escape would close the whole dialog too.
        self.root.get_by_role("heading").click()
        expect(options).to_have_count(0)
        expect(self.root).to_be_visible()
        return names

    def select_auth_type(self, value: str) -> None:
        self.auth_type_dropdown().click()
        self.page.get_by_role("option", name=value, exact=True).click()
        expect(self.extra_field("auth_type").input).to_have_value(value)

    def fill_standard(self, **values: str) -> None:
        """``fill_standard(**{"Login URL": ..., "Username": ...})``: by label."""
        for label, value in values.items():
            self.standard_input(label).fill(value)

    def fill_extras(self, **values: str) -> None:
        for key, value in values.items():
            self.extra_field(key).input.fill(value)

    def save(self) -> None:
        self.root.get_by_role("button", name="Save").click()
        expect(self.root).to_be_hidden()


class ConnectionsPage:
    """``/connections``: the list, its "Add Connection" button and the per-row actions."""

    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url.rstrip("/")
        self.add_button = page.get_by_role("button", name="Add Connection")

    def goto(self) -> None:
        self.page.goto(f"{self.base_url}/connections")
        expect(self.add_button).to_be_visible()

    def navigate_from_home(self) -> None:
        """Home → Admin → Connections, through the navigation menu."""
        self.page.goto(self.base_url)
        self.page.get_by_role("button", name="Admin").click()
        self.page.get_by_role("menuitem", name="Connections").click()
        expect(self.add_button).to_be_visible()

    def add(self) -> ConnectionDialog:
        self.add_button.click()
        dialog = ConnectionDialog(self.page)
        expect(dialog.root.get_by_role("heading", name="Add Connection")).to_be_visible()
        return dialog

    def row(self, conn_id: str) -> Locator:
        return self.page.get_by_role("row").filter(has=self.page.get_by_role("cell", name=conn_id, exact=True))

    def edit(self, conn_id: str) -> ConnectionDialog:
        self.row(conn_id).get_by_role("button", name="Edit Connection").click()
        dialog = ConnectionDialog(self.page)
        expect(dialog.root.get_by_role("heading", name="Edit Connection")).to_be_visible()
        return dialog

    def test(self, conn_id: str) -> Locator:
        """Press the row's Test button; returns the toast that reports the outcome.

        The toast is told apart from older ones by the API's answer: the hook's message when the
        test ran, else the newest "Test Connection Failed" toast (the request itself was refused).
        """
        with self.page.expect_response(_is_connection_test, timeout=TOAST_TIMEOUT_MS) as response_info:
            self.row(conn_id).get_by_role("button", name="Test Connection").click()
        response = response_info.value
        message = response.json().get("message") if response.ok else None
        statuses = self.page.get_by_role("status")
        toast = (statuses.filter(has_text=message) if message else statuses.filter(has_text=TEST_FAILURE)).first
        expect(toast).to_be_visible(timeout=TOAST_TIMEOUT_MS)
        toast.hover()  # toasts last two seconds; hovering pauses them for assertions and screenshots
        return toast


def _is_connection_test(response: Response) -> bool:
    return response.request.method == "POST" and response.url.endswith("/api/v2/connections/test")
