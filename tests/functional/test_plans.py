"""Review, then apply exactly what was reviewed: a diff keeps a plan; ``{"plan": id}`` applies exactly its request or
is refused naming what changed (revision, chart, values), 404 for an unknown, expired or foreign plan; release
ETags and ``If-Match`` / ``If-None-Match: *`` refuse a write whose author saw another state (412, nothing changed)."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from typing import Any

import boto3
import pytest

from chalicelib import bootstrap
from chalicelib.adapters.store import plans as stored_plans
from chalicelib.core.plans import Planner
from chalicelib.core.releases import Caller
from chalicelib.domain.models import ReleaseRef, UpgradeSpec
from tests.fakes import FakeHelm
from tests.functional.conftest import BUCKET, Api

NS = "/v1/clusters/prod/namespaces/apps/releases"
CHART = "uploaded/demo"
FIRST = {"data": {"a": "1"}, "password": "hunter2-old"}
SECOND = {"data": {"a": "2"}, "password": "hunter2-new"}


def tgz(defaults: bytes = b"greeting: hi\n", version: str = "1.0.0") -> bytes:
    """A chart archive; the same content gives the same bytes (gzip's header time fixed), so the same digest."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for path, data in (
            ("demo/Chart.yaml", f"apiVersion: v2\nname: demo\nversion: {version}\n".encode()),
            ("demo/values.yaml", defaults),
        ):
            info = tarfile.TarInfo(path)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(buf.getvalue(), mtime=0)


def upload(api: Api, data: bytes, query: str = "") -> None:
    resp = api.c.http.post(f"/v1/charts{query}", headers={"Content-Type": "application/gzip", **api.auth}, body=data)
    assert resp.status_code in (200, 201), resp.json_body


@pytest.fixture
def installed(api: Api) -> Api:
    api.register()
    upload(api, tgz())
    status, op = api.call("POST", NS, {"name": "web", "chart": CHART, "values": FIRST})
    assert status == 202, op
    api.drain()
    return api


def planned(api: Api, values: dict[str, Any] = SECOND) -> dict[str, Any]:
    status, out = api.call("POST", f"{NS}/web/diff", {"chart": CHART, "values": values})
    assert status == 200, out
    return out


def history(api: Api) -> list[dict[str, Any]]:
    status, out = api.call("GET", f"{NS}/web/history")
    assert status == 200, out
    return list(out["history"])


def test_a_plan_applied_unchanged_runs_exactly_its_request(installed: Api, helm: FakeHelm) -> None:
    out = planned(installed)
    assert out["plan"]["id"].startswith("plan-") and out["plan"]["expires_at"].endswith("Z")
    view = out["values"]
    assert view["chart_defaults"] == {"greeting": "hi"}
    assert view["deployed"]["data"] == {"a": "1"} and view["proposed"]["data"] == {"a": "2"}
    assert "hunter2" not in json.dumps(out)  # masked as values are everywhere
    assert len(helm.releases["prod/apps/web"]) == 1  # nothing applied by the diff

    status, op = installed.call("PUT", f"{NS}/web", {"plan": out["plan"]["id"]})
    assert status == 202, op
    installed.drain()
    assert [h["revision"] for h in history(installed)] == [2, 1]
    assert helm.releases["prod/apps/web"][-1]["config"] == SECOND


def test_revealed_view_shows_the_values(installed: Api) -> None:
    status, out = installed.call("POST", f"{NS}/web/diff?reveal=true", {"chart": CHART, "values": SECOND})
    assert status == 200, out
    assert out["values"]["proposed"]["password"] == "hunter2-new"
    assert out["values"]["deployed"]["password"] == "hunter2-old"


def test_a_plan_after_another_upgrade_is_stale_on_its_revision(installed: Api) -> None:
    plan = planned(installed)["plan"]["id"]
    status, op = installed.call("PUT", f"{NS}/web", {"chart": CHART, "values": {"data": {"a": "3"}}})
    assert status == 202, op
    installed.drain()
    status, err = installed.call("PUT", f"{NS}/web", {"plan": plan})
    assert status == 409 and err["error"]["code"] == "PlanStale", err
    assert err["error"]["details"]["changed"] == ["revision"]
    assert len(history(installed)) == 2  # nothing more applied


def test_a_plan_after_the_chart_was_re_uploaded_is_stale_on_its_chart(installed: Api) -> None:
    plan = planned(installed)["plan"]["id"]
    upload(installed, tgz(b"greeting: hello\n"), "?overwrite=true")  # same name and version, other content
    status, err = installed.call("PUT", f"{NS}/web", {"plan": plan})
    assert status == 409 and err["error"]["details"]["changed"] == ["chart"], err
    assert len(history(installed)) == 1


def test_an_expired_unknown_or_foreign_plan_is_not_found(installed: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    plan = planned(installed)["plan"]["id"]
    status, err = installed.call("PUT", f"{NS}/other", {"plan": plan})  # made for web, not for other
    assert status == 404 and err["error"]["code"] == "PlanNotFound", err
    status, err = installed.call("POST", f"{NS}/web/rollback", {"plan": plan})  # made for an upgrade
    assert status == 404 and err["error"]["code"] == "PlanNotFound", err
    status, err = installed.call("PUT", f"{NS}/web", {"plan": "plan-" + "0" * 32})
    assert status == 404 and err["error"]["code"] == "PlanNotFound", err
    status, err = installed.call("PUT", f"{NS}/web", {"plan": plan, "chart": CHART})
    assert status == 422 and err["error"]["details"]["field"] == "chart", err
    later = stored_plans.now() + 3601
    monkeypatch.setattr(stored_plans, "now", lambda: later)
    status, err = installed.call("PUT", f"{NS}/web", {"plan": plan})
    assert status == 404 and err["error"]["code"] == "PlanNotFound", err
    assert len(history(installed)) == 1


def test_a_caller_who_may_not_upgrade_may_not_apply_a_plan(installed: Api) -> None:
    plan = planned(installed)["plan"]["id"]
    nobody = bootstrap.get().tokens.create("nobody")
    status, err = installed.call("PUT", f"{NS}/web", {"plan": plan}, token=nobody)
    assert status == 403 and err["error"]["code"] == "Forbidden", err
    assert installed.call("POST", f"{NS}/web/diff", {"chart": CHART}, token=nobody)[0] == 403
    assert len(history(installed)) == 1


def test_a_rollback_plan_applies_and_goes_stale(installed: Api, helm: FakeHelm) -> None:
    installed.call("PUT", f"{NS}/web", {"chart": CHART, "values": SECOND})
    installed.drain()
    status, out = installed.call("POST", f"{NS}/web/rollback/diff", {"revision": 1})
    assert status == 200, out
    assert out["values"]["chart_defaults"] is None and out["values"]["proposed"]["data"] == {"a": "1"}
    assert "hunter2" not in json.dumps(out)
    status, op = installed.call("POST", f"{NS}/web/rollback", {"plan": out["plan"]["id"]})
    assert status == 202, op
    installed.drain()
    assert helm.releases["prod/apps/web"][-1]["config"] == FIRST
    status, err = installed.call("POST", f"{NS}/web/rollback", {"plan": out["plan"]["id"]})
    assert status == 409 and err["error"]["details"]["changed"] == ["revision"], err


def test_an_idempotent_plan_apply_replays_its_operation(installed: Api) -> None:
    plan = planned(installed)["plan"]["id"]
    first = installed.exchange("PUT", f"{NS}/web", {"plan": plan}, Idempotency_Key="apply-1")
    assert first[0] == 202, first
    installed.drain()
    again = installed.exchange("PUT", f"{NS}/web", {"plan": plan}, Idempotency_Key="apply-1")
    assert again[0] == 202 and again[1]["id"] == first[1]["id"], again  # not PlanStale: the same request


def test_etag_changes_with_each_revision_and_if_match_refuses_a_stale_one(installed: Api) -> None:
    status, rel, headers = installed.exchange("GET", f"{NS}/web")
    assert status == 200 and headers.get("etag", "").startswith('"'), headers
    tag = headers["etag"]
    assert installed.exchange("GET", f"{NS}/web")[2]["etag"] == tag  # the same state, the same tag
    status, op, _ = installed.exchange("PUT", f"{NS}/web", {"chart": CHART, "values": SECOND}, If_Match=tag)
    assert status == 202, op
    installed.drain()
    newer = installed.exchange("GET", f"{NS}/web")[2]["etag"]
    assert newer != tag
    for method, path, body in (
        ("PUT", f"{NS}/web", {"chart": CHART, "values": FIRST}),
        ("POST", f"{NS}/web/rollback", {}),
        ("DELETE", f"{NS}/web", None),
    ):
        status, err, _ = installed.exchange(method, path, body, If_Match=tag)
        assert status == 412 and err["error"]["code"] == "PreconditionFailed", (method, err)
    assert [h["revision"] for h in history(installed)] == [2, 1]  # nothing changed
    status, op, _ = installed.exchange("POST", f"{NS}/web/rollback", {}, If_Match=newer)
    assert status == 202, op


def test_if_none_match_star_installs_only_a_new_release(installed: Api) -> None:
    status, err, _ = installed.exchange("POST", NS, {"name": "web", "chart": CHART}, If_None_Match="*")
    assert status == 412 and err["error"]["code"] == "PreconditionFailed", err
    status, op, _ = installed.exchange("POST", NS, {"name": "fresh", "chart": CHART}, If_None_Match="*")
    assert status == 202, op
    status, err, _ = installed.exchange("POST", NS, {"name": "other", "chart": CHART}, If_None_Match='"abc"')
    assert status == 422 and err["error"]["details"]["field"] == "If-None-Match", err


def test_an_upgrade_that_ends_between_the_plans_check_and_its_accept_does_not_slip_through(
    installed: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = planned(installed)["plan"]["id"]
    real = Planner.check_upgrade

    def check_then_race(self: Planner, *args: Any) -> None:
        real(self, *args)  # the plan still holds here; another upgrade ends now, before the accept
        other = UpgradeSpec.from_json({"chart": CHART, "values": {"data": {"a": "3"}}}, self.limits)
        bootstrap.get().releases.upgrade(Caller.service("test"), ReleaseRef("prod", "apps", "web"), other)
        installed.drain()

    monkeypatch.setattr(Planner, "check_upgrade", check_then_race)
    status, err = installed.call("PUT", f"{NS}/web", {"plan": plan})
    assert status == 409 and err["error"]["code"] == "PlanStale", err
    assert err["error"]["details"]["changed"] == ["revision"]
    assert [h["revision"] for h in history(installed)] == [2, 1]  # the other upgrade only
    status, ops = installed.call("GET", "/v1/operations?release=web")
    assert status == 200 and len(ops["operations"]) == 2, ops  # the install and the other upgrade: nothing else


def test_the_table_holds_no_value_of_a_plans_request(installed: Api) -> None:
    plan = planned(installed)["plan"]["id"]
    item = boto3.client("dynamodb").get_item(
        TableName="charthouse", Key={"pk": {"S": f"PLAN#{plan}"}, "sk": {"S": "META"}}
    )
    assert "Item" in item and "hunter2-new" not in json.dumps(item["Item"]) and '"2"' not in json.dumps(item["Item"])
    kept = boto3.client("s3").get_object(Bucket=BUCKET, Key=f"plans/{plan}.json")["Body"].read()
    assert json.loads(kept) == {"chart": CHART, "values": SECOND}  # apart, in the charts bucket
