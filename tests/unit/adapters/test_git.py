"""Reading one revision over smart HTTP with dulwich, from a real Git HTTP server on loopback (dulwich's own WSGI
server, with basic auth in front): branches, tags, commit ids, credentials, limits and the SSRF guard."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
from dulwich import porcelain
from dulwich.repo import Repo
from dulwich.server import DictBackend
from dulwich.web import make_wsgi_chain

from chalicelib.adapters.git import DulwichReader, Limits
from chalicelib.adapters.http import guard as netguard
from chalicelib.errors import InvalidInput, PayloadTooLarge, RepositoryAuthFailed, RepositoryUnreachable

CREDS = {"username": "bot", "password": "s3cret-pass"}
LOOPBACK = netguard.Policy(loopback=True)


class Quiet(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


def commit(repo_dir: Path, files: dict[str, str], message: str) -> str:
    for name, text in files.items():
        (repo_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (repo_dir / name).write_text(text)
        porcelain.add(str(repo_dir), [str(repo_dir / name)])
    return porcelain.commit(str(repo_dir), message=message.encode(), author=b"t <t@x>", committer=b"t <t@x>").decode()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    work = tmp_path / "repo"
    work.mkdir()
    porcelain.init(str(work))
    app = make_wsgi_chain(DictBackend({"/": Repo(str(work))}))
    expected = "Basic " + base64.b64encode(b"bot:s3cret-pass").decode()

    def guarded(environ: dict[str, Any], start: Any) -> Any:
        if environ.get("HTTP_AUTHORIZATION") != expected:
            start("401 Unauthorized", [("WWW-Authenticate", 'Basic realm="git"')])
            return [b""]
        return app(environ, start)

    httpd = make_server("127.0.0.1", 0, guarded, handler_class=Quiet)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}/", work
    httpd.shutdown()


def test_branch_tag_and_commit_are_read_shallow(server: tuple[str, Path]) -> None:
    url, work = server
    first = commit(work, {"deploy/releases.yaml": "releases: []\n", "README": "x"}, "one")
    porcelain.tag_create(str(work), b"v1", annotated=True, author=b"t <t@x>", message=b"v1")
    second = commit(work, {"deploy/values.yaml": "a: 1\n"}, "two")
    reader = DulwichReader(LOOPBACK)
    tree = reader.fetch(url, "master", CREDS)
    assert tree.commit == second
    assert tree.files == {"deploy/releases.yaml": b"releases: []\n", "README": b"x", "deploy/values.yaml": b"a: 1\n"}
    assert reader.fetch(url, "HEAD", CREDS).commit == second
    assert reader.fetch(url, "v1", CREDS).commit == first
    assert reader.fetch(url, second, CREDS).commit == second  # an id (this server wants advertised tips)


def test_errors_say_what_went_wrong_without_secrets(server: tuple[str, Path]) -> None:
    url, work = server
    commit(work, {"a.yaml": "x: 1\n"}, "one")
    reader = DulwichReader(LOOPBACK)
    with pytest.raises(InvalidInput) as err:
        reader.fetch(url, "no-such-branch", CREDS)
    assert err.value.field == "source.git.revision"
    with pytest.raises(RepositoryAuthFailed) as auth:
        reader.fetch(url, "master", {"username": "bot", "password": "wrong-pass"})
    assert "wrong-pass" not in auth.value.message
    with pytest.raises(RepositoryUnreachable):
        reader.fetch("http://127.0.0.1:9/x.git", "master", None)
    with pytest.raises(InvalidInput) as guard:
        DulwichReader(netguard.DEPLOYED).fetch(url, "master", CREDS)
    assert guard.value.field == "source.git.url"


def test_limits(server: tuple[str, Path]) -> None:
    url, work = server
    commit(work, {f"f{i}.yaml": "x: 1\n" for i in range(5)}, "many")
    with pytest.raises(PayloadTooLarge):
        DulwichReader(LOOPBACK, Limits(max_files=3)).fetch(url, "master", CREDS)
    with pytest.raises(PayloadTooLarge):
        DulwichReader(LOOPBACK, Limits(max_bytes=50)).fetch(url, "master", CREDS)


def test_a_url_that_is_not_a_git_repository_names_the_field(server: tuple[str, Path]) -> None:
    url, work = server
    commit(work, {"a.yaml": "x: 1\n"}, "one")
    with pytest.raises(InvalidInput) as err:
        DulwichReader(LOOPBACK).fetch(url + "no/such/repo.git", "master", CREDS)
    assert err.value.field == "source.git.url" and "not a Git repository" in err.value.message
    assert "s3cret-pass" not in err.value.message


@pytest.fixture
def plain_http() -> Iterator[str]:
    """A web server that answers every path with an HTML page (a site, not a repository)."""

    def page(environ: dict[str, Any], start: Any) -> Any:
        start("200 OK", [("Content-Type", "text/html")])
        return [b"<html><body>hello</body></html>"]

    httpd = make_server("127.0.0.1", 0, page, handler_class=Quiet)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}/site"
    httpd.shutdown()


def test_a_web_page_is_not_a_git_repository_either(plain_http: str) -> None:
    with pytest.raises(InvalidInput) as err:
        DulwichReader(LOOPBACK).fetch(plain_http, "master", None)
    assert err.value.field == "source.git.url" and "not a Git repository" in err.value.message


BIG = 80 << 20  # more than the default 64 MiB inflated budget; a few hundred KiB once packed
CHILD = """
import resource, sys
from chalicelib.adapters.git import DulwichReader
from chalicelib.adapters.http import guard
from chalicelib.errors import PayloadTooLarge
vm = [l for l in open("/proc/self/status") if l.startswith("VmSize:")][0].split()[1]
limit = int(vm) * 1024 + (64 << 20)  # what the process holds now, and 64 MiB more: less than the blob
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
try:
    tree = DulwichReader(guard.Policy(loopback=True)).fetch(sys.argv[1], "master", None)
    print("read", len(tree.files))
except PayloadTooLarge as exc:
    print("413", exc.message)
except MemoryError:
    print("MemoryError")
"""


def big_blob_commit(work: Path) -> None:
    """A commit holding one blob of BIG zero bytes, its loose object written streaming (never whole in memory)."""
    import hashlib
    import zlib

    from dulwich.objects import Commit as GitCommit
    from dulwich.objects import Tree as GitTree

    head = b"blob %d\0" % BIG
    chunk = bytes(1 << 20)
    sha = hashlib.sha1(head)
    for _ in range(BIG >> 20):
        sha.update(chunk)
    hexsha = sha.hexdigest()
    path = work / ".git" / "objects" / hexsha[:2] / hexsha[2:]
    path.parent.mkdir(parents=True, exist_ok=True)
    deflate = zlib.compressobj(9)
    with path.open("wb") as out:
        out.write(deflate.compress(head))
        for _ in range(BIG >> 20):
            out.write(deflate.compress(chunk))
        out.write(deflate.flush())
    repo = Repo(str(work))
    tree = GitTree()
    tree.add(b"big.bin", 0o100644, hexsha.encode())
    made = GitCommit()
    made.tree, made.message = tree.id, b"big"
    made.author = made.committer = b"t <t@x>"
    made.commit_time = made.author_time = 0
    made.commit_timezone = made.author_timezone = 0
    repo.object_store.add_object(tree)
    repo.object_store.add_object(made)
    repo.refs[b"refs/heads/master"] = made.id


def test_a_small_pack_that_inflates_large_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    import subprocess
    import sys

    work = tmp_path / "big"
    work.mkdir()
    porcelain.init(str(work))
    big_blob_commit(work)
    app = make_wsgi_chain(DictBackend({"/": Repo(str(work))}))
    httpd = make_server("127.0.0.1", 0, app, handler_class=Quiet)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_port}/"
    try:
        # the read runs in a child whose address space is capped below the blob's size
        root = Path(__file__).resolve().parents[3]
        done = subprocess.run([sys.executable, "-c", CHILD, url], cwd=root, capture_output=True, text=True, timeout=300)
    finally:
        httpd.shutdown()
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("413 source.git.url:"), done.stdout + done.stderr[-2000:]
    assert url.rstrip("/") in done.stdout and "inflate" in done.stdout
