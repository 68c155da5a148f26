"""Salesforce record Ids: 15-character case-sensitive and 18-character case-safe forms.

An Id is a 3-character key prefix (``001`` = Account), 2 pod characters, a reserved ``0`` and a
9-character base-62 counter. The 18-character form appends Salesforce's documented checksum: each
5-character chunk becomes a 5-bit number (bit *i* set when character *i* is an upper-case letter),
which indexes ``A-Z0-5``. Because the suffix records where the capitals are, an 18-character Id read
back in the wrong case can be restored, which is what Salesforce does on input.
"""

from __future__ import annotations

import re

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
CHECKSUM_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
POD = "5g"
COUNTER_WIDTH = 9
_ID_CHARS = re.compile(r"[0-9A-Za-z]{15}(?:[0-9A-Za-z]{3})?")
_CHECKSUM_INDEX = {ch: i for i, ch in enumerate(CHECKSUM_ALPHABET)}


def _chunk_bits(chunk: str) -> int:
    bits = 0
    for position, ch in enumerate(chunk):
        if "A" <= ch <= "Z":
            bits |= 1 << position
    return bits


def checksum(id15: str) -> str:
    """The 3-character case-safe suffix of a 15-character Id."""
    return "".join(CHECKSUM_ALPHABET[_chunk_bits(id15[i : i + 5])] for i in (0, 5, 10))


def to_18(record_id: str) -> str:
    """The 18-character form of a 15- or 18-character Id (raises ``ValueError`` if malformed)."""
    normalized = normalize(record_id)
    if normalized is None:
        raise ValueError(f"malformed Salesforce Id: {record_id!r}")
    return normalized


def to_15(record_id: str) -> str:
    """The case-sensitive 15-character form."""
    return to_18(record_id)[:15]


def normalize(record_id: str) -> str | None:
    """A well-formed Id in canonical 18-character form, or ``None`` when it is not an Id at all.

    15-character Ids are taken as they are (they are case-sensitive); 18-character Ids have the case of
    their first 15 characters restored from the suffix, and are rejected when the suffix does not fit.
    """
    if not _ID_CHARS.fullmatch(record_id):
        return None
    if len(record_id) == 15:
        return record_id + checksum(record_id)
    suffix = record_id[15:].upper()
    chars: list[str] = []
    for chunk_index, suffix_char in enumerate(suffix):
        bits = _CHECKSUM_INDEX.get(suffix_char)
        if bits is None:
            return None
        for position, ch in enumerate(record_id[chunk_index * 5 : chunk_index * 5 + 5]):
            upper = bool(bits & (1 << position))
            if upper and not ch.isalpha():
                return None
            chars.append(ch.upper() if upper else ch.lower())
    id15 = "".join(chars)
    return id15 + suffix


def encode_base62(number: int, width: int = COUNTER_WIDTH) -> str:
    """``number`` in base 62 (``0-9A-Za-z``), left-padded with zeros to ``width`` characters."""
    digits: list[str] = []
    while number:
        number, remainder = divmod(number, 62)
        digits.append(BASE62[remainder])
    encoded = "".join(reversed(digits)).rjust(width, "0")
    if len(encoded) > width:
        raise OverflowError(f"{number} does not fit in {width} base-62 digits")
    return encoded


def decode_base62(text: str) -> int:
    number = 0
    for ch in text:
        number = number * 62 + BASE62.index(ch)
    return number


def make_id(key_prefix: str, counter: int) -> str:
    """The 18-character Id number ``counter`` of the object with ``key_prefix``."""
    id15 = f"{key_prefix}{POD}0{encode_base62(counter)}"
    return id15 + checksum(id15)


_PAIRS = [(a + b, (("A" <= a <= "Z") | (("A" <= b <= "Z") << 1))) for a in BASE62 for b in BASE62]
_SINGLES = [(a, int("A" <= a <= "Z")) for a in BASE62]


def make_ids(key_prefix: str, start: int, count: int) -> list[str]:
    """``make_id`` for ``count`` consecutive counters, several times faster (used to load millions of rows).

    The counter's last 5 characters form the third checksum chunk on their own, so they are assembled
    from precomputed 1- and 2-character tables along with their upper-case bits.
    """
    result: list[str] = []
    append = result.append
    pairs, singles = _PAIRS, _SINGLES
    block = 62**5
    for high in range(start // block, (start + count - 1) // block + 1):
        head = f"{key_prefix}{POD}0{encode_base62(high, COUNTER_WIDTH - 5)}"
        head_sum = checksum(head + "00000")[:2]
        first = max(start, high * block) - high * block
        last = min(start + count, (high + 1) * block) - high * block
        for low in range(first, last):
            one, one_bits = singles[low // 14776336]
            two, two_bits = pairs[(low // 3844) % 3844]
            three, three_bits = pairs[low % 3844]
            append(f"{head}{one}{two}{three}{head_sum}{CHECKSUM_ALPHABET[one_bits | two_bits << 1 | three_bits << 3]}")
    return result


def counter_of(record_id: str) -> int:
    """The counter an emulator-made Id was built from (inverse of ``make_id``)."""
    return decode_base62(record_id[6:15])
