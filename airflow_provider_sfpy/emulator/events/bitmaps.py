"""The bitmap encoding of ``changedFields``, ``nulledFields`` and ``diffFields`` in change events.

As the Pub/Sub API delivers them ("Event Deserialization Considerations",
https://developer.salesforce.com/docs/platform/pub-sub-api/guide/event-deserialization-considerations.html):
a list of strings whose first element is a hexadecimal bitmap (``0x`` prefix) over the top-level
fields of the event's Avro schema, bit *n* (counting from the least significant) standing for the
field at position *n* (position 0 is ``ChangeEventHeader``); each compound field with changed parts
adds an element ``"<position>-0x<bitmap>"`` whose bitmap counts the fields of its nested record.
Salesforce's documented example is ``['0x650004E0', '4-0x10', '7-0x06']``; its sample decoder
(``ChangeEventHeaderUtility.py`` in forcedotcom/pub-sub-api) reads the hex string into bits and
reverses them, so hex digits are written most significant first, in pairs (uppercase, as in the example).
An empty list means no field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def hex_bitmap(positions: Iterable[int]) -> str:
    """``{1, 3}`` -> ``"0x0A"``: the positions as bits of one number, in an even number of hex digits."""
    number = 0
    for position in positions:
        number |= 1 << position
    digits = format(number, "X")
    if len(digits) % 2:
        digits = "0" + digits
    return "0x" + digits


def encode_field_bitmap(top_level: Iterable[int], nested: Mapping[int, Iterable[int]]) -> list[str]:
    """The bitmap field for top-level positions and, per compound field position, its nested positions."""
    top = sorted(set(top_level))
    parts = {position: sorted(set(children)) for position, children in nested.items()}
    parts = {position: children for position, children in parts.items() if children}
    if not top and not parts:
        return []
    encoded = [hex_bitmap(top)]
    encoded += [f"{position}-{hex_bitmap(children)}" for position, children in sorted(parts.items())]
    return encoded
