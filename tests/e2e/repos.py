"""Charts for the real chart servers of the local stack: build them, sign them, publish them to the private HTTP
repository (``stack.repo``, a :class:`devstack.charts.ChartServer`) and the OCI registry (``stack.registry``, a
:class:`devstack.registry.OciRegistry`), and run helm against them.

Use the fixture in a test module by importing it (conftest.py is not touched)::

    from tests.e2e.repos import published  # noqa: F401  (the fixture)

    def test_x(api, stack, published):
        published.crdhook.oci, published.crdhook.version   # install from OCI
        published.parent.repo_ref                          # "charthouse/parent", after helm repo add charthouse ...

Chart writers (each writes a chart directory under ``root`` and returns its path):

* ``plain_chart(root, name="plain", version="0.1.0")``: a ConfigMap (``<release>-<name>``, data ``greeting`` from
  values) and NOTES.txt.
* ``dependent_chart(root, repository, dependency="plain", dependency_version="0.1.0", name="parent")``: a
  ConfigMap of its own plus ``dependencies: [{name: dependency, version, repository}]`` in Chart.yaml;
  ``repository`` is any URL helm accepts (the HTTP repo's ``base_url``, or ``registry.url`` for OCI). Its
  ``charts/`` directory is empty: build it with :func:`dependency_build`.
* ``crd_hook_chart(root, name="crdhook", version="0.1.0")``: ``crds/crontab.yaml`` (an apiextensions.k8s.io/v1
  CRD ``crontabs.<CRD_GROUP>``, kind ``CronTab``), a ``CronTab`` object ``<release>-tab`` in templates, a
  pre-install/pre-upgrade hook ConfigMap ``<release>-hook`` (delete policy ``before-hook-creation``, so it stays
  after the hook ran) and NOTES.txt (``CronTab <release>-tab installed by a hook-checked release``).

Other helpers:

* ``gpg_key(directory, name=KEY_NAME) -> GpgKey``: a passphrase-less RSA key generated with ``gpg --batch`` in a
  throwaway GNUPGHOME, exported as legacy keyrings: ``GpgKey.secring`` (for ``helm package --sign``),
  ``GpgKey.pubring`` (for ``helm verify`` / ``helm install --verify --keyring``), ``GpgKey.name``,
  ``GpgKey.sign_with`` (a :class:`devstack.charts.SignWith` for ``ChartServer.package(dir, sign=...)``).
* ``dependency_build(helm, chart_dir, repo, home) -> CompletedProcess``: ``helm repo add`` the (private) repo with
  its credentials in the helm home ``home``, then ``helm dependency build chart_dir``.
* ``helm(stack, home, *args, stdin=None) -> CompletedProcess``: the stack's helm against its cluster with a private
  helm home (registry logins and repositories stay in ``home``); never raises on a non-zero exit.
* ``https_repo(root, helm, **auth) -> ChartServer``: another chart repository, served over HTTPS with a local CA
  (``server.tls.ca``), on a free port; pass ``username``/``password``/``token`` to make it private, ``client_ca``
  (``devstack.tls.client_tls(dir).ca``) to require a client certificate.
* ``repository_body(server, auth="basic", keyring=None, client=None) -> dict`` and
  ``registry_body(registry, keyring=None) -> dict``: the ``PUT /v1/repositories/{name}`` body (chalicelib's
  field names) for a :class:`ChartServer` / :class:`OciRegistry`: ``url``; ``username`` + ``password`` (``auth=
  "basic"``) or ``token`` (``auth="token"``) or nothing (``auth="none"``); ``ca_bundle`` (PEM) when it serves
  HTTPS; ``client_certificate`` + ``client_key`` (PEM) from ``client`` (for the registry: its ``client_tls``);
  ``plain_http`` for a plain-HTTP registry; ``keyring`` (base64 of ``keyring.pubring``) when given.
* ``publish(stack, root, key) -> Published``: what the ``published`` fixture returns, built once per stack (so once
  per helm major): ``Published.plain``, ``.parent`` (depends on ``plain`` from the private repo, packaged with it
  vendored), ``.crdhook``, ``.signed`` (a plain chart named ``signed``, with ``.prov`` beside it in the repo) —
  each a ``PublishedChart`` with ``name``, ``version``, ``source`` (chart dir), ``archive`` (the packaged .tgz),
  ``repo_url`` (archive URL in the private repo), ``repo_ref`` (``charthouse/<name>`` once the repo is added as
  ``charthouse``), ``oci`` (``oci://127.0.0.1:PORT/charts/<name>``; pass ``version`` apart). ``Published.repo``,
  ``.registry`` and ``.key`` are the servers and the signing key. ``signed`` has ``<repo_url>.prov`` in the repo,
  and its OCI artifact carries the provenance too: ``--verify --keyring key.pubring`` works from both.

If several test modules need ``published``, import it once in conftest.py instead: each module that imports a
fixture gets its own copy, and a session fixture defined twice runs twice (republishing, with a new key).
"""

from __future__ import annotations

import base64
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack.charts import ChartServer, SignWith
from devstack.kube import free_port_numbers
from devstack.registry import OciRegistry, helm_env
from devstack.stack import Stack
from devstack.tls import TlsFiles, local_tls

CRD_GROUP = "stable.charthouse.test"
KEY_NAME = "Charthouse Test Signer"
KEY_EMAIL = "signer@charthouse.test"
REPO_NAME = "charthouse"  # the name the helpers give the private repo in a helm home

# ---------------------------------------------------------------- chart writers


def _write(chart: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = chart / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return chart


def _chart_yaml(name: str, version: str, **more: object) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "v2",
            "name": name,
            "version": version,
            "appVersion": f"{version}-app",
            "description": f"charthouse test chart {name}",
            **more,
        },
        sort_keys=False,
    )


CONFIGMAP = """apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-{{ .Chart.Name }}
data:
  greeting: {{ .Values.greeting | quote }}
  chart: {{ .Chart.Name }}-{{ .Chart.Version }}
"""


def plain_chart(root: Path, name: str = "plain", version: str = "0.1.0") -> Path:
    return _write(
        root / f"{name}-{version}",
        {
            "Chart.yaml": _chart_yaml(name, version),
            "values.yaml": "greeting: hello\n",
            "templates/configmap.yaml": CONFIGMAP,
            "templates/NOTES.txt": "{{ .Release.Name }} ({{ .Chart.Name }}) says {{ .Values.greeting }}\n",
        },
    )


def dependent_chart(
    root: Path,
    repository: str,
    dependency: str = "plain",
    dependency_version: str = "0.1.0",
    name: str = "parent",
    version: str = "0.1.0",
) -> Path:
    deps = [{"name": dependency, "version": dependency_version, "repository": repository}]
    return _write(
        root / f"{name}-{version}",
        {
            "Chart.yaml": _chart_yaml(name, version, dependencies=deps),
            "values.yaml": f"greeting: from-{name}\n{dependency}:\n  greeting: from-{name}-to-{dependency}\n",
            "templates/configmap.yaml": CONFIGMAP,
            "templates/NOTES.txt": "{{ .Release.Name }} with its dependency\n",
        },
    )


CRD = f"""apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: crontabs.{CRD_GROUP}
spec:
  group: {CRD_GROUP}
  scope: Namespaced
  names: {{plural: crontabs, singular: crontab, kind: CronTab, shortNames: [ct]}}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              cronSpec: {{type: string}}
              image: {{type: string}}
"""

CRONTAB = f"""apiVersion: {CRD_GROUP}/v1
kind: CronTab
metadata:
  name: {{{{ .Release.Name }}}}-tab
spec:
  cronSpec: {{{{ .Values.schedule | quote }}}}
  image: busybox
"""

HOOK = """apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-hook
  annotations:
    helm.sh/hook: pre-install,pre-upgrade
    helm.sh/hook-weight: "-5"
    helm.sh/hook-delete-policy: before-hook-creation
data:
  revision: {{ .Release.Revision | quote }}
"""


def crd_hook_chart(root: Path, name: str = "crdhook", version: str = "0.1.0") -> Path:
    return _write(
        root / f"{name}-{version}",
        {
            "Chart.yaml": _chart_yaml(name, version),
            "values.yaml": 'schedule: "*/5 * * * *"\n',
            "crds/crontab.yaml": CRD,
            "templates/crontab.yaml": CRONTAB,
            "templates/hook.yaml": HOOK,
            "templates/NOTES.txt": "CronTab {{ .Release.Name }}-tab installed by a hook-checked release\n",
        },
    )


# ---------------------------------------------------------------- signing


@dataclass(frozen=True)
class GpgKey:
    secring: Path  # legacy secret keyring (helm package --sign --keyring)
    pubring: Path  # public keyring (helm verify / install --verify --keyring)
    name: str  # the uid's name: helm package --sign --key <name>

    @property
    def sign_with(self) -> SignWith:
        return SignWith(keyring=self.secring, key=self.name)


def gpg_key(directory: Path, name: str = KEY_NAME, email: str = KEY_EMAIL) -> GpgKey:
    """A passphrase-less RSA signing key, exported to ``directory/secring.gpg`` and ``directory/pubring.gpg``."""
    gpg = shutil.which("gpg")
    if gpg is None:
        raise RuntimeError("gpg is missing: run scripts/install-registry.sh (gnupg)")
    directory.mkdir(parents=True, exist_ok=True)
    # A short GNUPGHOME: gpg-agent's socket path must fit in a sun_path (108 bytes).
    gnupghome = Path(tempfile.mkdtemp(prefix="gpg-", dir="/tmp"))
    env = {"GNUPGHOME": str(gnupghome), "PATH": "/usr/bin:/bin", "HOME": str(gnupghome)}
    params = (
        f"Key-Type: RSA\nKey-Length: 2048\nKey-Usage: sign\nName-Real: {name}\nName-Email: {email}\n"
        "Expire-Date: 0\n%no-protection\n%commit\n"
    )
    try:
        subprocess.run(
            [gpg, "--batch", "--gen-key"],
            input=params,
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        for flag, out in (("--export-secret-keys", directory / "secring.gpg"), ("--export", directory / "pubring.gpg")):
            done = subprocess.run([gpg, "--batch", flag], env=env, capture_output=True, check=True, timeout=30)
            out.write_bytes(done.stdout)
        (directory / "secring.gpg").chmod(0o600)
    finally:
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=env, capture_output=True, timeout=30)
        shutil.rmtree(gnupghome, ignore_errors=True)
    return GpgKey(secring=directory / "secring.gpg", pubring=directory / "pubring.gpg", name=name)


# ---------------------------------------------------------------- helm


def helm(stack: Stack, home: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """The stack's helm on its cluster with a private helm home; the caller checks ``returncode``."""
    home.mkdir(parents=True, exist_ok=True)
    env = {**helm_env(home), "KUBECONFIG": str(stack.cfg.state_dir / "kubeconfig")}
    return subprocess.run(
        [str(stack.cfg.helm_binary), *args], input=stdin, env=env, capture_output=True, text=True, timeout=180
    )


def _helm_ok(binary: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(binary), *args], env=helm_env(home), capture_output=True, text=True, timeout=180)
    if done.returncode != 0:
        raise RuntimeError(f"helm {' '.join(args[:2])} failed: {done.stderr.strip()}")
    return done


def repo_add_args(repo: ChartServer, name: str = REPO_NAME) -> list[str]:
    """``helm repo add`` for this server with its credentials and CA (``--force-update``: idempotent)."""
    argv = ["repo", "add", name, repo.base_url, "--force-update"]
    if repo.username is not None and repo.password is not None:
        argv += ["--username", repo.username, "--password", repo.password]
    if repo.tls is not None:
        argv += ["--ca-file", str(repo.tls.ca)]
    return argv


def dependency_build(binary: Path, chart_dir: Path, repo: ChartServer, home: Path) -> subprocess.CompletedProcess[str]:
    """Add ``repo`` (with its credentials) in the helm home ``home``, then ``helm dependency build chart_dir``."""
    _helm_ok(binary, home, *repo_add_args(repo))
    return _helm_ok(binary, home, "dependency", "build", str(chart_dir))


def https_repo(
    root: Path,
    binary: Path,
    username: str | None = None,
    password: str | None = None,
    token: str | None = None,
    client_ca: Path | None = None,
) -> ChartServer:
    """A chart repository over HTTPS (CA in ``.tls.ca``) on a free port; close() it when done."""
    (port,) = free_port_numbers(1)
    return ChartServer(
        root / "www",
        binary,
        port,
        username=username,
        password=password,
        token=token,
        tls=local_tls(root / "tls", "charthouse test repo"),
        client_ca=client_ca,
    )


def repository_body(
    server: ChartServer, auth: str = "basic", keyring: GpgKey | None = None, client: TlsFiles | None = None
) -> dict[str, Any]:
    """``PUT /v1/repositories/{name}`` for an HTTP(S) chart repository served by ``server``."""
    body: dict[str, Any] = {"url": server.base_url}
    if auth == "basic":
        body |= {"username": server.username, "password": server.password}
    elif auth == "token":
        body["token"] = server.token
    elif auth != "none":
        raise ValueError(f"auth must be basic, token or none, not {auth!r}")
    return _tls_fields(body, server.tls, client, keyring)


def registry_body(registry: OciRegistry, keyring: GpgKey | None = None) -> dict[str, Any]:
    """``PUT /v1/repositories/{name}`` for the OCI registry (its ``charts`` repository)."""
    body: dict[str, Any] = {"url": registry.url}
    if registry.username is not None:
        body |= {"username": registry.username, "password": registry.password}
    if registry.plain_http:
        body["plain_http"] = True
    return _tls_fields(body, registry.tls, registry.client_tls, keyring)


def _tls_fields(
    body: dict[str, Any], tls: TlsFiles | None, client: TlsFiles | None, keyring: GpgKey | None
) -> dict[str, Any]:
    if tls is not None:
        body["ca_bundle"] = tls.ca_pem
    if client is not None:
        body |= {"client_certificate": client.cert_pem, "client_key": client.key_pem}
    if keyring is not None:
        body["keyring"] = base64.b64encode(keyring.pubring.read_bytes()).decode()
    return {k: v for k, v in body.items() if v is not None}


# ---------------------------------------------------------------- publishing


@dataclass(frozen=True)
class PublishedChart:
    name: str
    version: str
    source: Path  # the chart directory
    archive: Path  # the packaged .tgz (in the repo's directory)
    repo_url: str  # its archive URL in the private HTTP repo
    oci: str  # oci://127.0.0.1:PORT/charts/<name> (no tag: give the version apart)

    @property
    def repo_ref(self) -> str:
        """``charthouse/<name>``: the chart once the private repo is added under ``REPO_NAME``."""
        return f"{REPO_NAME}/{self.name}"


@dataclass(frozen=True)
class Published:
    repo: ChartServer  # the stack's private HTTP repo (username, password, token, base_url)
    registry: OciRegistry  # the stack's OCI registry (url, host, username, password, ca_file, ca_pem)
    key: GpgKey
    plain: PublishedChart
    parent: PublishedChart
    crdhook: PublishedChart
    signed: PublishedChart


def _publish_one(
    repo: ChartServer, registry: OciRegistry, binary: Path, chart: Path, sign: SignWith | None = None
) -> PublishedChart:
    url = repo.package(chart, sign=sign)
    archive = repo.www / url.rsplit("/", 1)[-1]
    pushed = registry.push(binary, archive)
    meta = yaml.safe_load((chart / "Chart.yaml").read_text())
    return PublishedChart(
        name=meta["name"], version=meta["version"], source=chart, archive=archive, repo_url=url, oci=pushed.ref
    )


def publish(stack: Stack, root: Path, key: GpgKey | None = None) -> Published:
    """Build the test charts under ``root`` and publish each to the stack's private repo and its OCI registry."""
    repo, registry, binary = stack.repo, stack.registry, stack.cfg.helm_binary
    if repo is None or registry is None:
        raise RuntimeError("the stack is not started")
    key = key or gpg_key(root / "gpg")
    plain = _publish_one(repo, registry, binary, plain_chart(root / "src"))
    parent_dir = dependent_chart(root / "src", repo.base_url)
    dependency_build(binary, parent_dir, repo, root / "helm-home")
    parent = _publish_one(repo, registry, binary, parent_dir)
    crdhook = _publish_one(repo, registry, binary, crd_hook_chart(root / "src"))
    signed = _publish_one(repo, registry, binary, plain_chart(root / "src", name="signed"), sign=key.sign_with)
    return Published(repo=repo, registry=registry, key=key, plain=plain, parent=parent, crdhook=crdhook, signed=signed)


@pytest.fixture(scope="session")
def published(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Published]:
    """The test charts in the stack's private HTTP repo and OCI registry (once per stack, i.e. per helm major)."""
    root = tmp_path_factory.mktemp("published")
    yield publish(stack, root)
    shutil.rmtree(root, ignore_errors=True)
