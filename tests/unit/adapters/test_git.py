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
