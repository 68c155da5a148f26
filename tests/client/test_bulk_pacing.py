"""Poll pacing for Bulk jobs: back-off, brought forward by the processing rate when job sizes are known."""

from __future__ import annotations

import pytest

from airflow_provider_sfpy.client.bulk_pacing import PollPacer


def _info(processed: int) -> dict[str, object]:
    return {"state": "InProgress", "numberRecordsProcessed": processed}


def test_without_job_sizes_the_delays_are_the_plain_back_off() -> None:
    pacer = PollPacer(5.0, 60.0)
    delays = []
    for step, processed in enumerate([0, 1000, 2000, 3000, 4000, 5000, 6000, 7000]):
        pacer.observe("j", _info(processed), now=step * 10.0)
        delays.append(pacer.next_delay(["j"], now=step * 10.0))
    assert delays == [5.0, 7.5, 11.25, 16.875, 25.3125, 37.96875, 56.953125, 60.0]


def test_the_next_poll_comes_when_the_rate_says_the_job_is_done() -> None:
    pacer = PollPacer(5.0, 60.0, {"j": 10_000})
    pacer.observe("j", _info(0), now=0.0)
    assert pacer.next_delay(["j"], now=0.0) == 5.0  # no rate yet
    pacer.observe("j", _info(4_000), now=5.0)  # 800 records/s -> 6,000 left = 7.5 s
    assert pacer.next_delay(["j"], now=5.0) == pytest.approx(7.5)  # the back-off (7.5) and 7.5 s x 1.1
    pacer.observe("j", _info(9_000), now=12.5)  # 1,000 left at ~667 records/s: 1.5 s
    assert pacer.next_delay(["j"], now=12.5) == pytest.approx(1.5 * 1.1)


def test_the_estimate_never_waits_longer_than_the_back_off_nor_polls_sooner_than_the_floor() -> None:
    pacer = PollPacer(5.0, 60.0, {"slow": 1_000_000})
    pacer.observe("slow", _info(0), now=0.0)
    pacer.next_delay(["slow"], now=0.0)
    pacer.observe("slow", _info(100), now=5.0)  # hours to go
    assert pacer.next_delay(["slow"], now=5.0) == 7.5
    nearly = PollPacer(5.0, 60.0, {"j": 1_000})
    nearly.observe("j", _info(0), now=0.0)
    nearly.observe("j", _info(999), now=5.0)
    assert nearly.next_delay(["j"], now=5.0) == 1.0


def test_the_slowest_pending_job_sets_the_time_and_an_unsized_one_keeps_the_back_off() -> None:
    pacer = PollPacer(5.0, 60.0, {"a": 1_000, "b": 1_000})
    for job in ("a", "b"):
        pacer.observe(job, _info(0), now=0.0)
    pacer.observe("a", _info(900), now=5.0)  # 100 left at 180/s
    pacer.observe("b", _info(500), now=5.0)  # 500 left at 100/s: 5 s
    assert pacer.seconds_left(["a", "b"], now=5.0) == pytest.approx(5.0)
    assert pacer.seconds_left(["a"], now=5.5) == pytest.approx(100 / 180 - 0.5)
    pacer.observe("c", _info(10), now=5.0)
    assert pacer.seconds_left(["a", "c"], now=5.0) is None
    assert pacer.progress_text("b") == "500/1,000 records" and pacer.progress_text("c") == "10 records"
