"""``GET /jobs/query/{id}/resultPages`` (API 58.0+): links to the locator pages, five at a time, and the
server's per-page time that makes a parallel download measurably faster."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from emulator_api import Api

from airflow_provider_sfpy.emulator.testing import RunningEmulator, start_emulator

ACCOUNTS = 1234
SOQL = "SELECT Id, Name FROM Account ORDER BY Name"


@pytest.fixture(scope="module")
def org() -> Iterator[RunningEmulator]:
    with start_emulator(sample_data=False, generate={"Account": ACCOUNTS}, bulk_queue_delay=0.01) as running:
        yield running


@pytest.fixture
def api(org: RunningEmulator) -> Iterator[Api]:
    yield Api(org)
    set_result_pages(org, page_records=None, page_seconds=0)


def set_result_pages(org: RunningEmulator, **changes: Any) -> requests.Response:
    return requests.put(
        org.admin_url("bulk/result-pages"), json=changes, headers=org.admin_headers(), timeout=10, verify=org.verify
    )


def run(api: Api, soql: str = SOQL) -> str:
    job_id: str = api.post("/jobs/query", json={"operation": "query", "query": soql}).json()["id"]
    deadline = time.monotonic() + 30
    while api.get(f"/jobs/query/{job_id}").json()["state"] != "JobComplete":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    return job_id


def all_links(api: Api, job_id: str, **params: Any) -> tuple[list[str], list[dict[str, Any]]]:
    """Every resultUrl, following nextRecordsUrl; and each answer."""
    answers = []
    response = api.get(f"/jobs/query/{job_id}/resultPages", params=params)
    while True:
        assert response.status_code == 200, response.text
        answers.append(response.json())
        next_url = answers[-1]["nextRecordsUrl"]
        if next_url is None:
            break
        response = api.get(next_url)
    return [link["resultUrl"] for answer in answers for link in answer["resultPages"]], answers


def locator_pages(api: Api, job_id: str, max_records: int | None = None) -> list[requests.Response]:
    pages, locator = [], ""
    while locator != "null":
        params = {"locator": locator or None, "maxRecords": max_records}
        pages.append(api.get(f"/jobs/query/{job_id}/results", params=params))
        locator = pages[-1].headers["Sforce-Locator"]
    return pages


def test_result_pages_link_the_locator_pages_five_at_a_time(api: Api) -> None:
    api.version = "62.0"
    job_id = run(api)
    links, answers = all_links(api, job_id, maxRecords=100)
    assert [len(a["resultPages"]) for a in answers] == [5, 5, 3]
    assert [a["done"] for a in answers] == [False, False, True]
    assert list(answers[0]) == ["resultPages", "nextRecordsUrl", "done"]
    assert all(link.startswith(f"/services/data/v62.0/jobs/query/{job_id}/results?locator=") for link in links)
    assert parse_qs(urlsplit(links[0]).query) == {"locator": ["MA"], "maxRecords": ["100"]}
    downloaded = [api.get(link) for link in reversed(links)][::-1]  # any order: each link stands alone
    sequential = locator_pages(api, job_id, max_records=100)
    assert [page.content for page in downloaded] == [page.content for page in sequential]
    counts = [int(page.headers["Sforce-NumberOfRecords"]) for page in downloaded]
    assert counts == [100] * 12 + [34] and sum(counts) == ACCOUNTS
    # Each page's Sforce-Locator is the next link's locator: the links chain like the locators do.
    chained = [parse_qs(urlsplit(link).query)["locator"][0] for link in links[1:]] + ["null"]
    assert [page.headers["Sforce-Locator"] for page in downloaded] == chained


def test_page_records_setting_cuts_result_pages_and_plain_results_alike(api: Api, org: RunningEmulator) -> None:
    job_id = run(api)
    assert len(all_links(api, job_id)[0]) == 1  # no size anywhere: one page, as /results answers
    assert set_result_pages(org, page_records=500).json() == {"page_records": 500, "page_seconds": 0.0}
    links, _ = all_links(api, job_id)
    sequential = locator_pages(api, job_id)
    assert [int(p.headers["Sforce-NumberOfRecords"]) for p in sequential] == [500, 500, 234]
    assert [api.get(link).content for link in links] == [page.content for page in sequential]


def test_an_empty_result_has_one_page_with_the_header(api: Api) -> None:
    job_id = run(api, "SELECT Id FROM Account WHERE Name = 'no such account'")
    links, answers = all_links(api, job_id, maxRecords=100)
    assert len(links) == 1 and answers[0]["done"] is True
    page = api.get(links[0])
    assert page.text == '"Id"\n' and page.headers["Sforce-NumberOfRecords"] == "0"


def test_refusals_match_the_documented_ones(api: Api, org: RunningEmulator) -> None:
    job_id = run(api)
    old = Api(org, version="57.0").get(f"/jobs/query/{job_id}/resultPages")
    assert old.status_code == 404 and Api.error(old)["errorCode"] == "NOT_FOUND"
    other_version = Api(org, version="60.0").get(f"/jobs/query/{job_id}/resultPages")
    assert other_version.status_code == 409
    bad_locator = api.get(f"/jobs/query/{job_id}/resultPages", params={"locator": "!!"})
    assert bad_locator.status_code == 400 and Api.error(bad_locator)["errorCode"] == "INVALID_QUERY_LOCATOR"
    unknown = api.get("/jobs/query/750000000000000AAA/resultPages")
    assert unknown.status_code == 404


def test_a_running_job_has_no_result_pages_yet(org: RunningEmulator) -> None:
    with start_emulator(sample_data=False, generate={"Account": 3}, bulk_queue_delay=5.0) as slow:
        api = Api(slow)
        job_id = api.post("/jobs/query", json={"operation": "query", "query": "SELECT Id FROM Account"}).json()["id"]
        response = api.get(f"/jobs/query/{job_id}/resultPages")
        assert response.status_code == 400 and Api.error(response)["errorCode"] == "INVALIDJOBSTATE"


def test_page_seconds_delay_each_page_without_holding_up_the_others(api: Api, org: RunningEmulator) -> None:
    job_id = run(api)
    links, _ = all_links(api, job_id, maxRecords=400)
    assert set_result_pages(org, page_seconds=1.0).status_code == 200
    org.clear_requests_log()
    finished: list[float] = []
    took: list[float] = []

    def fetch(link: str) -> None:
        started = time.monotonic()
        response = api.get(link)
        took.append(time.monotonic() - started)
        finished.append(time.time())
        assert response.status_code == 200

    threads = [threading.Thread(target=fetch, args=(link,)) for link in links[:3]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert min(took) >= 1.0  # every page waited its server time
    arrived = [entry["time"] for entry in org.requests_log() if entry["path"].endswith("/results")]
    # All three reached the server before the first answer came back: the waits overlap.
    assert len(arrived) == 3 and max(arrived) < min(finished)


def test_settings_are_checked_and_guarded(org: RunningEmulator) -> None:
    assert set_result_pages(org, page_records=0).status_code == 400
    assert set_result_pages(org, page_seconds=-1).status_code == 400
    assert "unknown" in set_result_pages(org, page_size=3).json()["error"]
    unauthorised = requests.put(org.admin_url("bulk/result-pages"), json={"page_seconds": 1}, timeout=10)
    assert unauthorised.status_code == 401
    current = requests.get(org.admin_url("bulk/result-pages"), headers=org.admin_headers(), timeout=10).json()
    assert current == {"page_records": None, "page_seconds": 0.0}
