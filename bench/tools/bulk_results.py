"""Download one finished ingest job's ``successfulResults`` CSV to (local) object storage.

Tools: ``floor`` (one streamed ``requests`` GET written to a file in 64 KiB chunks), ``sfpy`` (our
``deliver_results`` on the hook's client, to an ``ObjectStoragePath`` folder, as the ingest operator
and sensor save results) and ``simple_salesforce`` (``bulk2.Account.get_successful_records(job_id, file=...)``).
"""

from __future__ import annotations

import os
from pathlib import Path

from _common import API_VERSION

from tools import Params, Work


def floor(params: Params) -> Work:
    import requests

    out = Path(params["out_dir"]) / "successful.csv"
    url = f"{params['instance_url']}/services/data/v{API_VERSION}/jobs/ingest/{params['job_id']}/successfulResults/"

    def work() -> dict[str, object]:
        with requests.Session() as session:
            session.verify = params["ca_bundle"]
            session.headers["Authorization"] = f"Bearer {params['session_id']}"
            with session.get(url, stream=True) as response, out.open("wb") as handle:
                response.raise_for_status()
                for chunk in response.iter_content(chunk_size=1 << 16):
                    handle.write(chunk)
        return {"bytes_written": os.path.getsize(out), "file": str(out)}

    return work


def sfpy(params: Params) -> Work:
    from airflow_provider_sfpy.hooks.salesforce import SalesforcePyHook
    from airflow_provider_sfpy.operators.bulk_results import deliver_results

    destination = Path(params["out_dir"]).as_uri()

    def work() -> dict[str, object]:
        client = SalesforcePyHook(sfpy_conn_id="sfpy_default").get_conn()
        delivered = deliver_results(
            client,
            [params["job_id"]],
            destination=destination,
            destination_conn_id=None,
            max_xcom_bytes=0,
            kinds=("successful",),
        )
        path = Path(params["out_dir"]) / f"{params['job_id']}-successful.csv"
        return {"bytes_written": os.path.getsize(path), "file": str(path), "delivered": delivered["successful"]}

    return work


def simple_salesforce(params: Params) -> Work:
    import requests
    from simple_salesforce import Salesforce

    out = Path(params["out_dir"]) / "successful.csv"

    def work() -> dict[str, object]:
        session = requests.Session()
        session.verify = params["ca_bundle"]
        sf = Salesforce(
            instance_url=params["instance_url"], session_id=params["session_id"], version=API_VERSION, session=session
        )
        sf.bulk2.Account.get_successful_records(params["job_id"], file=str(out))
        return {"bytes_written": os.path.getsize(out), "file": str(out)}

    return work
