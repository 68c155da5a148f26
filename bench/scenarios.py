"""What ``make bench`` measures: the scenarios, the tools side by side in each, and their table columns.

A scenario's ``kind`` names both the worker module (``tools/<kind>.py``) and the ``Bench`` method in
``run.py`` that prepares its data and runs it; a variant is one tool with its parameters.
``full_plan()`` is ``make bench``; ``smoke_plan()`` is the same harness at tiny sizes for ``make test``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import report
from _common import PAGE_SIZE, SOQL

from airflow_provider_sfpy.emulator.objects.bench_wide import BENCH_WIDE_NAME, bench_wide_object


@dataclass(frozen=True)
class Variant:
    label: str
    tool: str
    params: dict[str, Any] = field(default_factory=dict)
    #: Needs the anchors (``.venv-bench``); left out in smoke mode.
    anchor: bool = False


@dataclass(frozen=True)
class Scenario:
    key: str
    kind: str  # the worker module under bench/tools/
    title: str
    size: int  # rows (query, results, Bulk query), bytes (ingest), waits (waits)
    variants: tuple[Variant, ...]
    description: str
    options: dict[str, Any] = field(default_factory=dict)
    columns: tuple[report.Column, ...] = ()
    #: What to know about a tool's numbers in this scenario (shown under the table), by tool name.
    tool_notes: dict[str, str] = field(default_factory=dict)
    #: ``options`` that ``--scale`` multiplies with the size (so a try-out keeps the scenario's shape).
    scaled_options: tuple[str, ...] = ()

    def scaled(self, factor: float) -> Scenario:
        """This scenario at ``factor`` times its size (``--scale``)."""
        options = dict(self.options)
        for key in self.scaled_options:
            value = options[key] * factor
            options[key] = max(1, int(value)) if isinstance(options[key], int) else value
        size = max(1, int(self.size * factor))
        title = self.title.replace(f"{self.size:,}", f"{size:,}")
        return dataclasses.replace(self, size=size, title=title, options=options)


def _query_variants() -> tuple[Variant, ...]:
    return (
        Variant("floor: raw pages, one keep-alive session", "floor"),
        Variant("sfpy SalesforceQueryToFileOperator", "sfpy"),
        Variant("simple-salesforce query_all_iter + csv", "simple_salesforce", anchor=True),
        Variant("airflow salesforce provider make_query + write_object_to_file", "airflow_salesforce", anchor=True),
        Variant("SalesforcePy query_more + csv", "salesforcepy", anchor=True),
    )


QUERY_DESCRIPTION = (
    f"`{SOQL}` over HTTPS, {PAGE_SIZE:,}-row pages (the emulator's and Salesforce's default), "
    "written to a local CSV file. `Name` carries commas and double quotes, `Description` is multi-line "
    "text with non-ASCII characters."
)
QUERY_TOOL_NOTES = {
    "sfpy": "ours streams page by page (the next page is fetched on a helper thread while the current one is "
    "written) and writes through `ObjectStoragePath`, as to S3/GCS; its work includes its own OAuth login.",
    "airflow_salesforce": "the provider holds every record in memory (`query_all`), then builds a pandas "
    'DataFrame; its CSV lower-cases the column names. Its newline stripping (`df.dtypes == "object"`) no '
    "longer matches text columns under pandas 3 (they are `str` dtype), so line breaks survive here; under "
    "pandas 2 it removes them from the data.",
    "salesforcepy": "`query_more` keeps every page in memory until the last one and fetches each page with "
    "module-level `requests.get` (a new TLS connection per page), recursing once per page.",
    "simple_salesforce": "`query_all_iter` is lazy (one page at a time); it decodes JSON into `OrderedDict`s.",
}
EMULATOR_CPU = report.extra_column("emulator_cpu_s", "emulator CPU s", 1)
QUERY_COLUMNS = (
    EMULATOR_CPU,
    report.extra_column("requests", "HTTP requests", 0),
    report.extra_column("rows_in_file", "rows in file", 0),
)
INGEST_COLUMNS = (
    EMULATOR_CPU,
    report.extra_column("jobs", "jobs", 0),
    report.extra_column("rows_processed", "rows loaded", 0),
    report.extra_column("submit_s", "split+upload s", 1),
    report.extra_column("emulator_processing_s", "emulator processing s", 1),
    report.extra_column("idle_after_last_job_s", "idle after last job s", 1),
    report.extra_column("results_s", "results download s", 1),
)
WAIT_COLUMNS = (
    EMULATOR_CPU,
    report.extra_column("requests_per_job", "requests/job", 2),
    report.extra_column("polls_per_job", "polls/job", 2),
    report.extra_column("logins_per_job", "logins/job", 2),
    report.extra_column("completed", "completed", 0),
)
RESULT_COLUMNS = (
    EMULATOR_CPU,
    report.extra_column("mb_written", "MB written", 1),
    report.extra_column("mb_per_s", "MB/s", 1),
)


FORMAT_COLUMNS = (*QUERY_COLUMNS, report.extra_column("mb_written", "MB written", 1))
FORMAT_TOOL_NOTES = {
    "sfpy": QUERY_TOOL_NOTES["sfpy"],
    "simple_salesforce_jsonl": "`query_all_iter` (one page at a time, `OrderedDict`s) and one `json.dumps` per "
    "record, `attributes` dropped as ours drops them.",
    "airflow_salesforce_ndjson": "the provider's own JSON Lines: `make_query` holds every record, then pandas "
    "`to_json(lines=True)`.",
    "simple_salesforce_parquet": "simple-salesforce has no Parquet writer: this is the streaming code a pyarrow "
    "user writes around `query_all_iter` (a table per 2,000 records into one `ParquetWriter`, the schema "
    "inferred from the first page).",
    "airflow_salesforce_parquet": "the provider has no Parquet format: its `make_query` + `object_to_df` "
    "(its DataFrame building, every record in memory) + pandas `to_parquet`.",
}


def format_scenarios(suffix: str, size: int) -> tuple[Scenario, Scenario]:
    """Query -> JSON Lines and query -> Parquet of the query -> CSV scenarios' query, each beside the floor."""
    description = QUERY_DESCRIPTION.replace("a local CSV file", "a local {} file")
    jsonl = Scenario(
        f"query_jsonl_{suffix}",
        "query_formats",
        f"Query → JSON Lines, {size:,} Accounts",
        size,
        (
            Variant("floor: raw pages, one keep-alive session", "floor"),
            Variant("sfpy SalesforceQueryToFileOperator(format='jsonl')", "sfpy", {"format": "jsonl"}),
            Variant("simple-salesforce query_all_iter + json.dumps", "simple_salesforce_jsonl", anchor=True),
            Variant(
                "airflow salesforce provider make_query + write_object_to_file(ndjson)",
                "airflow_salesforce_ndjson",
                anchor=True,
            ),
        ),
        description.format("JSON Lines"),
        columns=FORMAT_COLUMNS,
        tool_notes=FORMAT_TOOL_NOTES,
    )
    parquet = Scenario(
        f"query_parquet_{suffix}",
        "query_formats",
        f"Query → Parquet, {size:,} Accounts",
        size,
        (
            Variant("floor: raw pages, one keep-alive session", "floor"),
            Variant("sfpy SalesforceQueryToFileOperator(format='parquet')", "sfpy", {"format": "parquet"}),
            Variant(
                "simple-salesforce query_all_iter + pyarrow ParquetWriter", "simple_salesforce_parquet", anchor=True
            ),
            Variant(
                "airflow salesforce provider make_query + object_to_df + to_parquet",
                "airflow_salesforce_parquet",
                anchor=True,
            ),
        ),
        description.format("Parquet (pyarrow's default compression)")
        + " Every Parquet tool imports pyarrow and pandas before its work: pyarrow imports pandas on its "
        "first array built from Python values (about 1.3 s and 60 MB on this machine), a cost each pays "
        "once per process, shown in **process s**.",
        columns=FORMAT_COLUMNS,
        tool_notes=FORMAT_TOOL_NOTES,
    )
    return jsonl, parquet


def wide_soql(custom_fields: int | None = None) -> str:
    """Every field of the wide object but the system ones: ``Id, Name, F001_String__c, ...``."""
    obj = bench_wide_object() if custom_fields is None else bench_wide_object(custom_fields)
    names = ["Id", *(f.name for f in obj.fields if f.name == "Name" or f.name.endswith("__c"))]
    return f"SELECT {', '.join(names)} FROM {BENCH_WIDE_NAME}"


#: Records per page of the wide object's query: Salesforce's cap, and the emulator's, for a query that
#: selects two or more long text custom fields (the tools ask for no batch size).
WIDE_PAGE_SIZE = 200
BATCH_SIZE_DOC = (
    "https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/api/sforce_api_calls_soql_changing_batch_size.htm"
)


def wide_scenario(key: str, size: int) -> Scenario:
    """A 300-custom-field object to CSV and to Parquet, beside the floor (one emulator for the three)."""
    soql = wide_soql()
    fields = soql.count(",") + 1
    return Scenario(
        key,
        "query_formats",
        f"Wide object ({fields} fields) → CSV and Parquet, {size:,} records",
        size,
        (
            Variant("floor: raw pages, one keep-alive session", "floor"),
            Variant("sfpy SalesforceQueryToFileOperator(format='csv')", "sfpy", {"format": "csv"}),
            Variant("sfpy SalesforceQueryToFileOperator(format='parquet')", "sfpy", {"format": "parquet"}),
        ),
        f"`SELECT Id, Name, <300 custom fields> FROM {BENCH_WIDE_NAME}` ({fields} fields: text, multi-line "
        "non-ASCII text, double, currency, percent, int, boolean, date, datetime, picklist, email, phone, url; "
        f"about a tenth of the values empty) over HTTPS, to a local file, in pages of {WIDE_PAGE_SIZE} records: "
        "Salesforce serves no more than 200 records a page when a query selects two or more long text custom "
        f"fields (this one selects 23; [Change the Batch Size in Queries]({BATCH_SIZE_DOC})), and so does the "
        "emulator; no tool asks for a batch size. The object is `emulator/objects/bench_wide.py`, added at "
        "start-up by `sfpy-emulator --bench-wide-object N`. **work ÷ ours** is against ours writing CSV.",
        options={"soql": soql, "object": BENCH_WIDE_NAME},
        columns=FORMAT_COLUMNS,
        tool_notes={"sfpy": QUERY_TOOL_NOTES["sfpy"]},
    )


BULK_QUERY_COLUMNS = (
    EMULATOR_CPU,
    report.extra_column("job_s", "job create+wait s", 1),
    report.extra_column("download_s", "download s", 1),
    report.extra_ratio_column("download_s", "download ÷ ours"),
    report.extra_column("result_requests", "results requests", 0),
    report.extra_column("result_page_listings", "resultPages requests", 0),
    report.extra_column("rows_in_files", "rows in files", 0),
    report.extra_column("mb_written", "MB written", 1),
)


def bulk_query_scenario(key: str, size: int, *, page_rows: int, page_delay: float) -> Scenario:
    """A Bulk API 2.0 query export, results downloaded in parallel, one after another, and by simple-salesforce."""
    return Scenario(
        key,
        "bulk_query",
        f"Bulk API 2.0 query export, {size:,} Accounts",
        size,
        (
            Variant("sfpy SalesforceBulkQueryOperator (parallel, default)", "sfpy"),
            Variant("sfpy SalesforceBulkQueryOperator(parallel=1)", "sfpy", {"parallel": 1}),
            Variant("simple-salesforce bulk2 download", "simple_salesforce", anchor=True),
        ),
        f"`{SOQL}` as a Bulk API 2.0 query job, its CSV results saved to a local folder. The emulator "
        f"serves result pages of {page_rows:,} records and spends {page_delay:g} s of server time on each "
        "(a page request waits that long before its first byte), so the server's per-page time dominates, "
        "as on a busy org. Ours: `SalesforceBulkQueryOperator(deferrable=False)`, by default downloading the "
        "pages `resultPages` hands out concurrently, and with `parallel=1` one locator after another. "
        f"simple-salesforce: `sf.bulk2.Account.download(query, path, max_records={page_rows})`, which follows "
        "the locators one by one. **download s**: from the first results request the emulator logs to the end "
        "of the work; **job create+wait s**: the rest (poll_interval 0.5 s: ours backs off 1.5x, held to 0.5 s + a "
        "quarter of the time waited; simple-salesforce's wait=0.5 grows to ~3.5 s).",
        options={"page_rows": page_rows, "page_delay": page_delay, "poll_interval": 0.5},
        columns=BULK_QUERY_COLUMNS,
        scaled_options=("page_rows", "page_delay"),
    )


def full_plan() -> list[Scenario]:
    return [
        Scenario(
            "query_csv_200k",
            "query_csv",
            "Query → CSV, 200,000 Accounts",
            200_000,
            _query_variants(),
            QUERY_DESCRIPTION,
            columns=QUERY_COLUMNS,
            tool_notes=QUERY_TOOL_NOTES,
        ),
        Scenario(
            "query_csv_1m",
            "query_csv",
            "Query → CSV, 1,000,000 Accounts",
            1_000_000,
            _query_variants(),
            QUERY_DESCRIPTION,
            columns=QUERY_COLUMNS,
            tool_notes=QUERY_TOOL_NOTES,
        ),
        *format_scenarios("1m", 1_000_000),
        wide_scenario("wide_200k", 200_000),
        Scenario(
            "bulk_ingest_250mb",
            "bulk_ingest",
            "Bulk API 2.0 insert of a 250 MB CSV",
            250_000_000,
            (
                Variant("sfpy SalesforceBulkIngestOperator (defaults)", "sfpy"),
                Variant("simple-salesforce bulk2 insert (defaults)", "simple_salesforce", anchor=True),
                Variant(
                    "simple-salesforce bulk2 insert (batch_size=500000)",
                    "simple_salesforce",
                    {"batch_size": 500_000},
                    anchor=True,
                ),
            ),
            "A generated Accounts CSV (6 columns, LF rows, quoted multi-line and non-ASCII text) inserted "
            "through Bulk API 2.0 into a fresh emulator per run, upload limit at its default 100 MiB. Ours: "
            "`SalesforceBulkIngestOperator(deferrable=False)` with its default split (100 MB per job) and "
            "polling (5 s, x1.5, up to 60 s), saving result CSVs to a local folder (`results_destination`, "
            "needed for a load this size). simple-salesforce: `sf.bulk2.Account.insert(csv_file=...)`, "
            "which uploads one job at a time and waits for each (its `wait=5`).",
            columns=INGEST_COLUMNS,
            tool_notes={
                "sfpy": "split+upload s: until the last job is closed (the file is parsed and re-split on record "
                "boundaries, each chunk spooled and uploaded); idle after last job s: from the last job reaching "
                "JobComplete to the operator returning (its poll interval grows 1.5x up to 60 s); results download "
                "s: all three result CSVs of every job saved to the results folder.",
                "simple_salesforce": "its splitter estimates a chunk's size from the unquoted field text, so with "
                "quoted, multi-line fields a 99 MiB estimate becomes a >100 MiB upload and its own size check "
                "raises; with batch_size=500000 every chunk is ~60 MB and it loads the file one job at a time, "
                "waiting for each. It does not fetch result CSVs.",
            },
        ),
        Scenario(
            "bulk_waits_1000",
            "bulk_waits",
            "1,000 Bulk job waits deferred at once",
            1_000,
            (
                Variant("sfpy SalesforceBulkJobTrigger per job, one event loop", "sfpy"),
                Variant("one thread per job polling with requests", "threads"),
            ),
            "1,000 one-record insert jobs are created, uploaded and closed just before each run; the "
            "emulator works through them (4 worker threads, 0.2 s queue delay each), so the waits last "
            "about a minute. Ours: 1,000 `SalesforceBulkJobTrigger(job_ids=[id]).run()` to their first "
            "event under one `asyncio.run` (a triggerer's view; each trigger logs in, as each does in "
            "a triggerer). Anchor: 1,000 threads, each a `requests.Session` with a ready session id "
            "polling `GET /jobs/ingest/{id}` every 5 s until terminal. Requests counted in the "
            "emulator's request log.",
            options={"poll_interval": 5.0},
            columns=WAIT_COLUMNS,
        ),
        Scenario(
            "bulk_results_1m",
            "bulk_results",
            "Download a 1,000,000-row successfulResults",
            1_000_000,
            (
                Variant("floor: one streamed GET to a file", "floor"),
                Variant("sfpy deliver_results → ObjectStoragePath", "sfpy"),
                Variant("simple-salesforce get_successful_records(file=)", "simple_salesforce", anchor=True),
            ),
            "One finished insert job of 1,000,000 two-column records; each run streams its "
            "`successfulResults/` CSV to a local file (ours through `ObjectStoragePath`, as to S3/GCS).",
            columns=RESULT_COLUMNS,
        ),
        bulk_query_scenario("bulk_query_5m", 5_000_000, page_rows=50_000, page_delay=1.0),
    ]


def smoke_plan() -> list[Scenario]:
    """Every kind of scenario at a tiny size, our paths and the floors (about a minute on 2 cores, most of it
    the workers' imports)."""
    plan = {s.key: s for s in full_plan()}
    return [
        Scenario(
            "query_csv_smoke",
            "query_csv",
            "Query → CSV (smoke)",
            10_000,
            plan["query_csv_200k"].variants,
            "",
            columns=QUERY_COLUMNS,
        ),
        *format_scenarios("smoke", 10_000),
        # Over the same 10,000 Accounts (one emulator for the four): ten pages, 50 ms of server time each.
        bulk_query_scenario("bulk_query_smoke", 10_000, page_rows=1_000, page_delay=0.05),
        # Wide CSV is the query -> CSV path over more columns: the smoke run covers wide Parquet only.
        dataclasses.replace(
            wide_scenario("wide_smoke", 500),
            variants=tuple(v for v in plan["wide_200k"].variants if v.params.get("format") != "csv"),
        ),
        Scenario(
            "bulk_ingest_smoke",
            "bulk_ingest",
            "Bulk insert (smoke)",
            2_000,
            plan["bulk_ingest_250mb"].variants,
            "",
            options={"poll_interval": 0.3},
            columns=INGEST_COLUMNS,
        ),
        Scenario(
            "bulk_waits_smoke",
            "bulk_waits",
            "Bulk waits (smoke)",
            20,
            plan["bulk_waits_1000"].variants,
            "",
            options={"poll_interval": 0.3},
            columns=WAIT_COLUMNS,
        ),
        Scenario(
            "bulk_results_smoke",
            "bulk_results",
            "Results download (smoke)",
            10_000,
            plan["bulk_results_1m"].variants,
            "",
            columns=RESULT_COLUMNS,
        ),
    ]
