"""Quoting templated values for SOQL and Apex string literals, so templates cannot be broken out of.

A DAG that builds ``WHERE Name = '{{ params.name }}'`` lets a value like ``x' OR Name != 'y`` change
the query, and one that builds anonymous Apex from ``'{{ params.industry }}'`` lets a value like
``Banking'); delete [SELECT Id FROM Contact]; //`` run statements of its own. Quote every templated
value instead of writing the quotes in the template:

- ``soql_quote`` turns any value into one complete SOQL string literal (quotes included), escaping
  exactly what SOQL's grammar treats specially; ``soql_like`` additionally escapes the LIKE wildcards.
  Use them in SOQL text (query operators, ``.soql`` files).
- ``apex_quote`` turns any value into one complete Apex string literal. Use it in Apex code
  (``SalesforceApexOperator``, ``.apex`` files); inside an inline ``[SELECT ...]`` bind a variable
  (``String name = {{ params.name | apex_quote }}; ... WHERE Name = :name``).

All of them are Jinja filters through ``SOQL_FILTERS``:

    DAG(..., user_defined_filters=SOQL_FILTERS)
    soql="SELECT Id FROM Account WHERE Name = {{ params.name | soql_quote }}"
    apex="insert new Account(Name = {{ params.name | apex_quote }});"
"""

from __future__ import annotations

from typing import Any

# SOQL's escape sequences in string literals (Salesforce "Quoted String Escape Sequences").
_ESCAPES = {
    "\\": "\\\\",
    "'": "\\'",
    '"': '\\"',
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
}
_TABLE = str.maketrans(_ESCAPES)


def soql_escape(value: Any) -> str:
    """The escaped body of a literal, without the surrounding quotes."""
    return str(value).translate(_TABLE)


def soql_quote(value: Any) -> str:
    """``O'Brien`` -> ``'O\\'Brien'``: a complete SOQL string literal for any value (None -> ``null``)."""
    if value is None:
        return "null"
    return f"'{soql_escape(value)}'"


def soql_like(value: Any, *, prefix: str = "", suffix: str = "") -> str:
    """A LIKE pattern literal matching ``value`` literally: ``%`` and ``_`` in it are escaped.

    ``prefix``/``suffix`` are added unescaped, e.g. ``soql_like(name, suffix="%")`` for "starts with".
    """
    body = soql_escape(value).replace("%", "\\%").replace("_", "\\_")
    return f"'{prefix}{body}{suffix}'"


def _apex_table() -> dict[int, str]:
    """Apex's named escapes (``\\b \\t \\n \\f \\r \\' \\\\``), and ``\\uXXXX`` for every other character
    a string literal should not hold raw: control characters (C0, DEL, C1), the Unicode line and
    paragraph separators, and lone UTF-16 surrogates (``\\uXXXX`` is a UTF-16 code unit, as in Java).

    ``'`` and ``\\`` always get a named escape, never ``\\u0027``/``\\u005c``: whether a compiler
    decodes ``\\uXXXX`` inside the literal or before lexing (as Java does), the literal ends where it
    should. ``"`` needs no escape in a single-quoted Apex literal.
    """
    raw = [*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029, *range(0xD800, 0xE000)]
    table = {code: f"\\u{code:04x}" for code in raw}
    table.update({ord(k): v for k, v in _ESCAPES.items() if k != '"'})
    return table


_APEX_TABLE = _apex_table()


def apex_quote(value: Any) -> str:
    """``O'Brien`` -> ``'O\\'Brien'``: a complete Apex string literal for any value (None -> ``null``).

    Whatever the text, the result is one literal whose value is that text: it cannot end the string,
    start a comment or a statement (property-tested against the emulator's Apex parser).
    """
    if value is None:
        return "null"
    return f"'{str(value).translate(_APEX_TABLE)}'"


SOQL_FILTERS = {"soql_quote": soql_quote, "soql_like": soql_like, "soql_escape": soql_escape, "apex_quote": apex_quote}
"""The Jinja filters for ``DAG(user_defined_filters=...)``: ``soql_quote``, ``soql_like``, ``soql_escape``
(SOQL) and ``apex_quote`` (Apex)."""
