"""Typed page decoding for CSV exports: the same values as the dict path, and records the GC never tracks."""

from __future__ import annotations

import gc
import json

from airflow_provider_sfpy.formats.records import make_row_builder
from airflow_provider_sfpy.formats.typed_records import typed_page_decoder

PAGE = {
    "totalSize": 3,
    "done": False,
    "nextRecordsUrl": "/services/data/v64.0/query/01gX-2",
    "records": [
        {"attributes": {"type": "Account", "url": "/a/1"}, "Id": "001A", "Name": "Acme, \"Inc\"", "Active__c": True,
         "NumberOfEmployees": 12, "AnnualRevenue": 1.5, "BillingAddress": {"city": "Paris"}},
        {"attributes": {"type": "Account", "url": "/a/2"}, "Id": "001B", "Name": "Zed\nCo", "Active__c": None,
         "NumberOfEmployees": None, "AnnualRevenue": None, "BillingAddress": None},
    ],
}  # fmt: skip
FIELDS = ["id", "NAME", "Active__c", "numberofemployees", "AnnualRevenue", "BillingAddress"]


def test_typed_records_give_the_same_rows_as_dicts_with_keys_matched_case_insensitively() -> None:
    typed = typed_page_decoder(FIELDS, PAGE["records"][0])
    assert typed is not None
    page = typed.decode(json.dumps(PAGE).encode())
    assert page["done"] is False and page["nextRecordsUrl"] == PAGE["nextRecordsUrl"] and page["totalSize"] == 3
    by_dict = make_row_builder(FIELDS)
    assert [tuple(typed.row(r)) for r in page["records"]] == [tuple(by_dict(r)) for r in PAGE["records"]]
    assert all(type(r) is typed.record_type for r in page["records"])


def test_typed_records_are_not_tracked_by_the_garbage_collector() -> None:
    typed = typed_page_decoder(FIELDS[:2], PAGE["records"][0])
    assert typed is not None
    records = typed.decode(json.dumps(PAGE).encode())["records"]
    assert not any(gc.is_tracked(r) for r in records)


def test_relationship_paths_and_unknown_fields_keep_the_dict_path() -> None:
    assert typed_page_decoder(["Id", "Account.Name"], PAGE["records"][0]) is None
    assert typed_page_decoder(["Id", "Nope__c"], PAGE["records"][0]) is None
    assert typed_page_decoder(["Id", "ID"], PAGE["records"][0]) is None  # one key twice
    assert typed_page_decoder([], PAGE["records"][0]) is None
