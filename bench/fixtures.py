"""What runs before the measured runs: the emulator over HTTPS, a session for the anchors, generated
CSV files, and Bulk jobs to wait for or download from. Runs in the orchestrator (project ``.venv``).
"""

from __future__ import annotations

import contextlib
import csv
import json
import random
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from _common import API_VERSION

from airflow_provider_sfpy.client import Client
from airflow_provider_sfpy.emulator import defaults
from airflow_provider_sfpy.emulator.process import EmulatorProcess
from airflow_provider_sfpy.emulator.testing import AdminClient

TERMINAL = frozenset({"JobComplete", "Failed", "Aborted"})
#: Bump when the generated CSV changes, so a cached file from an older generator is not reused.
CSV_GENERATOR_VERSION = 1


@dataclass
class Emulator:
    """A running ``sfpy-emulator`` subprocess (HTTPS) and what clients need to reach it."""

    base_url: str
    ca_bundle: str
    session_id: str
    instance_url: str
    admin: AdminClient
    pid: int | None

    def client(self) -> Client:
        """Our client, logged in (for setting up jobs and reading their info; never measured)."""
        client = Client(
            defaults.DEFAULT_USERNAME,
            defaults.DEFAULT_PASSWORD,
            defaults.DEFAULT_CLIENT_ID,
            defaults.DEFAULT_CLIENT_SECRET,
            login_url=self.base_url,
            ca_bundle=self.ca_bundle,
            version=API_VERSION,
        )
        client.login()
        return client

    def connection_env(self) -> dict[str, str]:
        """Airflow connections for the workers: ``sfpy_default`` (ours, password flow + CA file) and
        ``salesforce_default`` (the official provider: instance URL and version; the session id is
        passed to its hook as ``session_id``, its "Direct Session" option)."""
        sfpy = {
            "conn_type": "sfpy",
            "host": self.base_url,
            "login": defaults.DEFAULT_USERNAME,
            "password": defaults.DEFAULT_PASSWORD,
            "extra": {
                "client_id": defaults.DEFAULT_CLIENT_ID,
                "client_secret": defaults.DEFAULT_CLIENT_SECRET,
                "ca_bundle": self.ca_bundle,
            },
        }
        official = {"conn_type": "salesforce", "extra": {"instance_url": self.instance_url, "version": API_VERSION}}
        return {
            "AIRFLOW_CONN_SFPY_DEFAULT": json.dumps(sfpy),
            "AIRFLOW_CONN_SALESFORCE_DEFAULT": json.dumps(official),
            "REQUESTS_CA_BUNDLE": self.ca_bundle,
        }

    def base_params(self) -> dict[str, Any]:
        return {
            "base_url": self.base_url,
            "ca_bundle": self.ca_bundle,
            "session_id": self.session_id,
            "instance_url": self.instance_url,
            "username": defaults.DEFAULT_USERNAME,
            "password": defaults.DEFAULT_PASSWORD,
            "client_id": defaults.DEFAULT_CLIENT_ID,
            "client_secret": defaults.DEFAULT_CLIENT_SECRET,
        }


def password_login(base_url: str, ca_bundle: str) -> dict[str, Any]:
    """One OAuth password-flow login; the token is handed to tools that cannot log in to the emulator."""
    response = requests.post(
        f"{base_url}/services/oauth2/token",
        data={
            "grant_type": "password",
            "client_id": defaults.DEFAULT_CLIENT_ID,
            "client_secret": defaults.DEFAULT_CLIENT_SECRET,
            "username": defaults.DEFAULT_USERNAME,
            "password": defaults.DEFAULT_PASSWORD + defaults.DEFAULT_SECURITY_TOKEN,
        },
        timeout=60,
        verify=ca_bundle,
    )
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


@contextlib.contextmanager
def emulator(tls: tuple[str, str], *args: str) -> Iterator[Emulator]:
    """``sfpy-emulator --no-sample-data --tls-cert ... --tls-key ... <args>`` on a free port, default limits."""
    cert, key = tls
    admin_token = secrets.token_urlsafe(24)
    process = EmulatorProcess(
        ["--no-sample-data", "--tls-cert", cert, "--tls-key", key, *args],
        start_timeout=1800,
        admin_token=admin_token,
    )
    with process:
        token = password_login(process.base_url, cert)
        admin = AdminClient(process.base_url, verify=cert, admin_token=admin_token)
        try:
            yield Emulator(
                base_url=process.base_url,
                ca_bundle=cert,
                session_id=token["access_token"],
                instance_url=token["instance_url"],
                admin=admin,
                pid=process.pid,
            )
        finally:
            admin.close()


# ----------------------------------------------------------------------------------------- CSV files

_WORDS_A = ("Blue", "Global", "Northern", "Quantum", "Golden", "Rapid", "Crystal", "Müller", "Société", "Nova")
_WORDS_B = ("Systems", "Foods", "Logistics", "Apparel", "Bank", "Bio", "Energy", "Media", "Textiles", "Labs")
_SUFFIXES = (", Inc.", ", LLC", " & Sons", ' "International"', " GmbH", " Ltd.", "", " 株式会社")
_DESCRIPTIONS = (
    'Key account.\nRenewal due next quarter, "priority" customer.',
    "Met at Dreamforce, interested in integrations, analytics, and support.",
    "Line one\nLine two, with a comma\nLine three — naïve café résumé",
    "",
    "中文描述\n第二行",
)
_CITIES = ("San Francisco", "New York", "London", "Paris", "München", "Tokyo", "São Paulo", "Toronto", "Zürich")
_INDUSTRIES = ("Banking", "Apparel", "Biotechnology", "Chemicals", "Communications", "Energy", "")
ACCOUNT_CSV_HEADER = ["Name", "Description", "BillingCity", "Industry", "AnnualRevenue", "Phone"]


def _account_row(index: int, rng: random.Random) -> list[str]:
    r = rng.random()
    name = f"{_WORDS_A[index % 10]} {_WORDS_B[(index // 10) % 10]}{_SUFFIXES[(index // 100) % 8]} B{index + 1}"
    description = _DESCRIPTIONS[index % 5]
    return [
        name,
        f"{description}\nRow {index + 1}" if description else "",
        _CITIES[int(r * 7919) % 9],
        _INDUSTRIES[index % 7],
        f"{int(r * 100000) * 1000}",
        f"+1 555 {int(r * 10000000):07d}" if index % 3 else "",
    ]


def accounts_csv(path: Path, *, target_bytes: int | None = None, rows: int | None = None) -> int:
    """Write (or reuse) a deterministic Accounts CSV (LF rows, quoted multi-line text, non-ASCII) of at
    least ``target_bytes`` or exactly ``rows`` records; returns its record count."""
    meta = path.with_suffix(".json")
    wanted = {"version": CSV_GENERATOR_VERSION, "target_bytes": target_bytes, "rows": rows}
    if path.exists() and meta.exists():
        known = json.loads(meta.read_text())
        if {k: known.get(k) for k in wanted} == wanted:
            return int(known["records"])
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = random.Random(20240601)
    count = 0
    partial = path.with_suffix(".partial")
    with partial.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(ACCOUNT_CSV_HEADER)
        while True:
            if rows is not None:
                block = min(1000, rows - count)
            else:
                block = 0 if target_bytes is None or handle.tell() >= target_bytes else 1000
            if block <= 0:
                break
            writer.writerows(_account_row(i, rng) for i in range(count, count + block))
            count += block
    partial.replace(path)
    meta.write_text(json.dumps({**wanted, "records": count, "bytes": path.stat().st_size}))
    return count


def narrow_csv(path: Path, rows: int) -> None:
    """Two short columns: a cheap large ingest whose ``successfulResults`` is then downloaded."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["Name", "BillingCity"])
        writer.writerows([f"Result Row {i + 1}", _CITIES[i % 9]] for i in range(rows))


def count_records(path: Path, file_format: str) -> tuple[int, list[str], bool]:
    """(records, field names, whether any text value holds a line break) of a CSV, JSON Lines or Parquet file."""
    if file_format == "csv":
        return count_csv_records(path)
    if file_format == "parquet":
        import pyarrow.parquet as pq

        parquet = pq.ParquetFile(path)
        first = next(parquet.iter_batches(batch_size=10_000), None)
        texts = [] if first is None else [c for c in first.columns if str(c.type) in ("string", "large_string")]
        multiline = any("\n" in value for column in texts for value in column.to_pylist() if value)
        return parquet.metadata.num_rows, list(parquet.schema_arrow.names), multiline
    count, header, multiline = 0, [], False
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if count == 0:
                header = list(json.loads(line))
            if not multiline and "\\n" in line:
                multiline = True
            count += 1
    return count, header, multiline


def count_csv_folder(folder: Path) -> int:
    """Records in every ``*.csv`` file of a folder (each file with its own header row)."""
    return sum(count_csv_records(path)[0] for path in sorted(folder.glob("*.csv")))


def count_csv_records(path: Path) -> tuple[int, list[str], bool]:
    """(records, header, whether any value still holds a line break) of a CSV file."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, [])
        count, multiline = 0, False
        for row in reader:
            count += 1
            if not multiline and any("\n" in value for value in row):
                multiline = True
    return count, header, multiline


# ----------------------------------------------------------------------------------------- Bulk jobs


def ingest_and_wait(client: Client, csv_path: Path, timeout: float = 3600.0) -> dict[str, Any]:
    """One insert job with ``csv_path`` as its data, waited for; returns its final info."""
    ingest = client.jobs.ingest
    job, _ = ingest.create({"object": "Account", "operation": "insert", "lineEnding": "LF"})
    with csv_path.open("rb") as data:
        ingest.upload(job["id"], data)
    ingest.close(job["id"])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info, _ = ingest.info(job["id"])
        if info["state"] in TERMINAL:
            result: dict[str, Any] = info
            return result
        time.sleep(0.5)
    raise TimeoutError(f"ingest job {job['id']} did not finish in {timeout:.0f} s")


def closed_jobs(client: Client, count: int) -> list[str]:
    """``count`` one-record insert jobs, each created, uploaded and closed (so the emulator works
    through them while the waiters wait)."""
    ingest = client.jobs.ingest
    ids: list[str] = []
    for index in range(count):
        job, _ = ingest.create({"object": "Account", "operation": "insert", "lineEnding": "LF"})
        ingest.upload(job["id"], f"Name\nWait Test {index}\n".encode())
        ingest.close(job["id"])
        ids.append(str(job["id"]))
    return ids


def job_infos(client: Client, job_ids: list[str]) -> list[dict[str, Any]]:
    return [client.jobs.ingest.info(job_id).body for job_id in job_ids]


def delete_query_jobs(emu: Emulator) -> None:
    """Delete every finished Bulk query job (each holds its whole result on the emulator's disk)."""
    client = emu.client()
    try:
        for job in list(client.jobs.query.list_all()):
            if job.get("state") in TERMINAL:
                client.jobs.query.delete(job["id"])
    finally:
        client.close()


def all_ingest_jobs(client: Client) -> list[dict[str, Any]]:
    return list(client.jobs.ingest.list_all())
