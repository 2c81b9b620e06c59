"""Tab completion of real names, read from the API: clusters, namespaces, releases, repositories, charts,
revisions, operations (and the configuration's contexts).

Called by argcomplete (``charthouse completion bash|zsh|fish``) with the arguments typed so far, so the
endpoint, token, context, cluster and namespace on the line are honoured. Each answer is kept for
``CACHE_TTL_S`` seconds in ``$XDG_CACHE_HOME/charthouse/completion/`` (names only, owner-only files), and a
request gets ``TIME_LIMIT_S`` seconds in all, without retries: a slow or unreachable endpoint completes
nothing, it never hangs the shell. A completer never raises.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .config import ConfigFile, config_path
from .http import path
from .session import client_for, settings  # the command's own resolution (flags > env > context > defaults)

CACHE_TTL_S = 10.0
TIME_LIMIT_S = 2.0


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "charthouse" / "completion"


@contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Interrupt whatever blocks (DNS included) after ``seconds``; only in the main thread of a POSIX process."""

    def expired(signum: int, frame: Any) -> None:
        raise TimeoutError("completion time limit")

    usable = hasattr(signal, "setitimer") and signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, None)
    if usable:
        try:
            previous = signal.signal(signal.SIGALRM, expired)
        except ValueError:  # not the main thread
            usable = False
    if usable:
        signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        if usable:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)


def fetch(parsed_args: argparse.Namespace, url_path: str, query: dict[str, object] | None = None) -> Any:
    """``GET url_path`` as the command line being completed would send it, from the cache when fresh."""
    found = settings(parsed_args)
    client = client_for(found, TIME_LIMIT_S)
    client.retries = 0
    identity = hashlib.sha256(f"{found.endpoint}\0{found.token or ''}\0{url_path}\0{query}".encode()).hexdigest()
    file = cache_dir() / f"{identity[:32]}.json"
    try:
        cached = json.loads(file.read_text())
        if time.time() - float(cached["at"]) < CACHE_TTL_S:
            return cached["data"]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    with _time_limit(TIME_LIMIT_S):
        data = client.get(url_path, query)
    try:
        file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = file.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"at": time.time(), "data": data}))
        tmp.chmod(0o600)
        tmp.replace(file)
    except OSError:
        pass
    return data


Completer = Callable[..., list[str]]


def _safe(names: Callable[[argparse.Namespace], list[str]]) -> Completer:
    def complete(prefix: str = "", parsed_args: argparse.Namespace | None = None, **_: Any) -> list[str]:
        try:
            found = names(parsed_args or argparse.Namespace())
        except Exception:  # noqa: BLE001 - an unreachable endpoint, a refusal, a timeout: complete nothing
            return []
        return [n for n in found if n.startswith(prefix)]

    complete.__name__ = names.__name__
    return complete


def _items(data: Any, key: str, field: str = "name") -> list[str]:
    items = data.get(key) if isinstance(data, dict) else None
    return [str(i[field]) for i in items or [] if isinstance(i, dict) and i.get(field) is not None]


@_safe
def clusters(args: argparse.Namespace) -> list[str]:
    return _items(fetch(args, path("v1", "clusters")), "clusters")


def _cluster(args: argparse.Namespace) -> str:
    return str(getattr(args, "cluster", None) or settings(args).cluster)


@_safe
def namespaces(args: argparse.Namespace) -> list[str]:
    return _items(fetch(args, path("v1", "clusters", _cluster(args), "namespaces")), "namespaces")


@_safe
def releases(args: argparse.Namespace) -> list[str]:
    cluster = _cluster(args)
    namespace = getattr(args, "namespace", None)
    url = (
        path("v1", "clusters", cluster, "namespaces", namespace, "releases")
        if namespace
        else path("v1", "clusters", cluster, "releases")
    )
    return sorted(set(_items(fetch(args, url, {"limit": 1000}), "releases")))


@_safe
def repositories(args: argparse.Namespace) -> list[str]:
    return _items(fetch(args, path("v1", "repositories")), "repositories")


@_safe
def charts(args: argparse.Namespace) -> list[str]:
    data = fetch(args, path("v1", "charts"), {"limit": 1000})
    items = data.get("charts") if isinstance(data, dict) else None
    refs = {str(c.get("ref") or f"{c.get('repository')}/{c.get('name')}") for c in items or [] if isinstance(c, dict)}
    return sorted(refs)


@_safe
def revisions(args: argparse.Namespace) -> list[str]:
    name = getattr(args, "name", None)
    if not name:
        return []
    settings(args)  # fills in the cluster and namespace from the environment, the context, the defaults
    url = path("v1", "clusters", args.cluster, "namespaces", args.namespace, "releases", name)
    return [str(h["revision"]) for h in fetch(args, url + "/history").get("history", []) if "revision" in h]


@_safe
def operations(args: argparse.Namespace) -> list[str]:
    return _items(fetch(args, path("v1", "operations"), {"limit": 100}), "operations", "id")


@_safe
def contexts(args: argparse.Namespace) -> list[str]:
    return sorted(ConfigFile.load(config_path()).contexts)


def chart_or_path(prefix: str = "", parsed_args: argparse.Namespace | None = None, **kwargs: Any) -> list[str]:
    """A CHART argument: the service's chart references, and local chart directories and archives."""
    local: list[str] = []
    try:
        from argcomplete.completers import FilesCompleter

        local = [p for p in FilesCompleter(allowednames=("tgz",), directories=True)(prefix) if not p.startswith(".git")]
    except Exception:  # noqa: BLE001
        local = []
    if prefix.startswith((".", "/", "~")):
        return local
    return charts(prefix, parsed_args, **kwargs) + local


def attach(action: argparse.Action, completer: Completer) -> argparse.Action:
    """Give an argument a completer (argcomplete reads ``action.completer``)."""
    action.completer = completer  # type: ignore[attr-defined]
    return action
