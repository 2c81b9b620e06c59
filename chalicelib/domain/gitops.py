"""A runtime's source tree -> the releases it declares, each as an upgrade request body (``install: true``).

At the runtime's path Charthouse understands, in this order:

1. a chart (``Chart.yaml``): one release named after the runtime, in the destination's first namespace;
2. a releases file (``releases.yaml``, ``helmfile.yaml`` or ``helmfile.yml``; or the path names the file), in
   this subset of helmfile's format::

       releases:
       - name: web                 # required, a release name
         namespace: shop           # default: the destination's first namespace; must be one of them
         chart: repo/web           # repo/chart, oci://..., https://....tgz, uploaded/chart, or a local
                                   # directory of the repository: ./charts/web (relative to the file)
         version: 1.2.x            # chart version or constraint
         values:                   # in order, later wins: inline maps, or files of the repository
         - values/web.yaml         #   (relative to the releases file)
         - {replicas: 2}
         set:                      # applied over values (helm --set-json: the value keeps its type)
         - {name: image.tag, value: v2}
         installed: false          # uninstall it (if it is there)
         needs: [db]               # after these: namespace/name, or a name (the release of that name;
                                   # the same namespace's when several share it)

   Anything else in the file (``repositories:``, ``environments:``, templating) is refused with its name;
3. a directory of plain Kubernetes manifests (``*.yaml``, ``*.yml``, ``*.json``, recursively): one release
   named after the runtime, of a chart Charthouse builds from them (``{{`` is kept literal).

Local charts (1, 3 and ``./`` references) are packaged here, deterministically, with a version suffixed by the
digest of their content (``1.0.0-rt-<12 hex>``), holding what ``helm package`` would (``.helmignore``, see
``helmignore``), to be stored apart from uploaded charts as ``runtime/<name>``; the same content gives the
same archive, so an unchanged chart plans as unchanged. Pure: no I/O; every error names the file and field.

A releases file holds values, so it is read in helm's dialect (:func:`chalicelib.domain.values.load_document`),
as a values file is: ``port: 22:22`` is the string ``"22:22"``, ``flag: y`` is ``true``, ``when: 2024-01-01`` the
string, explicit ``!!binary``/``!!timestamp`` are refused with their line, a duplicate key keeps its last value.
Each inline map (and each ``set`` value) then goes through :func:`chalicelib.domain.values.parse_values`, the same
check as a request's ``values`` (non-string keys refused, naming the path). ``Chart.yaml`` is not values: it is
read by :mod:`~chalicelib.domain.yamlguard` as every other chart's is.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import json
import posixpath
import tarfile
from dataclasses import dataclass, field
from typing import Any

import yaml

from chalicelib.domain import fields, helmignore, yamlguard
from chalicelib.domain import validate as v
from chalicelib.domain import values as vals
from chalicelib.errors import InvalidInput

RELEASES_FILES = ("releases.yaml", "helmfile.yaml", "helmfile.yml")
MAX_RELEASES = 100
# one release of a releases file (or of an inline source), described once: _release reads it, the runtime's
# OpenAPI body (domain/runtimes.py) publishes it
RELEASE_BODY = fields.Body(
    {
        "name": fields.SCHEMAS["name"],
        "namespace": {"type": "string", "description": "default: the destination's first namespace"},
        "chart": {"type": "string", "description": "repo/chart, oci://..., https://....tgz, uploaded/chart, ./dir"},
        "version": {"oneOf": [fields.STR, {"type": "number"}], "description": "chart version or constraint"},
        "values": {
            "type": "array",
            "items": {"oneOf": [{"type": "object"}, fields.STR]},
            "description": "in order, later wins: inline maps, or files of the repository (git sources)",
        },
        "set": {
            "type": "array",
            "items": {"type": "object", "required": ["name", "value"], "properties": {"name": fields.STR, "value": {}}},
            "description": "applied over values (helm --set-json: the value keeps its type)",
        },
        "installed": {"type": "boolean", "description": "false: uninstall it (if it is there)"},
        "needs": {"type": "array", "items": fields.STR, "description": "after these: namespace/name, or a name"},
    },
    required=("name", "chart"),
)
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
RUNTIME_CHARTS = "runtime"  # the reference of a chart built here: runtime/<name> (core/uploads.RuntimeCharts)
BASE = {"install": True, "create_namespace": True}  # upgrade --install, creating the namespace (as helmfile does)


@dataclass(frozen=True)
class LocalChart:
    """A chart built from the repository, to be stored as ``runtime/<name>`` at ``version``."""

    name: str
    version: str
    archive: bytes


@dataclass(frozen=True)
class Desired:
    name: str
    namespace: str
    body: dict[str, Any]  # an upgrade request body; install: true
    installed: bool = True
    needs: tuple[str, ...] = ()  # names, or namespace/name (a name alone: the one release of that name)
    chart: LocalChart | None = None

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def digest(self) -> str:
        """What decides "unchanged": the request body (chart, version, values), canonical."""
        return hashlib.sha256(json.dumps(self.body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


@dataclass(frozen=True)
class Tree:
    """The files of one commit (posix paths relative to the repository root)."""

    commit: str
    files: dict[str, bytes] = field(default_factory=dict)

    def dirs(self, path: str) -> bool:
        prefix = path + "/" if path else ""
        return any(f.startswith(prefix) for f in self.files)

    def under(self, path: str) -> dict[str, bytes]:
        prefix = path + "/" if path else ""
        return {f[len(prefix) :]: data for f, data in self.files.items() if f.startswith(prefix)}

    def text(self, path: str, where: str) -> str:
        if path not in self.files:
            raise InvalidInput(where, f"{path or '/'} is not a file of the repository at {self.commit[:12]}")
        try:
            return self.files[path].decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput(where, f"{path} is not UTF-8 text") from None


def desired(
    tree: Tree | None, path: str, inline: dict[str, Any] | None, runtime: str, namespaces: tuple[str, ...], drift: bool
) -> list[Desired]:
    """The releases a source declares, in ``needs`` order (installs and upgrades run in this order)."""
    extra = {"drift_correction": True} if drift else {}
    if tree is None:
        return _ordered(_releases(inline or {}, "source.inline", None, "", namespaces, extra))
    if path in tree.files:  # the path names a releases file
        doc = vals.load_document(tree.text(path, "source.git.path"), path)
        return _ordered(_releases(doc, path, tree, posixpath.dirname(path), namespaces, extra))
    files = tree.under(path)
    if not files:
        raise InvalidInput("source.git.path", f"{path or '/'} does not exist in the repository at {tree.commit[:12]}")
    if "Chart.yaml" in files:
        chart = package(files, None, "source.git.path")
        return [_one(runtime, namespaces[0], chart, extra)]
    for name in RELEASES_FILES:
        if name in files:
            where = posixpath.join(path, name)
            doc = vals.load_document(tree.text(where, "source.git.path"), where)
            return _ordered(_releases(doc, where, tree, path, namespaces, extra))
    manifests = {f: d for f, d in files.items() if f.endswith(MANIFEST_SUFFIXES)}
    if not manifests:
        raise InvalidInput(
            "source.git.path",
            f"{path or '/'} holds no Chart.yaml, no {' or '.join(RELEASES_FILES)} and no manifests (*.yaml, *.json)",
        )
    return [_one(runtime, namespaces[0], manifests_chart(runtime, manifests), extra)]


def _one(name: str, namespace: str, chart: LocalChart, extra: dict[str, Any]) -> Desired:
    body = {"chart": f"{RUNTIME_CHARTS}/{chart.name}", "version": chart.version, **BASE, **extra}
    return Desired(name, namespace, body, chart=chart)


def _chart_yaml(text: str, where: str) -> Any:
    """A Chart.yaml (chart metadata, not values)."""
    try:
        return yamlguard.load(text, where, yamlguard.CHART_YAML)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" (line {mark.line + 1})" if mark is not None else ""
        raise InvalidInput(where, f"is not valid YAML{line}") from None


def _releases(
    doc: Any, where: str, tree: Tree | None, base: str, namespaces: tuple[str, ...], extra: dict[str, Any]
) -> list[Desired]:
    if not isinstance(doc, dict) or not isinstance(doc.get("releases"), list):
        raise InvalidInput(where, "must be a mapping with a releases: list")
    _string_keys(doc, where)
    unknown = sorted(set(doc) - {"releases"})
    if unknown:
        raise InvalidInput(f"{where}: {unknown[0]}", "is not supported (only releases: of helmfile's format)")
    if len(doc["releases"]) > MAX_RELEASES:
        raise InvalidInput(f"{where}: releases", f"at most {MAX_RELEASES} releases")
    out: list[Desired] = []
    for i, raw in enumerate(doc["releases"]):
        at = f"{where}: releases[{i}]"
        if not isinstance(raw, dict):
            raise InvalidInput(at, "must be a mapping")
        _string_keys(raw, at)
        RELEASE_BODY.check(raw, f"{at}.")
        out.append(_release(raw, at, tree, base, namespaces, extra))
    keys = [d.key for d in out]
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        raise InvalidInput(f"{where}: releases", f"{dupes[0]} is declared twice")
    return out


def _string_keys(mapping: dict[Any, Any], at: str) -> None:
    """The releases file's own keys are field names (YAML 1.1 reads ``on:`` or ``y:`` as a boolean)."""
    if not all(isinstance(key, str) for key in mapping):
        raise InvalidInput(at, "keys must be field names (strings); quote keys such as on, off, y, n, yes, no")


def _release(
    raw: dict[str, Any], at: str, tree: Tree | None, base: str, namespaces: tuple[str, ...], extra: dict[str, Any]
) -> Desired:
    name = v.release_name(f"{at}.name", raw.get("name"))
    namespace = v.dns_label(f"{at}.namespace", raw.get("namespace") or namespaces[0])
    if namespace not in namespaces:
        raise InvalidInput(f"{at}.namespace", f"{namespace} is not one of the destination's namespaces")
    ref = raw.get("chart")
    if not isinstance(ref, str) or not ref:
        raise InvalidInput(f"{at}.chart", "is required: repo/chart, oci://..., an https URL or ./local/dir")
    body: dict[str, Any] = {**BASE, **extra}
    chart = None
    if ref.startswith(("./", "../")):
        if tree is None:
            raise InvalidInput(f"{at}.chart", "a local chart needs a git source")
        local = posixpath.normpath(posixpath.join(base, ref))
        files = tree.under(local) if not local.startswith("..") else {}
        if "Chart.yaml" not in files:
            raise InvalidInput(f"{at}.chart", f"{local} holds no Chart.yaml")
        chart = package(files, None, f"{at}.chart")
        body.update(chart=f"{RUNTIME_CHARTS}/{chart.name}", version=chart.version)
    elif ref.startswith(f"{RUNTIME_CHARTS}/"):
        raise InvalidInput(f"{at}.chart", f"{RUNTIME_CHARTS}/ names charts runtimes build: give ./local/dir")
    else:
        body["chart"] = ref
        if raw.get("version") is not None:
            body["version"] = str(raw["version"])
    files_out = _values(raw.get("values"), f"{at}.values", tree, base)
    if files_out:
        body["values_files"] = files_out
    sets = _sets(raw.get("set"), f"{at}.set")
    if sets:
        body["set_json"] = sets
    needs = raw.get("needs") or []
    if not isinstance(needs, list) or not all(isinstance(n, str) for n in needs):
        raise InvalidInput(f"{at}.needs", "must be a list of release names (or namespace/name)")
    return Desired(
        name,
        namespace,
        body,
        installed=v.boolean(f"{at}.installed", raw.get("installed"), True),
        needs=tuple(needs),
        chart=chart,
    )


def _values(raw: object, at: str, tree: Tree | None, base: str) -> list[dict[str, str]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise InvalidInput(at, "must be a list of files or maps")
    out = []
    for j, item in enumerate(raw):
        if isinstance(item, dict):  # checked as a request's values are; JSON is YAML that means what it says
            parsed = vals.parse_values(item, f"{at}[{j}]")
            out.append({"name": f"{at}[{j}]", "content": json.dumps(parsed)})
        elif isinstance(item, str) and tree is not None:
            path = posixpath.normpath(posixpath.join(base, item))
            out.append({"name": path, "content": tree.text(path, f"{at}[{j}]")})
        else:
            raise InvalidInput(f"{at}[{j}]", "must be a map, or a file of the repository (git sources)")
    return out


def _sets(raw: object, at: str) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise InvalidInput(at, "must be a list of {name, value}")
    out = []
    for j, item in enumerate(raw):
        if not isinstance(item, dict) or set(item) != {"name", "value"} or not isinstance(item["name"], str):
            raise InvalidInput(f"{at}[{j}]", "must be {name: a.b.c, value: ...}")
        value = vals.parse_values({"value": item["value"]}, f"{at}[{j}]")["value"]  # the same check as values
        out.append(f"{item['name']}={json.dumps(value)}")
    return out


def _ordered(items: list[Desired]) -> list[Desired]:
    """``needs`` order (Kahn's, stable in file order); an unknown need or a cycle is an error."""
    by_key = {d.key: d for d in items}
    resolved = []
    for d in items:
        keys = []
        for need in d.needs:
            same_name = [k for k in by_key if k.split("/", 1)[1] == need]
            key = need if "/" in need else (same_name[0] if len(same_name) == 1 else f"{d.namespace}/{need}")
            if key not in by_key:
                raise InvalidInput(f"releases: {d.key}.needs", f"{need} is not a release of this file")
            keys.append(key)
        resolved.append(dataclasses.replace(d, needs=tuple(keys)))
    items = resolved
    done: list[Desired] = []
    placed: set[str] = set()
    while len(done) < len(items):
        ready = [d for d in items if d.key not in placed and all(n in placed for n in d.needs)]
        if not ready:
            stuck = next(d.key for d in items if d.key not in placed)
            raise InvalidInput(f"releases: {stuck}.needs", "form a cycle")
        done.append(ready[0])
        placed.add(ready[0].key)
    return done


# ---------------------------------------------------------------- packaging


def _digest(files: dict[str, bytes]) -> str:
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return h.hexdigest()


def package(files: dict[str, bytes], name: str | None, where: str) -> LocalChart:
    """A deterministic archive of a chart directory (the files helm packages); its version carries the digest of
    the content."""
    files = helmignore.packaged(files, where)
    if "Chart.yaml" not in files:
        raise InvalidInput(f"{where}: Chart.yaml", f"is ignored by {helmignore.FILE}: helm cannot package the chart")
    meta = _chart_yaml(files["Chart.yaml"].decode("utf-8", "replace"), f"{where}: Chart.yaml")
    if not isinstance(meta, dict) or not meta.get("name") or not meta.get("version"):
        raise InvalidInput(f"{where}: Chart.yaml", "needs name and version")
    chart_name = name or str(meta["name"])
    v.release_name(f"{where}: Chart.yaml name", chart_name)
    suffix = f"rt-{_digest(files)[:12]}"
    base = str(meta["version"])
    version = f"{base}.{suffix}" if "-" in base else f"{base}-{suffix}"
    meta = {**meta, "name": chart_name, "version": version}
    out = {**files, "Chart.yaml": yaml.safe_dump(meta, sort_keys=False).encode()}
    return LocalChart(chart_name, version, _tgz(chart_name, out))


def manifests_chart(runtime: str, manifests: dict[str, bytes]) -> LocalChart:
    """A chart whose templates are the plain manifests (``{{`` kept literal), named ``<runtime>-manifests``."""
    files = {
        "Chart.yaml": yaml.safe_dump({"apiVersion": "v2", "name": f"{runtime}-manifests", "version": "0.1.0"}).encode()
    }
    for path, data in manifests.items():
        text = data.decode("utf-8", "replace").replace("{{", '{{ "{{" }}')
        files["templates/" + path.replace("/", "_")] = text.encode()
    return package(files, None, "source.git.path")


def _tgz(top: str, files: dict[str, bytes]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for path in sorted(files):
            info = tarfile.TarInfo(f"{top}/{path}")
            info.size = len(files[path])
            info.mode = 0o644
            info.mtime = 0
            tar.addfile(info, io.BytesIO(files[path]))
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as gz:
        gz.write(raw.getvalue())
    return out.getvalue()
