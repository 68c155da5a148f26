"""An ingest job's three result CSVs, written as the job runs and streamed back from disk.

Shapes follow what Salesforce returns:

- ``successfulResults``: ``"sf__Id","sf__Created",`` + the upload's header as sent, then per record
  ``"<id>","true|false",`` + its values, every value quoted;
- ``failedResults``: ``"sf__Id","sf__Error",`` + header, then ``"<id or empty>","<error>",`` + values;
- ``unprocessedrecords``: the upload's header and the records never attempted, exactly as uploaded.

All use the job's delimiter and line ending.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO

from airflow_provider_sfpy.emulator.bulk.formats import RowFormatter, header_line
from airflow_provider_sfpy.emulator.bulk.jobs import Job
from airflow_provider_sfpy.emulator.bulk.operations import Outcome

SUCCESSFUL = "successfulResults"
FAILED = "failedResults"
UNPROCESSED = "unprocessedrecords"
#: Result resource names, by their lower-case form (clients differ: ``unprocessedRecords`` is common).
RESULT_KINDS = {name.lower(): name for name in (SUCCESSFUL, FAILED, UNPROCESSED)}
SUCCESS_COLUMNS = ("sf__Id", "sf__Created")
FAILURE_COLUMNS = ("sf__Id", "sf__Error")


def _open(path: Path) -> IO[str]:
    return path.open("w", encoding="utf-8", newline="")


class ResultWriter:
    """Appends each processed chunk to ``successfulResults`` and ``failedResults``."""

    def __init__(self, job: Job, raw_header: str) -> None:
        fmt = job.csv_format
        self._formatter = RowFormatter(fmt)
        self._success = _open(job.result_path(SUCCESSFUL))
        self._failed = _open(job.result_path(FAILED))
        self._success.write(header_line(SUCCESS_COLUMNS, raw_header, fmt))
        self._failed.write(header_line(FAILURE_COLUMNS, raw_header, fmt))

    def __enter__(self) -> ResultWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._success.close()
        self._failed.close()

    def add(self, rows: Sequence[list[str]], outcomes: Sequence[Outcome]) -> int:
        """Write one chunk's results; returns how many records failed."""
        line = self._formatter.line
        succeeded: list[str] = []
        failed: list[str] = []
        for cells, outcome in zip(rows, outcomes, strict=True):
            if outcome.error is None:
                succeeded.append(line([outcome.record_id, "true" if outcome.created else "false", *cells]))
            else:
                failed.append(line([outcome.record_id, outcome.error, *cells]))
        self._success.write("".join(succeeded))
        self._failed.write("".join(failed))
        return len(failed)


def write_header_only_results(job: Job, raw_header: str) -> None:
    """Result files of a job that failed before processing a record: headers, no rows."""
    with ResultWriter(job, raw_header):
        pass


class UnprocessedWriter:
    """``unprocessedrecords`` of a job stopped part-way: the header and the remaining raw records."""

    def __init__(self, job: Job, raw_header: str) -> None:
        self.path = job.result_path(UNPROCESSED)
        self._file = _open(self.path)
        self._file.write(raw_header)

    def __enter__(self) -> UnprocessedWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._file.close()

    def add(self, raw_records: Iterable[str]) -> None:
        self._file.writelines(raw_records)
