"""Run ``sfpy-emulator`` as a separate process, for the demo, benchmarks and users' scripts.

A child process (rather than a thread) keeps the emulator's CPU off the measured process and
mirrors how users run it beside Airflow. The CLI prints one ready line with its URL; we wait for it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from types import TracebackType

from airflow_provider_sfpy.emulator import require_emulator_extra

# The command line below imports the emulator's server: name the missing extra here, not in a child's traceback.
require_emulator_extra()

from airflow_provider_sfpy.emulator.cli import ADMIN_TOKEN_ENV  # noqa: E402

_READY = re.compile(r"sfpy-emulator ready on (\S+)")
_PUBSUB = re.compile(r"^Pub/Sub API: (grpcs?://(\S+))")


class EmulatorProcess:
    """``with EmulatorProcess(["--generate", "Account=1000"]) as emu: emu.base_url``.

    ``admin_token`` reaches the child through ``$SFPY_EMULATOR_ADMIN_TOKEN`` rather than its command
    line: other users of the machine can read command lines (``ps``), and a random token that happens
    to start with ``-`` would be taken by the argument parser for an option.

    ``command`` runs another installation's emulator (``["/venv/bin/sfpy-emulator"]``, as the wheel-install
    test does); by default it is this interpreter's ``python -m airflow_provider_sfpy.emulator``.
    ``pubsub=True`` also serves the Pub/Sub API on a free port (``pubsub_url``, ``pubsub_target``).
    """

    def __init__(
        self,
        args: Sequence[str] = (),
        *,
        host: str = "127.0.0.1",
        start_timeout: float = 60.0,
        admin_token: str | None = None,
        command: Sequence[str] | None = None,
        pubsub: bool = False,
    ) -> None:
        self.args = [*args, *(["--pubsub-port", "0"] if pubsub else [])]
        self.command = list(command) if command else [sys.executable, "-m", "airflow_provider_sfpy.emulator"]
        self.host = host
        self.start_timeout = start_timeout
        self.admin_token = admin_token
        self.base_url = ""
        #: ``grpc://host:port`` (``grpcs://`` with TLS) and ``host:port`` of the Pub/Sub API, when served.
        self.pubsub_url: str | None = None
        self.pubsub_target: str | None = None
        self._proc: subprocess.Popen[str] | None = None
        self._output: list[str] = []

    def start(self) -> EmulatorProcess:
        cmd = [*self.command, "--host", self.host, "--port", "0", *self.args]
        env = dict(os.environ)
        if self.admin_token:
            env[ADMIN_TOKEN_ENV] = self.admin_token
        self._proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1, env=env
        )
        found = threading.Event()
        threading.Thread(target=self._read_output, args=(found,), daemon=True).start()
        deadline = time.monotonic() + self.start_timeout
        while not found.wait(0.05):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                output = "".join(self._output[-30:])
                raise RuntimeError(f"sfpy-emulator did not become ready; its output:\n{output}")
        return self

    def _read_output(self, found: threading.Event) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for line in self._proc.stdout:
            self._output.append(line)
            if len(self._output) > 200:
                del self._output[:100]
            pubsub = _PUBSUB.match(line)
            if pubsub:
                self.pubsub_url, self.pubsub_target = pubsub.group(1), pubsub.group(2)
            match = _READY.search(line)
            if match:
                self.base_url = match.group(1)
            # Ready once the URLs are known: the Pub/Sub API's line follows the ready line.
            serves_pubsub = "--pubsub-port" in self.args
            if self.base_url and (self.pubsub_url or not serves_pubsub) and not found.is_set():
                found.set()

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()

    @property
    def output(self) -> list[str]:
        """The lines the emulator printed so far (ready line and banner; the last 200 at most)."""
        return list(self._output)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def __enter__(self) -> EmulatorProcess:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
