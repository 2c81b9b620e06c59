"""Where charts come from, in one place: resolve a chart reference to an archive, search, show.

A reference (the ``chart`` field of install and upgrade) is one of:

* ``<repository>/<chart>``: a registered HTTP repository (resolved against its cached index, fetched with its
  credentials) or OCI registry (``<registry url>/<chart>``, pulled by helm with its credentials);
* ``uploaded/<chart>``: an uploaded chart;
* ``runtime/<chart>``: a chart a runtime built from its Git source, at its exact version (``RuntimeCharts``):
  only a runtime's own steps name it; every door's ``check`` refuses it;
* ``oci://host/path/chart``: pulled by helm, with the credentials of a registered registry whose URL is a prefix;
* ``https://.../chart-1.0.0.tgz``: a chart archive URL, with the credentials of a registered repository whose URL
  is a prefix.

``version`` is an exact version or a constraint, resolved the way helm does. Charthouse fetches archives itself
(credentials never reach helm's argv); helm installs from the local archive, verifying it against its provenance
file when ``verify`` is asked for and the repository has a keyring.
"""

from __future__ import annotations

import base64
import glob
import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalicelib.adapters.helm import LocalChart, RegistryTls, Workdir, pull, pull_argv
from chalicelib.adapters.http import guard as netguard
from chalicelib.adapters.http.fetch import Access, RemoteNotFound, fetch
from chalicelib.core.repositories import RUNTIME, UPLOADED, Connection, RepositoryRegistry
from chalicelib.core.uploads import RuntimeCharts, UploadedCharts
from chalicelib.domain import archives, chartindex, dependencies, redact
from chalicelib.domain import validate as v
from chalicelib.domain import values as vals
from chalicelib.domain.archive_cache import ArchiveCache
from chalicelib.domain.models import ChartSpec
from chalicelib.errors import (
    ChartNotFound,
    ChartVersionNotFound,
    ClusterAuthFailed,
    ClusterUnreachable,
    HelmError,
    InvalidInput,
    RepositoryAuthFailed,
    RepositoryNotFound,
    RepositoryUnreachable,
)

SHOW_PARTS = ("chart", "values", "readme", "crds", "schema")
FETCH_TIMEOUT_S = 60.0
MAX_PROV_BYTES = 1 << 20


@dataclass(frozen=True)
class ChartRef:
    kind: str  # repo | uploaded | runtime | oci | url
    location: str  # repository name, or the oci:// / https:// URL
    name: str  # the chart's name

    @classmethod
    def parse(cls, text: str, field: str = "chart") -> ChartRef:
        """``text`` as ``validate.chart_reference`` accepts it (checked again here: show builds its own)."""
        kind = v.chart_reference_kind(field, text)
        if kind == "oci":
            return cls("oci", text, text.rsplit("/", 1)[-1])
        if kind == "url":
            base = text.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1].removesuffix(".tgz")
            return cls("url", text, re.sub(r"-v?\d+(\.\d+)*([-+].*)?$", "", base))
        repository, name = text.split("/", 1)
        kind = {UPLOADED: "uploaded", RUNTIME: "runtime"}.get(repository, "repo")
        return cls(kind, repository, name)


@dataclass(frozen=True)
class Archive:
    data: bytes
    version: str
    prov: bytes | None = None
    url: str = ""  # where it came from: a provenance file names the archive by its file name

    def filename(self, chart: archives.ChartArchive) -> str:
        name = self.url.split("?", 1)[0].rsplit("/", 1)[-1]
        return name if re.fullmatch(r"[A-Za-z0-9._+-]{1,200}\.tgz", name) else f"{chart.name}-{chart.version}.tgz"


class Catalog:
    def __init__(
        self,
        repos: RepositoryRegistry,
        uploads: UploadedCharts,
        helm_binary: str,
        limits: archives.Limits,
        runtime_charts: RuntimeCharts | None = None,
    ) -> None:
        self.repos = repos
        self.uploads = uploads
        self.runtime_charts = runtime_charts
        self._helm = helm_binary
        self.limits = limits
        self.archives = ArchiveCache()  # per container: a chart named by digest is downloaded once

    # ------------------------------------------------------------ checks at the API

    def check(self, spec: ChartSpec, built_by_runtime: bool = False) -> None:
        """What can be known before queueing: the repository exists; ``verify`` has a keyring to verify with.
        A chart a runtime built (``runtime/``) is named only by that runtime's steps (``built_by_runtime``)."""
        ref = ChartRef.parse(spec.chart)
        if ref.kind == "runtime":
            if not built_by_runtime:
                raise InvalidInput("chart", f"{RUNTIME}/ charts are built by runtimes and installed only by their sync")
            if spec.verify:
                raise InvalidInput("verify", "charts built by runtimes carry no provenance file to verify")
            return
        if ref.kind in ("oci", "url"):
            netguard.check_url(ref.location, self.repos.netpolicy, "chart")
        conn = self._connection(ref, "chart")
        if spec.verify:
            if ref.kind == "uploaded":
                raise InvalidInput("verify", "uploaded charts carry no provenance file to verify")
            if conn is None or conn.keyring is None:
                raise InvalidInput("verify", "the chart's repository has no keyring: add one to its repository")

    def masking(self, spec: ChartSpec) -> redact.Masking:
        """The added masking rules of the repository the chart comes from (none for other sources)."""
        ref = ChartRef.parse(spec.chart)
        return self.repos.masking(ref.location) if ref.kind == "repo" else redact.NO_MASKING

    def _connection(self, ref: ChartRef, field: str) -> Connection | None:
        if ref.kind == "repo":
            try:
                return self.repos.connect(ref.location)
            except RepositoryNotFound as exc:
                raise InvalidInput(
                    field, f"repository {ref.location} is not registered (PUT /v1/repositories/{ref.location})"
                ) from exc
        if ref.kind in ("oci", "url"):
            return self.repos.for_url(ref.location)
        return None

    # ------------------------------------------------------------ fetching for helm

    def materialize(self, spec: ChartSpec, workdir: Workdir) -> LocalChart:
        """Fetch the chart into ``workdir``: an archive, or an unpacked directory for ``dependency_update``
        (helm updates dependencies of directories only)."""
        ref = ChartRef.parse(spec.chart)
        conn = self._connection(ref, "chart")
        keyring = None
        if spec.verify:
            if conn is None or conn.keyring is None:
                raise InvalidInput("verify", "the chart's repository has no keyring")
            keyring = str(_write_bytes(workdir, "keyring.gpg", conn.keyring))
        path = self._fetch_into(ref, conn, spec.version, spec.devel, bool(keyring), workdir)
        if spec.dependency_update:
            path = archives.unpack(path.read_bytes(), workdir.path / "chart-src", self.limits)
            self._update_dependencies(path)
        return LocalChart(str(path), keyring)

    def _update_dependencies(self, chart_dir: Path) -> None:
        """What ``helm dependency update`` does, done here so that every download passes the SSRF guard: each
        dependency that names a repository is fetched from the *registered* repository with that URL or name
        (with its credentials, its index resolving the version constraint, the archive checked like any chart)
        into ``charts/``, replacing a copy of the same name. A dependency whose repository is not registered, or
        a ``file://`` one, is refused (``InvalidInput`` on ``dependency_update``); vendored ones are kept."""
        requirements = chart_dir / "requirements.yaml"
        declared = dependencies.declared(
            (chart_dir / "Chart.yaml").read_text(encoding="utf-8", errors="replace"),
            requirements.read_text(encoding="utf-8", errors="replace") if requirements.is_file() else None,
        )
        charts = chart_dir / "charts"
        for dep in declared:
            if dep.source == "vendored":
                continue
            ref, conn = self._dependency_source(dep)
            with Workdir("") as scratch:  # its own registry config, TLS files and pull directory
                fetched = self._fetch_into(ref, conn, dep.version, False, False, scratch)
                charts.mkdir(mode=0o700, exist_ok=True)
                for old in [charts / dep.name, *charts.glob(f"{glob.escape(dep.name)}-*.tgz")]:
                    if old.is_dir() and not old.is_symlink():
                        shutil.rmtree(old)
                    elif old.exists() and _chart_name(old) == dep.name:
                        old.unlink()
                shutil.move(str(fetched), charts / fetched.name)

    def _dependency_source(self, dep: dependencies.Dependency) -> tuple[ChartRef, Connection]:
        """The registered repository a dependency comes from, and the reference to fetch it by."""
        where = f"dependency {dep.name}: repository {dep.repository[:200]}"
        if dep.source == "named":
            try:
                conn = self.repos.connect(dep.repository_name)
            except (RepositoryNotFound, InvalidInput):
                raise InvalidInput(dependencies.FIELD, f"{where} is not registered") from None
            return ChartRef("repo", conn.repo.name, dep.name), conn
        if dep.source == "url":
            url = dep.repository.rstrip("/")
            found = self.repos.for_url(url)
            if found is not None and found.repo.url == url and found.repo.kind == "http":
                return ChartRef("repo", found.repo.name, dep.name), found
        elif dep.source == "oci":
            location = f"{dep.repository.rstrip('/')}/{dep.name}"
            found = self.repos.for_url(location)
            if found is not None and found.repo.kind == "oci":
                return ChartRef("oci", location, dep.name), found
        elif dep.source == "file":
            raise InvalidInput(
                dependencies.FIELD, f"{where}: file:// dependencies cannot be fetched; vendor them in charts/"
            )
        raise InvalidInput(
            dependencies.FIELD,
            f"{where} is not registered: register it (PUT /v1/repositories/{{name}}) or vendor the dependency "
            "in charts/",
        )

    def _fetch_into(
        self, ref: ChartRef, conn: Connection | None, version: str | None, devel: bool, verify: bool, workdir: Workdir
    ) -> Path:
        if _is_oci(ref, conn):
            return self._pull_oci(ref, conn, version, devel, verify, workdir)
        archive = self.archive(ref, conn, version, devel, verify)
        path = _write_bytes(workdir, archive.filename(archives.inspect(archive.data, self.limits)), archive.data)
        if archive.prov is not None:
            _write_bytes(workdir, path.name + ".prov", archive.prov)
        return path

    def archive(
        self, ref: ChartRef, conn: Connection | None, version: str | None, devel: bool, with_prov: bool = False
    ) -> Archive:
        """The archive bytes of an HTTP, URL, uploaded or runtime chart (not OCI: helm pulls those)."""
        if ref.kind == "runtime":
            if self.runtime_charts is None:
                raise ChartVersionNotFound(f"runtime chart {ref.name}: no store of runtime charts here")
            return Archive(self.runtime_charts.archive(ref.name, version), version or "")
        if ref.kind == "uploaded":
            upload = self.uploads.resolve(ref.name, version, devel)
            return Archive(
                self._by_digest(upload.get("digest"), lambda: self.uploads.archive(upload)), upload["version"]
            )
        if ref.kind == "url":
            access = conn.access if conn else Access(ref.location)
            data = self._get(ref.location, access, ref)
            prov = self._get(ref.location + ".prov", access, ref, MAX_PROV_BYTES) if with_prov else None
            return Archive(data, version or "", prov, ref.location)
        assert conn is not None
        entry = chartindex.resolve(self.repos.index(conn.repo.name), conn.repo.name, ref.name, version, devel)
        if not entry.urls:
            raise ChartVersionNotFound(f"chart {ref.name} {entry.version} has no download URL in the index")
        data = self._by_digest(entry.digest, lambda: self._get(entry.urls[0], conn.access, ref))
        if entry.digest and entry.digest != archives.inspect(data, self.limits).digest:
            raise InvalidInput("chart", f"{ref.name} {entry.version} does not match the digest in the index")
        prov = self._get(entry.urls[0] + ".prov", conn.access, ref, MAX_PROV_BYTES) if with_prov else None
        return Archive(data, entry.version, prov, entry.urls[0])

    def _by_digest(self, digest: str | None, download: Callable[[], bytes]) -> bytes:
        """The archive with this sha256 digest, kept from an earlier download when there was one."""
        data = self.archives.get(digest) if digest else None
        if data is None:
            data = download()
            if digest:
                self.archives.put(digest, data)  # kept only if it is what the digest says
        return data

    def _get(self, url: str, access: Access, ref: ChartRef, max_bytes: int | None = None) -> bytes:
        try:
            return fetch(
                url, access, max_bytes or self.limits.max_bytes, FETCH_TIMEOUT_S, self.repos.netpolicy, "chart"
            )
        except RemoteNotFound as exc:  # the index or the reference names an archive the server does not have
            raise ChartNotFound(f"chart {ref.name}: {exc.message}") from exc

    def _pull_oci(
        self, ref: ChartRef, conn: Connection | None, version: str | None, devel: bool, verify: bool, workdir: Workdir
    ) -> Path:
        url = ref.location if ref.kind == "oci" else f"{conn.repo.url}/{ref.name}" if conn else ref.location
        netguard.check_url(url, self.repos.netpolicy, "chart")
        tls = RegistryTls()
        if conn is not None:
            tls = _registry_files(conn, url, workdir)
        dest = workdir.path / "pulled"
        dest.mkdir(mode=0o700)
        keyring = str(workdir.path / "keyring.gpg") if verify else None
        try:
            pull(self._helm, pull_argv(url, version, devel, str(dest), tls, keyring), workdir)
        except (HelmError, ClusterAuthFailed, ClusterUnreachable) as exc:
            # helm's stderr was classified as if a cluster had answered: here it is the registry
            message = exc.message
            if re.search(
                r"(?i)unauthorized|authentication required|credential not found|denied|forbidden|\b40[13]\b", message
            ):
                raise RepositoryAuthFailed(f"the registry refused the pull of {ref.name}: {message}") from exc
            if re.search(r"(?i)not found|no such|unknown|invalid_?reference|could not locate", message):
                raise ChartVersionNotFound(f"chart {ref.name}: {message}") from exc
            if isinstance(exc, ClusterUnreachable):
                raise RepositoryUnreachable(f"the registry of {ref.name} is unreachable: {message}") from exc
            raise
        found = sorted(dest.glob("*.tgz"))
        if not found:
            raise ChartVersionNotFound(f"helm pulled no chart archive for {ref.name}")
        return found[0]

    def chart_archive(self, spec: ChartSpec) -> archives.ChartArchive:
        """The chart archive ``spec`` names, as helm would get it (a plan's chart digest and its defaults): an
        uploaded, repository or URL chart from the archive cache or its source; an OCI chart pulled by helm."""
        ref = ChartRef.parse(spec.chart)
        conn = self._connection(ref, "chart")
        if _is_oci(ref, conn):
            with Workdir("") as wd:
                data = self._pull_oci(ref, conn, spec.version, spec.devel, False, wd).read_bytes()
        else:
            data = self.archive(ref, conn, spec.version, spec.devel).data
        return archives.inspect(data, self.limits)

    # ------------------------------------------------------------ search and show

    def search(
        self, query: str | None, repository: str | None, all_versions: bool, devel: bool, constraint: str | None
    ) -> list[dict[str, Any]]:
        if repository:
            names = [repository]
            if repository != UPLOADED and self.repos.get(repository).kind != "http":
                raise InvalidInput(
                    "repository",
                    f"{repository} is an OCI registry: registries have no index to "
                    "search; show or install its charts by name",
                )
        else:
            names = [r.name for r in self.repos.all() if r.kind == "http"] + [UPLOADED]
        out: list[dict[str, Any]] = []
        for name in names:
            index = self.uploads.summaries() if name == UPLOADED else self.repos.index(name)
            out += chartindex.search(index, name, query, all_versions, devel, constraint)
        return out

    def show(
        self,
        repository: str,
        chart: str,
        version: str | None,
        devel: bool,
        parts: tuple[str, ...],
        values_as_object: bool = False,
    ) -> dict[str, Any]:
        """``helm show`` of a chart of a registered repository (or ``uploaded``); ``values_as_object``: the chart's
        values.yaml read as helm reads it (the one values parser), as an object."""
        return self.show_reference(f"{repository}/{chart}", version, devel, parts, values_as_object)

    def show_reference(
        self,
        reference: str,
        version: str | None,
        devel: bool,
        parts: tuple[str, ...],
        values_as_object: bool = False,
    ) -> dict[str, Any]:
        """``helm show`` of any chart reference install takes (``<repository>/<chart>``, ``uploaded/<chart>``, an
        ``https://`` archive URL, ``oci://``): a URL passes the SSRF guard and is fetched with the credentials of
        the registered repository whose URL is a prefix, as install fetches it."""
        ref = ChartRef.parse(reference, "chart")
        if ref.kind == "runtime":  # charts a runtime built are shown by no door (its plan shows what it applies)
            raise RepositoryNotFound(f"repository {ref.location} is not registered")
        if ref.kind in ("oci", "url"):
            netguard.check_url(ref.location, self.repos.netpolicy, "chart")
            conn = self.repos.for_url(ref.location)
        else:
            conn = None if ref.kind == "uploaded" else self.repos.connect(ref.location)
        return self._show(ref, conn, version, devel, parts, values_as_object)

    def _show(
        self,
        ref: ChartRef,
        conn: Connection | None,
        version: str | None,
        devel: bool,
        parts: tuple[str, ...],
        values_as_object: bool,
    ) -> dict[str, Any]:
        if _is_oci(ref, conn):
            with Workdir("") as wd:
                data = self._pull_oci(ref, conn, version, devel, False, wd).read_bytes()
        else:
            data = self.archive(ref, conn, version, devel).data
        archive = archives.inspect(data, self.limits)
        if ref.kind in ("repo", "uploaded"):
            repository = ref.location
        else:  # a URL: the registered repository it belongs to, if any
            repository = conn.repo.name if conn is not None else ""
        out = {
            "repository": repository,
            "name": archive.name,
            "version": archive.version,
            "digest": archive.digest,
            **archive.show(parts),
        }
        if values_as_object and "values" in out:
            try:
                out["values"] = vals.parse_values(out["values"] or None, "values.yaml")
            except InvalidInput as exc:
                raise InvalidInput(
                    "format", f"the chart's values.yaml cannot be shown as an object: {exc.message}"
                ) from exc
        return out


def _is_oci(ref: ChartRef, conn: Connection | None) -> bool:
    return ref.kind == "oci" or (ref.kind == "repo" and conn is not None and conn.repo.kind == "oci")


def _chart_name(archive: Path) -> str | None:
    """The name in a packaged chart's Chart.yaml (None: not a readable chart)."""
    try:
        return archives.inspect(archive.read_bytes(), archives.Limits()).name
    except (InvalidInput, OSError):
        return None


def _write_bytes(workdir: Workdir, name: str, data: bytes) -> Path:
    path = workdir.path / name
    with open(path, "xb") as fh:
        fh.write(data)
    path.chmod(0o600)
    return path


def _registry_files(conn: Connection, url: str, workdir: Workdir) -> RegistryTls:
    """helm's registry config (credentials) and TLS files for one registry, 0600 inside the work directory."""
    secret = conn.secret
    host = url.removeprefix("oci://").split("/", 1)[0]
    auth: dict[str, str] = {}
    if secret.get("username") is not None and secret.get("password") is not None:
        auth["auth"] = base64.b64encode(f"{secret['username']}:{secret['password']}".encode()).decode()
    elif secret.get("token"):
        auth["registrytoken"] = secret["token"]
    if auth:
        (workdir.path / "config" / "registry").mkdir(mode=0o700, exist_ok=True)
        workdir.write("config/registry/config.json", json.dumps({"auths": {host: auth}}))
    files: dict[str, str | None] = {}
    for key, name in (("ca_bundle", "ca.pem"), ("client_certificate", "cert.pem"), ("client_key", "key.pem")):
        files[key] = str(workdir.write(name, secret[key])) if secret.get(key) else None
    return RegistryTls(
        ca_file=files["ca_bundle"],
        cert_file=files["client_certificate"],
        key_file=files["client_key"],
        insecure_skip_tls_verify=conn.repo.insecure_skip_tls_verify,
        plain_http=conn.repo.plain_http,
    )
