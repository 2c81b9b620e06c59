"""Field rules: release names, durations, chart URLs, chart versions, chart references."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.domain import validate as v
from chalicelib.errors import InvalidInput


@pytest.mark.parametrize("name", ["a", "web-1", "x" * 53, "0abc"])
def test_release_names_ok(name: str) -> None:
    assert v.release_name("name", name) == name


@pytest.mark.parametrize("name", ["", "A", "-a", "a-", "a_b", "a.b", "x" * 54, None, 3, "--set"])
def test_release_names_refused(name: Any) -> None:
    with pytest.raises(InvalidInput) as exc:
        v.release_name("name", name)
    assert exc.value.field == "name"


@pytest.mark.parametrize(
    ("raw", "seconds"), [(None, 300), (30, 30), ("45", 45), ("5m", 300), ("1m30s", 90), ("1h", 3600)]
)
def test_durations(raw: Any, seconds: int) -> None:
    assert v.duration_seconds("timeout", raw, 3600, 300) == seconds


@pytest.mark.parametrize("raw", [0, -1, "", "5x", "1.5m", True, 3601, "2h", [1]])
def test_durations_refused(raw: Any) -> None:
    with pytest.raises(InvalidInput):
        v.duration_seconds("timeout", raw, 3600, 300)


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "/etc/passwd",
        "../chart",
        "oci://r/x",
        "https://",
        "https://u:p@h/x.tgz",
        "https://h/x y.tgz",
        "-f",
    ],
)
def test_chart_urls_refused(url: str) -> None:
    with pytest.raises(InvalidInput):
        v.chart_url("chart", url, allow_http=True)


def test_http_chart_urls_can_be_refused() -> None:
    assert v.chart_url("chart", "http://h/x.tgz", allow_http=True)
    with pytest.raises(InvalidInput):
        v.chart_url("chart", "http://h/x.tgz", allow_http=False)


@pytest.mark.parametrize("version", ["1.2.3", "^1.2", ">=1.0 <2.0", "~1.2.3-rc.1", "1.x"])
def test_versions(version: str) -> None:
    assert v.chart_version("version", version) == version


@pytest.mark.parametrize("version", ["--devel", "1;rm", "$(x)", "a" * 200, 1])
def test_versions_refused(version: Any) -> None:
    with pytest.raises(InvalidInput):
        v.chart_version("version", version)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "nginx",
        "a/b/c",
        "Stable/nginx",
        "oci://x",
        "oci://x/a:1.0",
        "file:///etc",
        "ftp://x/y.tgz",
        "stable/",
        "/nginx",
    ],
)
def test_chart_references_refused(text: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        v.chart_reference("chart", text, True)
    assert exc.value.field == "chart"
