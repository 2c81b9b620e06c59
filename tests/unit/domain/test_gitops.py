"""A source tree -> the releases it declares: chart, releases file (helmfile subset), manifests; needs order."""

from __future__ import annotations

import gzip
import io
import json
import tarfile

import pytest

from chalicelib.domain import archives, gitops
from chalicelib.domain.gitops import Tree
from chalicelib.errors import InvalidInput

NS = ("shop", "data")
CHART = {
    "charts/web/Chart.yaml": b"apiVersion: v2\nname: web\nversion: 1.0.0\n",
    "charts/web/templates/cm.yaml": b"kind: ConfigMap\n",
}


def tree(files: dict[str, str | bytes]) -> Tree:
    return Tree("c0ffee" * 6 + "abcd", {k: v.encode() if isinstance(v, str) else v for k, v in files.items()})


def test_releases_file_subset_in_needs_order() -> None:
    releases = """
releases:
- name: web
  chart: ../../charts/web
  values: [values/web.yaml, {replicas: 2}]
  set: [{name: image.tag, value: "v2"}, {name: port, value: 8080}]
  needs: [db]
- name: db
  namespace: data
  chart: repo/postgres
  version: 12.x
- name: old
  chart: repo/old
  installed: false
"""
    t = tree({"env/dev/releases.yaml": releases, "env/dev/values/web.yaml": "greeting: hi\n", **CHART})
    items = gitops.desired(t, "env/dev", None, "rt", NS, drift=True)
    assert [d.key for d in items] == ["data/db", "shop/web", "shop/old"]
    db, web, old = items
    assert db.body == {
        "chart": "repo/postgres",
        "version": "12.x",
        "install": True,
        "create_namespace": True,
        "drift_correction": True,
    }
    assert web.needs == ("data/db",) and not old.installed
    assert web.body["values_files"][0] == {"name": "env/dev/values/web.yaml", "content": "greeting: hi\n"}
    assert json.loads(web.body["values_files"][1]["content"]) == {"replicas": 2}
    assert web.body["set_json"] == ['image.tag="v2"', "port=8080"]
    assert web.chart is not None and web.body["chart"] == "runtime/web"
    assert web.body["version"].startswith("1.0.0-rt-") and web.body["version"] == web.chart.version
    assert web.digest() == gitops.desired(t, "env/dev", None, "rt", NS, drift=True)[1].digest()


def test_local_chart_archive_is_deterministic_and_valid() -> None:
    a = gitops.package({k.removeprefix("charts/web/"): v for k, v in CHART.items()}, None, "x")
    b = gitops.package({k.removeprefix("charts/web/"): v for k, v in CHART.items()}, None, "x")
    assert a == b
    meta = archives.inspect(a.archive, archives.Limits(max_bytes=1 << 20))
    assert (meta.name, meta.version) == ("web", a.version)
    changed = gitops.package(
        {"Chart.yaml": CHART["charts/web/Chart.yaml"], "templates/cm.yaml": b"kind: Secret\n"}, None, "x"
    )
    assert changed.version != a.version


def test_chart_at_the_path_and_manifests_directory() -> None:
    [one] = gitops.desired(tree({"app/Chart.yaml": CHART["charts/web/Chart.yaml"]}), "app", None, "rt", NS, False)
    assert (one.name, one.namespace, one.body["chart"]) == ("rt", "shop", "runtime/web")
    [m] = gitops.desired(
        tree({"k8s/a.yaml": "kind: ConfigMap\nx: '{{ y }}'\n", "k8s/sub/b.json": "{}", "k8s/README": "x"}),
        "k8s",
        None,
        "rt",
        NS,
        False,
    )
    assert m.chart is not None and m.body["chart"] == "runtime/rt-manifests"
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(m.chart.archive))) as tar:
        names = sorted(tar.getnames())
        assert names == [
            "rt-manifests/Chart.yaml",
            "rt-manifests/templates/a.yaml",
            "rt-manifests/templates/sub_b.json",
        ]
        text = tar.extractfile("rt-manifests/templates/a.yaml").read().decode()  # type: ignore[union-attr]
        assert '{{ "{{" }} y }}' in text


def test_inline_source() -> None:
    items = gitops.desired(None, "", {"releases": [{"name": "web", "chart": "repo/web"}]}, "rt", NS, False)
    assert [d.body for d in items] == [{"chart": "repo/web", "install": True, "create_namespace": True}]


@pytest.mark.parametrize(
    ("files", "path", "field"),
    [
        ({"a.yaml": "x: 1"}, "missing", "source.git.path"),
        ({"d/README.md": "hello"}, "d", "source.git.path"),
        ({"releases.yaml": "releases: [\n"}, "", "releases.yaml"),
        ({"releases.yaml": "repositories: []\nreleases: []\n"}, "", "releases.yaml: repositories"),
        (
            {"releases.yaml": "releases: [{name: a, chart: r/a, namespace: other}]"},
            "",
            "releases.yaml: releases[0].namespace",
        ),
        (
            {"releases.yaml": "releases: [{name: a, chart: r/a, values: [nope.yaml]}]"},
            "",
            "releases.yaml: releases[0].values[0]",
        ),
        ({"releases.yaml": "releases: [{name: a, chart: r/a, needs: [b]}]"}, "", "releases: shop/a.needs"),
        (
            {"releases.yaml": "releases: [{name: a, chart: r/a, needs: [b]}, {name: b, chart: r/b, needs: [a]}]"},
            "",
            "releases: shop/a.needs",
        ),
        ({"releases.yaml": "releases: [{name: a, chart: r/a}, {name: a, chart: r/b}]"}, "", "releases.yaml: releases"),
        ({"releases.yaml": "releases: [{name: a, chart: ./nochart}]"}, "", "releases.yaml: releases[0].chart"),
        (
            {"releases.yaml": "releases: [{name: a, chart: r/a, set: [{name: x}]}]"},
            "",
            "releases.yaml: releases[0].set[0]",
        ),
    ],
)
def test_an_unreadable_source_names_the_file_and_field(files: dict[str, str], path: str, field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        gitops.desired(tree(files), path, None, "rt", NS, False)
    assert err.value.field == field


# ---------------------------------------------------------------- values in a releases file: helm's reading

VALUES_RELEASES = """
releases:
- name: web
  chart: repo/web
  values:
  - port: 22:22
    flag: y
    sw: on
    when: 2024-01-01
    dup: 1
    dup: 2
    ver: 1.10
  set:
  - {name: p, value: 22:22}
  - {name: f, value: n}
"""


def test_inline_values_in_a_releases_file_are_read_as_helm_reads_them() -> None:
    # helm 3.19 and 4.1 (`helm template -f` of the same map): {"port": "22:22", "flag": true, "sw": true,
    # "when": "2024-01-01", "dup": 2, "ver": 1.1}
    [web] = gitops.desired(tree({"releases.yaml": VALUES_RELEASES}), "", None, "rt", NS, False)
    [inline] = web.body["values_files"]
    assert json.loads(inline["content"]) == {
        "port": "22:22",
        "flag": True,
        "sw": True,
        "when": "2024-01-01",
        "dup": 2,
        "ver": 1.1,
    }
    assert inline["name"] == "releases.yaml: releases[0].values[0]"
    assert web.body["set_json"] == ['p="22:22"', "f=false"]


def test_inline_values_from_a_json_source_are_checked_like_a_requests_values() -> None:
    inline = {"releases": [{"name": "web", "chart": "repo/web", "values": [{"a": {"b": float("nan")}}]}]}
    with pytest.raises(InvalidInput) as err:
        gitops.desired(None, "", inline, "rt", NS, False)
    assert err.value.field == "source.inline: releases[0].values[0].a.b"


@pytest.mark.parametrize(
    ("text", "field", "fragment"),
    [
        (
            "releases:\n- name: a\n  chart: r/a\n  values:\n  - {b: !!binary aGk=}\n",
            "releases.yaml",
            "!!binary at line 5",
        ),
        (
            "releases:\n- name: a\n  chart: r/a\n  values:\n  - {t: !!timestamp 2001-01-01}\n",
            "releases.yaml",
            "!!timestamp at line 5",
        ),
        ("releases:\n- name: a\n  chart: r/a\n  values:\n  - {on: 1}\n", "releases.yaml: releases[0].values[0]", "on"),
        ("releases:\n- name: a\n  chart: r/a\n  y: 1\n", "releases.yaml: releases[0]", "quote keys"),
        ("releases: []\n---\nreleases: []\n", "releases.yaml", "single YAML document"),
    ],
)
def test_a_releases_file_refuses_what_a_values_file_refuses(text: str, field: str, fragment: str) -> None:
    with pytest.raises(InvalidInput) as err:
        gitops.desired(tree({"releases.yaml": text}), "", None, "rt", NS, False)
    assert err.value.field == field
    assert fragment in err.value.message
