"""soql_quote: no input escapes the literal — checked against the emulator's real SOQL grammar and over HTTP."""

from __future__ import annotations

import string
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_sfpy.client import Client
from airflow_provider_sfpy.emulator.soql.ast import Comparison, StringValue
from airflow_provider_sfpy.emulator.soql.literals import decode_string
from airflow_provider_sfpy.emulator.soql.parser import parse
from airflow_provider_sfpy.soql import SOQL_FILTERS, soql_like, soql_quote

NASTY = st.text(
    alphabet=st.sampled_from(list("'\"\\%_\n\r\t\b\f ,()=!<>") + list(string.ascii_letters) + ["é", "🚀", "\u2028"])
)


def where_literal(soql: str) -> Any:
    """The value of the single literal in ``WHERE Name = <literal>`` as the SOQL parser reads it."""
    condition = parse(soql).where
    assert isinstance(condition, Comparison) and isinstance(condition.value, StringValue), condition
    return decode_string(condition.value.raw)


@settings(max_examples=300, deadline=None)
@given(st.one_of(NASTY, st.text()))
def test_any_text_stays_one_literal_with_the_same_value(text: str) -> None:
    soql = f"SELECT Id FROM Account WHERE Name = {soql_quote(text)}"
    assert where_literal(soql) == text


@pytest.mark.parametrize(
    "attack",
    ["x' OR Name != 'y", "x\\' OR Name != \\'y", "'; DELETE", "\\", "a\\'", "' OR Id != null OR Name = '"],
)
def test_injection_attempts_match_nothing_over_http(attack: str, emulator: Any) -> None:
    client = Client(
        emulator.username, emulator.password, emulator.client_id, emulator.client_secret, login_url=emulator.base_url
    )
    body, _ = client.query(f"SELECT Id FROM Account WHERE Name = {soql_quote(attack)}")
    assert body["totalSize"] == 0


def test_real_names_with_quotes_and_unicode_are_found(emulator: Any) -> None:
    client = Client(
        emulator.username, emulator.password, emulator.client_id, emulator.client_secret, login_url=emulator.base_url
    )
    name = 'O\'Brien "Bros" \\ Söhne 🚀\nLtd'
    created = client.sobjects(object_type="Account").insert({"Name": name}).body["id"]
    records = client.query(f"SELECT Id FROM Account WHERE Name = {soql_quote(name)}").body["records"]
    assert [r["Id"] for r in records] == [created]
    like = client.query(f"SELECT Id FROM Account WHERE Name LIKE {soql_like(name[:8], suffix='%')}").body
    assert [r["Id"] for r in like["records"]] == [created]


def test_like_escapes_wildcards() -> None:
    assert soql_like("100%_done", suffix="%") == "'100\\%\\_done%'"
    assert soql_quote(None) == "null"


def test_jinja_filter_renders_a_safe_literal() -> None:
    import jinja2

    env = jinja2.Environment()
    env.filters.update(SOQL_FILTERS)
    rendered = env.from_string("SELECT Id FROM Account WHERE Name = {{ name | soql_quote }}").render(
        name="x' OR 'a'='a"
    )
    assert where_literal(rendered) == "x' OR 'a'='a"
