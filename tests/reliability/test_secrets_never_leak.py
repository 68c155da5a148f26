"""No secret ever leaves the connection: not in logs, XComs, rendered fields, files or exception texts.

For each login flow (password, JWT bearer, client credentials, refresh token) the nightly example DAG
(export -> upsert -> deferred Bulk load in the triggerer -> Chatter) runs under ``dag.test()`` and a
login with the flow's secret wrong is refused (by a task and by the trigger's async client). Then, once
(the failures happen on Salesforce's side, whatever the flow), example DAGs run with Salesforce
failing their tasks in different ways, and more failures are raised directly. Everything that could
carry a secret is searched for the password, client secret, refresh token, JWT private key (whole and
line by line), the wrong secrets, every access token the emulator issued and every JWT assertion:

- everything written to stdout/stderr (Airflow's task logs under dag.test go there),
- every record of the provider's own loggers, unmasked (``airflow_provider_sfpy.*`` at DEBUG),
- log files under AIRFLOW_HOME, XComs and rendered template fields of the runs (metadata DB),
- the files the DAGs wrote, and the text and traceback of each failure.

The access tokens the tasks' hooks obtained must also be registered with Airflow's secrets masker.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import traceback
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from reliability_support import connection_fields, first_event, task_context

from airflow_provider_sfpy.client import auth as auth_module
from airflow_provider_sfpy.hooks.salesforce import SalesforcePyHook

FLOWS = ("password", "jwt", "client_credentials", "refresh_token")


def flow_connection(emulator: Any, flow: str) -> dict[str, Any]:
    base: dict[str, Any] = {"conn_type": "sfpy", "host": emulator.base_url}
    if flow == "password":
        return connection_fields(emulator)
    if flow == "jwt":
        extra = {"auth_type": "jwt", "client_id": emulator.client_id, "private_key": emulator.jwt_private_key}
        return {**base, "login": emulator.username, "extra": extra}
    if flow == "client_credentials":
        extra = {"auth_type": "client_credentials", "client_id": emulator.client_id}
        return {**base, "extra": {**extra, "client_secret": emulator.client_secret}}
    extra = {"auth_type": "refresh_token", "client_id": emulator.client_id, "refresh_token": emulator.refresh_token}
    return {**base, "extra": {**extra, "client_secret": emulator.client_secret}}


class Witness:
    """Records every credential minted while it is active: access tokens (emulator side), JWT assertions
    (client side) and which access tokens went to the triggerer's async clients."""

    def __init__(self, emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.tokens: list[str] = []
        self.assertions: list[str] = []
        self.async_tokens: list[str] = []
        sessions = emulator.state.sessions
        issue = sessions.issue

        def recording_issue(*args: Any, **kwargs: Any) -> Any:
            session = issue(*args, **kwargs)
            self.tokens.append(session.token)
            return session

        monkeypatch.setattr(sessions, "issue", recording_issue)
        sign = auth_module.JwtBearerFlow.assertion

        def recording_assertion(flow: Any, login_url: str) -> str:
            signed: str = sign(flow, login_url)
            self.assertions.append(signed)
            return signed

        monkeypatch.setattr(auth_module.JwtBearerFlow, "assertion", recording_assertion)
        get_async = SalesforcePyHook.aget_async_client.__func__  # type: ignore[attr-defined]

        async def recording_get_async(cls: type, sfpy_conn_id: str, **kwargs: Any) -> Any:
            client = await get_async(cls, sfpy_conn_id, **kwargs)
            self.async_tokens.append(client._token.access_token)
            return client

        monkeypatch.setattr(SalesforcePyHook, "aget_async_client", classmethod(recording_get_async))


def key_material(pem: str) -> list[str]:
    """The PEM, and each line of its base64 body (a leak may be cut at any line)."""
    return [pem.strip(), *(line.strip() for line in pem.splitlines() if len(line.strip()) > 8 and "-----" not in line)]


def static_secrets(emulator: Any, *extra: str) -> dict[str, str]:
    found = {
        "password": emulator.password,
        "client_secret": emulator.client_secret,
        "refresh_token": emulator.refresh_token,
        **{f"private key #{n}": part for n, part in enumerate(key_material(emulator.jwt_private_key))},
    }
    found.update({f"extra #{n}": value for n, value in enumerate(extra)})
    return found


def run_texts(dag_id: str, run_id: str) -> dict[str, str]:
    """XComs and rendered template fields of one run, straight from the metadata DB."""
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        xcoms = session.execute(
            select(XComModel).where(XComModel.dag_id == dag_id, XComModel.run_id == run_id)
        ).scalars()
        xcom_text = json.dumps([[x.task_id, x.key, x.value] for x in xcoms], default=str)
        rendered = session.execute(
            select(RenderedTaskInstanceFields).where(
                RenderedTaskInstanceFields.dag_id == dag_id, RenderedTaskInstanceFields.run_id == run_id
            )
        ).scalars()
        rendered_text = json.dumps([[r.task_id, r.rendered_fields] for r in rendered], default=str)
    return {f"{dag_id} XComs": xcom_text, f"{dag_id} rendered fields": rendered_text}


def files_text(root: Path) -> str:
    return "\n".join(p.read_bytes().decode("utf-8", "replace") for p in sorted(root.rglob("*")) if p.is_file())


def assert_nothing_leaks(sources: dict[str, str], secrets: dict[str, str]) -> None:
    leaks = [
        f"{name} in {where}" for where, text in sources.items() for name, value in secrets.items() if value in text
    ]
    assert not leaks, leaks


def load_example(module_name: str) -> Any:
    import importlib.util

    path = Path(__file__).resolve().parents[2] / "example_dags" / f"{module_name}.py"
    spec = importlib.util.spec_from_file_location(f"reliability_{module_name}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.dag


def wrong_secrets(flow: str) -> dict[str, str]:
    return {
        "secret": f"wrong-client-secret-{uuid.uuid4().hex}",
        "password": f"wrong-Pa55-{uuid.uuid4().hex}",
        "refresh_token": f"wrong-refresh-{uuid.uuid4().hex}",
        "private_key": untrusted_private_key() if flow == "jwt" else "",
    }


def wrong_values(wrong: dict[str, str]) -> list[str]:
    values = [wrong["secret"], wrong["password"], wrong["refresh_token"]]
    return values + (key_material(wrong["private_key"]) if wrong["private_key"] else [])


def wrong_connection(emulator: Any, flow: str, wrong: dict[str, str]) -> dict[str, Any]:
    """The flow's connection with its secret replaced by a wrong one: every login is refused."""
    conn = flow_connection(emulator, flow)
    if flow == "password":
        return {**conn, "password": wrong["password"], "extra": {**conn["extra"], "client_secret": wrong["secret"]}}
    if flow == "jwt":
        return {**conn, "extra": {**conn["extra"], "private_key": wrong["private_key"]}}
    if flow == "client_credentials":
        return {**conn, "extra": {**conn["extra"], "client_secret": wrong["secret"]}}
    return {**conn, "extra": {**conn["extra"], "refresh_token": wrong["refresh_token"]}}


def untrusted_private_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return pem.decode()


# Faults that make the sObject example DAG fail three different ways: an insert whose outcome is unknown,
# an upsert refused with Salesforce's error text, a file upload refused by the org's limits.
SOBJECT_DAG_FAULTS = (
    {"path": r"/composite/sobjects$", "method": "POST", "status": 500, "after_processing": True},
    {
        "path": r"/composite/sobjects/Account/External_Id__c$",
        "status": 400,
        "error_code": "INVALID_FIELD",
        "message": "No such column 'Colour__c' on sobject of type Account",
    },
    {"path": r"/sobjects/ContentVersion$", "status": 403, "error_code": "REQUEST_LIMIT_EXCEEDED"},
)


def failing_operators(nowhere: Path) -> list[Any]:
    """Operators that fail in the remaining ways: a server-side query error, an Apex exception, a failed Bulk job."""
    from airflow_provider_sfpy.operators.apex import SalesforceApexOperator
    from airflow_provider_sfpy.operators.bulk import SalesforceBulkIngestOperator
    from airflow_provider_sfpy.operators.query_to_file import SalesforceQueryToFileOperator

    return [
        SalesforceQueryToFileOperator(
            task_id="bad_field", soql="SELECT Id, Nmae FROM Account", destination=str(nowhere / "never.csv")
        ),
        SalesforceApexOperator(task_id="apex_exception", apex="Integer i = 1 / 0;"),
        SalesforceBulkIngestOperator(
            task_id="bulk_job_fails",
            object_type="Account",
            operation="insert",
            records=[{"Name": "Secret Scan", "Colour__c": "red"}],
            deferrable=False,
            poll_interval=0.2,
        ),
    ]


@pytest.fixture(scope="module")
def secrets_emulator() -> Iterator[Any]:
    """A fresh org for this module: the example DAGs expect sample data no other test has reshaped
    (e.g. two accounts sharing an external id would fail the pipeline's upsert). Its Bulk jobs wait
    1.5 s in the queue, so the pipeline's load is still running at the operator's one check before
    deferring (after 1 s) and the trigger runs: its tokens are among what is scanned."""
    from airflow_provider_sfpy.emulator.testing import start_emulator

    with start_emulator(bulk_queue_delay=1.5) as running:
        yield running


@pytest.fixture
def airflow_env(airflow_db: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str, dict[str, Any]], None]]:
    def set_connection(conn_id: str, fields: dict[str, Any]) -> None:
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(fields))

    yield set_connection


class Scan:
    """Collects what a test produced and searches it for secrets."""

    def __init__(self, emulator: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        self.emulator = emulator
        self.witness = Witness(emulator, monkeypatch)
        self.tmp_path = tmp_path
        self.runs: list[tuple[str, str]] = []
        self.errors: list[str] = []
        self.wrong_values: list[str] = []

    def run(self, module_name: str, output: Path) -> Any:
        dag = load_example(module_name)
        dag_run = dag.test(run_conf={"output_dir": output.as_uri()})
        self.runs.append((dag.dag_id, dag_run.run_id))
        return dag_run

    def fails(self, call: Callable[[], Any]) -> str:
        with pytest.raises(Exception) as caught:  # each fails its own way; the text is the point
            call()
        text = "".join(traceback.format_exception(caught.value))
        self.errors.append(text)
        return text

    def sources(self, capfd: pytest.CaptureFixture[str], records: list[logging.LogRecord]) -> dict[str, str]:
        out, err = capfd.readouterr()
        provider_lines = "\n".join(
            r.getMessage() + (("\n" + logging.Formatter().formatException(r.exc_info)) if r.exc_info else "")
            for r in records
        )
        home = Path(os.environ["AIRFLOW_HOME"])
        found = {
            "stdout (task logs)": out,
            "stderr": err,
            "provider log records": provider_lines,
            "log files": files_text(home / "logs") if (home / "logs").exists() else "",
            "files written by the DAGs": files_text(self.tmp_path),
            "exception texts": "\n".join(self.errors),
        }
        for dag_id, run_id in self.runs:
            found.update(run_texts(dag_id, run_id))
        return found

    def assert_no_secret_in(self, sources: dict[str, str]) -> None:
        minted = [*self.witness.tokens, *self.witness.assertions]
        assert_nothing_leaks(sources, static_secrets(self.emulator, *self.wrong_values, *minted))
        # The access tokens the tasks' hooks logged in with are registered with Airflow's masker.
        from airflow.sdk._shared.secrets_masker import redact

        task_tokens = [t for t in self.witness.tokens if t not in self.witness.async_tokens]
        assert task_tokens
        for token in task_tokens:
            assert token not in str(redact(f"Authorization: Bearer {token}"))


def refused_login_texts(scan: Scan, conn_id: str, tmp_path: Path) -> tuple[str, str]:
    """A task and a trigger logging in with wrong credentials: the task's error text, the trigger's event."""
    import asyncio

    from airflow_provider_sfpy.operators.query_to_file import SalesforceQueryToFileOperator
    from airflow_provider_sfpy.triggers.bulk import SalesforceBulkJobTrigger

    operator = SalesforceQueryToFileOperator(
        task_id="refused",
        soql="SELECT Id FROM Account",
        destination=str(tmp_path / "refused.csv"),
        sfpy_conn_id=conn_id,
    )
    task_error = scan.fails(lambda: operator.execute(context=task_context()))
    trigger = SalesforceBulkJobTrigger(sfpy_conn_id=conn_id, job_ids=["7505g000000000AAA"])
    event = asyncio.run(first_event(trigger))
    scan.errors.append(json.dumps(event.payload))
    return task_error, str(event.payload.get("message"))


@pytest.mark.parametrize("flow", FLOWS)
def test_no_secret_leaks_from_a_nightly_run_or_a_refused_login(
    flow: str,
    secrets_emulator: Any,
    airflow_env: Callable[[str, dict[str, Any]], None],
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    provider_records: list[logging.LogRecord],
    tmp_path: Path,
) -> None:
    emulator = secrets_emulator
    scan = Scan(emulator, monkeypatch, tmp_path)
    airflow_env("sfpy_default", flow_connection(emulator, flow))
    output = tmp_path / "out"
    output.mkdir()

    green = scan.run("example_sfpy_pipeline", output)
    assert str(green.state).endswith("success")

    wrong = wrong_secrets(flow)
    scan.wrong_values = wrong_values(wrong)
    airflow_env("sfpy_wrong", wrong_connection(emulator, flow, wrong))
    task_error, trigger_message = refused_login_texts(scan, "sfpy_wrong", tmp_path)
    assert "was refused" in task_error and "was refused" in trigger_message

    sources = scan.sources(capfd, provider_records)
    # The sources really hold what we think they hold (else an empty search would prove nothing).
    assert "Connected to Salesforce" in sources["stdout (task logs)"]
    assert "Bulk load done" in sources["stdout (task logs)"]  # the deferred task resumed after the trigger
    assert "SELECT Id, Name, Industry" in sources["example_sfpy_pipeline rendered fields"]
    assert "records_processed" in sources["example_sfpy_pipeline XComs"]
    assert any("->" in record.getMessage() for record in provider_records)  # DEBUG request lines captured
    assert scan.witness.tokens and scan.witness.async_tokens
    assert bool(scan.witness.assertions) == (flow == "jwt")
    scan.assert_no_secret_in(sources)


def test_no_secret_leaks_from_failing_runs(
    secrets_emulator: Any,
    airflow_env: Callable[[str, dict[str, Any]], None],
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    provider_records: list[logging.LogRecord],
    tmp_path: Path,
) -> None:
    emulator = secrets_emulator
    scan = Scan(emulator, monkeypatch, tmp_path)
    airflow_env("sfpy_default", flow_connection(emulator, "password"))
    output = tmp_path / "out"
    output.mkdir()

    # The sObject example with Salesforce failing three of its tasks.
    emulator.add_faults(*SOBJECT_DAG_FAULTS)
    sobject_run = scan.run("example_sfpy_sobject", output)
    emulator.clear_faults()
    states = {ti.task_id: str(ti.state) for ti in sobject_run.get_task_instances()}
    assert all(states[t].endswith("failed") for t in ("insert_contacts", "upsert_accounts", "attach_notes")), states

    # The export example with a wrong password and client secret: every task's login refused.
    wrong = wrong_secrets("password")
    scan.wrong_values = wrong_values(wrong)
    airflow_env("sfpy_default", wrong_connection(emulator, "password", wrong))
    refused_run = scan.run("example_sfpy_query_to_file", output)
    assert all(str(ti.state).endswith("failed") for ti in refused_run.get_task_instances())
    airflow_env("sfpy_default", flow_connection(emulator, "password"))

    # More failures raised directly, for their exception text and traceback.
    for operator in failing_operators(tmp_path):
        scan.fails(functools.partial(operator.execute, context=task_context()))

    sources = scan.sources(capfd, provider_records)
    out = sources["stdout (task logs)"]
    assert "not re-sent" in out and "Colour__c" in out and "REQUEST_LIMIT_EXCEEDED" in out and "refused" in out
    errors = sources["exception texts"]
    assert "No such column 'Nmae'" in errors and "Divide by 0" in errors and "Colour__c" in errors
    scan.assert_no_secret_in(sources)


def test_the_triggers_access_token_is_registered_with_the_masker(emulator: Any, sfpy_conn: str) -> None:
    import asyncio

    from airflow.sdk._shared.secrets_masker import redact

    async def token() -> str:
        client = await SalesforcePyHook.aget_async_client(sfpy_conn)
        try:
            assert client._token is not None
            return client._token.access_token
        finally:
            await client.aclose()

    access_token = asyncio.run(token())
    assert access_token not in str(redact(f"Authorization: Bearer {access_token}"))


def test_a_renewed_access_token_is_registered_with_the_masker(emulator: Any, sfpy_conn: str) -> None:
    from airflow.sdk._shared.secrets_masker import redact

    client = SalesforcePyHook(sfpy_conn_id=sfpy_conn).get_conn()
    first = client.session_id
    emulator.expire_sessions()
    client.query("SELECT Id FROM Account LIMIT 1")
    renewed = client.session_id
    assert renewed != first and first not in str(redact(first))
    assert renewed not in str(redact(f"Authorization: Bearer {renewed}"))


def connection_secrets(emulator: Any, flow: str) -> list[str]:
    return {
        "password": [emulator.password, emulator.client_secret],
        "jwt": key_material(emulator.jwt_private_key),
        "client_credentials": [emulator.client_secret],
        "refresh_token": [emulator.refresh_token, emulator.client_secret],
    }[flow]


@pytest.mark.parametrize("flow", FLOWS)
def test_connection_secrets_and_the_session_token_are_registered_with_the_masker(
    flow: str, secrets_emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.sdk._shared.secrets_masker import redact

    emulator = secrets_emulator
    monkeypatch.setenv("AIRFLOW_CONN_SFPY_MASKED", json.dumps(flow_connection(emulator, flow)))
    client = SalesforcePyHook(sfpy_conn_id="sfpy_masked").get_conn()
    for secret in [*connection_secrets(emulator, flow), client.session_id]:
        assert secret not in str(redact(f"value: {secret} (end)")), (flow, secret[:12])
