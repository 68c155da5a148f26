"""``max_api_usage``: the client stops before the request that would take the org's daily API usage past
the threshold, against an emulator whose daily allocation is 50 requests (and which counts every
authenticated request, as Salesforce does, in ``/limits`` and ``Sforce-Limit-Info``).

Each test gets a fresh emulator (about 0.2 s), since the emulator's usage never falls.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests

from airflow_provider_sfpy.client import (
    Client,
    MaxApiUsage,
    PasswordFlow,
    RetryPolicy,
    SalesforceApiQuotaGuardError,
    SalesforceConfigError,
    SalesforceLimitExceededError,
)
from airflow_provider_sfpy.client.aio import AsyncClient
from airflow_provider_sfpy.emulator import defaults
from airflow_provider_sfpy.emulator.cli import build_parser, config_from_args
from airflow_provider_sfpy.emulator.testing import RunningEmulator, start_emulator

DAILY_API_REQUESTS = 50
FAST_RETRY = RetryPolicy(max_attempts=4, initial_wait=0.01, max_wait=0.05, jitter=0.01)
#: 1,000 generated Accounts and the sample ones: more than 5 pages of 200.
ALL_ACCOUNTS = "SELECT Id FROM Account"


@pytest.fixture
def org() -> Iterator[RunningEmulator]:
    """A fresh org allowed 50 API requests a day, with enough Accounts for 5+ pages of 200."""
    with start_emulator(daily_api_requests=DAILY_API_REQUESTS, generate={"Account": 1000}) as running:
        yield running


def used(org: RunningEmulator) -> int:
    """The org's API usage as the emulator counts it (read in process: reading it costs no request)."""
    return org.state.usage.used()


def spend(org: RunningEmulator, requests_count: int) -> None:
    """Another integration of the org spends ``requests_count`` API requests."""
    with requests.Session() as other:
        other.headers.update(org.auth_headers())
        for _ in range(requests_count):
            assert other.get(org.data_url("/sobjects"), timeout=30).status_code == 200


def guarded_client(org: RunningEmulator, max_api_usage: Any) -> Client:
    return org.password_client(max_api_usage=max_api_usage, retry=FAST_RETRY)


# ------------------------------------------------------------------ stopping before the threshold


@pytest.mark.parametrize(
    "max_api_usage", [0.1, 5, "0.1", "5"], ids=["fraction", "count", "fraction-text", "count-text"]
)
def test_a_paged_export_stops_before_the_request_that_would_pass_the_threshold(
    org: RunningEmulator, max_api_usage: Any
) -> None:
    """0.1 of 50 and 5 both stop at 5 requests: the login's /limits, then pages 1-4; page 5 is not requested."""
    client = guarded_client(org, max_api_usage)
    client.login()
    assert used(org) == 1  # the /limits read at login
    records = 0
    with pytest.raises(SalesforceApiQuotaGuardError) as stopped:
        for _ in client.query_records(ALL_ACCOUNTS, batch_size=200):
            records += 1
    assert records == 4 * 200
    assert used(org) == 5, "the request for page 5 must not have been sent"
    error = stopped.value
    assert (error.used, error.limit, error.allowed) == (5, DAILY_API_REQUESTS, 5)
    assert re.fullmatch(r"/services/data/v[\d.]+/query/\S+", error.url or "")  # the next page's link


def test_aborting_a_bulk_job_is_never_held_back(org: RunningEmulator) -> None:
    """Past the threshold, a job can still be aborted (a killed task's on_kill, a trigger's clean-up):
    refusing the abort would leave the job loading, spending more of the allocation."""
    client = guarded_client(org, 5)
    client.login()
    job, _ = client.jobs.ingest.create(job_resource={"object": "Account", "operation": "insert"})
    spend(org, 4 - used(org))
    client.jobs.ingest.get(job_id=job["id"])  # its answer tells the client the org is at the threshold
    with pytest.raises(SalesforceApiQuotaGuardError):
        client.jobs.ingest.get(job_id=job["id"])
    aborted, _ = client.jobs.ingest.update(job_id=job["id"], state="Aborted")
    assert aborted["state"] == "Aborted"
    with pytest.raises(SalesforceApiQuotaGuardError):
        client.jobs.ingest.update(job_id=job["id"], state="UploadComplete")  # only stopping work passes


def test_the_error_names_usage_limit_threshold_and_what_to_do(org: RunningEmulator) -> None:
    client = guarded_client(org, 0.1)
    client.login()
    with pytest.raises(SalesforceApiQuotaGuardError) as stopped:
        list(client.query_records(ALL_ACCOUNTS, batch_size=200))
    error = stopped.value
    message = str(error)
    assert message.startswith(f"GET /services/data/v{client.version}/query/")
    assert ": stopped before sending: " in message
    assert "the org has used 5 of its 50 daily API requests" in message
    assert "max_api_usage=0.1 (10 % of 50) stops at 5" in message
    assert "This request was not sent" in message
    for remedy in ("raise max_api_usage", "rolling 24 hours", "higher daily API request allocation"):
        assert remedy in message
    assert isinstance(error, SalesforceLimitExceededError) and error.status is None and error.setting == "0.1"


def test_login_reads_the_usage_once_so_even_the_first_request_is_checked(org: RunningEmulator) -> None:
    """Other integrations already took the org to 40 of 50; with max_api_usage=0.8 (40) the login's
    /limits read is the only request this client sends: the query is refused before it is sent."""
    spend(org, 40)
    client = guarded_client(org, 0.8)
    client.login()
    assert used(org) == 41 and client.quota is not None and client.quota.usage is not None
    assert client.quota.usage.used == 41
    with pytest.raises(SalesforceApiQuotaGuardError, match=r"used 41 of its 50 .* stops at 40"):
        client.query("SELECT Id FROM Account LIMIT 1")
    assert used(org) == 41


def test_a_user_who_may_not_read_limits_is_checked_from_the_first_answer_on(
    org: RunningEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    """/limits needs "View Setup and Configuration": refused, the login still succeeds (with a warning), and
    the first request's Sforce-Limit-Info is where the checks start."""
    spend(org, 40)
    org.add_faults({"path": r"/limits", "status": 403, "error_code": "INSUFFICIENT_ACCESS", "message": "no access"})
    client = guarded_client(org, 0.8)
    client.login()
    assert "the org's API usage could not be read before the first request" in caplog.text
    assert client.quota is not None and client.quota.usage is None
    client.query("SELECT Id FROM Account LIMIT 1")  # sent: nothing known yet
    with pytest.raises(SalesforceApiQuotaGuardError, match=r"used 41 of its 50 .* stops at 40"):
        client.query("SELECT Id FROM Account LIMIT 1")
    assert used(org) == 41


def test_a_retry_is_checked_as_a_request_of_its_own(org: RunningEmulator) -> None:
    """A 503 (from in front of Salesforce: no usage reported, so counted as used, to be safe) would be
    retried, but the retry would pass the threshold: the client stops instead of sending it."""
    client = guarded_client(org, 2)
    client.login()  # 1 used
    org.add_faults({"path": r"/query", "status": 503, "times": 1})
    with pytest.raises(SalesforceApiQuotaGuardError, match="used 2 of its 50"):
        client.query("SELECT Id FROM Account LIMIT 1")
    sent = [entry["status"] for entry in org.requests_log() if "/query" in entry["path"]]
    assert sent == [503]  # the first attempt only


def test_the_guard_error_is_raised_at_once_not_retried(org: RunningEmulator) -> None:
    spend(org, 45)
    client = org.password_client(max_api_usage=45, retry=RetryPolicy(max_attempts=5, initial_wait=5.0))
    client.login()  # the /limits read: 46
    for _ in range(2):
        with pytest.raises(SalesforceApiQuotaGuardError):
            client.query("SELECT Id FROM Account LIMIT 1")
    assert used(org) == 46  # neither call, nor a retry of it, was sent (a retry would also have waited 5 s)


def test_without_max_api_usage_nothing_is_checked_and_login_reads_no_limits(org: RunningEmulator) -> None:
    spend(org, 48)
    client = org.password_client()
    client.login()
    assert client.quota is None and used(org) == 48
    records = sum(1 for _ in client.query_records(ALL_ACCOUNTS, batch_size=200))
    assert records > 1000 and used(org) > DAILY_API_REQUESTS  # past the allocation: nothing stopped it


# ------------------------------------------------------------------ the async client (triggers)


def test_the_async_client_stops_before_the_request_that_would_pass_the_threshold(org: RunningEmulator) -> None:
    """No /limits read at login: the first request's answer tells the usage, and from then on each is checked."""
    spend(org, 10)

    async def scenario() -> list[str]:
        flow = PasswordFlow(org.username, org.password, org.client_id, org.client_secret)
        outcomes = []
        async with AsyncClient(login_url=org.base_url, auth=flow, retry=FAST_RETRY, max_api_usage=12) as client:
            await client.login()
            for _ in range(3):
                try:
                    await client.get(client.data_path("limits"))
                    outcomes.append("sent")
                except SalesforceApiQuotaGuardError as exc:
                    outcomes.append(f"stopped at {exc.used}/{exc.limit} (allowed {exc.allowed})")
        return outcomes

    assert asyncio.run(scenario()) == ["sent", "sent", "stopped at 12/50 (allowed 12)"]
    assert used(org) == 12


# ------------------------------------------------------------------ the setting


@pytest.mark.parametrize(
    ("value", "fraction", "count", "allowed_of_100"),
    [
        (0.8, Decimal("0.8"), None, 80),
        ("0.29", Decimal("0.29"), None, 29),  # not 28: 0.29 * 100 is 28.999... in binary floating point
        (1, Decimal("1"), None, 100),  # 1 is all of it, not one request
        (" 0.5 ", Decimal("0.5"), None, 50),
        (12000, None, 12000, 12000),
        ("12000", None, 12000, 12000),
        (1e3, None, 1000, 1000),
        ("40.0", None, 40, 40),
    ],
)
def test_fractions_and_counts(value: Any, fraction: Decimal | None, count: int | None, allowed_of_100: int) -> None:
    parsed = MaxApiUsage.parse(value)
    assert parsed == MaxApiUsage(fraction=fraction, count=count)
    assert parsed.allowed(100) == allowed_of_100


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (0, "must be more than 0"),
        (-0.5, "must be more than 0"),
        ("-3", "must be more than 0"),
        (1.5, "more than 1 but not a whole number"),
        ("12000.5", "more than 1 but not a whole number"),
        ("80%", "is not a number"),
        ("lots", "is not a number"),
        ("", "is not a number"),
        (True, "is not a number"),
        (float("nan"), "is not a number"),
        ("inf", "is not a number"),
        ([0.8], "is not a number"),
    ],
)
def test_invalid_settings_are_refused_before_any_request(value: Any, problem: str) -> None:
    with pytest.raises(SalesforceConfigError) as refused:
        Client("u", "p", "id", "secret", login_url="http://127.0.0.1:9", max_api_usage=value)
    message = str(refused.value)
    assert f"max_api_usage={value!r} " in message and problem in message
    assert "0.8 stops at 80 %" in message and "12000" in message  # what would be right


# ------------------------------------------------------------------ the emulator's side


def test_the_emulator_counts_every_authenticated_request_once_and_reports_it(org: RunningEmulator) -> None:
    api = requests.Session()
    api.headers.update(org.auth_headers())  # an OAuth login: not counted
    assert used(org) == 0
    assert requests.get(f"{org.base_url}/services/data/", timeout=30).status_code == 200  # versions: not counted
    assert api.get(org.data_url("/limits"), headers={"Authorization": "Bearer nope"}, timeout=30).status_code == 401
    assert used(org) == 0
    answers = [
        api.get(org.data_url("/query"), params={"q": "SELECT Id FROM Account LIMIT 1"}, timeout=30),
        api.post(org.data_url("/sobjects/Account"), json={"Name": "Counted"}, timeout=30),
        api.get(org.data_url("/sobjects/Account/describe"), timeout=30),
        api.get(org.data_url("/query"), params={"q": "SELECT Nope FROM Account"}, timeout=30),  # a 400 counts too
        api.post(
            org.data_url("/jobs/query"), json={"operation": "query", "query": "SELECT Id FROM Account"}, timeout=30
        ),
    ]
    assert [answer.headers["Sforce-Limit-Info"] for answer in answers] == [
        f"api-usage={n}/{DAILY_API_REQUESTS}" for n in range(1, 6)
    ]
    limits = api.get(org.data_url("/limits"), timeout=30)
    assert limits.json()["DailyApiRequests"] == {"Max": DAILY_API_REQUESTS, "Remaining": DAILY_API_REQUESTS - 6}
    assert limits.headers["Sforce-Limit-Info"] == f"api-usage=6/{DAILY_API_REQUESTS}"


def test_sfpy_emulator_takes_the_daily_allocation_from_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    assert config_from_args(parser.parse_args(["--daily-api-requests", "50"])).daily_api_requests == 50
    assert config_from_args(parser.parse_args([])).daily_api_requests == defaults.DAILY_API_REQUESTS
    with pytest.raises(SystemExit):
        parser.parse_args(["--daily-api-requests", "0"])
    assert "expected a whole number of requests, 1 or more: '0'" in capsys.readouterr().err
