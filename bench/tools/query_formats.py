"""Query -> JSON Lines and query -> Parquet (and the wide object to CSV / Parquet).

Tools: ``floor`` and ``sfpy`` are the query -> CSV ones (``sfpy`` takes ``format`` and ``soql``);
the anchors are the nearest thing each library offers for the format:

- ``simple_salesforce_jsonl``: ``query_all_iter`` + one ``json.dumps`` per record (``attributes``
  dropped, as ours drops them); the same lazy loop as its CSV anchor.
- ``airflow_salesforce_ndjson``: the official provider's ``make_query`` + ``write_object_to_file(fmt="ndjson")``
  (its own JSON Lines format, what its transfers write).
- ``simple_salesforce_parquet``: simple-salesforce has no Parquet writer; this is the streaming code
  a pyarrow user writes around ``query_all_iter``: a ``pyarrow.Table`` per 2,000 records into one
  ``ParquetWriter``, the schema inferred from the first page.
- ``airflow_salesforce_parquet``: the provider has no Parquet format either; its ``make_query`` +
  ``object_to_df`` (its own DataFrame building) + ``DataFrame.to_parquet``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import API_VERSION, SOQL

from tools import Params, Work
from tools.query_csv import floor, import_parquet_libraries, sfpy

__all__ = [
    "airflow_salesforce_ndjson",
    "airflow_salesforce_parquet",
    "floor",
    "sfpy",
    "simple_salesforce_jsonl",
    "simple_salesforce_parquet",
]

#: Records per Parquet row group in the simple-salesforce anchor: one query page.
PAGE_RECORDS = 2000


def _simple_salesforce(params: Params) -> Any:
    import requests
    from simple_salesforce import Salesforce

    session = requests.Session()
    session.verify = params["ca_bundle"]
    return Salesforce(
        instance_url=params["instance_url"], session_id=params["session_id"], version=API_VERSION, session=session
    )


def simple_salesforce_jsonl(params: Params) -> Work:
    import json

    import simple_salesforce  # noqa: F401 - imported before the work starts

    out = Path(params["out"])
    soql = params.get("soql", SOQL)

    def work() -> dict[str, object]:
        sf = _simple_salesforce(params)
        rows = 0
        with out.open("w", encoding="utf-8") as handle:
            for record in sf.query_all_iter(soql):
                record.pop("attributes", None)
                handle.write(json.dumps(record, ensure_ascii=False))
                handle.write("\n")
                rows += 1
        return {"rows": rows, "bytes_written": os.path.getsize(out)}

    return work


def simple_salesforce_parquet(params: Params) -> Work:
    import pyarrow as pa
    import pyarrow.parquet as pq
    import simple_salesforce  # noqa: F401

    import_parquet_libraries()

    out = Path(params["out"])
    soql = params.get("soql", SOQL)

    def work() -> dict[str, object]:
        sf = _simple_salesforce(params)
        rows = 0
        writer: pq.ParquetWriter | None = None
        page: list[dict[str, object]] = []

        def flush() -> None:
            nonlocal writer
            if writer is None:
                table = pa.Table.from_pylist(page)
                writer = pq.ParquetWriter(out, table.schema)
            else:
                table = pa.Table.from_pylist(page, schema=writer.schema)
            writer.write_table(table)
            page.clear()

        try:
            for record in sf.query_all_iter(soql):
                record.pop("attributes", None)
                page.append(record)
                rows += 1
                if len(page) >= PAGE_RECORDS:
                    flush()
            if page:
                flush()
        finally:
            if writer is not None:
                writer.close()
        return {"rows": rows, "bytes_written": os.path.getsize(out)}

    return work


def _provider_export(params: Params, write: Callable[[Any, list[dict[str, Any]], Path], None]) -> Work:
    """The provider's ``make_query`` (every record in memory), then ``write(hook, records, out)``."""
    out = Path(params["out"])
    soql = params.get("soql", SOQL)

    def work() -> dict[str, object]:
        import requests
        from airflow.providers.salesforce.hooks.salesforce import SalesforceHook

        session = requests.Session()
        session.verify = params["ca_bundle"]
        hook = SalesforceHook(salesforce_conn_id="salesforce_default", session_id=params["session_id"], session=session)
        records = hook.make_query(soql)["records"]
        write(hook, records, out)
        return {"rows": len(records), "bytes_written": os.path.getsize(out)}

    return work


def airflow_salesforce_ndjson(params: Params) -> Work:
    import pandas  # noqa: F401 - write_object_to_file imports it lazily; an import, not work
    from airflow.providers.salesforce.hooks.salesforce import SalesforceHook  # noqa: F401

    return _provider_export(
        params, lambda hook, records, out: hook.write_object_to_file(records, filename=str(out), fmt="ndjson")
    )


def airflow_salesforce_parquet(params: Params) -> Work:
    from airflow.providers.salesforce.hooks.salesforce import SalesforceHook  # noqa: F401

    import_parquet_libraries()
    return _provider_export(params, lambda hook, records, out: hook.object_to_df(records).to_parquet(out, index=False))
