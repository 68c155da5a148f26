"""Bulk API 2.0 query export: a query job's CSV results saved to a local folder.

Tools: ``sfpy`` (``SalesforceBulkQueryOperator(deferrable=False)``: by default the pages ``resultPages``
hands out, downloaded concurrently; ``parallel=1`` follows the locators one page after another) and
``simple_salesforce`` (``sf.bulk2.<Object>.download(query, path, max_records=...)``, which follows
the locators one by one, a file per page). Each creates its own job and waits for it; the orchestrator
reads from the emulator's request log when the first results page was asked for.
"""

from __future__ import annotations

import os
from pathlib import Path

from _common import API_VERSION, SOQL

from tools import Params, Work


def _folder_summary(out_dir: Path) -> dict[str, object]:
    files = [p for p in out_dir.iterdir() if p.suffix == ".csv"]
    return {"files": len(files), "bytes_written": sum(os.path.getsize(p) for p in files)}


def sfpy(params: Params) -> Work:
    from airflow_provider_sfpy.operators.bulk_query import SalesforceBulkQueryOperator

    out_dir = Path(params["out_dir"])

    def work() -> dict[str, object]:
        operator = SalesforceBulkQueryOperator(
            task_id="export",
            soql=params.get("soql", SOQL),
            destination=out_dir.as_uri(),
            deferrable=False,
            poll_interval=params["poll_interval"],
            parallel=params.get("parallel"),
        )
        result = operator.execute(context={})
        return {"rows": result["rows"], "job_id": result["job_id"], **_folder_summary(out_dir)}

    return work


def simple_salesforce(params: Params) -> Work:
    import requests
    from simple_salesforce import Salesforce

    out_dir = Path(params["out_dir"])
    soql = params.get("soql", SOQL)
    object_name = soql.rsplit(" FROM ", 1)[1].split()[0]

    def work() -> dict[str, object]:
        session = requests.Session()
        session.verify = params["ca_bundle"]
        sf = Salesforce(
            instance_url=params["instance_url"], session_id=params["session_id"], version=API_VERSION, session=session
        )
        results = getattr(sf.bulk2, object_name).download(
            soql, path=str(out_dir), max_records=params["page_rows"], wait=params["poll_interval"]
        )
        rows = sum(int(page["number_of_records"]) for page in results)
        return {"rows": rows, **_folder_summary(out_dir)}

    return work
