"""Chart sources without servers: version constraints, index parsing and search, archive checks, repository
specs, chart references, credentials per origin, helm's pull argv and JSON output."""

from __future__ import annotations

import base64
import io
import tarfile
from typing import Any

import pytest
import yaml

from chalicelib.adapters.helm import LocalChart, RegistryTls, _json, install_argv, pull_argv
from chalicelib.adapters.http.fetch import Access
from chalicelib.core.catalog import Archive, ChartRef
from chalicelib.core.repositories import RepositorySpec
from chalicelib.domain import archives, chartindex, semver
from chalicelib.domain import validate as v
from chalicelib.domain.models import InstallSpec, Limits, ReleaseRef
from chalicelib.errors import ChartVersionNotFound, InvalidInput, PayloadTooLarge

VERSIONS = ["0.1.0", "0.2.0", "0.2.5", "1.0.0-rc.1", "1.0.0", "1.2.3", "1.10.0", "2.0.0-beta.2", "2.0.0"]


# ---------------------------------------------------------------- semver


@pytest.mark.parametrize(
    ("constraint", "devel", "expected"),
    [
        (None, False, "2.0.0"),
        (None, True, "2.0.0"),
        ("1.2.3", False, "1.2.3"),
        ("^1.2", False, "1.10.0"),
        ("~1.2", False, "1.2.3"),
        ("^0.2", False, "0.2.5"),
        ("0.2.x", False, "0.2.5"),
        (">=1.0.0 <2.0.0", False, "1.10.0"),
        (">=1.0.0, <1.5", False, "1.2.3"),
        ("<1.0.0", False, "0.2.5"),
        ("1.0 - 1.5", False, "1.2.3"),
        ("~0.1 || ^1.2", False, "1.10.0"),
        ("!=2.0.0", False, "1.10.0"),
        (">1.10.0 <2.0.0", False, None),
        ("^2.0.0-0", False, "2.0.0"),
        ("<2.0.0", True, "2.0.0-beta.2"),
        ("1.0.0-rc.1", False, "1.0.0-rc.1"),
        ("*", False, "2.0.0"),
        (">=3", False, None),
    ],
)
def test_newest_matching(constraint: str | None, devel: bool, expected: str | None) -> None:
    assert semver.newest(VERSIONS, constraint, devel) == expected


def test_version_order() -> None:
    ordered = sorted(
        ["1.0.0", "1.0.0-rc.1", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-beta.11", "1.0.0-beta.2", "0.9.9", "v1.0.1"],
        key=lambda s: semver.Version.parse(s) or semver.Version(0, 0, 0),
    )
    assert ordered == [
        "0.9.9",
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "v1.0.1",
    ]


@pytest.mark.parametrize("bad", ["abc", "1.2.3.4", ">>1", "1.x.3-rc", "^", "1 - ", "=> 1 ||"])
def test_bad_constraints_name_the_field(bad: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        semver.Constraint.parse(bad)
    assert exc.value.field == "version"


# ---------------------------------------------------------------- index


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


# ---------------------------------------------------------------- archives


def tgz(members: list[tuple[str, bytes | None, str]]) -> bytes:
    """(name, data, kind) with kind file | dir | symlink | hardlink | fifo."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data, kind in members:
            info = tarfile.TarInfo(name)
            if kind == "file":
                info.size = len(data or b"")
                tar.addfile(info, io.BytesIO(data or b""))
                continue
            info.type = {
                "dir": tarfile.DIRTYPE,
                "symlink": tarfile.SYMTYPE,
                "hardlink": tarfile.LNKTYPE,
                "fifo": tarfile.FIFOTYPE,
            }[kind]
            info.linkname = "/etc/passwd" if "link" in kind else ""
            tar.addfile(info)
    return buf.getvalue()


CHART_YAML = b"apiVersion: v2\nname: demo\nversion: 1.2.3\nappVersion: '1.0'\ndescription: d\n"
GOOD = [
    ("demo", None, "dir"),
    ("demo/Chart.yaml", CHART_YAML, "file"),
    ("demo/values.yaml", b"a: 1\n", "file"),
    ("demo/README.md", b"# demo\n", "file"),
    ("demo/crds/crd.yaml", b"kind: CustomResourceDefinition\n", "file"),
    ("demo/templates/cm.yaml", b"kind: ConfigMap\n", "file"),
]


def test_archive_inspect_and_show() -> None:
    chart = archives.inspect(tgz(GOOD), archives.Limits())
    assert (chart.name, chart.version, chart.file_count, chart.top) == ("demo", "1.2.3", 6, "demo")
    shown = chart.show(("chart", "values", "readme", "crds"))
    assert shown["chart"]["appVersion"] == "1.0" and shown["values"] == "a: 1\n" and shown["readme"] == "# demo\n"
    assert shown["crds"] == [{"path": "crds/crd.yaml", "content": "kind: CustomResourceDefinition\n"}]
    assert "templates/cm.yaml" not in chart.texts


@pytest.mark.parametrize(
    ("members", "words"),
    [
        ([*GOOD, ("demo/../../etc/x", b"x", "file")], "'..'"),
        ([*GOOD, ("/etc/x", b"x", "file")], "absolute"),
        ([*GOOD, ("demo/link", None, "symlink")], "link"),
        ([*GOOD, ("demo/hard", None, "hardlink")], "link"),
        ([*GOOD, ("demo/pipe", None, "fifo")], "special"),
        ([*GOOD, ("other/x", b"x", "file")], "one top-level"),
        ([("demo/values.yaml", b"a: 1", "file")], "no Chart.yaml"),
        ([("demo/Chart.yaml", b"apiVersion: v2\nname: demo\n", "file")], "version"),
        ([("demo/Chart.yaml", b"apiVersion: v3\nname: demo\nversion: 1.0.0\n", "file")], "apiVersion"),
        ([("demo/Chart.yaml", b"apiVersion: v2\nname: ../x\nversion: 1.0.0\n", "file")], "name"),
        ([("demo/Chart.yaml", b": :\n", "file")], "YAML"),
    ],
)
def test_archive_refused(members: list[tuple[str, bytes | None, str]], words: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        archives.inspect(tgz(members), archives.Limits())
    assert exc.value.field == "chart" and words in exc.value.message


def test_archive_limits() -> None:
    with pytest.raises(InvalidInput, match="gzipped tar"):
        archives.inspect(b"\x1f\x8b garbage", archives.Limits())
    with pytest.raises(PayloadTooLarge, match="more than 3 files"):
        archives.inspect(tgz(GOOD), archives.Limits(max_files=3))
    with pytest.raises(PayloadTooLarge, match="unpacks to more"):
        archives.inspect(tgz([*GOOD, ("demo/big", b"x" * 5000, "file")]), archives.Limits(max_unpacked_bytes=4000))
    with pytest.raises(PayloadTooLarge):
        archives.inspect(tgz(GOOD), archives.Limits(max_bytes=10))


def test_unpack(tmp_path: Any) -> None:
    path = archives.unpack(tgz(GOOD), tmp_path, archives.Limits())
    assert path == tmp_path / "demo" and (path / "templates" / "cm.yaml").read_bytes() == b"kind: ConfigMap\n"


def test_archive_file_name_for_provenance() -> None:
    chart = archives.inspect(tgz(GOOD), archives.Limits())
    assert Archive(b"", "1.2.3", url="https://x/charts/demo-1.2.3.tgz").filename(chart) == "demo-1.2.3.tgz"
    assert Archive(b"", "1.2.3", url="https://x/download?id=7").filename(chart) == "demo-1.2.3.tgz"
    assert Archive(b"", "1.2.3").filename(chart) == "demo-1.2.3.tgz"


# ---------------------------------------------------------------- repository specs and chart references

CERT = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "url"),
        ({"url": "ftp://x"}, "url"),
        ({"url": "https://u:p@x"}, "url"),
        ({"url": "https://x?token=1"}, "url"),
        ({"url": "oci://x y"}, "url"),
        ({"url": "https://x", "username": "u"}, "password"),
        ({"url": "https://x", "password": "p"}, "username"),
        ({"url": "https://x", "username": "u", "password": "p", "token": "t"}, "token"),
        ({"url": "https://x", "client_certificate": CERT}, "client_key"),
        ({"url": "https://x", "ca_bundle": "not pem"}, "ca_bundle"),
        ({"url": "https://x", "ca_bundle": CERT}, "ca_bundle"),  # PEM-shaped but not a certificate
        ({"url": "https://x", "keyring": "%%%"}, "keyring"),
        ({"url": "https://x", "plain_http": True}, "plain_http"),
        ({"url": "https://x", "colour": "red"}, "colour"),
        ({"url": "https://x", "insecure_skip_tls_verify": "yes"}, "insecure_skip_tls_verify"),
    ],
)
def test_repository_spec_refused(body: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        RepositorySpec.from_json("repo", body, allow_http=True)
    assert exc.value.field == field


def test_repository_spec() -> None:
    spec = RepositorySpec.from_json(
        "r",
        {"url": "oci://reg.example:5000/charts/", "username": "u", "password": "p", "plain_http": True},
        allow_http=True,
    )
    assert (spec.url, spec.kind, spec.secret) == (
        "oci://reg.example:5000/charts",
        "oci",
        {"username": "u", "password": "p"},
    )
    ring = base64.b64encode(b"\x99\x01keyring").decode()
    http = RepositorySpec.from_json("r", {"url": "https://charts.example", "token": "t0k", "keyring": ring}, True)
    assert http.kind == "http" and set(http.secret) == {"token", "keyring"}
    with pytest.raises(InvalidInput) as exc:
        RepositorySpec.from_json("uploaded", {"url": "https://x"}, True)
    assert exc.value.field == "repository"
    with pytest.raises(InvalidInput) as exc:
        RepositorySpec.from_json("r", {"url": "http://x"}, allow_http=False)
    assert exc.value.field == "url"


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


def test_credentials_only_for_the_repository_origin() -> None:
    access = Access("https://charts.example/stable", username="u", password="p")
    assert access.authorization("https://charts.example/stable/x.tgz") == "Basic " + base64.b64encode(b"u:p").decode()
    assert access.authorization("https://cdn.example/x.tgz") is None
    assert access.authorization("http://charts.example/stable/x.tgz") is None  # not downgraded to plain HTTP
    passing = Access("https://charts.example", token="t", pass_credentials=True)
    assert passing.authorization("https://cdn.example/x.tgz") == "Bearer t"
    assert access.secrets == ("p",)


# ---------------------------------------------------------------- helm: local charts, pull, JSON

LIMITS = Limits(780, 300, 10, True)


def test_install_from_a_local_chart_drops_remote_flags() -> None:
    spec, _ = InstallSpec.from_json(
        {"name": "a", "chart": "stable/web", "version": "^1", "devel": True, "verify": True}, LIMITS
    )
    ref = ReleaseRef("c", "ns", "a")
    argv = install_argv(ref, spec, _flavor(), "values.json", LocalChart("/w/web-1.0.0.tgz", "/w/keyring.gpg"))
    assert argv[-1] == "/w/web-1.0.0.tgz" and "--version" not in argv and "--devel" not in argv
    assert argv[argv.index("--verify") + 1 : argv.index("--verify") + 3] == ["--keyring", "/w/keyring.gpg"]
    unverified = install_argv(ref, spec, _flavor(), "values.json", LocalChart("/w/web.tgz"))
    assert "--verify" not in unverified


def _flavor() -> Any:
    from chalicelib.adapters.helm import Flavor

    return Flavor(4, "false")


def test_pull_argv() -> None:
    tls = RegistryTls(ca_file="ca.pem", plain_http=True)
    argv = pull_argv("oci://r:5000/charts/demo", "^1", True, "/w/pulled", tls, "/w/keyring.gpg")
    assert argv[:3] == ["pull", "--destination", "/w/pulled"] and argv[-2:] == ["--", "oci://r:5000/charts/demo"]
    for flags in (["--version", "^1"], ["--ca-file", "ca.pem"], ["--keyring", "/w/keyring.gpg"]):
        i = argv.index(flags[0])
        assert argv[i : i + 2] == flags
    assert {"--devel", "--plain-http", "--verify"} <= set(argv) and "--cert-file" not in argv


def test_helm_json_after_progress_lines() -> None:
    assert _json('{"name": "a"}', "install") == {"name": "a"}
    assert _json('Hang tight...\n...Successfully got an update\n{"name": "a", "x": "{"}\n', "install")["name"] == "a"
    with pytest.raises(Exception, match="not a JSON object"):
        _json("Error-free but no JSON\n[1]\n", "install")
