"""The official provider's helper names on SalesforcePyHook, compared with the official SalesforceHook.

``make_query``, ``describe_object``, ``get_available_fields`` and ``get_object_from_salesforce`` exist so
code written for ``apache-airflow-providers-salesforce`` runs unchanged. The proof is a comparison:
the official hook (simple-salesforce underneath) and ours read the same TLS emulator, and must give
equal results. The official hook is given a session id and the emulator's ``instance_url`` (it only
speaks https) and a ``RoutingSession`` that trusts the emulator's certificate; it is not patched.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from conformance.conftest import RoutingSession

from airflow_provider_sfpy.client import SalesforceConfigError, SalesforceError
from airflow_provider_sfpy.emulator.testing import RunningEmulator, start_emulator
from airflow_provider_sfpy.hooks.salesforce import SalesforcePyHook

#: Accounts generated for the paging test: more than two pages of Salesforce's smallest batch (200).
GENERATED_ACCOUNTS = 450
SMALLEST_BATCH = {"headers": {"Sforce-Query-Options": "batchSize=200"}}


def _set_connection(monkeypatch: pytest.MonkeyPatch, conn_id: str, connection: dict[str, Any]) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(connection))


class HookPair:
    """Makes our hook and the official one for an emulator; closes their HTTP sessions afterwards, so the
    emulator stops at once instead of waiting for idle keep-alive connections."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self._monkeypatch = monkeypatch
        self._ours: list[SalesforcePyHook] = []
        self._sessions: list[RoutingSession] = []

    def __call__(self, emulator: RunningEmulator) -> tuple[SalesforcePyHook, Any]:
        """Our hook (password flow) and the official one (a session id), on the same TLS emulator and API version."""
        from airflow.providers.salesforce.hooks.salesforce import SalesforceHook

        sfpy = emulator.airflow_connection(ca_bundle=emulator.ca_bundle_path, version=emulator.api_version)
        _set_connection(self._monkeypatch, "sfpy_anchor", sfpy)
        official = {
            "conn_type": "salesforce",
            "extra": {"instance_url": emulator.base_url, "version": emulator.api_version},
        }
        _set_connection(self._monkeypatch, "salesforce_anchor", official)
        session = RoutingSession(emulator.base_url, emulator.ca_bundle_path)
        self._sessions.append(session)
        theirs = SalesforceHook(
            salesforce_conn_id="salesforce_anchor", session_id=emulator.login()["access_token"], session=session
        )
        ours = SalesforcePyHook(sfpy_conn_id="sfpy_anchor")
        self._ours.append(ours)
        return ours, theirs

    def close(self) -> None:
        for hook in self._ours:
            if hook._client is not None:
                hook._client.close()
        for session in self._sessions:
            session.close()


@pytest.fixture
def make_hooks(monkeypatch: pytest.MonkeyPatch) -> Iterator[HookPair]:
    pair = HookPair(monkeypatch)
    yield pair
    pair.close()


@pytest.fixture
def hooks(make_hooks: HookPair, emulator_tls: RunningEmulator) -> tuple[SalesforcePyHook, Any]:
    return make_hooks(emulator_tls)


@pytest.fixture(scope="module")
def paged_emulator() -> Iterator[RunningEmulator]:
    """A TLS emulator of its own with enough Accounts for several pages (the session's has 25)."""
    with start_emulator(tls=True, generate={"Account": GENERATED_ACCOUNTS}) as running:
        yield running


@pytest.mark.parametrize(
    "soql, include_deleted",
    [
        ("SELECT Id, Name, Industry, AnnualRevenue, Owner.Name FROM Account ORDER BY Name", False),
        ("SELECT Id, Email, Account.Name FROM Contact WHERE Email != null", False),
        ("SELECT Id, IsDeleted FROM Account", True),
        ("SELECT Id FROM Account WHERE Name = 'no such account'", False),
    ],
)
def test_make_query_returns_what_the_official_hook_returns(
    hooks: tuple[SalesforcePyHook, Any], soql: str, include_deleted: bool
) -> None:
    ours, theirs = hooks
    expected = theirs.make_query(soql, include_deleted=include_deleted)
    got = ours.make_query(soql, include_deleted=include_deleted)
    assert got == expected
    assert got["totalSize"] == len(got["records"]) and got["done"] is True


def test_make_query_reads_every_page_as_the_official_hook_does(
    make_hooks: HookPair, paged_emulator: RunningEmulator
) -> None:
    ours, theirs = make_hooks(paged_emulator)
    soql = "SELECT Id, Name FROM Account ORDER BY Name"
    expected = theirs.make_query(soql, query_params=SMALLEST_BATCH)
    paged_emulator.clear_requests_log()
    got = ours.make_query(soql, query_params=SMALLEST_BATCH)
    query_requests = [r for r in paged_emulator.requests_log() if "/query" in r["path"]]
    assert got == expected
    assert got["totalSize"] == len(got["records"]) > 2 * 200
    assert len(query_requests) == 3, query_requests  # 200 + 200 + the rest: the page size was honoured


def test_make_query_takes_the_page_size_as_batch_size_too(
    make_hooks: HookPair, paged_emulator: RunningEmulator
) -> None:
    ours, _ = make_hooks(paged_emulator)
    paged_emulator.clear_requests_log()
    got = ours.make_query("SELECT Id FROM Account", query_params={"batch_size": 200})
    query_requests = [r for r in paged_emulator.requests_log() if "/query" in r["path"]]
    assert len(got["records"]) > 2 * 200 and len(query_requests) == 3


def test_make_query_counts_as_salesforce_does_where_the_official_hook_says_zero(
    hooks: tuple[SalesforcePyHook, Any],
) -> None:
    ours, theirs = hooks
    soql = "SELECT COUNT() FROM Contact"
    counted = ours.get_conn().query(soql).body["totalSize"]
    assert counted > 0
    assert ours.make_query(soql) == {"totalSize": counted, "done": True, "records": []}
    assert theirs.make_query(soql)["totalSize"] == 0  # simple-salesforce's query_all counts the records it got


@pytest.mark.parametrize(
    "query_params, named",
    [
        ({"timeout": 5}, "timeout"),
        ({"headers": {"X-PrettyPrint": "1"}}, "X-PrettyPrint"),
        ({"headers": {"Sforce-Query-Options": "batchSize=lots"}}, "batchSize=N"),
        ({"batch_size": "500"}, "whole number"),
    ],
)
def test_make_query_refuses_query_params_it_cannot_honour_before_logging_in(
    make_hooks: HookPair, emulator_tls: RunningEmulator, query_params: dict[str, Any], named: str
) -> None:
    ours, _ = make_hooks(emulator_tls)
    with pytest.raises(SalesforceConfigError, match=named):
        ours.make_query("SELECT Id FROM Account", query_params=query_params)
    assert ours._client is None  # refused before any request


@pytest.mark.parametrize("obj", ["Account", "Contact"])
def test_describe_object_and_available_fields_match_the_official_hook(
    hooks: tuple[SalesforcePyHook, Any], obj: str
) -> None:
    ours, theirs = hooks
    described = ours.describe_object(obj)
    assert described == theirs.describe_object(obj)
    assert described["name"] == obj
    fields = ours.get_available_fields(obj)
    assert fields == theirs.get_available_fields(obj)
    assert "Id" in fields and "Name" in fields


def test_describe_object_of_an_unknown_object_raises(hooks: tuple[SalesforcePyHook, Any]) -> None:
    ours, _ = hooks
    with pytest.raises(SalesforceError, match="Acount"):
        ours.describe_object("Acount")


def test_get_object_from_salesforce_matches_the_official_hook(hooks: tuple[SalesforcePyHook, Any]) -> None:
    ours, theirs = hooks
    fields = ["Id", "Name", "Owner.Name"]
    got = ours.get_object_from_salesforce("Account", fields)
    assert got == theirs.get_object_from_salesforce("Account", fields)
    assert got["records"] and all(record["Owner"]["Name"] for record in got["records"])


@pytest.mark.parametrize(
    "obj, fields, named",
    [
        ("Account WHERE Name != null", ["Id"], "Account WHERE"),
        ("Account", ["Id FROM Contact --"], "Id FROM Contact"),
        ("Account", ["Id", "Owner..Name"], "Owner..Name"),
        ("Account", [], "at least one field"),
    ],
)
def test_get_object_from_salesforce_refuses_what_is_not_a_soql_name_before_logging_in(
    make_hooks: HookPair, emulator_tls: RunningEmulator, obj: str, fields: list[str], named: str
) -> None:
    ours, _ = make_hooks(emulator_tls)
    with pytest.raises(SalesforceConfigError, match=named):
        ours.get_object_from_salesforce(obj, fields)
    assert ours._client is None
