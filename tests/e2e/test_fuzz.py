"""Property-based fuzzing of the live HTTP API against its own OpenAPI document (schemathesis).

The contract under test (reliability issue): **no 5xx response, and every 4xx carries the error JSON**
``{"error": {"code": str, "message": str, "details": object}}``; besides, every status code, content type, header
and body matches what ``GET /v1/openapi.json`` documents.

How it runs
-----------
* Its own throwaway stack for this module (helm 4, one worker, free loopback ports, a temp dir), so the other
  end-to-end modules and their shared ``stack`` fixture are not disturbed.
* The schema is the document the running API serves (``GET /v1/openapi.json``, loaded with
  ``schemathesis.openapi.from_dict``). Every operation is fuzzed, mutating ones included, with schemathesis's
  coverage phase (a finite, deterministic set of boundary, type-confusion, content-type and undeclared-method cases,
  positive and negative) and its fuzzing phase (``MAX_EXAMPLES`` Hypothesis examples per operation, positive and
  negative). Derandomized, no example database, no feedback from responses into generation: CI generates the same
  requests on every run. No shrinking: a failure is reported with the exact request that produced it (schemathesis
  prints a curl line), which also keeps a failing run bounded.
* Checks on every response: schemathesis's ``not_a_server_error``, ``status_code_conformance``,
  ``content_type_conformance``, ``response_schema_conformance`` and ``response_headers_conformance``, plus ours,
  ``error_body_on_errors``: every response >= 400 is JSON with ``error.code`` (str), ``error.message`` (str) and
  ``error.details`` (object).
* Generated path parameters are sometimes steered (by a CRC of the generated value, so deterministically) to
  things that exist: the cluster ``local``, the namespace ``default``, the release ``web`` (installed and upgraded
  before fuzzing) and an operation id, so the fuzzer also reaches the code behind the 404s.
* At the end, the number of requests and the statuses per operation are printed.

Loopback only: how the fuzzer is kept from making the service connect anywhere else
-------------------------------------------------------------------------------------
This machine may send traffic to loopback only. The service opens connections to addresses taken from requests
in exactly these places (read from chalicelib): the ``chart`` URL of install/upgrade (fetched at once for a dry
run, otherwise in the worker; ``oci://`` references name a host too); the ``url`` of ``PUT /v1/repositories/{r}``
(its index is fetched at once, and the archive URLs inside that index by later shows and installs: they come from
the loopback server the URL was rewritten to); the ``server`` of ``PUT /v1/clusters/{c}`` (token form) and every
``server`` inside its ``kubeconfig`` (used later by probes, namespaces, dry runs, ``info=`` reads, unlock and the
worker); and EKS registrations (AWS calls). Everything else is used locally (a ``name_template`` is rendered by
``helm template``, which never contacts a cluster and has DNS lookups off unless ``--enable-dns``, which the
service never passes).

1. ``prepare()`` rewrites, in every generated body just before it is sent, any ``chart``, any repository ``url``
   and any ``server`` (top level, or at any depth of a ``kubeconfig`` given as an object or as YAML text) that
   could name a host into a fixed loopback URL: the stack's own example chart
   (``http://127.0.0.1:<charts>/hello-0.1.0.tgz``), the chart server itself as a repository
   (``http://127.0.0.1:<charts>``, which serves an index.yaml) or the stack's own kube-apiserver
   (``https://127.0.0.1:<kube>``). "Could name a host" is decided conservatively: the
   value, NFKC-normalized, with every whitespace/control character removed and backslashes read as slashes,
   contains ``//``. Without ``//`` there is no authority: ``urlsplit`` finds no hostname, so
   ``validate.chart_url`` refuses it, and ``clusters._server`` requires ``https://``; both answer 422 before any
   connection. Values that cannot name a host are sent as generated, so validation is still fuzzed.
2. Independently of (1), the requests session refuses to send anything whose URL is not the stack's API on
   127.0.0.1, or whose body, parsed as the API parses it (``json.loads``; ``yaml.safe_load`` for a kubeconfig
   text), holds a ``chart``/``server`` value that could name a host and is not one of the fixed loopback URLs. It
   ignores proxy settings from the environment. A refusal fails the test loudly instead of sending.
3. EKS: the API, the worker and the scheduler run with ``AWS_ENDPOINT_URL`` pointing at the stack's moto server on
   127.0.0.1 (asserted below, with the absence of per-service endpoint overrides but DynamoDB's and its stream's, which are
   the stack's DynamoDB Local on 127.0.0.1), so a fuzzed EKS registration can
   only ever reach moto (which knows no EKS cluster: such a cluster is simply unreachable).

Clusters registered by the fuzzer carry fuzzed credentials for a (rewritten, loopback) server, so a request
addressed to one of them may rightly answer 502 ``ClusterUnreachable``/``ClusterAuthFailed``, as documented. Only
that exact case is dropped from ``not_a_server_error`` (``filter_failure`` below); the clusters the fuzzer is
steered to are healthy and the chart exists, so any other 5xx is a finding. ``PUT /v1/clusters/{c}`` is never
steered to ``local`` (it goes to ``spare``), and ``DELETE /v1/clusters/local`` is sent without ``force``, so the
seeded state survives for the operations fuzzed after them.
"""

from __future__ import annotations

import collections
import json
import re
import shutil
import time
import unicodedata
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import schemathesis
import yaml
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, ServerError
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from devstack.stack import Stack, StackConfig, request
from tests.e2e.conftest import HELMS

pytestmark = pytest.mark.e2e

MAX_EXAMPLES = 20  # fuzzing-phase examples per operation (the coverage phase adds its own finite set)
REQUEST_TIMEOUT_S = 120
NAME_OK = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
UPSTREAM_CODES = ("ClusterUnreachable", "ClusterAuthFailed")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


# ---------------------------------------------------------------- loopback only


def _could_name_a_host(value: object) -> bool:
    """Whether a string could carry an authority (``scheme://host``) by any reading of it. Conservative."""
    if not isinstance(value, str):
        return False
    text = unicodedata.normalize("NFKC", value).replace("\\", "/")
    squashed = "".join(c for c in text if not c.isspace() and not unicodedata.category(c).startswith("C"))
    return "//" in squashed


def _kubeconfig_servers(doc: Any) -> list[tuple[dict[str, Any], str]]:
    """Every (mapping, key) whose key is ``server``, at any depth (YAML aliases and cycles included)."""
    found: list[tuple[dict[str, Any], str]] = []
    seen: set[int] = set()
    todo = [doc]
    while todo:
        node = todo.pop()
        if not isinstance(node, (dict, list)) or id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, dict):
            found += [(node, key) for key in node if key == "server"]
            todo += list(node.values())
        else:
            todo += node
    return found


def _parse_kubeconfig(raw: Any) -> Any:
    if isinstance(raw, str):
        try:
            return yaml.safe_load(raw)
        except Exception:  # noqa: BLE001 - the API fails on it too, before any connection
            return None
    return raw


@dataclass
class Targets:
    """Fixed loopback addresses the fuzzer may use, and things that exist on the stack."""

    api: str
    chart: str  # the stack's example chart, on 127.0.0.1
    kube_server: str  # the stack's kube-apiserver, https://127.0.0.1:<port>
    repository: str = ""  # a chart repository (index.yaml) on 127.0.0.1: the stack's example chart server
    operation_id: str = ""
    token: str = ""  # the stack's admin bearer token: every request is made as the admin

    @property
    def loopback_values(self) -> frozenset[str]:
        return frozenset({self.chart, self.kube_server, self.repository})


class UnsafeRequest(AssertionError):
    pass


def assert_loopback_only(targets: Targets, url: str, body: bytes | str | None) -> None:
    """The backstop: refuse a request that could make the service connect anywhere but 127.0.0.1."""
    api = urlsplit(targets.api)
    parts = urlsplit(url)
    if (parts.scheme, parts.hostname, parts.port) != (api.scheme, api.hostname, api.port):
        raise UnsafeRequest(f"refusing to send a request to {url!r}: only the stack's API at {targets.api}")
    if body is None:
        return
    try:
        data = json.loads(body)  # exactly what api._body does
    except (ValueError, UnicodeDecodeError):
        return  # refused by the API as "not valid JSON"
    if not isinstance(data, dict):
        return  # refused by the API: the body must be an object
    values = [data.get("chart"), data.get("server"), data.get("url")]
    values += [m[k] for m, k in _kubeconfig_servers(_parse_kubeconfig(data.get("kubeconfig")))]
    for value in values:
        if _could_name_a_host(value) and value not in targets.loopback_values:
            raise UnsafeRequest(f"refusing to send {value!r}: it could make the service connect off loopback")


class LoopbackOnlySession(requests.Session):
    """A requests session that runs ``assert_loopback_only`` on everything it sends (redirects included)."""

    def __init__(self, targets: Targets) -> None:
        super().__init__()
        self.targets = targets
        self.trust_env = False  # no proxies from the environment
        if targets.token:
            self.headers["Authorization"] = f"Bearer {targets.token}"
        self.sent = 0

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        assert_loopback_only(self.targets, str(request.url), request.body)
        self.sent += 1
        return super().send(request, **kwargs)


def _rewrite_body(body: Any, targets: Targets) -> tuple[Any, int]:
    """Point every chart/server that could name a host at a fixed loopback URL (see the module docstring).

    Returns the body to send and how many values were rewritten."""
    if not isinstance(body, dict):
        return body, 0
    body, count = dict(body), 0
    if _could_name_a_host(body.get("chart")):
        body["chart"], count = targets.chart, count + 1
    if _could_name_a_host(body.get("server")):
        body["server"], count = targets.kube_server, count + 1
    if _could_name_a_host(body.get("url")):
        body["url"], count = targets.repository, count + 1
    if "kubeconfig" in body:
        raw = body["kubeconfig"]
        doc = _parse_kubeconfig(raw)
        spots = [(m, k) for m, k in _kubeconfig_servers(doc) if _could_name_a_host(m[k])]
        if spots:
            for mapping, key in spots:
                mapping[key] = targets.kube_server
            body["kubeconfig"] = yaml.safe_dump(doc) if isinstance(raw, str) else doc
            count += len(spots)
    return body, count


# ---------------------------------------------------------------- steering to things that exist


def _pick(value: object, n: int) -> int:
    return zlib.crc32(repr(value).encode()) % n


def _valid_name(value: object) -> bool:
    return isinstance(value, str) and re.fullmatch(NAME_OK, value) is not None


def prepare(case: schemathesis.Case, targets: Targets) -> int:
    """Steer some path parameters to existing things; make the body loopback-only (returns how many values it
    rewrote for that). Deterministic: a function of the generated case only."""
    label = case.operation.label
    params = case.path_parameters if isinstance(case.path_parameters, dict) else None
    if params:
        cluster = params.get("cluster")
        if _valid_name(cluster) and _pick(cluster, 3) == 0:
            if label == "PUT /v1/clusters/{cluster}":
                params["cluster"] = "spare"  # never overwrite local's credentials with fuzzed ones
            else:
                params["cluster"] = "local"
                if label == "DELETE /v1/clusters/{cluster}" and isinstance(case.query, dict):
                    case.query.pop("force", None)  # 409 (it has releases), and local survives
        if _valid_name(params.get("namespace")) and _pick(params["namespace"], 2) == 0:
            params["namespace"] = "default"
        if _valid_name(params.get("name")) and _pick(params["name"], 2) == 0:
            params["name"] = "web"
        if "operation_id" in params and _pick(params["operation_id"], 2) == 0:
            params["operation_id"] = targets.operation_id
        if params.get("token") == "admin":
            params["token"] = "not-the-admin"  # the fuzzer acts as the admin: keep its token
    if isinstance(case.body, dict) and _valid_name(case.body.get("name")) and _pick(case.body["name"], 3) == 0:
        case.body = {**case.body, "name": "web"}
    case.body, rewritten = _rewrite_body(case.body, targets)
    return rewritten


# ---------------------------------------------------------------- our own check


def error_body_on_errors(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> None:
    """Every response >= 400 carries {"error": {"code": str, "message": str, "details": object}}."""
    if response.status_code < 400:
        return
    try:
        data = json.loads(response.content)
    except ValueError:
        raise AssertionError(f"{response.status_code} body is not JSON: {response.content[:300]!r}") from None
    error = data.get("error") if isinstance(data, dict) else None
    ok = (
        isinstance(error, dict)
        and isinstance(error.get("code"), str)
        and isinstance(error.get("message"), str)
        and isinstance(error.get("details"), dict)
    )
    assert ok, f"{response.status_code} body is not the error JSON: {response.content[:300]!r}"


# ---------------------------------------------------------------- the ledger


@dataclass
class Ledger:
    statuses: dict[str, collections.Counter[int]] = field(
        default_factory=lambda: collections.defaultdict(collections.Counter)
    )
    fuzz_clusters: set[str] = field(default_factory=set)  # registered by the fuzzer, with fuzzed credentials
    dropped_502: int = 0
    rewritten: int = 0  # chart/server values pointed back at loopback before sending

    def record(self, case: schemathesis.Case, status: int) -> None:
        self.statuses[case.operation.label][status] += 1
        if case.operation.label == "PUT /v1/clusters/{cluster}" and status in (200, 201):
            self.fuzz_clusters.add(str(case.path_parameters["cluster"]))  # type: ignore[index]

    def summary(self, sent: int) -> list[str]:
        lines = [
            f"fuzz: {sent} requests sent, {sum(sum(c.values()) for c in self.statuses.values())} checked, "
            f"{self.rewritten} chart/server values pointed at loopback, "
            f"{self.dropped_502} documented 502s from fuzz-registered clusters accepted"
        ]
        for label, counter in self.statuses.items():
            lines.append(f"  {label}: " + ", ".join(f"{s}x{n}" for s, n in sorted(counter.items())))
        return lines


# ---------------------------------------------------------------- fixtures


def _seed(stack: Stack, targets: Targets) -> None:
    """A second healthy cluster for PUT to overwrite, and a release with two revisions on local/default."""
    body = {"server": stack.kube.server, "ca_data": stack.kube.ca_pem(), "token": stack.kube.token()}
    status, data = request("PUT", f"{stack.api}/v1/clusters/spare", body)
    assert status in (200, 201), data
    rel = f"{stack.api}/v1/clusters/local/namespaces/default/releases"
    for method, url, payload in (
        ("POST", rel, {"name": "web", "chart": targets.chart}),
        ("PUT", f"{rel}/web", {"chart": targets.chart, "set": ["greeting=again"]}),
    ):
        status, op = request(method, url, payload)
        assert status == 202, op
        deadline = time.monotonic() + 120
        while op["status"] not in ("succeeded", "failed") and time.monotonic() < deadline:
            time.sleep(0.2)
            _, op = request("GET", f"{stack.api}/v1/operations/{op['id']}")
        assert op["status"] == "succeeded", op
        targets.operation_id = op["id"]


@pytest.fixture(scope="module")
def fuzz_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    binary = HELMS["helm4"]
    if not binary.exists():
        pytest.fail(f"{binary} is missing: run layers/helm/build.sh (make test does)")
    cfg = StackConfig.isolated(tmp_path_factory.mktemp("stack-fuzz"), binary, workers=1)
    with Stack(cfg) as running:
        yield running
    shutil.rmtree(cfg.state_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def targets(fuzz_stack: Stack) -> Targets:
    env = fuzz_stack.env()
    # (3) of the docstring: every AWS call of the API and the worker goes to the stack's moto or DynamoDB Local on
    # loopback
    assert urlsplit(env["AWS_ENDPOINT_URL"]).hostname == "127.0.0.1", env["AWS_ENDPOINT_URL"]
    local_dynamodb = ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_DYNAMODB_STREAMS")  # DynamoDB Local and its stream
    for name in local_dynamodb:
        assert urlsplit(env[name]).hostname == "127.0.0.1", env[name]
    overrides = [
        k
        for k in env
        if (k.startswith("AWS_ENDPOINT_URL_") and k not in local_dynamodb) or k == "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"
    ]
    assert not overrides, f"per-service AWS endpoint settings would bypass the loopback emulators: {overrides}"
    assert fuzz_stack.charts is not None
    t = Targets(
        api=fuzz_stack.api,
        chart=fuzz_stack.example_charts["hello"],
        kube_server=fuzz_stack.kube.server,
        repository=fuzz_stack.charts.base_url,
        token=fuzz_stack.token,
    )
    assert urlsplit(t.chart).hostname == "127.0.0.1" and urlsplit(t.kube_server).hostname == "127.0.0.1"
    _seed(fuzz_stack, t)
    return t


@pytest.fixture(scope="module")
def ledger() -> Ledger:
    return Ledger()


@pytest.fixture(scope="module")
def session(targets: Targets, ledger: Ledger, request: pytest.FixtureRequest) -> Iterator[LoopbackOnlySession]:
    with LoopbackOnlySession(targets) as s:
        yield s
    # what was sent, per operation and status, on the terminal (outside pytest's output capture)
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line("")
            for line in ledger.summary(s.sent):
                reporter.write_line(line)


@pytest.fixture(scope="module")
def api_schema(targets: Targets, ledger: Ledger) -> schemathesis.BaseSchema:
    config = schemathesis.Config.from_dict(
        {
            "base-url": targets.api,
            "suppress-health-check": ["all"],
            "output": {"sanitization": {"enabled": False}},  # fuzzed values, no secrets: show failures as sent
            "generation": {
                "mode": "all",
                "max-examples": MAX_EXAMPLES,
                "deterministic": True,
                "no-shrink": True,
                "database": "none",
            },
            "phases": {
                "examples": {"enabled": True},  # none in the document today; any added later are sent too
                # Undeclared methods: the ones Chalice routes (its 405 MethodNotAllowedError comes from the app's own
                # runtime, so it must carry the error JSON too). Not TRACE/OPTIONS/HEAD: chalice local's http.server
                # answers those itself (TRACE: a 501 HTML page), which is neither chalicelib nor what is deployed.
                "coverage": {
                    "enabled": True,
                    "extra-data-sources": {"responses": False},
                    "unexpected-methods": ["get", "put", "post", "delete", "patch"],
                },
                "fuzzing": {
                    "enabled": True,
                    "extra-data-sources": {"responses": False},
                    "error-feedback": {"enabled": False},
                },
                "stateful": {"enabled": False},
            },
        }
    )
    # the document the running API serves (from_dict rather than from_url: from_url leaves out the operation that
    # serves the document itself, and GET /v1/openapi.json is part of the contract too)
    with LoopbackOnlySession(targets) as s:
        served = s.get(f"{targets.api}/v1/openapi.json", timeout=REQUEST_TIMEOUT_S)
    assert served.status_code == 200, served.text[:500]
    schema = schemathesis.openapi.from_dict(served.json(), config=config)

    @schema.hook
    def filter_failure(context: Any, failure: Failure, case: schemathesis.Case, response: Any) -> bool:
        """Keep every failure but a documented 502 for a cluster the fuzzer registered with fuzzed credentials."""
        if not isinstance(failure, ServerError) or response.status_code != 502:
            return True
        try:
            code = json.loads(response.content)["error"]["code"]
        except (ValueError, KeyError, TypeError):
            return True
        cluster = (case.path_parameters or {}).get("cluster")
        if code in UPSTREAM_CODES and cluster in ledger.fuzz_clusters:
            ledger.dropped_502 += 1
            return False
        return True

    return schema


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
def test_api_matches_its_openapi_document(
    case: schemathesis.Case, targets: Targets, session: LoopbackOnlySession, ledger: Ledger
) -> None:
    ledger.rewritten += prepare(case, targets)
    response = case.call(base_url=targets.api, session=session, timeout=REQUEST_TIMEOUT_S)
    ledger.record(case, response.status_code)
    case.validate_response(
        response,
        checks=CHECKS,
        additional_checks=[error_body_on_errors],
        transport_kwargs={"base_url": targets.api, "session": session, "timeout": REQUEST_TIMEOUT_S},
    )


def test_loopback_guard_refuses_other_hosts() -> None:
    """The backstop itself: no fuzzed value that could name a host gets past it, whatever its spelling."""
    t = Targets(
        api="http://127.0.0.1:8000",
        chart="http://127.0.0.1:8079/hello-0.1.0.tgz",
        kube_server="https://127.0.0.1:6443",
        repository="http://127.0.0.1:8079",
    )
    ok = [
        None,
        b"",
        b"not json",
        b"[1]",
        b'{"chart": "no-host-here"}',
        b'{"server": "https:/x"}',
        json.dumps({"chart": t.chart, "server": t.kube_server}).encode(),
        json.dumps({"kubeconfig": "clusters: [{cluster: {server: 'https://127.0.0.1:6443'}}]"}).encode(),
    ]
    for body in ok:
        assert_loopback_only(t, "http://127.0.0.1:8000/v1/x", body)
    bad = [
        {"chart": "http://example.com/c.tgz"},
        {"chart": "HTTP://10.0.0.1/c.tgz"},
        {"chart": "http:/\t/evil/c"},
        {"chart": "http:\\\\evil\\c"},
        {"chart": "http:／／evil/c"},
        {"server": "https://192.168.1.1:6443"},
        {"kubeconfig": {"clusters": [{"name": "c", "cluster": {"server": "https://evil:6443"}}]}},
        {"kubeconfig": "clusters:\n- cluster: {server: 'https://evil:6443'}\n"},
        {"url": "https://evil/charts"},
        {"url": "oci://10.0.0.1/charts"},
    ]
    for payload in bad:
        with pytest.raises(UnsafeRequest):
            assert_loopback_only(t, "http://127.0.0.1:8000/v1/x", json.dumps(payload).encode())
        rewritten, count = _rewrite_body(payload, t)
        assert count == 1
        assert_loopback_only(t, "http://127.0.0.1:8000/v1/x", json.dumps(rewritten).encode())
    with pytest.raises(UnsafeRequest):
        assert_loopback_only(t, "http://10.1.2.3:8000/v1/x", None)
    assert LoopbackOnlySession(t).trust_env is False  # proxy variables from the environment are ignored
