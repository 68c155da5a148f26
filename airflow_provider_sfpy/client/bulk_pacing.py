"""When to poll Bulk jobs next: a back-off held to a share of the time waited, cut short by progress.

Every poll costs a request against the org's daily API limit, so the wait between polls grows (1.5x
from ``poll_interval`` up to ``max_poll_interval``). A wait that grows on its own schedule overshoots,
though: from 0.5 s the polls come at 37 s, 57 s, then 85 s, and in ``bench/`` ("Bulk API 2.0 query
export", 5M Accounts) a query job that simple-salesforce saw done within 48 s was seen done at 86 s. So
no wait is longer than ``poll_interval`` plus ``ELAPSED_SHARE`` (a quarter) of the time waited so far:
a job that ends just after a poll is seen within a quarter of its run time plus one ``poll_interval``.
A long job still costs few requests: a 10-minute job is polled 19 times from ``poll_interval=5`` and
29 times from 0.5 (the unbounded back-off: 16 and 21), as the waits reach ``max_poll_interval`` after
about 4 minutes.

When the number of records in each job is known (the ingest operator knows what it uploaded), two
polls of ``numberRecordsProcessed`` give a processing rate, and the next poll is set for when the
slowest job should be done: never later than the bounded back-off, never sooner than ``min_delay``.
A query job reports the records it has returned so far but not how many it will return ("Get
Information About a Query Job", under
https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/queries.htm), so query
waits use the bounded back-off alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

#: The earliest the next poll may come, whatever the estimate says.
MIN_DELAY = 1.0
#: Headroom on the estimate: polling a little late costs less than an extra poll.
ESTIMATE_MARGIN = 1.1
#: Growth of the wait from one poll to the next.
BACKOFF_FACTOR = 1.5
#: No wait exceeds ``poll_interval`` plus this share of the time waited so far: the most a job that
#: ends right after a poll can go unnoticed, as a share of how long it ran.
ELAPSED_SHARE = 0.25


@dataclass
class _Progress:
    seen_at: float
    processed: int
    rate: float | None = None  # records per second over the last interval in which the count grew


class PollPacer:
    """Delays between polls of a set of Bulk jobs. Not thread-safe; one per waiter.

    The time waited is counted from the first ``observe`` (or ``next_delay``) call, not from the
    job's creation: a waiter that takes over a running job (a retry, a trigger after deferral or a
    triggerer restart) polls more often than needed for a while, never less.
    """

    def __init__(
        self,
        poll_interval: float,
        max_poll_interval: float,
        expected_records: Mapping[str, int] | None = None,
        *,
        min_delay: float = MIN_DELAY,
    ) -> None:
        self._poll_interval = poll_interval
        self._backoff = poll_interval
        self._max = max_poll_interval
        self._started: float | None = None
        self._expected = dict(expected_records or {})
        self._min_delay = min(min_delay, poll_interval)
        self._progress: dict[str, _Progress] = {}

    def observe(self, job_id: str, info: Mapping[str, Any], now: float) -> None:
        """Record a job's info as polled at ``now`` (a monotonic clock)."""
        self._start_clock(now)
        processed = int(info.get("numberRecordsProcessed") or 0)
        last = self._progress.get(job_id)
        if last is None:
            self._progress[job_id] = _Progress(now, processed)
        elif processed > last.processed and now > last.seen_at:
            rate = (processed - last.processed) / (now - last.seen_at)
            self._progress[job_id] = _Progress(now, processed, rate)

    def seconds_left(self, pending: Iterable[str], now: float) -> float | None:
        """When the slowest pending job should finish, or ``None`` when any of them cannot be estimated."""
        longest = 0.0
        for job_id in pending:
            progress, expected = self._progress.get(job_id), self._expected.get(job_id)
            if progress is None or progress.rate is None or not expected:
                return None
            left = max(0, expected - progress.processed) / progress.rate - (now - progress.seen_at)
            longest = max(longest, left)
        return longest

    def longest_wait(self, now: float) -> float:
        """The most the next wait may be: ``poll_interval`` plus ``ELAPSED_SHARE`` of the time waited so far."""
        waited = now - self._started if self._started is not None else 0.0
        return self._poll_interval + ELAPSED_SHARE * max(0.0, waited)

    def next_delay(self, pending: Iterable[str], now: float) -> float:
        """Seconds to sleep before the next poll; each call also moves the back-off one step on."""
        self._start_clock(now)
        bounded = min(self._backoff, self.longest_wait(now))
        self._backoff = min(self._backoff * BACKOFF_FACTOR, self._max)
        left = self.seconds_left(pending, now)
        if left is None:
            return bounded
        return max(self._min_delay, min(bounded, left * ESTIMATE_MARGIN))

    def _start_clock(self, now: float) -> None:
        if self._started is None:
            self._started = now

    def progress_text(self, job_id: str) -> str:
        """The job's progress as last polled, for logs (see ``records_progress``)."""
        progress = self._progress.get(job_id)
        return records_progress(progress.processed if progress else 0, self._expected.get(job_id))


def records_progress(processed: int, expected: int | None) -> str:
    """``1,200/10,000 records`` when the job's size is known, else ``1,200 records``."""
    return f"{processed:,}/{expected:,} records" if expected else f"{processed:,} records"
