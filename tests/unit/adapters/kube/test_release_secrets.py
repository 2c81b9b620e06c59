"""helm's release Secrets: encoding and decoding round-trip, the Secret's name, reading a release's Secrets as helm's
CLI prints them (checked against what helm 3 and helm 4 printed for the same Secrets: ``fixtures/generate.py``),
and the read's failures mapped to ``Unreadable``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chalicelib.adapters.kube import release_secrets
from chalicelib.adapters.kube.release_secrets import StoredRelease, Unreadable

FIXTURES = Path(__file__).parent / "fixtures"
CASES = [(major, name) for major in ("helm3", "helm4") for name in ("web", "quiet")]


def _fixture(major: str, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{major}-{name}.json").read_text())
    return data


def test_release_secret_round_trip() -> None:
    release = {"name": "web", "version": 3, "info": {"status": "pending-upgrade"}}
    assert release_secrets.decode(release_secrets.encode(release)) == release
    assert release_secrets.secret_name("web", 3) == "sh.helm.release.v1.web.v3"


@pytest.mark.parametrize(("major", "name"), CASES)
def test_the_stored_release_reads_as_helm_prints_it(major: str, name: str) -> None:
    fixture = _fixture(major, name)
    stored = StoredRelease.from_secret_list(fixture["secrets"], name)
    helm = fixture["helm"]
    assert stored.history() == helm["history"]
    assert stored.notes() == helm["notes"]
    assert stored.values() == helm["values"]
    meta = stored.metadata()
    assert meta == {k: helm["metadata"][k] for k in meta}  # the major-independent fields, equal to helm's
    assert set(meta) == {"name", "chart", "version", "appVersion", "namespace", "revision", "status"}


def test_revisions_come_oldest_first_whatever_the_list_order() -> None:
    listing = _fixture("helm4", "web")["secrets"]
    listing = {**listing, "items": list(reversed(listing["items"]))}
    stored = StoredRelease.from_secret_list(listing, "web")
    assert [r["version"] for r in stored.revisions] == [1, 2, 3]
    assert stored.history()[-1]["description"] == "Rollback to 1" and stored.metadata()["revision"] == 3


def test_secrets_of_another_release_or_type_are_not_read() -> None:
    web = _fixture("helm3", "web")["secrets"]["items"]
    quiet = _fixture("helm3", "quiet")["secrets"]["items"]
    other_type = {**web[0], "type": "Opaque"}
    stored = StoredRelease.from_secret_list({"items": [*quiet, other_type, *web[1:]]}, "web")
    assert [r["version"] for r in stored.revisions] == [2, 3]


def test_no_secrets_is_an_empty_release_as_helm_prints_none() -> None:
    stored = StoredRelease.from_secret_list({"items": []}, "web")
    assert (stored.revisions, stored.history(), stored.notes(), stored.values()) == ((), [], "", None)


def test_a_revision_without_chart_or_deploy_time_prints_like_helm() -> None:
    entry = StoredRelease(({"version": 4, "info": {"status": "pending-install"}},)).history()
    assert entry == [
        {"revision": 4, "status": "pending-install", "chart": "MISSING", "app_version": "MISSING", "description": ""}
    ]


def test_a_secret_that_is_not_helms_is_a_value_error() -> None:
    item = {"type": release_secrets.RELEASE_TYPE, "metadata": {"labels": {"owner": "helm", "name": "web"}}}
    with pytest.raises(KeyError):
        StoredRelease.from_secret_list({"items": [{**item, "data": {}}]}, "web")
    with pytest.raises(ValueError):
        StoredRelease.from_secret_list({"items": [{**item, "data": {"release": "bm90IGJhc2U2NA=="}}]}, "web")


class _Response:
    def __init__(self, status: int, body: bytes, reason: str = "") -> None:
        self.status, self.reason, self._body = status, reason, body

    def read(self) -> bytes:
        return self._body


class _Api:
    """The two ApiClient calls ``read`` makes: it records the request and answers with ``response``."""

    def __init__(self, response: _Response | Exception) -> None:
        self.response = response
        self.requests: list[tuple[str, dict[str, Any]]] = []

    def __enter__(self) -> _Api:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def param_serialize(self, method: str, path: str, **kw: Any) -> tuple[str, str, dict[str, str], None, list[Any]]:
        self.requests.append((path, kw))
        url = path.replace("{namespace}", kw["path_params"]["namespace"])
        return method, url, kw["header_params"], None, []

    def call_api(self, method: str, url: str, **kw: Any) -> _Response:
        if isinstance(self.response, Exception):
            raise self.response
        return self.response


def _read_with(monkeypatch: pytest.MonkeyPatch, api: _Api) -> StoredRelease:
    monkeypatch.setattr(release_secrets, "api_client", lambda kubeconfig: api)
    return release_secrets.read("kubeconfig text", "apps", "web")


def test_read_lists_the_release_secrets_once_by_helms_labels(monkeypatch: pytest.MonkeyPatch) -> None:
    body = json.dumps(_fixture("helm4", "web")["secrets"]).encode()
    api = _Api(_Response(200, body))
    stored = _read_with(monkeypatch, api)
    assert [r["version"] for r in stored.revisions] == [1, 2, 3]
    assert len(api.requests) == 1
    path, kw = api.requests[0]
    assert path == "/api/v1/namespaces/{namespace}/secrets" and kw["path_params"] == {"namespace": "apps"}
    assert kw["query_params"] == [("labelSelector", "owner=helm,name=web")]


@pytest.mark.parametrize(
    ("response", "reason"),
    [
        (_Response(403, b'{"kind":"Status"}', "Forbidden"), "HTTP 403 Forbidden"),
        (ConnectionRefusedError("[Errno 111] Connection refused"), "ConnectionRefusedError: Connection refused"),
        (_Response(200, b"not json"), "a release Secret is not in helm's format"),
    ],
)
def test_read_failures_are_unreadable_with_a_safe_reason(
    monkeypatch: pytest.MonkeyPatch, response: _Response | Exception, reason: str
) -> None:
    with pytest.raises(Unreadable) as err:
        _read_with(monkeypatch, _Api(response))
    assert str(err.value) == reason
