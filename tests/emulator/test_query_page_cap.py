"""Query pages of at most 200 records when the SOQL selects two or more custom long text area fields.

Salesforce caps the batch size so ("Change the Batch Size in Queries", SOQL and SOSL Reference); the
wide benchmark object (``sfpy-emulator --bench-wide-object N``) has such fields (``F003_Textarea__c``,
``F016_Textarea__c``, ...: Long Text Areas of 32,000 characters).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from test_wide_object import wide_org

from airflow_provider_sfpy.client import Client
from airflow_provider_sfpy.emulator.routes.query import is_custom_long_text_area
from airflow_provider_sfpy.emulator.schema import FieldDef

RECORDS = 450
TWO_LONG_TEXTS = "SELECT Id, F003_Textarea__c, F016_Textarea__c FROM Bench_Wide__c"
ONE_LONG_TEXT = "SELECT Id, Name, F003_Textarea__c, F001_String__c FROM Bench_Wide__c"


@pytest.fixture(scope="module")
def wide_client() -> Iterator[Client]:
    with wide_org(RECORDS) as client:
        yield client


def page_sizes(client: Client, resource: str, soql: str, batch_size: int | None) -> list[int]:
    """Records on each page of ``soql`` (``resource``: ``query``, ``queryAll`` or ``tooling/query``), every
    request asking for ``batch_size`` records a page (``None``: no ``Sforce-Query-Options`` header)."""
    headers = {"Sforce-Query-Options": f"batchSize={batch_size}"} if batch_size else {}
    body: dict[str, Any] = client.request("GET", client.data_path(resource), params={"q": soql}, headers=headers).body
    sizes = []
    while True:
        assert body["totalSize"] == RECORDS
        sizes.append(len(body["records"]))
        if body["done"]:
            return sizes
        body = client.request("GET", body["nextRecordsUrl"], headers=headers).body


@pytest.mark.parametrize("batch_size", [2000, None], ids=["batchSize=2000", "no-header"])
@pytest.mark.parametrize("resource", ["query", "queryAll", "tooling/query"])
def test_two_custom_long_text_fields_get_pages_of_200(
    wide_client: Client, resource: str, batch_size: int | None
) -> None:
    assert page_sizes(wide_client, resource, TWO_LONG_TEXTS, batch_size) == [200, 200, 50]


@pytest.mark.parametrize(("batch_size", "expected"), [(2000, [450]), (300, [300, 150]), (None, [450])])
def test_one_custom_long_text_field_gets_the_requested_page_size(
    wide_client: Client, batch_size: int | None, expected: list[int]
) -> None:
    assert page_sizes(wide_client, "query", ONE_LONG_TEXT, batch_size) == expected


@pytest.mark.parametrize(
    ("field", "counts"),
    [
        (FieldDef("Notes__c", "textarea", length=32000), True),
        (FieldDef("Notes__c", "textarea", length=256), True),
        (FieldDef("Short_Notes__c", "textarea", length=255), False),  # a Text Area, not a long one
        (FieldDef("Description", "textarea", length=32000), False),  # standard long text
        (FieldDef("Title__c", "string", length=255), False),
    ],
    ids=["long-text-area", "shortest-long-text-area", "text-area", "standard-description", "text"],
)
def test_only_custom_long_text_areas_count_towards_the_cap(field: FieldDef, counts: bool) -> None:
    assert is_custom_long_text_area(field) is counts
