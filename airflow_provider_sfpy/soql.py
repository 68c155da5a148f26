"""Escaping values for SOQL string literals, so templated queries cannot be broken out of.

A DAG that builds ``WHERE Name = '{{ params.name }}'`` lets a value like ``x' OR Name != 'y`` change
the query. ``soql_quote`` turns any text into one complete SOQL string literal (quotes included),
escaping exactly what SOQL's grammar treats specially; ``soql_like`` additionally escapes the LIKE
wildcards. Use them in templates through ``SOQL_FILTERS``:

    DAG(..., user_defined_filters=SOQL_FILTERS)
    soql="SELECT Id FROM Account WHERE Name = {{ params.name | soql_quote }}"
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


SOQL_FILTERS = {"soql_quote": soql_quote, "soql_like": soql_like, "soql_escape": soql_escape}
