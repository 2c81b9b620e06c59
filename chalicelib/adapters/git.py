"""Git repositories over HTTP(S), read with dulwich (pure Python; Lambda has no git binary).

One revision (a branch, a tag, ``HEAD`` or a commit id) is fetched shallow (depth 1) into memory, and the files of
its tree are returned, within limits: the bytes received, the number of files and their total size. Every
connection goes through the SSRF guard (``http/fetch.pinned_opener``: the address checked is the one connected
to), credentials go only to the repository's own origin (basic auth; a token is a password), and messages never
carry them (``safe_url``). A commit id must be reachable from a ref the server advertises, or the server must
allow any id (``uploadpack.allowAnySHA1InWant``).

Memory is bounded: the pack is kept as received (at most ``max_bytes``) and read by ``gitpack`` with a running
limit on what its objects inflate to (``max_inflated_bytes``), checked before inflating, so a small pack of a
highly compressible blob is refused (413, naming the source) instead of filling memory. A URL that answers but is
not a Git repository is the caller's mistake (422 on ``source.git.url``); an unreachable host stays a 502.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from dulwich.client import AbstractHttpGitClient
from dulwich.errors import GitProtocolError, HangupException, NotGitRepository
from dulwich.object_store import ObjectStoreGraphWalker
from dulwich.objects import Blob, Commit, Tag, Tree

from chalicelib.adapters import gitpack
from chalicelib.adapters.http import fetch as http
from chalicelib.adapters.http import guard as netguard
from chalicelib.domain import gitops
from chalicelib.errors import InvalidInput, PayloadTooLarge, RepositoryAuthFailed, RepositoryUnreachable

SHA = re.compile(r"^[0-9a-f]{40}$")
FIELD = "source.git.url"


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 64 << 20  # received from the server (the pack)
    max_files: int = 5000
    max_tree_bytes: int = 64 << 20  # the files of the tree, unpacked
    max_inflated_bytes: int = 64 << 20  # every object of the pack, inflated (charged before inflating)
    timeout_s: float = 30.0


class _Response:
    """What dulwich reads of an HTTP response (an urllib3 one in its own client)."""

    def __init__(self, resp: Any, url: str) -> None:
        self._resp = resp
        self.status = resp.status
        self.headers = resp.headers
        self.content_type = resp.headers.get("Content-Type")
        final = resp.geturl()
        self.redirect_location = final if final != url else ""

    def close(self) -> None:
        self._resp.close()


class _Client(AbstractHttpGitClient):
    """dulwich's smart-HTTP client over the guarded opener, with a byte budget on everything received."""

    def __init__(self, url: str, access: http.Access, policy: netguard.Policy, limits: Limits) -> None:
        super().__init__(url, dumb=False)
        self._access = access
        self._opener = http.pinned_opener(access, policy, FIELD)
        self._limits = limits
        self.received = 0

    def _http_request(
        self,
        url: str,
        headers: dict[str, str] | None = None,
        data: bytes | Iterator[bytes] | None = None,
        raise_for_status: bool = True,
    ) -> tuple[Any, Callable[[int], bytes]]:
        body = data if isinstance(data, bytes) or data is None else b"".join(data)
        req = urllib.request.Request(url, data=body, method="POST" if body is not None else "GET")
        for key, value in {**(headers or {}), "User-Agent": http.USER_AGENT, "Pragma": "no-cache"}.items():
            req.add_header(key, value)
        auth = self._access.authorization(url)
        if auth:
            req.add_unredirected_header("Authorization", auth)
        try:
            resp = self._opener.open(req, timeout=self._limits.timeout_s)
        except urllib.error.HTTPError as exc:
            if exc.code in (401, 403):
                raise RepositoryAuthFailed(
                    f"{http.safe_url(self._base_url)} refused the credentials (HTTP {exc.code})"
                ) from None
            if exc.code == 404:
                raise NotGitRepository() from None
            raise RepositoryUnreachable(f"{http.safe_url(self._base_url)} answered HTTP {exc.code}") from None
        except urllib.error.URLError as exc:
            reason = exc.reason if isinstance(exc.reason, str) else type(exc.reason).__name__
            raise RepositoryUnreachable(f"{http.safe_url(self._base_url)} is unreachable: {reason}") from None
        except OSError as exc:
            raise RepositoryUnreachable(
                f"{http.safe_url(self._base_url)} is unreachable: {type(exc).__name__}"
            ) from None

        content_type = str(resp.headers.get("Content-Type") or "")
        if "info/refs" in url and not content_type.startswith("application/x-git-"):
            resp.close()  # a web page, or a server without smart HTTP: not a repository this client can read
            raise NotGitRepository()

        def read(n: int = -1) -> bytes:
            chunk: bytes = resp.read(n) if n and n > 0 else resp.read()
            self.received += len(chunk)
            if self.received > self._limits.max_bytes:
                raise PayloadTooLarge(FIELD, f"the repository sent more than {self._limits.max_bytes} bytes")
            return chunk

        return _Response(resp, url), read


class DulwichReader:
    """``core.runtimes.GitReader``: one revision's tree, fetched shallow into memory."""

    def __init__(self, policy: netguard.Policy = netguard.DEPLOYED, limits: Limits | None = None) -> None:
        self.policy = policy
        self.limits = limits or Limits()

    def fetch(self, url: str, revision: str, credentials: dict[str, str] | None) -> gitops.Tree:
        creds = credentials or {}
        access = http.Access(
            url, username=creds.get("username") or "git" if creds else None, password=creds.get("password")
        )
        shown = http.safe_url(url)
        client = _Client(url, access, self.policy, self.limits)
        try:
            refs: dict[Any, Any] = dict(client.get_refs("").refs)
            want = _resolve(refs, revision, shown)

            def wants(*_args: Any, **_kwargs: Any) -> list[Any]:
                return [want]

            pack = bytearray()

            def received(chunk: bytes) -> int:
                pack.extend(chunk)
                return len(chunk)

            walker = ObjectStoreGraphWalker([], lambda _sha: [])
            client.fetch_pack("", wants, walker, received, depth=1)
            repo = gitpack.read(pack, self.limits.max_inflated_bytes)
            pack.clear()
            obj = repo[want]
            while isinstance(obj, Tag):
                obj = repo[obj.object[1]]
            if not isinstance(obj, Commit):
                raise InvalidInput("source.git.revision", f"{revision} is not a commit")
            return gitops.Tree(obj.id.decode(), self._files(repo, obj.tree))
        except gitpack.PackTooLarge:
            raise PayloadTooLarge(
                FIELD,
                f"{shown} at {revision}: the objects received inflate to more than "
                f"{self.limits.max_inflated_bytes} bytes",
                source=shown,
            ) from None
        except gitpack.BadPack as exc:
            raise RepositoryUnreachable(f"{shown}: the pack received is malformed ({exc})") from None
        except NotGitRepository:
            raise InvalidInput(FIELD, f"{shown} is not a Git repository (no smart-HTTP refs at this URL)") from None
        except (GitProtocolError, HangupException) as exc:
            text = str(exc)
            if "not our ref" in text or "want" in text:
                raise InvalidInput("source.git.revision", f"{revision} cannot be fetched from {shown}") from None
            raise RepositoryUnreachable(f"{shown}: Git protocol error ({type(exc).__name__})") from None
        except KeyError:
            raise InvalidInput("source.git.revision", f"{revision} was not received from {shown}") from None

    def _files(self, repo: gitpack.Objects, tree_id: bytes) -> dict[str, bytes]:
        files: dict[str, bytes] = {}
        total = 0
        stack: list[tuple[str, bytes]] = [("", tree_id)]
        while stack:
            prefix, tid = stack.pop()
            tree = repo[tid]
            assert isinstance(tree, Tree)
            for entry in tree.items():
                name = entry.path.decode("utf-8", "replace")
                path = f"{prefix}{name}"
                if entry.mode & 0o170000 == 0o040000:
                    stack.append((path + "/", entry.sha))
                    continue
                if entry.mode & 0o170000 == 0o160000:  # a submodule: not followed
                    continue
                blob = repo[entry.sha]
                if not isinstance(blob, Blob):
                    continue
                files[path] = blob.data
                total += len(blob.data)
                if len(files) > self.limits.max_files:
                    raise PayloadTooLarge(FIELD, f"the revision has more than {self.limits.max_files} files")
                if total > self.limits.max_tree_bytes:
                    raise PayloadTooLarge(FIELD, f"the revision's files exceed {self.limits.max_tree_bytes} bytes")
        return files


def _resolve(refs: dict[Any, Any], revision: str, shown: str) -> bytes:
    """A branch, tag, full ref name or ``HEAD`` -> the commit id the server advertises; a commit id as it is."""
    if SHA.match(revision):
        return revision.encode()
    raw = revision.encode()
    for name in (raw, b"refs/heads/" + raw, b"refs/tags/" + raw):  # a tag object is peeled once fetched
        sha: bytes | None = refs.get(name)
        if sha:
            return sha
    raise InvalidInput("source.git.revision", f"{revision} is not a branch, tag or commit of {shown}")
