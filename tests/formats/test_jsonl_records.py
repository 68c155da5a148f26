"""JSON Lines from typed records: byte for byte what the dict path writes, on records chosen to trip it up."""

from __future__ import annotations

import gc
import io
import json
import random
from typing import Any

import msgspec
import pytest

from airflow_provider_sfpy.formats.jsonl_records import jsonl_page_decoder
from airflow_provider_sfpy.formats.writers import JsonLinesRecordWriter


def _user(name: str | None) -> dict[str, Any] | None:
    return None if name is None else {"attributes": {"type": "User", "url": "/u/1"}, "Name": name}


def _account(n: int, owner: str | None) -> dict[str, Any]:
    return {"attributes": {"type": "Account", "url": f"/a/{n}"}, "Name": f"Parent {n}", "Owner": _user(owner)}


def _contact(n: int, **values: Any) -> dict[str, Any]:
    record: dict[str, Any] = {"attributes": {"type": "Contact", "url": f"/services/data/v64.0/sobjects/Contact/{n}"}}
    record.update(
        {
            "Id": f"003{n:015d}",
            "LastName": values.get("LastName", f"L{n}"),
            "Description": values.get("Description"),
            "Amount__c": values.get("Amount__c", n * 1.5),
            "Count__c": values.get("Count__c", n),
            "Active__c": values.get("Active__c", n % 2 == 0),
            "MailingAddress": values.get("MailingAddress"),
            "Account": values.get("Account", _account(n, "Ann" if n % 3 else None)),
        }
    )
    return record


FIRST_PAGE = [_contact(n) for n in range(1, 4)]
TRICKY = [
    _contact(10, LastName="Gárcia ☃ 🚀", Description='line one\r\nline two\t"quoted" \\ back\u2028sep\x00nul\x7f'),
    _contact(11, Amount__c=12345678901234567890.12, Count__c=2**62, Description=None),  # big decimals
    _contact(12, Amount__c=1e16, Count__c=-0.0),
    _contact(13, Amount__c=0.000015, Description="1e16: 0.0000 text that looks like a number"),
    _contact(14, Amount__c=1.5e-7, Account=None),  # null parent
    _contact(15, Account=_account(15, None), MailingAddress={"city": "Paris", "street": '1 rue, "A"'}),
    _contact(16, Active__c=None, Amount__c=None, Count__c=None, LastName=""),
    _contact(17, Description={"attributes": {"type": "X"}, "nested": [1, 2.5, None, {"attributes": {}, "k": "v"}]}),
    _contact(18, Description={"attributes": {"type": "X"}, "big": 1e300}, Amount__c=-2.5e-9),  # both at once
]


def dict_path(records: list[dict[str, Any]]) -> bytes:
    """What ``JsonLinesRecordWriter`` writes for dict records (the path every page took before)."""
    out = io.BytesIO()
    writer = JsonLinesRecordWriter(out)
    writer.write_page(records)
    return out.getvalue()


def typed_path(records: list[dict[str, Any]]) -> tuple[bytes, list[Any]]:
    out = io.BytesIO()
    writer = JsonLinesRecordWriter(out)
    typed = writer.typed_pages(FIRST_PAGE)
    assert typed is not None
    page = typed.decode(json.dumps({"totalSize": len(records), "done": True, "records": records}).encode())
    writer.write_page(page["records"])
    return out.getvalue(), page["records"]


def test_typed_lines_are_byte_for_byte_the_dict_lines_on_tricky_records() -> None:
    written, records = typed_path(TRICKY)
    assert all(type(record) is not dict and not gc.is_tracked(record) for record in records)
    assert written == dict_path(TRICKY)
    lines = written.decode("utf-8").split("\n")
    assert len(lines) == len(TRICKY) + 1 and '"Amount__c": 1.2345678901234567e+19' in lines[1]
    assert '"Amount__c": 1e+16' in lines[2] and '"Amount__c": 1.5e-05' in lines[3]
    text = written.decode()
    assert '"type": "Contact"' not in text and '"type": "User"' not in text and '"type": "X"' not in text


def test_typed_lines_match_the_dict_lines_for_random_numbers_and_text() -> None:
    rng = random.Random(17)
    alphabet = 'aé"\\\n\r\t\x01/ ☃🚀,:{}[]e0.'
    records = [
        _contact(
            n,
            Amount__c=rng.choice([rng.uniform(-1e20, 1e20), rng.uniform(-1, 1) * 10 ** rng.randint(-12, 18), None]),
            Count__c=rng.choice([rng.randint(-(2**63), 2**63 - 1), rng.randint(-1000, 1000)]),
            Description="".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30))),
        )
        for n in range(400)
    ]
    assert typed_path(records)[0] == dict_path(records)


def test_records_of_another_shape_make_their_page_decode_to_dicts() -> None:
    typed = jsonl_page_decoder(FIRST_PAGE)
    assert typed is not None
    extra = {**_contact(20), "Phone": "555"}  # a key the first page did not have (e.g. a TYPEOF branch)
    missing = {key: value for key, value in _contact(21).items() if key != "Description"}
    for odd in (extra, missing):
        page = typed.decode(json.dumps({"totalSize": 1, "done": True, "records": [odd]}).encode())
        assert page["records"] == [odd]  # dicts, written the dict way: nothing dropped, nothing added


def test_first_pages_without_a_common_layout_keep_dicts() -> None:
    assert jsonl_page_decoder([]) is None
    reordered = {key: FIRST_PAGE[1][key] for key in reversed(FIRST_PAGE[1])}
    assert jsonl_page_decoder([FIRST_PAGE[0], reordered]) is None


@pytest.mark.parametrize("records", [FIRST_PAGE, TRICKY[:3]])
def test_row_gives_the_top_level_values_in_field_order(records: list[dict[str, Any]]) -> None:
    typed = jsonl_page_decoder(FIRST_PAGE)
    assert typed is not None
    decoded = typed.decode(msgspec.json.encode({"records": records, "done": True}))["records"]
    names = list(typed.fields)
    for record, original in zip(decoded, records, strict=True):
        row = typed.row(record)
        assert row[names.index("Count__c")] == original["Count__c"]
        assert row[names.index("LastName")] == original["LastName"]
