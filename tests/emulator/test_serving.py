"""Serving: the CLI as a subprocess, argument parsing, TLS, and synthetic data at benchmark speed."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from emulator_api import Api

from airflow_provider_sfpy.emulator import cli
from airflow_provider_sfpy.emulator.certs import tls_key_pair
from airflow_provider_sfpy.emulator.testing import RunningEmulator, start_emulator

READY = re.compile(r"^sfpy-emulator ready on (https?://127\.0\.0\.1:(\d+)) \(user demo@sfpy\.example\)$")


def _start_cli(*args: str) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_sfpy.emulator", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    match = READY.match(line)
    if match is None:
        process.kill()
        pytest.fail(f"no ready line: {line!r} {process.stderr.read() if process.stderr else ''}")
    return process, match.group(1)


def _stop(process: subprocess.Popen[str]) -> str:
    process.terminate()
    _, stderr = process.communicate(timeout=15)
    return stderr


def test_cli_serves_and_prints_the_ready_line_first() -> None:
    process, url = _start_cli("--no-sample-data")
    try:
        versions = requests.get(f"{url}/services/data/", timeout=10)
        assert versions.status_code == 200 and versions.json()[-1]["version"] == "64.0"
        token = requests.post(
            f"{url}/services/oauth2/token",
            data={
                "grant_type": "password",
                "client_id": "sfpy-emulator-client-id",
                "client_secret": "sfpy-demo-client-secret-9Xq",
                "username": "demo@sfpy.example",
                "password": "sfpy-demo-Pa55word!",
            },
            timeout=10,
        ).json()
        assert token["instance_url"] == url
        count = requests.get(
            f"{url}/services/data/v64.0/query",
            params={"q": "SELECT COUNT() FROM Account"},
            headers={"Authorization": f"Bearer {token['access_token']}"},
            timeout=10,
        ).json()
        assert count["totalSize"] == 0
    finally:
        stderr = _stop(process)
    assert "Pa55word" not in stderr and "secret" not in stderr


def test_cli_with_tls_and_generated_data(tmp_path: Path) -> None:
    pair = tls_key_pair()
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_text(pair.cert_pem)
    key.write_text(pair.private_key_pem)
    process, url = _start_cli("--tls-cert", str(cert), "--tls-key", str(key), "--generate", "Account=300")
    try:
        assert url.startswith("https://")
        assert requests.get(f"{url}/services/data/", timeout=10, verify=str(cert)).status_code == 200
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(f"{url}/services/data/", timeout=10)
    finally:
        _stop(process)


def test_cli_argument_parsing() -> None:
    args = cli.build_parser().parse_args(
        ["--generate", "Account=5", "--generate", "Contact=7", "--no-sample-data", "--username", "u@x.example"]
    )
    config = cli.config_from_args(args)
    assert config.generate == {"Account": 5, "Contact": 7}
    assert config.sample_data is False and config.username == "u@x.example"
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["--generate", "Lead=5"])
    with pytest.raises(SystemExit):
        cli.main(["--tls-cert", "only-a-cert.pem"])


def test_tls_mode(emulator_tls: RunningEmulator) -> None:
    assert emulator_tls.base_url.startswith("https://127.0.0.1:")
    assert emulator_tls.ca_bundle_path and Path(emulator_tls.ca_bundle_path).exists()
    api = Api(emulator_tls)
    assert api.get("/limits").status_code == 200
    assert emulator_tls.login()["instance_url"] == emulator_tls.base_url
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{emulator_tls.base_url}/services/data/", timeout=10)


def test_generated_data_loads_fast_and_pages_fully() -> None:
    started = time.monotonic()
    with start_emulator(sample_data=False, generate={"Account": 50_000}) as running:
        loaded = time.monotonic() - started
        assert loaded < 10, f"50k accounts took {loaded:.1f}s to generate"
        api = Api(running)
        body = api.query("SELECT Id, Name, Description, Industry, Owner.Name FROM Account")
        seen = len(body["records"])
        while not body["done"]:
            body = api.get(body["nextRecordsUrl"]).json()
            seen += len(body["records"])
        assert seen == body["totalSize"] == 50_000
