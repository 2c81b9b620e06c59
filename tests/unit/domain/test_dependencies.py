"""A chart's declared dependencies and where each comes from (vendored, a registered name, a URL, a registry, a
file path); malformed lists and alias bombs are refused on ``dependency_update``."""

from __future__ import annotations

import pytest

from chalicelib.domain.dependencies import Dependency, declared
from chalicelib.errors import InvalidInput

CHART = """apiVersion: v2
name: parent
version: 0.1.0
dependencies:
- {name: vendored, version: 1.0.0}
- {name: named, version: ^1, repository: "@stable"}
- {name: aliased, repository: "alias:stable"}
- {name: web, version: ">=1.2.3-rc.1+b", repository: "https://charts.example/deps/"}
- {name: reg, version: 2.0.0, repository: "oci://reg.example/charts"}
- {name: local, repository: "file://../local"}
"""


def test_dependencies_are_sorted_by_their_source() -> None:
    assert declared(CHART) == [
        Dependency("vendored", "1.0.0", "", "vendored"),
        Dependency("named", "^1", "@stable", "named"),
        Dependency("aliased", None, "alias:stable", "named"),
        Dependency("web", ">=1.2.3-rc.1+b", "https://charts.example/deps/", "url"),
        Dependency("reg", "2.0.0", "oci://reg.example/charts", "oci"),
        Dependency("local", None, "file://../local", "file"),
    ]
    assert declared(CHART)[2].repository_name == "stable"


def test_a_v1_chart_reads_requirements_yaml() -> None:
    chart_v1 = "apiVersion: v1\nname: old\nversion: 1.0.0\n"
    reqs = "dependencies:\n- {name: db, version: 1.x, repository: 'https://charts.example/'}\n"
    assert declared(chart_v1, reqs) == [Dependency("db", "1.x", "https://charts.example/", "url")]
    assert declared(chart_v1) == []


@pytest.mark.parametrize(
    ("chart", "words"),
    [
        ("dependencies: {name: x}\n", "must be a list"),
        ("dependencies:\n- {version: 1.0.0}\n", "needs a name"),
        ("dependencies:\n- {name: x, repository: 'ftp://x'}\n", "is not a URL or a repository name"),
        ("dependencies: [\n", "not valid YAML"),
        (
            "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
            "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
            "dependencies: [{name: x, tags: *d}]\n",
            "Chart.yaml was refused",
        ),
    ],
)
def test_refusals(chart: str, words: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        declared(chart)
    assert exc.value.field == "dependency_update" and words in exc.value.message
