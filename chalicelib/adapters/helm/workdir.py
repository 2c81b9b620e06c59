"""The private work directory of one helm call: a fresh 0700 directory holding the kubeconfig (0600), the values
file (0600) and helm's HOME/HELM_*_HOME, removed after the call; and the process-wide cache of the clusters' API
discovery that outlives it."""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import tempfile
from pathlib import Path
from types import TracebackType


@functools.cache
def kube_cache_dir() -> str:
    """This process's cache of the clusters' API discovery (``KUBECACHEDIR``), shared by its helm processes and kept
    for its lifetime: helm otherwise asks every cluster for its API groups on each call and writes ~140 files that
    each work directory would have to remove (10-40 ms, docs/PERFORMANCE.md). Entries are per API server URL and
    hold no credentials; helm re-reads a cluster's discovery when a kind is missing from it (a CRD added since).
    A private directory (``mkdtemp``: 0700, a random name), removed when the process exits."""
    path = tempfile.mkdtemp(prefix="charthouse-kube-cache-")
    atexit.register(shutil.rmtree, path, True)
    return path


class Workdir:
    """A fresh 0700 directory with a 0600 kubeconfig and helm's homes; removed on exit. The clusters' API
    discovery is cached apart (``kube_cache_dir``)."""

    def __init__(self, kubeconfig: str) -> None:
        self._kubeconfig = kubeconfig
        self.path = Path("/nonexistent")

    def __enter__(self) -> Workdir:
        self.path = Path(tempfile.mkdtemp(prefix="charthouse-"))  # mkdtemp creates it 0700
        self.write("kubeconfig", self._kubeconfig)
        for sub in ("cache", "config", "data"):
            (self.path / sub).mkdir(mode=0o700)
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        shutil.rmtree(self.path, ignore_errors=True)

    def write(self, name: str, text: str) -> Path:
        """Write a 0600 file inside the work directory."""
        target = self.path / name
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        return target

    def env(self) -> dict[str, str]:
        """A minimal environment: nothing of ours (AWS credentials included) leaks into helm."""
        return {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.path),
            "KUBECONFIG": str(self.path / "kubeconfig"),
            "HELM_CACHE_HOME": str(self.path / "cache"),
            "HELM_CONFIG_HOME": str(self.path / "config"),
            "HELM_DATA_HOME": str(self.path / "data"),
            "KUBECACHEDIR": kube_cache_dir(),
            "TMPDIR": str(self.path),
        }
