"""Anonymous Apex over HTTP (``/tooling/executeAnonymous``): result shapes, compile problems and runtime
exceptions with their positions, DML through the store (visible to /query), rollback, limits."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from emulator_api import Api, unique

from airflow_provider_sfpy.emulator.apex import execute_anonymous
from airflow_provider_sfpy.emulator.apex.context import Limits

SUCCESS = {
    "line": -1,
    "column": -1,
    "compiled": True,
    "success": True,
    "compileProblem": None,
    "exceptionStackTrace": None,
    "exceptionMessage": None,
}


def execute(api: Api, source: str, path: str = "/tooling/executeAnonymous/") -> dict[str, Any]:
    response = api.get(path, params={"anonymousBody": source})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def names(api: Api, prefix: str) -> list[str]:
    records = api.query(f"SELECT Name FROM Account WHERE Name LIKE '{prefix}%' ORDER BY Name")["records"]
    return [r["Name"] for r in records]


# ------------------------------------------------------------------------------------------ the resource


def test_success_has_salesforces_shape_with_and_without_trailing_slash(api: Api) -> None:
    for path in ("/tooling/executeAnonymous/", "/tooling/executeAnonymous"):
        body = execute(api, "System.debug('hello');", path)
        assert body == SUCCESS
        assert list(body) == list(SUCCESS)


def test_empty_body_compiles_and_runs(api: Api) -> None:
    assert execute(api, "") == SUCCESS


def test_needs_a_session_and_a_served_version(api: Api) -> None:
    anonymous = requests.get(
        api.url("/tooling/executeAnonymous/"), params={"anonymousBody": "System.debug(1);"}, timeout=30
    )
    assert anonymous.status_code == 401
    assert api.error(anonymous)["errorCode"] == "INVALID_SESSION_ID"
    old = api.get("/services/data/v1.0/tooling/executeAnonymous/", params={"anonymousBody": "System.debug(1);"})
    assert old.status_code == 404


# ------------------------------------------------------------------------------------------ DML


def test_dml_creates_records_visible_through_query(api: Api) -> None:
    prefix = unique("ApexDml")
    source = f"""
        Account single = new Account(Name = '{prefix}-single', Industry = 'Banking', AnnualRevenue = 1500);
        insert single;
        System.assert(single.Id != null);
        List<Account> batch = new List<Account>();
        for (Integer i = 0; i < 3; i++) {{
            batch.add(new Account(Name = '{prefix}-' + i, NumberOfEmployees = i * 10));
        }}
        insert batch;
        System.assertEquals(3, [SELECT COUNT() FROM Account WHERE Name LIKE '{prefix}-_']);
    """
    assert execute(api, source) == SUCCESS
    assert names(api, prefix) == [f"{prefix}-0", f"{prefix}-1", f"{prefix}-2", f"{prefix}-single"]
    single = api.query(f"SELECT Industry, AnnualRevenue, OwnerId FROM Account WHERE Name = '{prefix}-single'")
    record = single["records"][0]
    assert record["Industry"] == "Banking" and record["AnnualRevenue"] == 1500
    assert record["OwnerId"] == api.emulator.state.admin_user_id
    employees = api.query(f"SELECT NumberOfEmployees FROM Account WHERE Name = '{prefix}-2'")["records"]
    assert employees[0]["NumberOfEmployees"] == 20


def test_update_and_delete_through_soql_binds(api: Api) -> None:
    prefix = unique("ApexUpd")
    keep = api.create("Account", {"Name": f"{prefix}-keep"})
    drop = api.create("Account", {"Name": f"{prefix}-drop"})
    source = f"""
        String keepName = '{prefix}-keep';
        Account keep = [SELECT Id, Name, Industry FROM Account WHERE Name = :keepName];
        keep.Industry = 'Energy';
        keep.Description = 'updated by ' + UserInfo.getUserName();
        update keep;
        List<Id> doomed = new List<Id>{{'{drop}'}};
        delete [SELECT Id FROM Account WHERE Id IN :doomed];
    """
    assert execute(api, source) == SUCCESS
    kept = api.get(f"/sobjects/Account/{keep}").json()
    assert kept["Industry"] == "Energy"
    assert kept["Description"] == f"updated by {api.emulator.username}"
    assert api.get(f"/sobjects/Account/{drop}").status_code == 404


def test_queries_read_parent_fields_and_bound_lists(api: Api) -> None:
    prefix = unique("ApexRel")
    account = api.create("Account", {"Name": prefix, "Industry": "Energy"})
    api.create("Contact", {"LastName": f"{prefix}-c1", "AccountId": account})
    api.create("Contact", {"LastName": f"{prefix}-c2", "AccountId": account})
    source = f"""
        Account acc = [SELECT Id, Name FROM Account WHERE Id = '{account}'];
        List<Contact> contacts = [SELECT LastName, Account.Name, Account.Industry
                                  FROM Contact WHERE AccountId = :acc.Id ORDER BY LastName];
        System.assertEquals(2, contacts.size());
        System.assertEquals('{prefix}', contacts[0].Account.Name);
        System.assertEquals('Energy', contacts.get(1).Account.Industry);
        List<Account> accounts = new List<Account>{{acc}};
        Integer total = 0;
        for (Contact c : [SELECT Id FROM Contact WHERE AccountId IN :accounts]) {{
            total++;
        }}
        System.assertEquals(2, total);
        System.assertEquals(2, [SELECT COUNT() FROM Contact WHERE AccountId = :acc.Id]);
        System.assertEquals('{prefix}', [SELECT Name FROM Account WHERE Id = :acc.Id].Name);
    """
    assert execute(api, source) == SUCCESS


def test_a_runtime_exception_rolls_back_the_whole_block(api: Api) -> None:
    prefix = unique("ApexRollback")
    source = f"insert new Account(Name = '{prefix}-1');\nInteger zero = 0;\nInteger boom = 1 / zero;"
    body = execute(api, source)
    assert body == {
        "line": 3,
        "column": 1,
        "compiled": True,
        "success": False,
        "compileProblem": None,
        "exceptionStackTrace": "AnonymousBlock: line 3, column 1",
        "exceptionMessage": "System.MathException: Divide by 0",
    }
    assert names(api, prefix) == []


def test_a_store_validation_error_is_a_dml_exception_at_its_statement(api: Api) -> None:
    prefix = unique("ApexValidation")
    source = f"insert new Account(Name = '{prefix}-first');\nif (true) {{\n    insert new Account();\n}}"
    body = execute(api, source)
    assert body["compiled"] is True and body["success"] is False
    assert (body["line"], body["column"]) == (3, 5)
    assert body["exceptionStackTrace"] == "AnonymousBlock: line 3, column 5"
    assert body["exceptionMessage"] == (
        "System.DmlException: Insert failed. First exception on row 0; first error: "
        "REQUIRED_FIELD_MISSING, Required fields are missing: [Name]: [Name]"
    )
    assert names(api, prefix) == []


def test_a_caught_dml_exception_keeps_the_rest_and_fails_its_statement_whole(api: Api) -> None:
    prefix = unique("ApexCatch")
    source = f"""
        List<Account> mixed = new List<Account>{{new Account(Name = '{prefix}-ok'), new Account()}};
        String caught;
        try {{
            insert mixed;
        }} catch (DmlException e) {{
            caught = e.getMessage();
        }} finally {{
            insert new Account(Name = '{prefix}-finally');
        }}
        System.assert(caught.startsWith('Insert failed. First exception on row 1;'), caught);
        System.assertEquals(null, mixed[0].Id);
    """
    assert execute(api, source) == SUCCESS
    assert names(api, prefix) == [f"{prefix}-finally"]


def test_dml_errors_name_the_row_and_id(api: Api) -> None:
    existing = api.create("Account", {"Name": unique("ApexDup")})
    body = execute(api, f"Account a = new Account(Id = '{existing}', Name = 'x');\ninsert a;")
    assert body["exceptionMessage"] == (
        f"System.DmlException: Insert failed. First exception on row 0 with id {existing}; first error: "
        "INVALID_FIELD_FOR_INSERT_UPDATE, cannot specify Id in an insert call: [Id]"
    )
    body = execute(api, "update new Account(Name = 'no id');")
    assert body["exceptionMessage"] == (
        "System.DmlException: Update failed. First exception on row 0; first error: "
        "MISSING_ARGUMENT, Id not specified in an update call: []"
    )


def test_too_many_dml_statements_is_a_limit_exception(api: Api) -> None:
    prefix = unique("ApexLimit")
    source = f"for (Integer i = 0; i < 200; i++) {{\n  insert new Account(Name = '{prefix}' + i);\n}}"
    body = execute(api, source)
    assert body["exceptionMessage"] == "System.LimitException: Too many DML statements: 151"
    assert (body["line"], body["column"]) == (2, 3)
    assert names(api, prefix) == []


# ------------------------------------------------------------------------------------------ compile problems


@pytest.mark.parametrize(
    ("source", "line", "column", "problem"),
    [
        ("System.debug(1 foo);", 1, 16, "Unexpected token 'foo'."),
        ("Integer x = 1;\nSystem.debug(y);", 2, 14, "Variable does not exist: y"),
        ("Integer ok = 1;\n  Acount a;", 2, 3, "Invalid type: Acount"),
        ("System.debg('x');", 1, 1,
         "Method does not exist or incorrect signature: void debg(String) from the type System"),
        ("Integer i = 'text';", 1, 13, "Illegal assignment from String to Integer"),
        ("System.debug('a')", 1, 18, "Missing ';' at '<EOF>'"),
        ("System.debug('a')\nSystem.debug('b');", 2, 1, "Missing ';' at 'System'"),
        ("System.debug('open);", 1, 14, "Missing closing quote character ' on string."),
        ("Account a = new Account(Nmae = 'x');", 1, 25, "Invalid field Nmae for SObject Account"),
        ("Account a = new Account();\nSystem.debug(a.Nmae);", 2, 16, "Field does not exist: Nmae on Account"),
        ("if (1) { }", 1, 5, "Condition expression must be of type Boolean: Integer"),
        ("insert 5;", 1, 8, "DML requires SObject or SObject list type: Integer"),
        ("Integer x = 1;\nInteger x = 2;", 2, 9, "Duplicate variable: x"),
        ("List<Account> l = new List<Account>();\nl.sizes();", 2, 1,
         "Method does not exist or incorrect signature: void sizes() from the type List<Account>"),
        ("Account a = new Account();\na.CreatedDate = null;", 2, 3, "Field is not writeable: Account.CreatedDate"),
        ("1 + 2;", 1, 1, "Expression cannot be a statement."),
        ("break;", 1, 1, "Break statement must be in loop"),
        ("throw new Exception('x');", 1, 11, "Type cannot be constructed: Exception"),
        ("class Foo {}", 1, 1, "Unexpected token 'class'."),
        ("List<Account> l = [SELECT Nope FROM Account];", 1, 27,
         "No such column 'Nope' on entity 'Account'. If you are attempting to use a custom field, be sure to "
         "append the '__c' after the custom field name. Please reference your WSDL or the describe call for "
         "the appropriate names."),
        ("String name = 'x';\nList<Account> l = [SELECT Id FROM Account WHERE Name = :nmae];", 2, 57,
         "Variable does not exist: nmae"),
    ],
)  # fmt: skip
def test_compile_problems(api: Api, source: str, line: int, column: int, problem: str) -> None:
    body = execute(api, source)
    assert body == {
        "line": line,
        "column": column,
        "compiled": False,
        "success": False,
        "compileProblem": problem,
        "exceptionStackTrace": None,
        "exceptionMessage": None,
    }


def test_nothing_runs_when_a_later_line_does_not_compile(api: Api) -> None:
    prefix = unique("ApexCompile")
    body = execute(api, f"insert new Account(Name = '{prefix}');\nSystem.debug(missing);")
    assert body["compiled"] is False and body["line"] == 2
    assert names(api, prefix) == []


# ------------------------------------------------------------------------------------------ runtime exceptions


@pytest.mark.parametrize(
    ("source", "line", "column", "message"),
    [
        ("Account a = [SELECT Id FROM Account WHERE Name = 'no such account at all'];", 1, 1,
         "System.QueryException: List has no rows for assignment to SObject"),
        ("Account a = [SELECT Id FROM Account LIMIT 2];", 1, 1,
         "System.QueryException: List has more than 1 row for assignment to SObject"),
        ("Account a;\nSystem.debug(a.Name);", 2, 1,
         "System.NullPointerException: Attempt to de-reference a null object"),
        ("List<Integer> l = new List<Integer>{1};\n  Integer x = l[3];", 2, 3,
         "System.ListException: List index out of bounds: 3"),
        ("Account a = [SELECT Id FROM Account LIMIT 1];\nString n = a.Name;", 2, 1,
         "System.SObjectException: SObject row was retrieved via SOQL without querying the requested field: "
         "Account.Name"),
        ("Integer x = 1;\nthrow new IllegalArgumentException('bad input');", 2, 1,
         "System.IllegalArgumentException: bad input"),
        ("System.assertEquals(1, 2, 'numbers');", 1, 1,
         "System.AssertException: Assertion Failed: numbers: Expected: 1, Actual: 2"),
        ("Id x = 'not-an-id';", 1, 1, "System.StringException: Invalid id: not-an-id"),
    ],
)  # fmt: skip
def test_runtime_exceptions(api: Api, source: str, line: int, column: int, message: str) -> None:
    body = execute(api, source)
    assert body == {
        "line": line,
        "column": column,
        "compiled": True,
        "success": False,
        "compileProblem": None,
        "exceptionStackTrace": f"AnonymousBlock: line {line}, column {column}",
        "exceptionMessage": message,
    }


def test_assertion_failures_cannot_be_caught(api: Api) -> None:
    body = execute(api, "try {\n  System.assert(false, 'nope');\n} catch (Exception e) { }")
    assert body["exceptionMessage"] == "System.AssertException: Assertion Failed: nope"
    assert body["line"] == 2


# ------------------------------------------------------------------------------------------ language semantics


def test_apex_semantics(api: Api) -> None:
    source = """
        Integer max = 2147483647;
        max++;
        System.assertEquals(-2147483647 - 1, max);
        System.assertEquals(3, 7 / 2);
        System.assertEquals(-3, -7 / 2);
        Decimal d = 7;
        System.assertEquals(3.5, d / 2);
        System.assertEquals('a1true', 'a' + 1 + true);
        System.assert('ABC' == 'abc', 'String equality ignores case');
        String nothing;
        System.assertEquals('x null', 'x ' + nothing);
        Integer n;
        System.assert(!(n > 1) && !(n < 1), 'null numbers compare false');
        Long big = 3000000000L;
        System.assertEquals(6000000000L, big * 2);
        Integer counter = 0;
        while (true) { counter += 2; if (counter >= 10) break; }
        do { counter--; } while (counter > 5);
        System.assertEquals(5, counter);
        Date d1 = Date.newInstance(2024, 2, 28);
        System.assertEquals(Date.newInstance(2024, 3, 1), d1.addDays(2));
        System.assert(d1 < d1 + 1);
        String s = 'Hello';
        System.assertEquals('HELLO5', s.toUpperCase() + s.length());
        Id me = UserInfo.getUserId();
        System.assertEquals(me, [SELECT Id FROM User WHERE Id = :me].Id);
        Account a = new Account(Name = 'x', AnnualRevenue = 10);
        System.assertEquals('Account:{Name=x, AnnualRevenue=10}', String.valueOf(a));
        System.assertEquals(true ? 1 : 2.5, 1);
    """
    body = execute(api, source)
    assert body == SUCCESS, body


def test_an_endless_loop_ends_at_the_cpu_limit(api: Api) -> None:
    """In process, with a short limit: the same guard keeps an endless loop from hanging the server."""
    emulator = api.emulator
    result = execute_anonymous(
        "Integer i = 0;\nwhile (true) {\n  i++;\n}",
        emulator.store,
        user_id=emulator.state.admin_user_id,
        api_version=api.version,
        limits=Limits(cpu_seconds=0.2),
    )
    assert result.exception_message == "System.LimitException: Apex CPU time limit exceeded"
    assert result.line in (2, 3)  # wherever the time ran out: the loop or its body


def test_absurdly_deep_nesting_is_a_compile_problem(api: Api) -> None:
    body = execute(api, "Integer x = 1" + " + 1" * 5000 + ";")
    assert body["compiled"] is False and body["compileProblem"].startswith("Expression is too long")
