"""Bulk API 2.0 query results downloaded in parallel: by threads of one task, and by mapped tasks on many workers.

- ``contacts_parallel``: ``SalesforceBulkQueryOperator`` fetches the result pages ``resultPages`` lists
  (API 58.0+) several at a time into part files, with the same files and manifest as a sequential
  download (``parallel=1``).
- ``account_pages`` -> ``account_page`` (mapped, one task per page) -> ``commit_accounts``: the pages are
  spread over the workers by ``.expand()``; each writes its own part straight to the destination, and
  the commit task writes ``_manifest.json`` only once every part is there with the records Salesforce
  announced. On a real deployment the destination is object storage (``s3://...``), since mapped tasks
  run on different machines.

``output_dir`` defaults to ``sfpy-example/bulk-query-parallel`` in the system's temporary folder. Folders
are named after the day the run is for: its logical date, or the time a run triggered by hand was
triggered (Airflow 3's manual runs have no logical date).
"""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path

from airflow.sdk import DAG, Param, XComArg

from airflow_provider_sfpy.operators.bulk_query import SalesforceBulkQueryOperator
from airflow_provider_sfpy.operators.bulk_query_mapped import (
    JOB_XCOM_KEY,
    SalesforceBulkQueryCommitOperator,
    SalesforceBulkQueryPageOperator,
    SalesforceBulkQueryPagesOperator,
)

DEFAULT_OUTPUT_DIR = (Path(tempfile.gettempdir()) / "sfpy-example" / "bulk-query-parallel").as_uri()
DAY = "{{ (dag_run.logical_date or dag_run.run_after) | ds }}"

with DAG(
    dag_id="example_sfpy_bulk_query_parallel",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["sfpy", "example", "bulk"],
    params={"output_dir": Param(DEFAULT_OUTPUT_DIR, type="string")},
) as dag:
    contacts = SalesforceBulkQueryOperator(
        task_id="contacts_parallel",
        soql="SELECT Id, FirstName, LastName, Email, Account.Name FROM Contact",
        destination="{{ params.output_dir }}/contacts-" + DAY + "/",
        max_records_per_page=20,  # small pages, so this small org has several to fetch at once
        parallel=3,
        poll_interval=1.0,
    )
    pages = SalesforceBulkQueryPagesOperator(
        task_id="account_pages",
        soql="SELECT Id, Name, Industry, AnnualRevenue FROM Account",
        destination="{{ params.output_dir }}/accounts-" + DAY + "/",
        max_records_per_page=10,
        poll_interval=1.0,
    )
    parts = SalesforceBulkQueryPageOperator.partial(task_id="account_page").expand(page=pages.output)
    SalesforceBulkQueryCommitOperator(
        task_id="commit_accounts", job=XComArg(pages, key=JOB_XCOM_KEY), parts=parts.output
    )
