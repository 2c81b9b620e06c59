"""Repository indexes: parsing (URLs resolved, versions sorted), resolving a version, search."""

from __future__ import annotations

import pytest
import yaml

from chalicelib.domain import chartindex
from chalicelib.errors import ChartVersionNotFound, InvalidInput

INDEX = yaml.safe_dump(
    {
        "apiVersion": "v1",
        "entries": {
            "web": [
                {
                    "name": "web",
                    "version": "1.0.0",
                    "appVersion": "1.0",
                    "description": "a web server",
                    "urls": ["charts/web-1.0.0.tgz"],
                    "digest": "abc",
                    "keywords": ["http", "nginx"],
                },
                {"name": "web", "version": "1.1.0-rc.1", "urls": ["https://cdn.example/web-1.1.0-rc.1.tgz"]},
                {"name": "web", "version": "0.9.0", "urls": ["web-0.9.0.tgz"]},
                {"name": "web", "version": "not-semver", "urls": ["x.tgz"]},
            ],
            "db": [{"name": "db", "version": "2.0.0", "description": "a database", "urls": ["db-2.0.0.tgz"]}],
        },
        "generated": "2026-01-01T00:00:00Z",
    }
).encode()


def test_index_parse_resolves_urls_and_sorts() -> None:
    index = chartindex.parse(INDEX, "https://charts.example/stable")
    web = index["entries"]["web"]
    assert [e["version"] for e in web] == ["1.1.0-rc.1", "1.0.0", "0.9.0"]  # odd versions dropped
    assert web[1]["urls"] == ["https://charts.example/stable/charts/web-1.0.0.tgz"]
    assert web[0]["urls"] == ["https://cdn.example/web-1.1.0-rc.1.tgz"]
    assert web[1]["app_version"] == "1.0" and chartindex.stats(index) == {"charts": 2, "versions": 4}


def test_index_resolve_and_search() -> None:
    index = chartindex.parse(INDEX, "https://charts.example")
    assert chartindex.resolve(index, "r", "web", None, False).version == "1.0.0"
    assert chartindex.resolve(index, "r", "web", None, True).version == "1.1.0-rc.1"
    assert chartindex.resolve(index, "r", "web", "0.9.0", False).digest is None
    with pytest.raises(ChartVersionNotFound):
        chartindex.resolve(index, "r", "web", "^3", False)
    with pytest.raises(ChartVersionNotFound):
        chartindex.resolve(index, "r", "nope", None, False)
    assert [c["ref"] for c in chartindex.search(index, "r", None, False, False)] == ["r/db", "r/web"]
    assert [c["name"] for c in chartindex.search(index, "r", "NGINX", False, False)] == ["web"]
    assert [c["version"] for c in chartindex.search(index, "r", "web", True, False)] == ["1.0.0", "0.9.0"]
    assert [c["version"] for c in chartindex.search(index, "r", "web", True, True)][0] == "1.1.0-rc.1"
    assert [c["version"] for c in chartindex.search(index, "r", "web", True, False, "<1")] == ["0.9.0"]


@pytest.mark.parametrize("raw", [b"::not yaml", b"[]", b"entries: 3"])
def test_index_that_is_not_one(raw: bytes) -> None:
    with pytest.raises(InvalidInput) as exc:
        chartindex.parse(raw, "https://x")
    assert exc.value.field == "url"


def test_an_alias_bomb_index_is_refused_before_it_expands() -> None:
    """A kilobyte of nested aliases would expand into hundreds of megabytes once cached as JSON."""
    anchors = ["b0: &b0 [x, x, x, x, x, x, x, x, x, x]"]
    anchors += [f"b{i}: &b{i} [" + ", ".join([f"*b{i - 1}"] * 10) + "]" for i in range(1, 7)]
    raw = ("\n".join(anchors) + "\nentries:\n  web:\n  - {name: web, version: 1.0.0, keywords: *b6}\n").encode()
    assert len(raw) < 1024
    with pytest.raises(InvalidInput) as exc:
        chartindex.parse(raw, "https://charts.example")
    assert exc.value.field == "url"
    assert "index.yaml was refused: its aliases expand to more than" in exc.value.message
