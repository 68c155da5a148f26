"""Salesforce Id checksums: the documented 15 -> 18 algorithm, case restoration, Id generation."""

from __future__ import annotations

import pytest

from airflow_provider_sfpy.emulator import ids

# Published examples of the algorithm.
KNOWN = [
    ("a01M00000062mPg", "a01M00000062mPgIAI"),
    ("001M000000qfPyS", "001M000000qfPySIAU"),
    ("a0FE000000D6r3F", "a0FE000000D6r3FMAR"),
    ("0F9E000000092w2", "0F9E000000092w2KAA"),
    ("aaaaaaaaaaaaaaa", "aaaaaaaaaaaaaaaAAA"),
    ("a0D30000001n7Pi", "a0D30000001n7PiEAI"),
    ("a0RE000000IJmcN", "a0RE000000IJmcNMAT"),
]


@pytest.mark.parametrize(("id15", "id18"), KNOWN)
def test_checksum_matches_published_examples(id15: str, id18: str) -> None:
    assert ids.to_18(id15) == id18
    assert ids.to_15(id18) == id15


@pytest.mark.parametrize(("id15", "id18"), KNOWN)
def test_18_char_ids_are_case_insensitive(id15: str, id18: str) -> None:
    assert ids.normalize(id18.lower()) == id18
    assert ids.normalize(id18.upper()) == id18


@pytest.mark.parametrize("bad", ["", "abc", "001M000000qfPy", "001M000000qfPyS!", "001M000000qfPySIA9", "0" * 19])
def test_malformed_ids_are_rejected(bad: str) -> None:
    assert ids.normalize(bad) is None
    with pytest.raises(ValueError):
        ids.to_18(bad)


def test_suffix_claiming_a_capital_digit_is_rejected() -> None:
    # 'B' sets bit 0 of the first chunk, whose first character is the digit 0.
    assert ids.normalize("001M000000qfPySBAU") is None


@pytest.mark.parametrize("start", [0, 61, 62**5 - 2, ids.decode_base62("0LsQ20000"), 62**7 + 12345])
def test_make_ids_agrees_with_make_id_across_block_boundaries(start: int) -> None:
    batch = ids.make_ids("006", start, 5)
    assert batch == [ids.make_id("006", n) for n in range(start, start + 5)]
    for record_id in batch:
        assert len(record_id) == 18 and record_id.startswith("0065g0")
        assert ids.normalize(record_id.lower()) == record_id
        assert ids.counter_of(record_id) in range(start, start + 5)


def test_base62_round_trip() -> None:
    for number in (0, 1, 61, 62, 3843, 10**12):
        assert ids.decode_base62(ids.encode_base62(number)) == number
    with pytest.raises(OverflowError):
        ids.encode_base62(62**9)
