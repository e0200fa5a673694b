"""A peer server script run as a loopback subprocess: the lifecycle that ``OAuthPeer`` and ``OIDCPeer`` share.

A subclass names its script, its client type and the arguments it adds; ``PeerProcess`` starts the script with
``--port``, those arguments, one ``--client`` per client and ``--verbose``, waits for the line ``READY <port>``
on its stdout, keeps its stderr in a temporary log file, answers the control API over plain HTTP and stops it.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

READY_TIMEOUT = 20.0


class PeerProcessError(RuntimeError):
    pass


def endpoint(path: str) -> property:
    """A read-only property: the started peer's URL for ``path``."""
    return property(lambda self: self.base_url + path, doc=f"The peer's {path} URL.")


class PeerProcess:
    SERVER_SCRIPT: Path  # the peer server script, run from its own folder
    NAME = "peer"  # in error messages; its log file is named after it ("oauth peer": oauth-peer-*.log)
    CLIENT_TYPE: type = object  # clients of this type are passed as c.cli_arg(), others as str(c)
    Error: type[PeerProcessError] = PeerProcessError

    def __init__(self, clients=(), port: int = 0, verbose: bool = False, python: str | None = None,
                 keep_log: bool = False):
        self.clients = list(clients)
        self.requested_port = port
        self.verbose = verbose
        self.python = python or sys.executable
        self.keep_log = keep_log  # keep the stderr log file after stop()
        self.port: int | None = None
        self.proc: subprocess.Popen | None = None
        self._log_file = None
        self.log_path: str | None = None
        self._http = requests.Session()
        self._http.trust_env = False  # never route loopback control calls via a proxy

    # ---------------- addresses ----------------

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise self.Error("peer not started")
        return f"http://127.0.0.1:{self.port}"

    authorize_url = endpoint("/authorize")
    token_url = endpoint("/token")
    userinfo_url = endpoint("/userinfo")

    # ---------------- lifecycle ----------------

    def server_args(self) -> list[str]:
        """The script's own arguments, between ``--port`` and the clients."""
        return []

    def command(self) -> list[str]:
        cmd = [self.python, str(self.SERVER_SCRIPT), "--port", str(self.requested_port)]
        cmd += self.server_args()
        for c in self.clients:
            cmd += ["--client", c.cli_arg() if isinstance(c, self.CLIENT_TYPE) else str(c)]
        if self.verbose:
            cmd.append("--verbose")
        return cmd

    def start(self, timeout: float = READY_TIMEOUT) -> "PeerProcess":
        if self.proc is not None:
            raise self.Error("already started")
        fd, self.log_path = tempfile.mkstemp(prefix=self.NAME.replace(" ", "-") + "-", suffix=".log")
        os.close(fd)
        self._log_file = open(self.log_path, "wb")
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            self.command(), stdout=subprocess.PIPE, stderr=self._log_file,
            stdin=subprocess.DEVNULL, env=env, cwd=str(self.SERVER_SCRIPT.parent),
        )
        lines: queue.Queue = queue.Queue()

        def pump(stream):
            for raw in iter(stream.readline, b""):
                lines.put(raw.decode("utf-8", "replace").rstrip("\n"))
            lines.put(None)

        threading.Thread(target=pump, args=(self.proc.stdout,), daemon=True).start()

        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                tail = self.log_tail()
                self.stop()
                raise self.Error(f"{self.NAME} not READY within {timeout}s\n{tail}")
            try:
                line = lines.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                continue
            if line is None:
                rc = self.proc.wait(timeout=5)
                tail = self.log_tail()
                self.stop()
                raise self.Error(f"{self.NAME} exited with {rc} before READY\n{tail}")
            if line.startswith("READY "):
                self.port = int(line.split()[1])
                return self

    def stop(self, timeout: float = 5.0) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=timeout)
        if proc is not None and proc.stdout:
            proc.stdout.close()
        if self._log_file:
            self._log_file.close()
            self._log_file = None
            if not self.keep_log and self.log_path:
                try:
                    os.unlink(self.log_path)
                except OSError:
                    pass
        self._http.close()

    def __enter__(self):
        return self.start() if self.proc is None else self

    def __exit__(self, *exc):
        self.stop()

    def log_tail(self, n: int = 4000) -> str:
        if not self.log_path or not os.path.exists(self.log_path):
            return ""
        with open(self.log_path, "rb") as f:
            return f.read()[-n:].decode("utf-8", "replace")

    # ---------------- control API ----------------

    def _get(self, path):
        r = self._http.get(self.base_url + path, timeout=10)
        r.raise_for_status()
        return r.json()

    def _post(self, path, body=None):
        r = self._http.post(self.base_url + path, json=body or {}, timeout=10)
        r.raise_for_status()
        return r.json()
