"""Query -> CSV: every Account (6 fields, quoted and multi-line text) written to a local CSV file.

Tools: ``floor`` (fetch every page over one keep-alive session, parse nothing), ``sfpy`` (our
``SalesforceQueryToFileOperator``; ``format`` and ``soql`` parameters for the other formats' and the
wide object's scenarios), ``simple_salesforce`` (``query_all_iter`` + ``csv``),
``airflow_salesforce`` (the official provider's ``SalesforceHook.make_query`` + ``write_object_to_file``,
what its S3/GCS transfers run) and ``salesforcepy`` (``query_more`` + ``csv``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from _common import API_VERSION, FIELDS, SOQL

from tools import Params, Work

_NEXT = re.compile(rb'"nextRecordsUrl":"([^"]+)"')
_TOTAL = re.compile(rb'"totalSize":(\d+)')


def _next_url(body: bytes) -> str | None:
    """The next page's link, found without decoding the page (the emulator, like Salesforce, puts
    ``nextRecordsUrl`` before ``records``; the whole body is searched if it is not in the head)."""
    match = _NEXT.search(body, 0, 1024) or _NEXT.search(body)
    return match.group(1).decode() if match else None


def import_parquet_libraries() -> None:
    """What a Parquet writer loads, counted as imports for every Parquet tool: pyarrow, and pandas, which
    pyarrow imports on its first ``pa.array`` from Python values (about 1.3 s and 60 MB here)."""
    import pandas  # noqa: F401
    import pyarrow.parquet  # noqa: F401


def floor(params: Params) -> Work:
    import requests

    def work() -> dict[str, object]:
        with requests.Session() as session:
            session.verify = params["ca_bundle"]
            session.headers["Authorization"] = f"Bearer {params['session_id']}"
            if params.get("batch_size"):
                session.headers["Sforce-Query-Options"] = f"batchSize={params['batch_size']}"
            instance = params["instance_url"]
            soql = params.get("soql", SOQL)
            response = session.get(f"{instance}/services/data/v{API_VERSION}/query", params={"q": soql})
            response.raise_for_status()
            body = response.content
            total = _TOTAL.search(body, 0, 256)
            pages, size = 1, len(body)
            while (link := _next_url(body)) is not None:
                response = session.get(f"{instance}{link}")
                response.raise_for_status()
                body = response.content
                pages += 1
                size += len(body)
        return {"rows": int(total.group(1)) if total else None, "pages": pages, "bytes_received": size}

    return work


def sfpy(params: Params) -> Work:
    from airflow_provider_sfpy.operators.query_to_file import SalesforceQueryToFileOperator

    out = Path(params["out"])
    soql, file_format, batch_size = params.get("soql", SOQL), params.get("format", "csv"), params.get("batch_size")
    if file_format == "parquet":
        import_parquet_libraries()

    def work() -> dict[str, object]:
        operator = SalesforceQueryToFileOperator(
            task_id="export", soql=soql, destination=out.as_uri(), format=file_format, batch_size=batch_size
        )
        result = operator.execute(context={})
        return {"rows": result["rows"], "pages": result["pages"], "bytes_written": os.path.getsize(out)}

    return work


def simple_salesforce(params: Params) -> Work:
    import csv

    import requests
    from simple_salesforce import Salesforce

    out = Path(params["out"])

    def work() -> dict[str, object]:
        session = requests.Session()
        session.verify = params["ca_bundle"]
        sf = Salesforce(
            instance_url=params["instance_url"], session_id=params["session_id"], version=API_VERSION, session=session
        )
        rows = 0
        with out.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(FIELDS)
            for record in sf.query_all_iter(SOQL):
                writer.writerow([record.get(field) for field in FIELDS])
                rows += 1
        return {"rows": rows, "bytes_written": os.path.getsize(out)}

    return work


def airflow_salesforce(params: Params) -> Work:
    import pandas  # noqa: F401 - write_object_to_file imports it lazily; count it as an import, not as work
    import requests
    from airflow.providers.salesforce.hooks.salesforce import SalesforceHook

    out = Path(params["out"])

    def work() -> dict[str, object]:
        # The connection (AIRFLOW_CONN_SALESFORCE_DEFAULT) carries instance_url and version; the session
        # id is the hook's own ``session_id`` argument ("Direct Session"), the CA file rides on ``session``.
        session = requests.Session()
        session.verify = params["ca_bundle"]
        hook = SalesforceHook(salesforce_conn_id="salesforce_default", session_id=params["session_id"], session=session)
        results = hook.make_query(SOQL)
        hook.write_object_to_file(results["records"], filename=str(out), fmt="csv")
        return {"rows": len(results["records"]), "bytes_written": os.path.getsize(out)}

    return work


def salesforcepy(params: Params) -> Work:
    import csv

    import SalesforcePy as sfdc

    out = Path(params["out"])
    login_host = params["instance_url"].split("://", 1)[1]

    def work() -> dict[str, object]:
        # Its own password login (the emulator serves the OAuth password flow it uses); its requests go
        # through module-level ``requests`` calls, so the CA file comes from REQUESTS_CA_BUNDLE.
        client = sfdc.client(
            params["username"],
            params["password"],
            params["client_id"],
            params["client_secret"],
            login_url=login_host,
            version=API_VERSION,
        )
        login, _ = client.login()
        if not login or "access_token" not in login:
            raise RuntimeError(f"SalesforcePy login failed: {login!r}")
        pages, query_more = client.query_more(SOQL)
        if pages is None:  # SalesforcePy swallows request errors and returns None
            raise RuntimeError(f"SalesforcePy query_more failed: {query_more.exceptions!r}")
        rows = 0
        with out.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(FIELDS)
            for page in pages:
                for record in page.get("records", ()):
                    writer.writerow([record.get(field) for field in FIELDS])
                    rows += 1
        return {"rows": rows, "pages": len(pages), "bytes_written": os.path.getsize(out)}

    return work
