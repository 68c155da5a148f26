"""SOSL search (``/search``) and parameterized search (``/parameterizedSearch``) over HTTP: what is
matched (tokens, wildcards, phrases, operators, search groups), what is returned (RETURNING field
lists, WHERE, ORDER BY, LIMIT, the overall LIMIT), the response shape by API version, and the errors.

Each test searches for a token no other record has (``unique``), so the sample org and other tests'
records never match."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from emulator_api import Api


def _token() -> str:
    """A search token nothing else in the org contains (letters only: one token, not split)."""
    return "tok" + "".join(chr(ord("a") + int(c, 16) % 26) for c in uuid.uuid4().hex[:12])


def _search(api: Api, sosl: str, version: str | None = None) -> list[dict[str, Any]]:
    path = f"/services/data/v{version}/search/" if version else "/search/"
    response = api.get(path, params={"q": sosl})
    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body) == ["searchRecords"], body
    records: list[dict[str, Any]] = body["searchRecords"]
    return records


def _names(records: list[dict[str, Any]]) -> list[str]:
    return [r["Name"] for r in records]


def _account(api: Api, name: str, **fields: Any) -> str:
    return api.create("Account", {"Name": name, **fields})


def test_find_returning_fields_gives_search_records_shaped_like_query_records(api: Api) -> None:
    token = _token()
    first = _account(api, f"{token} Holdings", Industry="Energy")
    second = _account(api, f"Blue {token}")
    records = _search(api, f"FIND {{{token}}} IN ALL FIELDS RETURNING Account(Id, Name, Industry)")
    assert records == [
        {
            "attributes": {"type": "Account", "url": f"/services/data/v62.0/sobjects/Account/{first}"},
            "Id": first,
            "Name": f"{token} Holdings",
            "Industry": "Energy",
        },
        {
            "attributes": {"type": "Account", "url": f"/services/data/v62.0/sobjects/Account/{second}"},
            "Id": second,
            "Name": f"Blue {token}",
            "Industry": None,
        },
    ]


def test_returning_where_order_by_and_limit_choose_and_order_the_matches(api: Api) -> None:
    token = _token()
    for name, industry in (("a", "Energy"), ("b", "Banking"), ("c", "Energy"), ("d", "Energy")):
        _account(api, f"{token} {name}", Industry=industry)
    sosl = f"FIND {{{token}}} RETURNING Account(Name WHERE Industry = 'Energy' ORDER BY Name DESC LIMIT 2)"
    assert _names(_search(api, sosl)) == [f"{token} d", f"{token} c"]
    offset = f"FIND {{{token}}} RETURNING Account(Name ORDER BY Name LIMIT 2 OFFSET 1)"
    assert _names(_search(api, offset)) == [f"{token} b", f"{token} c"]


def test_without_returning_every_searchable_object_answers_with_ids_only(api: Api) -> None:
    token = _token()
    account = _account(api, f"{token} Ltd")
    contact = api.create("Contact", {"LastName": f"{token}son".lower(), "Title": f"Head of {token}"})
    records = _search(api, f"FIND {{{token}}}")
    assert {(r["attributes"]["type"], r["Id"]) for r in records} == {("Account", account), ("Contact", contact)}
    assert all(set(r) == {"attributes", "Id"} for r in records)


def test_returning_relationship_fields_nest_like_a_query(api: Api) -> None:
    token = _token()
    account = _account(api, f"{token} Parent")
    api.create("Contact", {"LastName": token, "AccountId": account})
    (record,) = _search(api, f"FIND {{{token}}} RETURNING Contact(LastName, Account.Name)")
    assert record["Account"]["Name"] == f"{token} Parent"
    assert record["Account"]["attributes"]["type"] == "Account"


def test_overall_limit_caps_the_records_of_all_objects(api: Api) -> None:
    token = _token()
    for n in range(3):
        _account(api, f"{token} {n}")
    api.create("Contact", {"LastName": token})
    records = _search(api, f"FIND {{{token}}} RETURNING Account(Name ORDER BY Name), Contact(LastName) LIMIT 2")
    assert _names(records) == [f"{token} 0", f"{token} 1"]


def test_terms_match_whole_tokens_case_insensitively(api: Api) -> None:
    token = _token()
    _account(api, f"{token.upper()}-Works, Inc.")
    assert _names(_search(api, f"FIND {{{token}}} RETURNING Account(Name)")) == [f"{token.upper()}-Works, Inc."]
    assert _search(api, f"FIND {{{token[:-1]}}} RETURNING Account(Name)") == []  # a prefix is no token


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("{t}*", ["{t}alpha one", "{t}beta two", "{t}alpha two"]),
        ("{t}alph?", ["{t}alpha one", "{t}alpha two"]),
        ('"{t}alpha two"', ["{t}alpha two"]),
        ("{t}alpha two", ["{t}alpha two"]),
        ("{t}beta OR {t}alpha one", ["{t}alpha one", "{t}beta two"]),
        ("{t}alpha AND NOT two", ["{t}alpha one"]),
        ("({t}alpha OR {t}beta) AND two", ["{t}beta two", "{t}alpha two"]),
    ],
)
def test_wildcards_phrases_and_operators(api: Api, search: str, expected: list[str]) -> None:
    token = _token()
    for name in ("alpha one", "beta two", "alpha two"):
        _account(api, f"{token}{name}")
    sosl = f"FIND {{{search.format(t=token)}}} RETURNING Account(Name ORDER BY Name)"
    assert _names(_search(api, sosl)) == sorted(e.format(t=token) for e in expected)


def test_a_phrase_needs_its_words_side_by_side(api: Api) -> None:
    token = _token()
    _account(api, f"{token} east west")
    assert _search(api, f'FIND {{"{token} west"}} RETURNING Account(Name)') == []
    assert _names(_search(api, f"FIND {{{token} west}} RETURNING Account(Name)")) == [f"{token} east west"]


def test_search_groups_limit_the_fields_searched(api: Api) -> None:
    token = _token()
    by_email = api.create("Contact", {"LastName": "Mailed", "Email": f"{token}@example.com"})
    by_name = api.create("Contact", {"LastName": token})
    by_phone = api.create("Contact", {"LastName": "Rung", "Title": token, "Phone": "+1 (415) 555-0199"})

    def ids(group: str, term: str = token) -> set[str]:
        return {r["Id"] for r in _search(api, f"FIND {{{term}}} IN {group} FIELDS RETURNING Contact(Id)")}

    assert ids("ALL") == {by_email, by_name, by_phone}
    assert ids("EMAIL") == {by_email}
    assert ids("NAME") == {by_name}
    assert by_phone in ids("PHONE", "14155550199")  # a phone number matches by its digits
    assert by_phone in ids("PHONE", "555\\-0199")
    assert ids("PHONE") == set()


def test_deleted_records_are_not_found(api: Api) -> None:
    token = _token()
    account = _account(api, token)
    assert api.delete(f"/sobjects/Account/{account}").status_code == 204
    assert _search(api, f"FIND {{{token}}} RETURNING Account") == []


def test_api_36_and_older_answer_a_bare_list(api: Api) -> None:
    token = _token()
    account = _account(api, token)
    response = api.get("/services/data/v36.0/search/", params={"q": f"FIND {{{token}}} RETURNING Account"})
    assert response.json() == [
        {"attributes": {"type": "Account", "url": f"/services/data/v36.0/sobjects/Account/{account}"}, "Id": account}
    ]


@pytest.mark.parametrize(
    ("sosl", "code", "message"),
    [
        (
            "FIND {John|jane_gray@uoa.edu} RETURNING Contact",
            "MALFORMED_SEARCH",
            "\nFIND {John|jane_gray@uoa.edu} RETURNING Contact\n         ^\nERROR at Row:1:Column:10\n"
            "line 1:10 mismatched character '|' expecting '}'",
        ),
        (
            "FIND {name} IN ALL TYPE RETURNING Account(name)",
            "MALFORMED_SEARCH",
            "\nFIND {name} IN ALL TYPE RETURNING Account(name)\n                  ^\nERROR at Row:1:Column:19\n"
            "Malformed search token: TYPE",
        ),
        (
            "FIND acme",
            "MALFORMED_SEARCH",
            "\nFIND acme\n    ^\nERROR at Row:1:Column:5\n"
            "No search term found. The search term must be enclosed in braces.",
        ),
        ("FIND {a*}", "INVALID_SEARCH", "search term must be longer than one character: a*"),
        (
            "FIND {acme} RETURNING Acount",
            "INVALID_TYPE",
            "\nFIND {acme} RETURNING Acount\n                     ^\nERROR at Row:1:Column:22\n"
            "sObject type 'Acount' is not supported. If you are attempting to use a custom object, be sure to "
            "append the '__c' after the custom object name. Please reference your WSDL or the describe call for "
            "the appropriate names.",
        ),
        (
            "FIND {acme} RETURNING Account(Id, Nme)",
            "INVALID_FIELD",
            "\nFIND {acme} RETURNING Account(Id, Nme)\n                                 ^\nERROR at Row:1:Column:34\n"
            "No such column 'Nme' on entity 'Account'. If you are attempting to use a custom field, be sure to "
            "append the '__c' after the custom field name. Please reference your WSDL or the describe call for "
            "the appropriate names.",
        ),
        (
            "FIND {acme} RETURNING Organization",
            "INVALID_TYPE",
            "\nFIND {acme} RETURNING Organization\n                     ^\nERROR at Row:1:Column:22\n"
            "entity type Organization does not support search",
        ),
    ],
)
def test_errors_are_salesforces(api: Api, sosl: str, code: str, message: str) -> None:
    response = api.get("/search/", params={"q": sosl})
    assert response.status_code == 400
    assert api.error(response) == {"message": message, "errorCode": code}


def test_a_bad_where_clause_is_reported_in_the_statement(api: Api) -> None:
    response = api.get("/search/", params={"q": "FIND {acme} RETURNING Account(Id WHERE Nme = 'x')"})
    assert response.status_code == 400
    error = api.error(response)
    assert error["errorCode"] == "INVALID_FIELD"
    assert error["message"].startswith(
        "\nFIND {acme} RETURNING Account(Id WHERE Nme = 'x')\n                                      ^\n"
        "ERROR at Row:1:Column:39\nNo such column 'Nme'"
    )


def test_search_without_q_is_a_400(api: Api) -> None:
    response = api.get("/search/")
    assert response.status_code == 400
    assert api.error(response)["errorCode"] == "MALFORMED_SEARCH"


# ------------------------------------------------------------------------------------- parameterized search


def test_parameterized_get_returns_the_fields_and_limit_asked_per_object(api: Api) -> None:
    token = _token()
    for n in range(3):
        _account(api, f"{token} {n}", Industry="Energy" if n else "Banking")
    contact = api.create("Contact", {"LastName": token})
    params = {
        "q": token,
        "sobject": ["Account", "Contact"],
        "Account.fields": "Name,Industry",
        "Account.where": "Industry = 'Energy'",
        "Account.orderBy": "Name DESC",
        "Account.limit": "1",
    }
    response = api.get("/parameterizedSearch/", params=params)
    assert response.status_code == 200, response.text
    records = response.json()["searchRecords"]
    assert [(r["attributes"]["type"], r.get("Name"), r.get("Id")) for r in records] == [
        ("Account", f"{token} 2", None),
        ("Contact", None, contact),
    ]


def test_parameterized_get_without_objects_is_a_global_search(api: Api) -> None:
    token = _token()
    account = _account(api, token)
    contact = api.create("Contact", {"LastName": "Other", "Email": f"{token}@example.org"})
    response = api.get("/parameterizedSearch/", params={"q": token})
    assert {r["Id"] for r in response.json()["searchRecords"]} == {account, contact}
    email_only = api.get("/parameterizedSearch/", params={"q": token, "in": "email"})
    assert [r["Id"] for r in email_only.json()["searchRecords"]] == [contact]


def test_parameterized_post_takes_sobjects_with_order_and_overall_limit(api: Api) -> None:
    token = _token()
    for n in range(3):
        _account(api, f"{token} {n}")
    body = {
        "q": f"{token}*",
        "fields": ["Name"],
        "sobjects": [{"name": "Account", "orderBy": [{"field": "Name", "ascending": False}]}],
        "overallLimit": 2,
    }
    response = api.post("/parameterizedSearch/", json=body)
    assert response.status_code == 200, response.text
    assert _names(response.json()["searchRecords"]) == [f"{token} 2", f"{token} 1"]


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({}, "INVALID_PARAMETER_VALUE"),
        ({"q": "acme", "in": "BODY"}, "INVALID_PARAMETER_VALUE"),
        ({"q": "acme", "sobject": "Account", "Account.limit": "many"}, "INVALID_PARAMETER_VALUE"),
        ({"q": "acme", "sobject": "Acount"}, "INVALID_TYPE"),
        ({"q": "acme", "sobject": "Account", "Account.fields": "Nme"}, "INVALID_FIELD"),
        ({"q": "a"}, "INVALID_SEARCH"),
    ],
)
def test_parameterized_errors(api: Api, params: dict[str, str], code: str) -> None:
    response = api.get("/parameterizedSearch/", params=params)
    assert response.status_code == 400
    assert api.error(response)["errorCode"] == code


def test_parameterized_search_starts_at_api_36(api: Api) -> None:
    assert api.get("/services/data/v35.0/parameterizedSearch/", params={"q": "acme"}).status_code == 404
    assert api.get("/services/data/v36.0/parameterizedSearch/", params={"q": "acme"}).status_code == 200
