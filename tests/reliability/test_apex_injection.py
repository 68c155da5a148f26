"""apex_quote: no value escapes an Apex string literal — checked against the emulator's real Apex parser and
interpreter, and over HTTP with the shipped example DAG's template and an injection attempt."""

from __future__ import annotations

import datetime as dt
import importlib.util
import string
import types
from pathlib import Path
from typing import Any

import jinja2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_sfpy.client import Client
from airflow_provider_sfpy.emulator.apex import execute_anonymous
from airflow_provider_sfpy.emulator.apex import syntax as ast
from airflow_provider_sfpy.emulator.apex.parser import parse
from airflow_provider_sfpy.soql import SOQL_FILTERS, apex_quote, soql_quote

EXAMPLE_DAGS = Path(__file__).resolve().parents[2] / "example_dags"
ATTACK = "Banking'); delete [SELECT Id FROM Contact]; //"
ATTACKS = [
    ATTACK,
    "x\\'); delete [SELECT Id FROM Contact]; //",  # a backslash of its own before the quote
    "x\\", "\\'", "'", "''", "x\n delete [SELECT Id FROM Contact]; //",  # line break ending a comment
    "x'; /* ", "*/ delete [SELECT Id FROM Contact]; /*", "x\\u0027); delete [SELECT Id FROM Contact]; //",
    "x]; delete [SELECT Id FROM Contact]; //",  # a ']' ending an inline query early
]  # fmt: skip
#: Characters that mean something to Apex's lexer, control characters, Unicode line separators, lone
#: surrogates and text that looks like escapes, mixed with ordinary letters.
NASTY = st.lists(
    st.sampled_from(
        [
            *"'\"\\/*[];(){}:\n\r\t\b\f\v\x00\x1b\x7f\x85 ,=+",
            *("\\u0027", "\\n", "u0027", "//", "/*", "*/", "\u2028", "\u2029", "\ud800", "\udfff", "é", "🚀"),
            *string.ascii_letters,
        ]
    )
).map("".join)
TEXT = st.one_of(NASTY, st.text())


def string_literal(statement: ast.Stmt) -> Any:
    """The value of ``String s = <literal>;`` as the Apex parser reads it."""
    assert isinstance(statement, ast.LocalDecl), statement
    [declarator] = statement.declarators
    assert isinstance(declarator.init, ast.Literal) and declarator.init.kind == "String", declarator.init
    return declarator.init.value


def client_for(emulator: Any) -> Client:
    return Client(
        emulator.username, emulator.password, emulator.client_id, emulator.client_secret, login_url=emulator.base_url
    )


def count(client: Client, soql: str) -> int:
    total: int = client.query(soql).body["totalSize"]
    return total


# ------------------------------------------------------------------------------------------ the literal


@settings(max_examples=400, deadline=None)
@given(TEXT)
def test_any_text_stays_one_literal_with_the_same_value(text: str) -> None:
    """Parsed by the emulator's Apex grammar: exactly the declaration, its literal's value the text, and the
    statement after it still there (nothing swallowed or commented out)."""
    statements = parse(f"String s = {apex_quote(text)}; Integer after = 1;")
    assert len(statements) == 2, statements
    assert string_literal(statements[0]) == text
    assert isinstance(statements[1], ast.LocalDecl) and statements[1].declarators[0].name == "after"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(TEXT)
def test_the_interpreter_sees_the_same_text(emulator: Any, text: str) -> None:
    """Run by the emulator's Apex interpreter: ``System.assertEquals(<literal>, s)`` holds and ``System.debug``
    prints the text itself."""
    literal = apex_quote(text)
    result = execute_anonymous(
        f"String s = {literal};\nSystem.assertEquals({literal}, s);\nSystem.debug(s);",
        emulator.store,
        user_id=emulator.state.admin_user_id,
        api_version=emulator.api_version,
    )
    assert result.success, result
    assert result.debug_lines == (text,)


def test_escapes_are_apexs_own() -> None:
    assert apex_quote("O'Brien") == "'O\\'Brien'"
    assert apex_quote("a\\b") == "'a\\\\b'"
    assert apex_quote("\n\r\t\b\f") == "'\\n\\r\\t\\b\\f'"
    assert apex_quote("\x00\x0b\x1b\x7f\x85\u2028\u2029") == "'\\u0000\\u000b\\u001b\\u007f\\u0085\\u2028\\u2029'"
    assert apex_quote('say "hi" é 🚀') == "'say \"hi\" é 🚀'"  # nothing else is touched
    assert apex_quote(ATTACK) == "'Banking\\'); delete [SELECT Id FROM Contact]; //'"


def test_none_is_null_and_other_values_are_their_text() -> None:
    assert apex_quote(None) == "null"
    assert apex_quote(42) == "'42'"
    assert apex_quote("") == "''"
    [statement] = parse(f"String s = {apex_quote(None)};")
    assert isinstance(statement, ast.LocalDecl) and statement.declarators[0].init.kind == "null"  # type: ignore[union-attr]


def test_jinja_filter_renders_a_safe_literal() -> None:
    env = jinja2.Environment()
    env.filters.update(SOQL_FILTERS)
    rendered = env.from_string("String s = {{ v | apex_quote }};").render(v=ATTACK)
    [statement] = parse(rendered)
    assert string_literal(statement) == ATTACK


def test_a_quoted_value_with_a_bracket_inside_an_inline_query_stays_in_the_query() -> None:
    """The emulator lexes string literals inside ``[SELECT ...]`` whole, as Salesforce does: a ``]`` in one
    does not end the query (so quoting there cannot be escaped by the emulator's lexer either)."""
    value = "x]; delete [SELECT Id FROM Contact]; //"
    statements = parse(f"List<Account> found = [SELECT Id FROM Account WHERE Name = {apex_quote(value)}];")
    assert len(statements) == 1
    [declarator] = statements[0].declarators  # type: ignore[attr-defined]
    assert isinstance(declarator.init, ast.Soql) and value.replace("'", "\\'") in declarator.init.text


# ------------------------------------------------------------------------------------------ over HTTP


def example_apex_template(**params: Any) -> str:
    """The shipped example DAG's Apex, rendered by the DAG's own Jinja environment (its user_defined_filters)."""
    spec = importlib.util.spec_from_file_location("example_sfpy_apex_under_test", EXAMPLE_DAGS / "example_sfpy_apex.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    dag = module.dag
    task = dag.get_task("create_marker_account")
    run = types.SimpleNamespace(logical_date=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc), run_after=None)
    rendered: str = dag.get_template_env().from_string(task.apex).render(params=params, dag_run=run)
    return rendered


@pytest.mark.parametrize("attack", ATTACKS)
def test_the_example_dags_apex_keeps_an_injection_attempt_as_data(attack: str, emulator: Any) -> None:
    client = client_for(emulator)
    contacts = count(client, "SELECT COUNT() FROM Contact")
    assert contacts > 0
    result = client.execute_anonymous(example_apex_template(industry=attack)).body
    assert result["success"] is True, result
    assert count(client, "SELECT COUNT() FROM Contact") == contacts
    created = client.query_all(
        "SELECT Industry FROM Account WHERE Name = 'Apex marker 2026-01-01' ORDER BY CreatedDate DESC, Id DESC"
    ).body["records"]
    assert created and created[0]["Industry"] == attack


@pytest.mark.parametrize(
    "value", ['O\'Brien "Bros" \\ Söhne 🚀\nLtd', "tab\there\r\nform\fback\bspace\x01", "\\u0041 is not A", "]"]
)
def test_values_round_trip_through_apex_dml(value: str, emulator: Any) -> None:
    """Inserted by anonymous Apex over HTTP, read back over REST: the stored Name is the value itself."""
    client = client_for(emulator)
    marker = f"apex_quote {value!r}"
    apex = (
        f"String name = {apex_quote(marker)};\n"
        f"insert new Account(Name = name, Description = {apex_quote(value)});\n"
        "System.assertEquals(1, [SELECT COUNT() FROM Account WHERE Name = :name]);"
    )
    result = client.execute_anonymous(apex).body
    assert result["success"] is True, result
    records = client.query(f"SELECT Description FROM Account WHERE Name = {soql_quote(marker)}").body["records"]
    assert [r["Description"] for r in records] == [value]
