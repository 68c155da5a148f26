"""The package as a user gets it: the sdist and wheel ``make dist`` builds, installed (not editable) into a
fresh virtual environment, with and without the ``emulator`` extra.

The build runs as ``make dist`` runs it (``uv build``: the sdist first, then the wheel from the unpacked
sdist, so a file missing from the sdist is missing from the wheel too). The fresh environment gets the wheel
and this environment's Airflow version through uv, pinned to the versions installed here (``uv pip freeze``
as constraints): the resolver still checks that the wheel's requirements hold, but installs the exact
distributions already in uv's cache, so the step takes seconds, with no Airflow version drift between runs.
From there the test runs the installed ``sfpy-emulator`` command and the installed client, from a folder
outside the checkout, so nothing can be imported from the source tree.

The module costs about 8 s of CPU, mostly the build and the first imports in the new venv (no ``.pyc``
files yet); its uv steps are I/O: 1-3 s per install with uv's cache warm. Wall time measured 28-33 s on
this project's 2-core machine while other suites loaded it (load average 6-8).
``make test`` runs it once, on the main Airflow version: ``test-floor`` sets
``$SFPY_SKIP_WHEEL_INSTALL_TEST``, since nothing it checks depends on Airflow's version.
"""

from __future__ import annotations

import email.parser
import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement

import airflow_provider_sfpy
from airflow_provider_sfpy.emulator.process import EmulatorProcess

SKIP_VARIABLE = "SFPY_SKIP_WHEEL_INSTALL_TEST"
pytestmark = pytest.mark.skipif(
    bool(os.environ.get(SKIP_VARIABLE)), reason=f"${SKIP_VARIABLE}: {os.environ.get(SKIP_VARIABLE)}"
)

REPO = Path(airflow_provider_sfpy.__file__).resolve().parents[1]
DIST_NAME = "airflow_provider_sfpy"
#: Files besides Python modules that the package reads at run time or that type checkers look for.
#: Every grammar in the source tree, so a new one that pyproject's package-data misses fails here.
PACKAGE_DATA = (
    "airflow_provider_sfpy/py.typed",
    *sorted(path.relative_to(REPO).as_posix() for path in (REPO / "airflow_provider_sfpy").rglob("*.lark")),
)
EMULATOR_EXTRA = {"starlette", "uvicorn", "python-multipart", "lark"}
INSTALL_COMMAND = "pip install 'airflow-provider-sfpy[emulator]'"
#: Credentials the test's emulator is started with (the command's defaults are not what this checks).
USERNAME, PASSWORD, CLIENT_ID, CLIENT_SECRET = "wheel@sfpy.example", "wheel-pass", "wheel-client", "wheel-secret"

QUERY = """
import json, sys
import airflow_provider_sfpy
from airflow_provider_sfpy import client as sfpy

base_url, username, password, client_id, client_secret = sys.argv[1:]
client = sfpy.client(username, password, client_id, client_secret, login_url=base_url)
client.login()
body, response = client.query("SELECT Id, Name FROM Account ORDER BY Name LIMIT 2")
print(json.dumps({"package": airflow_provider_sfpy.__file__, "status": response.status,
                  "names": [r["Name"] for r in body["records"]]}))
"""


def uv() -> str:
    """The uv that ``make venv`` installs beside this interpreter (else one on PATH)."""
    found = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    assert found, "uv is needed to build and install the wheel: `make venv` installs it into .venv"
    return found


@dataclass(frozen=True)
class Outcome:
    """How a child process ended (``returncode`` None: it was still running at its timeout, and was stopped)."""

    returncode: int | None
    stdout: str
    stderr: str


def child(command: Sequence[str | Path], *, cwd: Path, timeout: float) -> Outcome:
    """Run ``command`` without this session's ``PYTHONPATH`` and ``VIRTUAL_ENV``, which could point it here."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    argv = [str(part) for part in command]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env)
    except subprocess.TimeoutExpired as exc:
        return Outcome(None, repr(exc.stdout), f"still running after {timeout} s, so stopped; stderr: {exc.stderr!r}")
    return Outcome(done.returncode, done.stdout, done.stderr)


def run(command: Sequence[str | Path], *, cwd: Path, timeout: float = 180) -> str:
    """Run ``command``; its standard output. Fails the test with the command's output if the command fails."""
    outcome = child(command, cwd=cwd, timeout=timeout)
    assert outcome.returncode == 0, f"{command}: {outcome.stdout[-2000:]}\n{outcome.stderr[-4000:]}"
    return outcome.stdout


@dataclass(frozen=True)
class Built:
    sdist: Path
    wheel: Path


@dataclass(frozen=True)
class FreshInstall:
    """A new venv holding the wheel (installed, not editable), and what the emulator's command and test helper
    did there before the ``emulator`` extra was installed."""

    folder: Path
    bin: Path
    command_without_extra: Outcome
    helper_without_extra: Outcome


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    out = tmp_path_factory.mktemp("dist")
    run([uv(), "build", "--python", sys.executable, "--out-dir", out, REPO], cwd=out)
    (sdist,) = out.glob("*.tar.gz")
    (wheel,) = out.glob("*.whl")
    return Built(sdist=sdist, wheel=wheel)


@pytest.fixture(scope="module")
def fresh_install(built: Built, tmp_path_factory: pytest.TempPathFactory) -> FreshInstall:
    folder = tmp_path_factory.mktemp("fresh-install")
    venv = folder / "venv"
    python = venv / "bin" / "python"
    constraints = folder / "constraints.txt"
    constraints.write_text(run([uv(), "pip", "freeze", "--python", sys.executable, "--exclude-editable"], cwd=folder))
    run([uv(), "venv", "--quiet", "--python", sys.executable, venv], cwd=folder)
    install: list[str | Path] = [uv(), "pip", "install", "--quiet", "--python", python, "--constraint", constraints]
    run([*install, built.wheel, f"apache-airflow=={version('apache-airflow')}"], cwd=folder)
    command = child([venv / "bin" / "sfpy-emulator", "--port", "0"], cwd=folder, timeout=30)
    helper = child([python, "-c", "import airflow_provider_sfpy.emulator.testing"], cwd=folder, timeout=30)
    run([*install, f"{built.wheel}[emulator]"], cwd=folder)
    return FreshInstall(folder=folder, bin=venv / "bin", command_without_extra=command, helper_without_extra=helper)


def test_the_sdist_and_the_wheel_ship_the_license_and_the_package_data(built: Built) -> None:
    license_text = (REPO / "LICENSE").read_text()
    assert license_text.lstrip().startswith("Apache License") and "Version 2.0, January 2004" in license_text

    with zipfile.ZipFile(built.wheel) as wheel:
        wheel_files = set(wheel.namelist())
        assert wheel.read(f"{DIST_NAME}-{airflow_provider_sfpy.__version__}.dist-info/licenses/LICENSE").decode() == (
            license_text
        )
    assert set(PACKAGE_DATA) <= wheel_files

    with tarfile.open(built.sdist) as sdist:
        root = sdist.getnames()[0].split("/")[0]
        sdist_files = {name.removeprefix(f"{root}/") for name in sdist.getnames()}
    assert {"LICENSE", "pyproject.toml", "README.md", *PACKAGE_DATA} <= sdist_files


def test_the_wheel_declares_apache_2_and_keeps_emulator_packages_in_their_extra(built: Built) -> None:
    with zipfile.ZipFile(built.wheel) as wheel:
        (metadata_name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = email.parser.Parser().parsestr(wheel.read(metadata_name).decode())
    requirements = [Requirement(text) for text in metadata.get_all("Requires-Dist") or []]

    assert metadata["License-Expression"] == "Apache-2.0"
    assert metadata.get_all("License-File") == ["LICENSE"]
    runtime = {r.name for r in requirements if r.marker is None}
    extra = {r.name for r in requirements if r.marker is not None and r.marker.evaluate({"extra": "emulator"})}
    assert runtime & EMULATOR_EXTRA == set()
    assert extra >= EMULATOR_EXTRA
    assert "pyjwt" in runtime  # the JWT bearer flow works on any worker


def test_sfpy_emulator_without_its_extra_says_how_to_install_it(fresh_install: FreshInstall) -> None:
    outcome = fresh_install.command_without_extra

    assert outcome.returncode == 1, outcome
    assert f"missing: lark); install it with: {INSTALL_COMMAND}" in outcome.stderr, outcome
    assert "Traceback" not in outcome.stdout + outcome.stderr


def test_the_emulator_test_helper_without_its_extra_names_the_extra(fresh_install: FreshInstall) -> None:
    outcome = fresh_install.helper_without_extra

    assert outcome.returncode == 1
    assert "EmulatorExtraMissingError: the Salesforce emulator needs the 'emulator' extra" in outcome.stderr, outcome
    assert INSTALL_COMMAND in outcome.stderr


def test_the_installed_wheel_serves_the_emulator_and_its_client_queries_it(fresh_install: FreshInstall) -> None:
    options = ["--username", USERNAME, "--password", PASSWORD, "--security-token", ""]
    options += ["--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET]
    with EmulatorProcess(options, command=[str(fresh_install.bin / "sfpy-emulator")]) as emulator:
        query: list[str | Path] = [fresh_install.bin / "python", "-c", QUERY, emulator.base_url]
        printed = run([*query, USERNAME, PASSWORD, CLIENT_ID, CLIENT_SECRET], cwd=fresh_install.folder, timeout=120)
    answer = json.loads(printed.strip().splitlines()[-1])

    assert Path(answer["package"]).is_relative_to(fresh_install.bin.parent / "lib")  # the installed copy
    assert answer["status"] == 200
    assert len(answer["names"]) == 2 and answer["names"] == sorted(answer["names"])
