"""Where a worker's time goes, read from its log: ``chalicelib/adapters/helm`` logs one line per helm command
(``helm <argv> rc=<code> <seconds>s``) and one per read of a release's Secrets (``read <n> release Secrets of
<release> <seconds>s``, the read-back that replaced helm commands; labelled ``Secrets``). Pure parsing, plus a small reader that returns what was appended to the
stack's worker logs since the last call.

The lines carry no operation id, so the benchmark attributes them by running one operation at a time and
reading the lines appended while it ran.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

# The workers' lines carry the logger's name; the API's (``chalice local``: an operation run in the request) do not.
HELM_LINE = re.compile(
    r"(?:chalicelib(?:\.adapters)?\.helm: |^)helm (?P<args>.*?) rc=(?P<rc>-?\d+) (?P<seconds>\d+(?:\.\d+)?)s\s*$"
)
SECRETS_LINE = re.compile(
    r"(?:chalicelib\.adapters\.helm: |^)read \d+ release Secrets of \S+ (?P<seconds>\d+(?:\.\d+)?)s\s*$"
)
MUTATING = frozenset({"install", "upgrade", "rollback", "uninstall"})


@dataclass(frozen=True)
class HelmCall:
    """One helm command a worker ran: its label (``install``, ``history``, ``get metadata``...), rc, seconds."""

    label: str
    returncode: int
    seconds: float

    @property
    def mutating(self) -> bool:
        return self.label in MUTATING


def label(args: str) -> str:
    """``get metadata --namespace ...`` -> ``get metadata``; ``history --namespace ...`` -> ``history``."""
    words = args.split()
    if not words:
        return "?"
    if words[0] == "get" and len(words) > 1:
        return f"get {words[1]}"
    return words[0]


def parse(text: str) -> list[HelmCall]:
    """Every helm line in ``text``, in order."""
    calls = []
    for line in text.splitlines():
        match = HELM_LINE.search(line)
        if match:
            calls.append(HelmCall(label(match["args"]), int(match["rc"]), float(match["seconds"])))
        elif secrets := SECRETS_LINE.search(line):
            calls.append(HelmCall("Secrets", 0, float(secrets["seconds"])))
    return calls


def split(calls: list[HelmCall]) -> dict[str, float]:
    """Seconds of the verb itself (mutating commands) and of the read-back after it, and per label."""
    out: dict[str, float] = {"helm_verb_s": 0.0, "helm_readback_s": 0.0}
    for call in calls:
        out["helm_verb_s" if call.mutating else "helm_readback_s"] += call.seconds
        key = f"helm {call.label}"
        out[key] = out.get(key, 0.0) + call.seconds
    return out


class LogTail:
    """What the stack's ``worker-*.log`` files and ``api.log`` gained since the previous ``read()`` (an operation
    run in the request, ``Prefer: wait``, logs its helm lines in the API's log)."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self._offsets: dict[Path, int] = {}
        self.read()  # start at the current end

    def read(self) -> str:
        chunks = []
        for path in [*sorted(self.logs.glob("worker-*.log")), self.logs / "api.log"]:
            if not path.exists():
                continue
            with open(path, "rb") as fh:
                fh.seek(self._offsets.get(path, 0))
                data = fh.read()
            self._offsets[path] = self._offsets.get(path, 0) + len(data)
            chunks.append(data.decode("utf-8", "replace"))
        return "".join(chunks)
