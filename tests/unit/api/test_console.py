"""The web console's static files: the redirect, the page, versioned assets, their cache and security headers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from chalice.test import Client

from app import app
from chalicelib.api import console

ASSETS = Path(console.__file__).parent / "console_assets"


@pytest.fixture
def client() -> Client:
    with Client(app) as c:
        yield c


def test_root_redirects_to_the_console(client: Client) -> None:
    resp = client.http.get("/")
    assert resp.status_code == 302 and resp.headers["Location"] == "/ui/"


def test_the_page_is_not_cached_and_names_versioned_assets(client: Client) -> None:
    resp = client.http.get("/ui")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/html")
    assert resp.headers["Cache-Control"] == "no-store"
    assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
    page = resp.body.decode()
    urls = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert f"/ui/v/{console.asset_version()}/main.js" in urls
    assert "{{" not in page


def test_no_inline_script_or_style_anywhere() -> None:
    page = (ASSETS / "index.html").read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)", page), "inline script"
    assert "<style" not in page and " style=" not in page
    for js in ASSETS.glob("*.js"):
        text = js.read_text()
        assert "innerHTML" not in text and "outerHTML" not in text and "insertAdjacentHTML" not in text, js.name
        assert "eval(" not in text and "new Function" not in text, js.name


def test_every_module_an_asset_imports_is_served(client: Client) -> None:
    version = console.asset_version()
    for js in ASSETS.glob("*.js"):
        for imported in re.findall(r'from "\./([\w-]+\.js)"', js.read_text()):
            assert client.http.get(f"/ui/v/{version}/{imported}").status_code == 200, (js.name, imported)


def test_assets_are_immutable_under_their_version(client: Client) -> None:
    version = console.asset_version()
    resp = client.http.get(f"/ui/v/{version}/main.js")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/javascript")
    assert resp.headers["Cache-Control"] == console.IMMUTABLE
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert client.http.get(f"/ui/v/{version}/app.css").headers["Content-Type"].startswith("text/css")


@pytest.mark.parametrize("path", ["/ui/v/0000000000000000/main.js", "/ui/v/{v}/index.html", "/ui/v/{v}/nope.js"])
def test_other_versions_and_files_are_not_found(client: Client, path: str) -> None:
    resp = client.http.get(path.format(v=console.asset_version()))
    assert resp.status_code == 404 and resp.json_body["error"]["code"] == "NotFound"


@pytest.mark.parametrize(
    ("context_path", "route", "expected"),
    [
        (None, "/ui", ""),
        ("/ui", "/ui", ""),
        ("/prod/ui", "/ui", "/prod"),
        ("/prod/ui/", "/ui", "/prod"),
        ("/prod/", "/", "/prod"),
        ("/", "/", ""),
        ("/elsewhere", "/ui", ""),
    ],
)
def test_the_stage_prefix_is_kept(context_path: str | None, route: str, expected: str) -> None:
    context = {"path": context_path} if context_path else {}
    assert console.prefix(context, route) == expected
