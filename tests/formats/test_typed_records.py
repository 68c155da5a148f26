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
    typed = typed_page_decoder(FIELDS, PAGE["records"])
    assert typed is not None
    page = typed.decode(json.dumps(PAGE).encode())
    assert page["done"] is False and page["nextRecordsUrl"] == PAGE["nextRecordsUrl"] and page["totalSize"] == 3
    by_dict = make_row_builder(FIELDS)
    assert [tuple(typed.row(r)) for r in page["records"]] == [tuple(by_dict(r)) for r in PAGE["records"]]
    assert all(type(r) is typed.record_type for r in page["records"])


def test_typed_records_are_not_tracked_by_the_garbage_collector() -> None:
    typed = typed_page_decoder(FIELDS[:2], PAGE["records"])
    assert typed is not None
    records = typed.decode(json.dumps(PAGE).encode())["records"]
    assert not any(gc.is_tracked(r) for r in records)


def test_unknown_or_repeated_fields_keep_the_dict_path() -> None:
    assert typed_page_decoder(["Id", "Nope__c"], PAGE["records"]) is None
    assert typed_page_decoder(["Id", "ID"], PAGE["records"]) is None  # one key twice
    assert typed_page_decoder(["Id", "Name.First"], PAGE["records"]) is None  # a value is not a parent
    assert typed_page_decoder([], PAGE["records"]) is None


def _contact(n: int, account: dict[str, object] | None) -> dict[str, object]:
    return {
        "attributes": {"type": "Contact", "url": f"/c/{n}"},
        "Id": f"003{n}",
        "LastName": f"L{n}",
        "Account": account,
    }


def _account(name: str, owner: str | None) -> dict[str, object]:
    owner_record = None if owner is None else {"attributes": {"type": "User", "url": "/u"}, "Name": owner}
    return {"attributes": {"type": "Account", "url": "/a"}, "Name": name, "Owner": owner_record}


CONTACTS = [_contact(1, None), _contact(2, _account("Acme", None)), _contact(3, _account("Zed", "Ann"))]
PATHS = ["account.name", "Id", "Account.Owner.NAME", "lastname"]


def test_relationship_paths_become_nested_structs_with_the_same_rows_as_dicts() -> None:
    typed = typed_page_decoder(PATHS, CONTACTS)
    assert typed is not None
    page = typed.decode(json.dumps({"totalSize": 3, "done": True, "records": CONTACTS}).encode())
    by_dict = make_row_builder(PATHS)
    assert [list(typed.row(r)) for r in page["records"]] == [list(by_dict(r)) for r in CONTACTS]
    assert [list(typed.row(r)) for r in page["records"]][2] == ["Zed", "0033", "Ann", "L3"]
    assert not any(gc.is_tracked(r) for r in page["records"])


def test_a_parent_null_in_every_sample_keeps_the_dict_path() -> None:
    assert typed_page_decoder(PATHS, CONTACTS[:2]) is None  # no sample has an Account with an Owner


def test_a_page_that_does_not_fit_the_types_is_decoded_to_dicts() -> None:
    typed = typed_page_decoder(PATHS, CONTACTS)
    assert typed is not None
    odd = {"totalSize": 1, "done": True, "records": [_contact(9, {"Name": "A", "Owner": "not an object"})]}
    page = typed.decode(json.dumps(odd).encode())
    assert page == odd  # plain dicts: the writer then takes its dict path for this page
