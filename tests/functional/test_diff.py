"""``POST .../releases/{name}/diff`` and ``.../rollback/diff``: per object what would change, answered at once,
nothing applied; a ConfigMap shows exactly its changed keys, unchanged objects show nothing, Secret values never."""

from __future__ import annotations

import pytest

from chalicelib.core import catalog
from tests.fakes import FakeHelm
from tests.functional.conftest import Api
from tests.functional.test_plans import tgz

CHART = "https://charts.example.com/demo-1.2.3.tgz"
NS = "/v1/clusters/prod/namespaces/apps/releases"
FIRST = {"data": {"a": "1", "b": "2", "c": "3"}, "secret": {"password": "hunter2-old"}, "extra": ["same"]}


@pytest.fixture(autouse=True)
def chart_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """The chart URL answers an archive: a diff's plan records its digest (the catalog fetches it as helm would)."""
    monkeypatch.setattr(catalog, "fetch", lambda *args, **kwargs: tgz(version="1.2.3"))


def installed(api: Api, helm: FakeHelm) -> None:
    api.register()
    status, op = api.call("POST", NS, {"name": "web", "chart": CHART, "values": FIRST})
    assert status == 202, op
    api.drain()


def changed_lines(diff: str) -> list[str]:
    return [ln for ln in diff.splitlines() if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]


def test_upgrade_diff_shows_exactly_the_changed_keys_and_never_a_secret(api: Api, helm: FakeHelm) -> None:
    installed(api, helm)
    values = {"data": {"a": "1", "b": "20", "c": "3", "d": "4"}, "secret": {"password": "hunter2-new"}}
    status, out = api.call("POST", f"{NS}/web/diff", {"chart": CHART, "values": values})
    assert status == 200, out
    assert out["action"] == "upgrade" and out["from_revision"] == 1
    by_name = {o["name"]: o for o in out["objects"]}
    assert by_name["web-cm"]["change"] == "changed"
    assert changed_lines(by_name["web-cm"]["diff"]) == ['-  b: "2"', '+  b: "20"', '+  d: "4"']
    assert by_name["web-secret"]["change"] == "changed"
    assert "(changed)" in by_name["web-secret"]["diff"]
    assert by_name["same"]["change"] == "removed"
    assert out["summary"] == {"added": 0, "changed": 2, "removed": 1, "unchanged": 0}
    text = str(out)
    assert "hunter2" not in text
    assert len(helm.releases["prod/apps/web"]) == 1  # nothing applied
    status, hist = api.call("GET", f"{NS}/web/history")
    assert len(hist["history"]) == 1


def test_unchanged_objects_carry_no_diff(api: Api, helm: FakeHelm) -> None:
    installed(api, helm)
    status, out = api.call("POST", f"{NS}/web/diff", {"chart": CHART, "values": FIRST})
    assert status == 200, out
    assert {o["change"] for o in out["objects"]} == {"unchanged"}
    assert all("diff" not in o for o in out["objects"])


def test_diff_of_an_install_and_of_a_missing_release(api: Api, helm: FakeHelm) -> None:
    api.register()
    status, err = api.call("POST", f"{NS}/new/diff", {"chart": CHART})
    assert status == 404, err
    status, out = api.call("POST", f"{NS}/new/diff", {"chart": CHART, "install": True, "values": FIRST})
    assert status == 200, out
    assert out["action"] == "install" and {o["change"] for o in out["objects"]} == {"added"}
    assert "hunter2" not in str(out)
    assert not helm.releases.get("prod/apps/new")  # nothing installed


def test_rollback_diff_against_a_revision(api: Api, helm: FakeHelm) -> None:
    installed(api, helm)
    status, op = api.call("PUT", f"{NS}/web", {"chart": CHART, "values": {**FIRST, "data": {"a": "9"}}})
    api.drain()
    status, out = api.call("POST", f"{NS}/web/rollback/diff", {"revision": 1})
    assert status == 200, out
    assert (out["action"], out["from_revision"], out["to_revision"]) == ("rollback", 2, 1)
    cm = next(o for o in out["objects"] if o["name"] == "web-cm")
    assert changed_lines(cm["diff"]) == ['-  a: "9"', '+  a: "1"', '+  b: "2"', '+  c: "3"']
    status, err = api.call("POST", f"{NS}/web/rollback/diff", {"revision": 7})
    assert status == 422 and err["error"]["details"].get("field") == "revision", err
    assert len(helm.releases["prod/apps/web"]) == 2
