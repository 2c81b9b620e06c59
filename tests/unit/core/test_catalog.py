"""Chart references (repository, uploaded, OCI, URL) and the file name an archive is stored under."""

from __future__ import annotations

import pytest

from chalicelib.core.catalog import Archive, ChartRef
from chalicelib.domain import archives
from chalicelib.domain import validate as v
from tests.unit.domain.test_archives import GOOD, tgz


@pytest.mark.parametrize(
    ("text", "kind", "location", "name"),
    [
        ("stable/nginx", "repo", "stable", "nginx"),
        ("uploaded/demo", "uploaded", "uploaded", "demo"),
        ("oci://reg.example:5000/charts/demo", "oci", "oci://reg.example:5000/charts/demo", "demo"),
        ("https://x/charts/demo-1.2.3.tgz", "url", "https://x/charts/demo-1.2.3.tgz", "demo"),
    ],
)
def test_chart_references(text: str, kind: str, location: str, name: str) -> None:
    assert v.chart_reference("chart", text, True) == text
    assert ChartRef.parse(text) == ChartRef(kind, location, name)


def test_archive_file_name_for_provenance() -> None:
    chart = archives.inspect(tgz(GOOD), archives.Limits())
    assert Archive(b"", "1.2.3", url="https://x/charts/demo-1.2.3.tgz").filename(chart) == "demo-1.2.3.tgz"
    assert Archive(b"", "1.2.3", url="https://x/download?id=7").filename(chart) == "demo-1.2.3.tgz"
    assert Archive(b"", "1.2.3").filename(chart) == "demo-1.2.3.tgz"
