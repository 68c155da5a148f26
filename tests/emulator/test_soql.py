"""The emulator's SOQL engine, end to end: compile, run on a real in-memory SQLite, shape the records."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest

from airflow_provider_sfpy.emulator.schema import SCHEMA
from airflow_provider_sfpy.emulator.soql import CompiledQuery, SoqlError, compile_soql

NOW = datetime(2024, 5, 15, 12, 0, tzinfo=timezone.utc)  # a Wednesday; that week runs Sun 12 - Sat 18
API = "60.0"

U1, U2 = "005000000000001AAA", "005000000000002AAA"
ACME, GLOBEX, OBRIEN, PURE, CAFE, ZOMBIE = (f"00100000000000{n}AAA" for n in range(1, 7))
JANE, JOHN, SOLO, GHOST = (f"00300000000000{n}AAA" for n in range(1, 5))

OPPORTUNITY_CLOSE_DATES = {
    "Old": "2023-06-30",
    "Ninety": "2024-02-15",  # exactly 90 days before NOW
    "LastMonth": "2024-04-10",
    "LastWeek": "2024-05-08",
    "Yesterday": "2024-05-14",
    "Today": "2024-05-15",
    "Tomorrow": "2024-05-16",
    "NextWeek": "2024-05-20",
    "NextMonth": "2024-06-01",
}


def _insert(conn: sqlite3.Connection, sobject: str, **values: Any) -> None:
    values.setdefault("IsDeleted", 0)
    columns = ", ".join(f'"{name}"' for name in values)
    placeholders = ", ".join("?" for _ in values)
    conn.execute(f'INSERT INTO "{sobject}" ({columns}) VALUES ({placeholders})', tuple(values.values()))


@pytest.fixture(scope="module")
def conn() -> Iterator[sqlite3.Connection]:
    db = sqlite3.connect(":memory:")
    for sobject in SCHEMA.values():
        columns = ", ".join(f'"{f.name}" {f.sqlite_type}' for f in sobject.fields)
        db.execute(f'CREATE TABLE "{sobject.name}" ({columns})')
    _insert(db, "User", Id=U1, Name="Ada Admin", LastName="Admin", Email="ada@example.com")
    _insert(db, "User", Id=U2, Name="Bob Boss", LastName="Boss", Email="bob@example.com")
    for id_, name, owner, parent, industry, revenue, employees, active, created, deleted in [
        (ACME, "Acme", U1, None, "Technology", 1_000_000, 50, 1, "2024-05-15T09:00:00.000+0000", 0),
        (GLOBEX, "Globex", U2, ACME, "Banking", 2500.5, 10, 0, "2024-05-14T23:30:00.000+0000", 0),
        (OBRIEN, "O'Brien & Sons", U1, None, None, None, None, 1, "2024-01-02T00:00:00.000+0000", 0),
        (PURE, "100% Pure_Co", U2, None, "Energy", 10, 2, 1, "2023-12-31T23:59:59.000+0000", 0),
        (CAFE, "Café 🚀", U1, None, "Apparel", 7, 3, 0, "2024-03-01T00:00:00.000+0000", 0),
        (ZOMBIE, "Zombie", U1, None, "Energy", 1, 1, 1, "2024-03-01T00:00:00.000+0000", 1),
    ]:
        _insert(
            db, "Account", Id=id_, Name=name, OwnerId=owner, ParentId=parent, Industry=industry,
            AnnualRevenue=revenue, NumberOfEmployees=employees, Active__c=active, CreatedDate=created,
            IsDeleted=deleted,
        )  # fmt: skip
    for id_, first, last, account in [
        (JANE, "Jane", "Doe", ACME),
        (JOHN, "John", "Smith", GLOBEX),
        (SOLO, None, "Solo", None),
        (GHOST, "Gus", "Ghost", "001000000000099AAA"),  # dangling reference
    ]:
        name = f"{first} {last}" if first else last
        _insert(db, "Contact", Id=id_, FirstName=first, LastName=last, Name=name, AccountId=account)
    for index, (name, close_date) in enumerate(OPPORTUNITY_CLOSE_DATES.items()):
        _insert(
            db, "Opportunity", Id=f"006{index:015d}", Name=name, CloseDate=close_date, AccountId=ACME,
            StageName="Closed Won" if index % 2 else "Prospecting", IsWon=index % 2, Amount=index * 100.0,
        )  # fmt: skip
    _insert(db, "Attachment", Id="00P000000000001AAA", Name="cv.pdf", ParentId=JANE, Body=b"%PDF")
    yield db
    db.close()


def run(conn: sqlite3.Connection, soql: str, **options: Any) -> list[dict[str, Any]]:
    query = compile_soql(soql, now=NOW, **options)
    return [query.to_record(row, API) for row in conn.execute(query.sql, query.params)]


def names(conn: sqlite3.Connection, soql: str, **options: Any) -> list[str]:
    return [record["Name"] for record in run(conn, soql, **options)]


def error(soql: str) -> SoqlError:
    with pytest.raises(SoqlError) as caught:
        compile_soql(soql, now=NOW)
    assert str(caught.value) == caught.value.message
    return caught.value


# --- SELECT and record shape -------------------------------------------------------------------------


def test_record_shape_nests_parents_in_select_order_with_canonical_keys(conn: sqlite3.Connection) -> None:
    records = run(conn, f"select name, account.NAME, ID, Account.Owner.email FROM contact WHERE Id = '{JANE}'")
    assert records == [
        {
            "attributes": {"type": "Contact", "url": f"/services/data/v60.0/sobjects/Contact/{JANE}"},
            "Name": "Jane Doe",
            "Account": {
                "attributes": {"type": "Account", "url": f"/services/data/v60.0/sobjects/Account/{ACME}"},
                "Name": "Acme",
                "Owner": {
                    "attributes": {"type": "User", "url": f"/services/data/v60.0/sobjects/User/{U1}"},
                    "Email": "ada@example.com",
                },
            },
            "Id": JANE,
        }
    ]
    assert list(records[0]) == ["attributes", "Name", "Account", "Id"]


def test_missing_or_dangling_parent_is_null_not_a_dict(conn: sqlite3.Connection) -> None:
    records = run(conn, "SELECT LastName, Account.Name FROM Contact ORDER BY LastName")
    assert [(r["LastName"], r["Account"]) for r in records if r["Account"] is None] == [
        ("Ghost", None),
        ("Solo", None),
    ]


def test_field_paths_and_shared_joins() -> None:
    query = compile_soql("SELECT Id, Account.Name, account.owner.name FROM Contact WHERE Account.Name != null")
    assert query.field_paths == ["Id", "Account.Name", "Account.Owner.Name"]
    assert query.sobject is SCHEMA["Contact"]
    assert query.sql.count('LEFT JOIN "Account"') == 1
    assert query.sql.count('LEFT JOIN "User"') == 1


def test_two_level_parent_path_and_object_prefix(conn: sqlite3.Connection) -> None:
    records = run(conn, f"SELECT Contact.Name, Account.Parent.Name FROM Contact WHERE Id = '{JOHN}'")
    assert records[0]["Name"] == "John Smith"
    assert records[0]["Account"]["Parent"]["Name"] == "Acme"


def test_type_conversion(conn: sqlite3.Connection) -> None:
    [acme] = run(
        conn, "SELECT Active__c, NumberOfEmployees, AnnualRevenue, CreatedDate FROM Account WHERE Name = 'acme'"
    )
    assert acme["Active__c"] is True
    assert acme["NumberOfEmployees"] == 50 and isinstance(acme["NumberOfEmployees"], int)
    assert acme["AnnualRevenue"] == 1_000_000.0 and isinstance(acme["AnnualRevenue"], float)
    assert acme["CreatedDate"] == "2024-05-15T09:00:00.000+0000"


def test_blob_field_is_a_url_and_polymorphic_parent_gets_its_type_from_the_id(conn: sqlite3.Connection) -> None:
    [record] = run(conn, "SELECT Name, Body, Parent.Name FROM Attachment")
    assert record["Body"] == "/services/data/v60.0/sobjects/Attachment/00P000000000001AAA/Body"
    assert record["Parent"]["attributes"]["type"] == "Contact"
    assert record["Parent"]["Name"] == "Jane Doe"


def test_count_only(conn: sqlite3.Connection) -> None:
    query = compile_soql("SELECT COUNT() FROM Account WHERE Industry != null LIMIT 2")
    assert query.count_only and query.field_paths == []
    assert conn.execute(query.sql, query.params).fetchall() == [(2,)]
    query = compile_soql("select count() from Account", include_deleted=True)
    assert conn.execute(query.sql, query.params).fetchone() == (6,)


def test_include_deleted(conn: sqlite3.Connection) -> None:
    assert "Zombie" not in names(conn, "SELECT Name FROM Account")
    assert "Zombie" in names(conn, "SELECT Name FROM Account", include_deleted=True)


def test_using_scope_mine(conn: sqlite3.Connection) -> None:
    soql = "SELECT Name FROM Account USING SCOPE Mine ORDER BY Name"
    assert names(conn, soql, current_user_id=U2) == ["100% Pure_Co", "Globex"]


# --- WHERE ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("Name = 'ACME'", ["Acme"]),
        ("Name != 'Acme'", ["100% Pure_Co", "Café 🚀", "Globex", "O'Brien & Sons"]),
        ("Name <> 'Acme' AND Industry != 'Banking'", ["100% Pure_Co", "Café 🚀", "O'Brien & Sons"]),
        ("NumberOfEmployees < 10", ["100% Pure_Co", "Café 🚀"]),
        ("NumberOfEmployees <= 10", ["100% Pure_Co", "Café 🚀", "Globex"]),
        ("AnnualRevenue > 2500.5", ["Acme"]),
        ("AnnualRevenue >= 2500.5", ["Acme", "Globex"]),
        ("NumberOfEmployees > -1 AND NumberOfEmployees < 3", ["100% Pure_Co"]),
        ("Active__c = false", ["Café 🚀", "Globex"]),
        ("Industry = null", ["O'Brien & Sons"]),
        ("Industry != null AND Active__c = true", ["100% Pure_Co", "Acme"]),
        ("Industry IN ('banking', 'Energy')", ["100% Pure_Co", "Globex"]),
        ("Industry NOT IN ('Banking', 'Energy')", ["Acme", "Café 🚀", "O'Brien & Sons"]),
        ("Industry IN (null, 'Apparel')", ["Café 🚀", "O'Brien & Sons"]),
        ("NumberOfEmployees NOT IN (50, 10)", ["100% Pure_Co", "Café 🚀", "O'Brien & Sons"]),
        ("Owner.Name = 'Bob Boss'", ["100% Pure_Co", "Globex"]),
        ("Parent.Name = 'Acme'", ["Globex"]),
        ("NOT Name = 'Acme'", ["100% Pure_Co", "Café 🚀", "Globex", "O'Brien & Sons"]),
        ("NOT Industry = 'Banking' AND Active__c = false", ["Café 🚀"]),
        ("NOT (Industry = 'Banking' OR Industry = 'Energy')", ["Acme", "Café 🚀", "O'Brien & Sons"]),
        ("Active__c = true AND (Industry = 'Energy' OR Name = 'Acme')", ["100% Pure_Co", "Acme"]),
        ("(Active__c = true AND Industry = 'Energy') OR Name = 'Globex'", ["100% Pure_Co", "Globex"]),
        ("Name = 'Acme' OR Name = 'Globex' OR Name = 'nobody'", ["Acme", "Globex"]),
    ],
)
def test_operators_and_logic(conn: sqlite3.Connection, where: str, expected: list[str]) -> None:
    assert names(conn, f"SELECT Name FROM Account WHERE {where} ORDER BY Name") == expected


@pytest.mark.parametrize(
    ("literal", "expected"),
    [
        ("'O\\'Brien & Sons'", ["O'Brien & Sons"]),
        ("'Café 🚀'", ["Café 🚀"]),
        ("'cAFé 🚀'", ["Café 🚀"]),
    ],
)
def test_string_literals(conn: sqlite3.Connection, literal: str, expected: list[str]) -> None:
    assert names(conn, f"SELECT Name FROM Account WHERE Name = {literal}") == expected


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("'ac%'", ["Acme"]),
        ("'%o%'", ["100% Pure_Co", "Globex", "O'Brien & Sons"]),
        ("'G_obex'", ["Globex"]),
        ("'%\\%%'", ["100% Pure_Co"]),
        ("'%e\\_C%'", ["100% Pure_Co"]),
        ("'%\\_%'", ["100% Pure_Co"]),
        ("'%🚀'", ["Café 🚀"]),
    ],
)
def test_like(conn: sqlite3.Connection, pattern: str, expected: list[str]) -> None:
    assert names(conn, f"SELECT Name FROM Account WHERE Name LIKE {pattern} ORDER BY Name") == expected


def test_string_escapes_are_decoded() -> None:
    query = compile_soql(r"SELECT Id FROM Account WHERE Name = 'a\'b\"c\\d\ne\tf' AND Name LIKE 'x\\y\%'")
    assert query.params[-2:] == ("a'b\"c\\d\ne\tf", "x\\\\y\\%")


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("= TODAY", {"Today"}),
        ("= YESTERDAY", {"Yesterday"}),
        ("= TOMORROW", {"Tomorrow"}),
        ("> TODAY", {"Tomorrow", "NextWeek", "NextMonth"}),
        (">= TODAY", {"Today", "Tomorrow", "NextWeek", "NextMonth"}),
        ("< YESTERDAY", {"Old", "Ninety", "LastMonth", "LastWeek"}),
        ("<= YESTERDAY", {"Old", "Ninety", "LastMonth", "LastWeek", "Yesterday"}),
        ("!= THIS_YEAR", {"Old"}),
        ("= THIS_WEEK", {"Yesterday", "Today", "Tomorrow"}),
        ("= LAST_WEEK", {"LastWeek"}),
        ("= NEXT_WEEK", {"NextWeek"}),
        ("= THIS_MONTH", {"LastWeek", "Yesterday", "Today", "Tomorrow", "NextWeek"}),
        ("= LAST_MONTH", {"LastMonth"}),
        ("= NEXT_MONTH", {"NextMonth"}),
        ("= LAST_90_DAYS", {"Ninety", "LastMonth", "LastWeek", "Yesterday", "Today"}),
        ("= NEXT_90_DAYS", {"Tomorrow", "NextWeek", "NextMonth"}),
        ("= LAST_N_DAYS:7", {"LastWeek", "Yesterday", "Today"}),
        ("= NEXT_N_DAYS:5", {"Tomorrow", "NextWeek"}),
        ("= N_DAYS_AGO:7", {"LastWeek"}),
        ("= last_n_months:1", {"LastMonth"}),
        ("= NEXT_N_MONTHS:1", {"NextMonth"}),
        ("= LAST_YEAR", {"Old"}),
        ("= LAST_N_YEARS:1", {"Old"}),
        ("= NEXT_YEAR", set()),
        ("IN (TODAY, LAST_YEAR)", {"Today", "Old"}),
        ("= 2024-05-20", {"NextWeek"}),
        ("> 2024-06-01", set()),
    ],
)
def test_date_filters(conn: sqlite3.Connection, condition: str, expected: set[str]) -> None:
    assert set(names(conn, f"SELECT Name FROM Opportunity WHERE CloseDate {condition}")) == expected


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("= TODAY", ["Acme"]),
        ("= YESTERDAY", ["Globex"]),
        (">= 2024-05-15T01:00:00+02:00", ["Acme", "Globex"]),  # 2024-05-14T23:00Z
        ("< 2024-01-01T00:00:00Z", ["100% Pure_Co"]),
        ("= 2024-01-02T00:00:00.000+0000", ["O'Brien & Sons"]),
        ("= 2024-01-01T19:00:00-05:00", ["O'Brien & Sons"]),
    ],
)
def test_datetime_filters(conn: sqlite3.Connection, condition: str, expected: list[str]) -> None:
    assert names(conn, f"SELECT Name FROM Account WHERE CreatedDate {condition} ORDER BY Name") == expected


def test_datetime_literal_is_normalised_to_stored_utc_text() -> None:
    query = compile_soql("SELECT Id FROM Account WHERE CreatedDate > 2024-01-31T10:00:00.5+01:30")
    assert query.params[-1] == "2024-01-31T08:30:00.500+0000"


# --- ORDER BY, LIMIT, OFFSET ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        ("Industry", ["O'Brien & Sons", "Café 🚀", "Globex", "100% Pure_Co", "Acme"]),
        ("Industry DESC", ["Acme", "100% Pure_Co", "Globex", "Café 🚀", "O'Brien & Sons"]),
        ("Industry ASC NULLS LAST", ["Café 🚀", "Globex", "100% Pure_Co", "Acme", "O'Brien & Sons"]),
        ("Industry DESC NULLS FIRST", ["O'Brien & Sons", "Acme", "100% Pure_Co", "Globex", "Café 🚀"]),
        ("Owner.Name DESC, Name", ["100% Pure_Co", "Globex", "Acme", "Café 🚀", "O'Brien & Sons"]),
    ],
)
def test_order_by(conn: sqlite3.Connection, order: str, expected: list[str]) -> None:
    assert names(conn, f"SELECT Name FROM Account ORDER BY {order}") == expected


def test_order_by_parent_with_null_parents(conn: sqlite3.Connection) -> None:
    records = run(conn, "SELECT LastName FROM Contact ORDER BY Account.Name NULLS LAST, LastName")
    assert [r["LastName"] for r in records] == ["Doe", "Smith", "Ghost", "Solo"]


@pytest.mark.parametrize(
    ("paging", "expected"),
    [
        ("LIMIT 2", ["100% Pure_Co", "Acme"]),
        ("LIMIT 2 OFFSET 3", ["Globex", "O'Brien & Sons"]),
        ("OFFSET 4", ["O'Brien & Sons"]),
        ("LIMIT 0", []),
    ],
)
def test_limit_and_offset(conn: sqlite3.Connection, paging: str, expected: list[str]) -> None:
    assert names(conn, f"SELECT Name FROM Account ORDER BY Name {paging}") == expected


# --- errors --------------------------------------------------------------------------------------------

_CUSTOM_FIELD_HINT = (
    "If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. "
    "Please reference your WSDL or the describe call for the appropriate names."
)


def test_syntax_error_layout() -> None:
    exc = error("SELECT Id FROM Account WHRE Name = 'x'")
    assert exc.error_code == "MALFORMED_QUERY"
    assert exc.message == (
        "\nSELECT Id FROM Account WHRE Name = 'x'\n"
        "                       ^\n"
        "ERROR at Row:1:Column:24\nunexpected token: WHRE"
    )


def test_unknown_field_layout() -> None:
    exc = error("SELECT Nme FROM Account")
    assert exc.error_code == "INVALID_FIELD"
    expected = (
        "\nSELECT Nme FROM Account\n       ^\nERROR at Row:1:Column:8\nNo such column 'Nme' on entity 'Account'. "
    )
    assert exc.message == expected + _CUSTOM_FIELD_HINT


def test_unknown_object_layout() -> None:
    exc = error("SELECT Id FROM Acount")
    assert exc.error_code == "INVALID_TYPE"
    assert exc.message.startswith("\nSELECT Id FROM Acount\n               ^\nERROR at Row:1:Column:16\n")
    assert "sObject type 'Acount' is not supported." in exc.message


def test_multi_line_query_reports_the_row() -> None:
    exc = error("SELECT Id,\n    Nme\nFROM Account")
    assert exc.message.startswith("\nSELECT Id,\n    Nme\n    ^\nERROR at Row:2:Column:5\nNo such column 'Nme'")


@pytest.mark.parametrize(
    ("soql", "code", "row_column", "reason"),
    [
        ("SELECT Id FROM", "MALFORMED_QUERY", "1:15", "unexpected token: <EOF>"),
        ("SELECT FROM Account", "MALFORMED_QUERY", "1:8", "unexpected token: FROM"),
        ('SELECT Id FROM Account WHERE Name = "x"', "MALFORMED_QUERY", "1:37", 'unexpected token: "'),
        ("SELECT Id FROM Account WHERE Name = 'a' AND Name = 'b' OR Name = 'c'", "MALFORMED_QUERY", "1:56",
         "unexpected token: OR"),
        ("SELECT Id FROM Opportunity WHERE CloseDate = TODAYY", "MALFORMED_QUERY", "1:46",
         "unexpected token: TODAYY"),
        ("SELECT Id FROM Opportunity WHERE CloseDate > NEXT_N_YEARS:99999", "MALFORMED_QUERY", "1:46",
         "NEXT_N_YEARS:99999 is out of range"),
        ("SELECT Id FROM Account WHERE Name = 'a\\x'", "MALFORMED_QUERY", "1:37",
         "Invalid string literal 'a\\x'. Illegal character sequence '\\x' in string literal."),
        ("SELECT Name, Id, name FROM Account", "MALFORMED_QUERY", "1:18", "duplicate field selected: Name"),
        ("SELECT Acount.Name FROM Contact", "INVALID_FIELD", "1:8",
         "Didn't understand relationship 'Acount' in field path."),
        ("SELECT Account.Nme FROM Contact", "INVALID_FIELD", "1:8", "No such column 'Nme' on entity 'Account'."),
        ("SELECT Id FROM Opportunity WHERE CloseDate = '2024-01-01'", "INVALID_FIELD", "1:34",
         "value of filter criterion for field 'CloseDate' must be of type date and should not be enclosed in quotes"),
        ("SELECT Id FROM Account WHERE CreatedDate > 2024-01-01", "INVALID_FIELD", "1:30",
         "value of filter criterion for field 'CreatedDate' must be of type dateTime"),
        ("SELECT Id FROM Account WHERE NumberOfEmployees = '5'", "INVALID_FIELD", "1:30",
         "value of filter criterion for field 'NumberOfEmployees' must be of type integer"),
        ("SELECT Id FROM Account WHERE Name IN ('a', 5)", "INVALID_FIELD", "1:30",
         "value of filter criterion for field 'Name' must be of type string and should be enclosed in quotes"),
        ("SELECT Id FROM Account WHERE Active__c = 'true'", "INVALID_FIELD", "1:30",
         "value of filter criterion for field 'Active__c' must be of type boolean"),
        ("SELECT Id FROM Attachment WHERE Body != null", "INVALID_FIELD", "1:33",
         "field 'Body' can not be filtered in query call"),
        ("SELECT Id FROM Account ORDER BY Name LIMIT 5 OFFSET 2001", "NUMBER_OUTSIDE_VALID_RANGE", "1:53",
         "Maximum SOQL offset allowed is 2000"),
    ],
)  # fmt: skip
def test_errors(soql: str, code: str, row_column: str, reason: str) -> None:
    exc = error(soql)
    assert exc.error_code == code
    assert f"\nERROR at Row:{row_column.replace(':', ':Column:')}\n{reason}" in exc.message


def test_to_record_is_not_available_for_count_queries() -> None:
    query: CompiledQuery = compile_soql("SELECT COUNT() FROM Account")
    with pytest.raises(ValueError):
        query.to_record((1,), API)
