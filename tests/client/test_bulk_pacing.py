"""Poll pacing for Bulk jobs: back-off held to a share of the time waited, brought forward by the
processing rate when job sizes are known."""

from __future__ import annotations

import itertools

import pytest

from airflow_provider_sfpy.client.bulk_pacing import ELAPSED_SHARE, PollPacer


def _info(processed: int, state: str = "InProgress") -> dict[str, object]:
    return {"state": state, "numberRecordsProcessed": processed}


def _wait_on_a_fake_clock(pacer: PollPacer, job_seconds: float) -> tuple[float, list[float]]:
    """Poll a job that ends ``job_seconds`` after the first poll, as ``wait_for_jobs`` does (a poll at once,
    then sleep ``next_delay`` between polls): when the job was seen done, and every poll's time."""
    now, polls = 0.0, []
    while True:
        polls.append(now)
        done = now >= job_seconds
        pacer.observe("j", _info(0, "JobComplete" if done else "InProgress"), now)
        if done:
            return now, polls
        now += pacer.next_delay(["j"], now)


def test_without_job_sizes_polls_far_apart_see_the_plain_back_off() -> None:
    # Polls 100 s apart (a slow round over many jobs): the share of the time waited allows more than the back-off.
    pacer = PollPacer(5.0, 60.0)
    delays = []
    for step in range(8):
        pacer.observe("j", _info(step * 1000), now=step * 100.0)
        delays.append(pacer.next_delay(["j"], now=step * 100.0))
    assert delays == [5.0, 7.5, 11.25, 16.875, 25.3125, 37.96875, 56.953125, 60.0]


def test_without_job_sizes_no_wait_exceeds_the_interval_plus_a_quarter_of_the_time_waited() -> None:
    pacer = PollPacer(5.0, 60.0)
    delays = []
    for step in range(8):
        pacer.observe("j", _info(step * 1000), now=1000.0 + step * 10.0)  # the clock starts at the first poll
        delays.append(pacer.next_delay(["j"], now=1000.0 + step * 10.0))
    assert delays == [5.0, 7.5, 10.0, 12.5, 15.0, 17.5, 20.0, 22.5]  # 5 + 10 s x step / 4, below the back-off


@pytest.mark.parametrize("poll_interval", [0.5, 5.0])
def test_a_job_is_seen_done_within_a_quarter_of_its_run_time_plus_one_interval(poll_interval: float) -> None:
    # The bench's 5M-record query: ours polled at 0.5 s, 37 s, 57 s, then 85 s; a job that ended at 57 s sat
    # done for 28 s. Every job length from 0.25 s to 15 minutes in quarter seconds, on a fake clock.
    worst = 0.0
    for quarters in range(1, 3601):
        job_seconds = quarters / 4
        seen_at, _ = _wait_on_a_fake_clock(PollPacer(poll_interval, 60.0), job_seconds)
        idle = seen_at - job_seconds
        assert idle <= poll_interval + ELAPSED_SHARE * job_seconds + 1e-9, (job_seconds, idle)
        worst = max(worst, idle)
    assert worst <= 60.0  # and never more than max_poll_interval


@pytest.mark.parametrize(("poll_interval", "most_polls"), [(0.5, 29), (5.0, 19)])
def test_a_ten_minute_job_still_costs_few_polls(poll_interval: float, most_polls: int) -> None:
    # The unbounded back-off polled a 10-minute job 21 times from 0.5 s and 16 times from 5 s.
    _, polls = _wait_on_a_fake_clock(PollPacer(poll_interval, 60.0), 600.0)
    assert len(polls) <= most_polls
    waits = [later - earlier for earlier, later in itertools.pairwise(polls)]
    assert waits[-3:] == [60.0, 60.0, 60.0]  # from ~4 minutes on, max_poll_interval apart
    assert max(waits) == 60.0


def test_the_next_poll_comes_when_the_rate_says_the_job_is_done() -> None:
    pacer = PollPacer(5.0, 60.0, {"j": 10_000})
    pacer.observe("j", _info(0), now=0.0)
    assert pacer.next_delay(["j"], now=0.0) == 5.0  # no rate yet
    pacer.observe("j", _info(4_000), now=5.0)  # 800 records/s -> 6,000 left: 7.5 s x 1.1
    assert pacer.next_delay(["j"], now=5.0) == pytest.approx(6.25)  # the bound comes first: 5 + 5 s / 4
    pacer.observe("j", _info(9_000), now=11.25)  # 1,000 left at 800 records/s: 1.25 s
    assert pacer.next_delay(["j"], now=11.25) == pytest.approx(1.25 * 1.1)


def test_the_estimate_never_waits_longer_than_the_bounded_back_off_nor_polls_sooner_than_the_floor() -> None:
    pacer = PollPacer(5.0, 60.0, {"slow": 1_000_000})
    pacer.observe("slow", _info(0), now=0.0)
    pacer.next_delay(["slow"], now=0.0)
    pacer.observe("slow", _info(100), now=5.0)  # hours to go
    assert pacer.next_delay(["slow"], now=5.0) == 5.0 + 5.0 * ELAPSED_SHARE  # below the back-off's 7.5
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
