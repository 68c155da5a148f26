"""``sfpy-emulator --bench-wide-object N``: the wide benchmark object, added at start-up, and nothing when off.

The object joins the schema registry of the process that serves it (``schema.register_sobject``), so
every test that registers it runs in a process of its own: the test process's emulators keep the
built-in schema.
"""

from __future__ import annotations

import contextlib
import dataclasses
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from emulator_api import Api

from airflow_provider_sfpy.client import Client
from airflow_provider_sfpy.emulator import defaults
from airflow_provider_sfpy.emulator.cli import build_parser, config_from_args
from airflow_provider_sfpy.emulator.objects.bench_wide import BENCH_WIDE_NAME, bench_wide_object
from airflow_provider_sfpy.emulator.process import EmulatorProcess
from airflow_provider_sfpy.emulator.schema import SCHEMA, lookup_sobject, register_sobject
from airflow_provider_sfpy.emulator.testing import RunningEmulator


@contextlib.contextmanager
def wide_org(records: int) -> Iterator[Client]:
    """``sfpy-emulator --bench-wide-object records`` in a process of its own, and our client logged in to it."""
    with EmulatorProcess(["--no-sample-data", "--bench-wide-object", str(records)]) as emulator:
        credentials = (defaults.DEFAULT_USERNAME, defaults.DEFAULT_PASSWORD)
        app = (defaults.DEFAULT_CLIENT_ID, defaults.DEFAULT_CLIENT_SECRET)
        with Client(*credentials, *app, login_url=emulator.base_url) as client:
            client.login()
            yield client


def test_the_flag_starts_an_emulator_with_the_wide_object_queryable() -> None:
    with wide_org(25) as client:
        listed = client.sobjects().describe_global().body["sobjects"]
        assert [o["custom"] for o in listed if o["name"] == BENCH_WIDE_NAME] == [True]
        fields = client.sobjects(BENCH_WIDE_NAME).describe().body["fields"]
        assert sum(f["custom"] for f in fields) == 300
        soql = f"SELECT Id, Name, F003_Textarea__c, F005_Boolean__c FROM {BENCH_WIDE_NAME} ORDER BY Name LIMIT 1"
        record = client.query(soql).body["records"][0]
        assert record["Id"].startswith("a0W") and record["Name"] == "Wide 1"
        assert "\n" in record["F003_Textarea__c"] and isinstance(record["F005_Boolean__c"], bool)
        assert client.query(f"SELECT COUNT() FROM {BENCH_WIDE_NAME}").body["totalSize"] == 25


def test_without_the_flag_the_org_has_no_wide_object(emulator: RunningEmulator, api: Api) -> None:
    assert build_parser().parse_args([]).bench_wide_object == 0
    assert config_from_args(build_parser().parse_args([])).bench_wide_records == 0
    assert lookup_sobject(BENCH_WIDE_NAME) is None
    assert not emulator.store.scalar("SELECT count(*) FROM sqlite_master WHERE name = ?", (BENCH_WIDE_NAME,))
    names = {o["name"] for o in api.get("/sobjects/").json()["sobjects"]}
    assert BENCH_WIDE_NAME not in names and "Account" in names
    response = api.get("/query/", params={"q": f"SELECT Id FROM {BENCH_WIDE_NAME}"})
    assert response.status_code == 400
    assert Api.error(response)["errorCode"] == "INVALID_TYPE"


@pytest.mark.parametrize("value", ["-1", "many"])
def test_the_flag_takes_a_whole_number_of_records(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--bench-wide-object", value])
    assert "argument --bench-wide-object: expected a whole number of records, 0 or more" in capsys.readouterr().err


def test_registering_refuses_a_taken_name_or_key_prefix_and_repeats_are_harmless() -> None:
    before = dict(SCHEMA)
    register_sobject(SCHEMA["Account"])  # the same definition again
    wide = bench_wide_object(2)
    with pytest.raises(ValueError, match="key prefix '001' of Bench_Wide__c already belongs to Account"):
        register_sobject(dataclasses.replace(wide, key_prefix="001"))
    with pytest.raises(ValueError, match="named Account is already registered with another definition"):
        register_sobject(dataclasses.replace(wide, name="account"))
    assert before == SCHEMA


REGISTER_SCRIPT = textwrap.dedent(
    """
    import sys
    from airflow_provider_sfpy.emulator import describe, schema
    from airflow_provider_sfpy.emulator.objects.bench_wide import bench_wide_object, fill_bench_wide
    from airflow_provider_sfpy.emulator.soql import compile_soql
    from airflow_provider_sfpy.emulator.store import Store

    def user_children():
        return {c["childSObject"] for c in describe.describe("User", "62.0")["childRelationships"]}

    listed = lambda: {o["name"] for o in describe.describe_global("62.0")["sobjects"]}
    assert "Bench_Wide__c" not in listed() and "Bench_Wide__c" not in user_children()
    wide = bench_wide_object(3)
    schema.register_sobject(wide)
    assert "Bench_Wide__c" in listed(), "describeGlobal kept its cache"
    assert "Bench_Wide__c" in user_children(), "describe(User) kept its cache"
    assert schema.sobject_for_key_prefix("a0W000000000001AAA") is wide
    compile_soql("SELECT Id, Owner.Name FROM bench_wide__c")
    store = Store.open(sys.argv[1])
    first = fill_bench_wide(store, wide, 7, "005000000000001AAA")
    again = fill_bench_wide(store, wide, 7, "005000000000001AAA")
    print(first, again, store.count("Bench_Wide__c"))
    """
)


def test_registering_refreshes_what_was_derived_from_the_schema_and_fills_an_org_once(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-c", REGISTER_SCRIPT, str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.split() == ["7", "0", "7"]
