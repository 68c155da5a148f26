"""Decoding SOQL string literals.

SOQL escapes are backslash sequences (``\\'``, ``\\n``, ``\\\\`` ...). ``\\%`` and ``\\_`` only mean
something in LIKE patterns, so they keep their backslash; the compiler emits ``LIKE ... ESCAPE '\\'``,
which is also why a literal backslash must stay escaped (``\\\\``) inside a LIKE pattern.
"""

from __future__ import annotations

import re

_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'"}
_SEQUENCE = re.compile(r"\\(.)", re.DOTALL)


class InvalidEscape(ValueError):
    """A backslash sequence SOQL does not define; the argument is the sequence (``\\x``)."""


def decode_string(raw: str, *, like: bool = False) -> str:
    """The value of a literal's text between the quotes; ``like`` keeps pattern escapes for ``ESCAPE '\\'``."""

    def replace(match: re.Match[str]) -> str:
        char = match.group(1)
        if char in "%_":
            return match.group(0)
        if char == "\\":
            return "\\\\" if like else "\\"
        decoded = _ESCAPES.get(char.lower() if char.isalpha() else char)
        if decoded is None:
            raise InvalidEscape(match.group(0))
        return decoded

    return _SEQUENCE.sub(replace, raw)
