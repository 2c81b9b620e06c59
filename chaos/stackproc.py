"""An isolated local stack run as a child process (``python -m devstack --isolated --state-dir DIR``), as a user
runs ``make run``: started, signalled (SIGINT/SIGTERM/SIGKILL), started again on the same state; its parts found by
their pids, and its API and helm reachable from here."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from devstack.lifecycle import descendants
from devstack.stack import ROOT, request

HELM = ROOT / "layers" / "helm" / "build" / "v4" / "helm"


class StackProcess:
    """``python -m devstack`` on ``state_dir`` (free ports chosen once, kept there), in a session of its own."""

    def __init__(self, state_dir: Path, workers: int = 2, sweep_every_s: float = 1, lease_grace_s: int = 1) -> None:
        self.state_dir = state_dir
        self.args = [
            f"--state-dir={state_dir}",
            "--isolated",
            f"--workers={workers}",
            f"--sweep-every={sweep_every_s}",
            f"--lease-grace={lease_grace_s}",
        ]
        self.proc: subprocess.Popen[bytes] | None = None
        self.api = ""
        self.token = ""
        self.starts = 0
        self._below: set[int] = set()

    # ------------------------------------------------------------ lifecycle

    def start(self, timeout: float = 240) -> None:
        """Start it and return once it serves (its banner printed, ``stack.json`` written)."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        (self.state_dir / "stack.json").unlink(missing_ok=True)
        with open(self.state_dir / "devstack.out", "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "devstack", *self.args],
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        ready = self.state_dir / "stack.json"
        while not ready.exists():
            if self.proc.poll() is not None:
                raise RuntimeError(f"the stack exited with {self.proc.returncode}; see {self.state_dir}/devstack.out")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the stack did not start within {timeout:.0f} s")
            time.sleep(0.2)
        self.api = json.loads(ready.read_text())["api"]
        self.token = (self.state_dir / "token").read_text().strip()
        self.starts += 1

    def stop(self, sig: signal.Signals = signal.SIGINT, timeout: float = 60) -> float:
        """Signal the stack's main process and wait for it to exit; returns the seconds it took."""
        assert self.proc is not None
        self._below = set(self.processes())
        started = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=timeout)
        return time.monotonic() - started

    def leftovers(self) -> list[int]:
        """Processes that ran below the stack before the last ``stop`` and still run (none should)."""
        alive = []
        for pid in self._below:
            try:
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if state != "Z":
                alive.append(pid)
        return alive

    def close(self) -> None:
        """Stop it whatever state it is in (the end of a run, or a test)."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.stop(signal.SIGTERM, timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    # ------------------------------------------------------------ parts

    def ports(self) -> dict[str, int]:
        return dict(json.loads((self.state_dir / "ports.json").read_text()))

    def chart_url(self, name: str, version: str) -> str:
        return f"http://127.0.0.1:{self.ports()['charts_port']}/{name}-{version}.tgz"

    def processes(self) -> dict[int, list[str]]:
        """Every live process below the stack's main process: pid -> argv."""
        out: dict[int, list[str]] = {}
        for pid in descendants(self.pid):
            try:
                argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            out[pid] = [a.decode(errors="replace") for a in argv if a]
        return out

    def pids_of(self, what: str) -> list[int]:
        """Pids of the stack's processes: ``worker``, ``helm``, ``aws`` (the emulator and DynamoDB Local),
        ``kube-apiserver``."""
        found = []
        for pid, argv in self.processes().items():
            if not argv:
                continue
            match what:
                case "worker":
                    hit = argv[1:3] == ["-m", "devstack.worker"]
                case "helm":
                    hit = argv[0] == str(HELM) and len(argv) > 1 and argv[1] != "package"
                case "aws":
                    hit = argv[1:3] == ["-m", "devstack.moto_server"] or any(
                        a.endswith("DynamoDBLocal.jar") for a in argv
                    )
                case _:
                    hit = Path(argv[0]).name == what
            if hit:
                found.append(pid)
        return found

    # ------------------------------------------------------------ calls

    def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None, timeout: float = 120
    ) -> tuple[int, Any]:
        """One API call with the admin token (and extra headers: Prefer, Idempotency-Key)."""
        import urllib.error
        import urllib.request

        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            self.api + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.token}", **(headers or {})},
        )
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                raw = resp.read()
                return resp.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as err:
            raw = err.read()
            try:
                return err.code, json.loads(raw) if raw else None
            except ValueError:
                return err.code, raw.decode("utf-8", "replace")

    def get(self, path: str) -> tuple[int, Any]:
        return request("GET", self.api + path, token=self.token)

    def helm(self, *args: str) -> tuple[int, str]:
        """The stack's helm binary against its cluster, as a user would run it."""
        home = self.state_dir / "helm-home"
        home.mkdir(exist_ok=True)
        env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "KUBECONFIG": str(self.state_dir / "kubeconfig")}
        done = subprocess.run([str(HELM), *args], env=env, capture_output=True, text=True, timeout=120, check=False)
        return done.returncode, done.stdout if done.returncode == 0 else done.stderr
