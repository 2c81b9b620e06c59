"""Chart references (repository, uploaded, OCI, URL), the file name an archive is stored under, and\n``dependency_update``: dependencies fetched from registered repositories only, through the SSRF guard."""

from __future__ import annotations

import hashlib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from chalicelib.adapters.helm import Workdir
from chalicelib.adapters.http.guard import DEPLOYED
from chalicelib.core import catalog as catalog_module
from chalicelib.core.catalog import Archive, Catalog, ChartRef
from chalicelib.core.repositories import Connection, Repository
from chalicelib.domain import archives, chartindex
from chalicelib.domain import validate as v
from chalicelib.errors import InvalidInput, RepositoryNotFound
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


# ---------------------------------------------------------------- dependency_update: fetched here, through the guard


def chart_tgz(name: str, version: str, chart_yaml_extra: str = "") -> bytes:
    meta = f"apiVersion: v2\nname: {name}\nversion: {version}\n{chart_yaml_extra}".encode()
    return tgz([(name, None, "dir"), (f"{name}/Chart.yaml", meta, "file")])


class Registered:
    """The few RepositoryRegistry calls the catalog makes, over one registered HTTP repository."""

    def __init__(self, url: str, index: bytes) -> None:
        self.repo = Repository("deps", url, "http", "", False, False, False, ("password",), "sid", 0.0, 0.0)
        self.conn = Connection(self.repo, {"username": "u", "password": "p"})
        self.compact = chartindex.parse(index, url)
        self.netpolicy = DEPLOYED

    def connect(self, name: str) -> Connection:
        if name != "deps":
            raise RepositoryNotFound(f"repository {name} is not registered")
        return self.conn

    def for_url(self, url: str) -> Connection | None:
        return self.conn if url == self.repo.url or url.startswith(self.repo.url + "/") else None

    def index(self, name: str) -> dict[str, Any]:
        return self.compact


URL = "https://charts.example/deps"
DB = {v: chart_tgz("db", v) for v in ("1.0.0", "1.4.0", "2.0.0")}  # built once: gzip stamps the time
INDEX = yaml.safe_dump(
    {
        "apiVersion": "v1",
        "entries": {
            "db": [
                {"name": "db", "version": v, "urls": [f"db-{v}.tgz"], "digest": hashlib.sha256(data).hexdigest()}
                for v, data in DB.items()
            ]
        },
    }
).encode()


@pytest.fixture
def fetched(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any, Any]]:
    calls: list[tuple[str, Any, Any]] = []

    def fake_fetch(url: str, access: Any, max_bytes: int, timeout_s: float, policy: Any, field: str) -> bytes:
        calls.append((url, access, policy))
        return DB[url.rsplit("-", 1)[-1].removesuffix(".tgz")]

    monkeypatch.setattr(catalog_module, "fetch", fake_fetch)
    return calls


def _materialize(tmp_path: Path, repository: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    parent = chart_tgz("parent", "0.1.0", f"dependencies:\n- {{name: db, version: ^1, repository: '{repository}'}}\n")
    uploads = SimpleNamespace(resolve=lambda name, version, devel: {"version": "0.1.0"}, archive=lambda upload: parent)
    catalog = Catalog(Registered(URL, INDEX), uploads, "/nonexistent", archives.Limits())  # type: ignore[arg-type]
    spec = SimpleNamespace(chart="uploaded/parent", version=None, devel=False, verify=False, dependency_update=True)
    with Workdir("") as workdir:
        chart = catalog.materialize(spec, workdir)  # type: ignore[arg-type]
        found = sorted(p.name for p in (Path(chart.path) / "charts").iterdir())
    return Path("/".join(found))


@pytest.mark.parametrize("repository", [URL, URL + "/", "@deps", "alias:deps"])
def test_dependencies_come_from_the_registered_repository_through_the_guard(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fetched: list[tuple[str, Any, Any]], repository: str
) -> None:
    assert str(_materialize(tmp_path, repository, monkeypatch)) == "db-1.4.0.tgz"  # ^1: the newest 1.x
    url, access, policy = fetched[-1]
    assert url == f"{URL}/db-1.4.0.tgz" and access.password == "p" and policy is DEPLOYED


@pytest.mark.parametrize(
    ("repository", "words"),
    [
        ("https://elsewhere.example/charts", "repository https://elsewhere.example/charts is not registered"),
        ("http://169.254.169.254/latest", "is not registered"),
        ("@nope", "repository @nope is not registered"),
        ("file://../db", "file:// dependencies cannot be fetched"),
        ("oci://reg.example/charts", "is not registered"),
    ],
)
def test_a_dependency_from_an_unregistered_source_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fetched: list[tuple[str, Any, Any]], repository: str, words: str
) -> None:
    with pytest.raises(InvalidInput) as exc:
        _materialize(tmp_path, repository, monkeypatch)
    assert exc.value.field == "dependency_update" and words in exc.value.message
    assert fetched == []  # nothing was fetched from it


# ---------------------------------------------------------------- archives kept by digest


def test_a_repository_chart_is_downloaded_once_per_container(fetched: list[tuple[str, Any, Any]]) -> None:
    catalog = Catalog(Registered(URL, INDEX), SimpleNamespace(), "/nonexistent", archives.Limits())  # type: ignore[arg-type]
    spec = SimpleNamespace(chart="deps/db", version="1.4.0", devel=False, verify=False, dependency_update=False)
    for _ in range(2):
        with Workdir("") as workdir:
            chart = catalog.materialize(spec, workdir)  # type: ignore[arg-type]
            assert Path(chart.path).read_bytes() == DB["1.4.0"]
    assert [url for url, _, _ in fetched] == [f"{URL}/db-1.4.0.tgz"]  # the second install used the kept archive
    spec.version = "2.0.0"
    with Workdir("") as workdir:
        catalog.materialize(spec, workdir)  # type: ignore[arg-type]
    assert len(fetched) == 2  # another digest: downloaded


def test_an_archive_unlike_its_index_digest_is_refused_every_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def tampered(url: str, *args: Any) -> bytes:
        calls.append(url)
        return DB["1.0.0"]  # not what the index says 1.4.0 is

    monkeypatch.setattr(catalog_module, "fetch", tampered)
    catalog = Catalog(Registered(URL, INDEX), SimpleNamespace(), "/nonexistent", archives.Limits())  # type: ignore[arg-type]
    spec = SimpleNamespace(chart="deps/db", version="1.4.0", devel=False, verify=False, dependency_update=False)
    for _ in range(2):
        with Workdir("") as workdir, pytest.raises(InvalidInput, match="does not match the digest"):
            catalog.materialize(spec, workdir)  # type: ignore[arg-type]
    assert len(calls) == 2 and len(catalog.archives) == 0


class Blobs:
    """The charts bucket as a dict (what ``RuntimeCharts`` uses of it)."""

    def __init__(self) -> None:
        self.items: dict[str, bytes] = {}

    def get(self, key: str) -> bytes | None:
        return self.items.get(key)

    def size(self, key: str) -> int | None:
        return len(self.items[key]) if key in self.items else None

    def put(self, key: str, data: bytes, content_type: str = "") -> None:
        self.items[key] = data


def test_runtime_charts_are_resolved_apart_and_named_by_no_door() -> None:
    from chalicelib.core.uploads import RuntimeCharts
    from chalicelib.domain.models import ChartSpec
    from chalicelib.errors import ChartVersionNotFound

    blobs = Blobs()
    charts = RuntimeCharts(blobs, archives.Limits())  # type: ignore[arg-type]
    data = tgz(GOOD)
    name, version = charts.add(data)
    assert list(blobs.items) == [f"runtime-charts/{name}/{name}-{version}.tgz"]
    catalog = Catalog(SimpleNamespace(), SimpleNamespace(), "/nonexistent", archives.Limits(), charts)  # type: ignore[arg-type]
    assert ChartRef.parse(f"runtime/{name}") == ChartRef("runtime", "runtime", name)
    assert catalog.archive(ChartRef.parse(f"runtime/{name}"), None, version, False).data == data
    with pytest.raises(InvalidInput) as err:
        catalog.check(ChartSpec(f"runtime/{name}", version))
    assert err.value.field == "chart"
    catalog.check(ChartSpec(f"runtime/{name}", version), built_by_runtime=True)
    for bad in (None, "~1.0", "../../charts/x/x-1.0.0", "1.0.0/../x"):
        with pytest.raises(ChartVersionNotFound):
            charts.archive(name, bad)
    with pytest.raises(RepositoryNotFound):
        catalog.show("runtime", name, version, False, ("chart",))


# ---------------------------------------------------------------- show by any reference install takes


def test_show_reference_fetches_a_url_with_its_registered_credentials(fetched: list[tuple[str, Any, Any]]) -> None:
    catalog = Catalog(Registered(URL, INDEX), SimpleNamespace(), "/nonexistent", archives.Limits())  # type: ignore[arg-type]
    shown = catalog.show_reference(f"{URL}/db-1.4.0.tgz", None, False, ("chart", "values"), values_as_object=True)
    assert (shown["repository"], shown["name"], shown["version"]) == ("deps", "db", "1.4.0")
    assert shown["chart"]["name"] == "db" and shown["values"] == {}
    url, access, policy = fetched[-1]
    assert url == f"{URL}/db-1.4.0.tgz" and access.password == "p" and policy is DEPLOYED
    elsewhere = catalog.show_reference("https://elsewhere.example/db-1.0.0.tgz", None, False, ("chart",))
    assert elsewhere["repository"] == "" and fetched[-1][1].password is None  # no credentials to another host
    by_name = catalog.show_reference("deps/db", "1.0.0", False, ("chart",))
    assert by_name == catalog.show("deps", "db", "1.0.0", False, ("chart",))


@pytest.mark.parametrize(
    "reference", ["http://169.254.169.254/latest/db-1.0.0.tgz", "oci://169.254.169.254/charts/db", "nochart"]
)
def test_show_reference_refuses_what_install_refuses(fetched: list[tuple[str, Any, Any]], reference: str) -> None:
    catalog = Catalog(Registered(URL, INDEX), SimpleNamespace(), "/nonexistent", archives.Limits())  # type: ignore[arg-type]
    with pytest.raises(InvalidInput) as exc:
        catalog.show_reference(reference, None, False, ("values",))
    assert exc.value.field == "chart" and fetched == []
