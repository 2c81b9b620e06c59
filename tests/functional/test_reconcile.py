"""Reconcile through the app, with moto and fake helm: out-of-band changes recorded, a lost store rebuilt, the
schedule."""

from __future__ import annotations

import boto3

from devstack.scheduler import scheduled_event
from tests.fakes import FakeHelm
from tests.functional.conftest import Api

CHART = "https://charts.example.com/demo-1.2.3.tgz"
NS = "/v1/clusters/prod/namespaces/apps/releases"


def test_reconcile_records_out_of_band_changes_and_rebuilds_a_lost_store(api: Api, helm: FakeHelm) -> None:
    from chalicelib.domain.models import InstallSpec, ReleaseRef, RollbackSpec

    api.register()
    status, op = api.call("POST", NS, {"name": "web", "chart": CHART})
    assert status == 202 and api.drain() == 1
    helm.rollback("kc", ReleaseRef("prod", "apps", "web"), RollbackSpec(revision=1))  # by hand: revision 2
    helm.install("kc", ReleaseRef("prod", "other", "byhand"), InstallSpec(chart=CHART))
    status, op = api.call("POST", "/v1/clusters/prod/reconcile", {})
    assert status == 202 and op["release"] == {"cluster": "prod", "namespace": "*", "name": "*"}
    assert api.call("POST", "/v1/clusters/prod/reconcile", {})[0] == 409  # one at a time per cluster
    api.drain()
    _, op = api.call("GET", f"/v1/operations/{op['id']}")
    assert op["status"] == "succeeded", op
    assert sorted((c["name"], c["kind"]) for c in op["result"]["changed"]) == [
        ("byhand", "installed"),
        ("web", "rolled-back"),
    ]
    _, rel = api.call("GET", f"{NS}/web?info=events")
    assert rel["revision"] == 2 and rel["changed_out_of_band"] is True and rel["events"][0]["kind"] == "rolled-back"

    # the store is lost; reconcile brings every release back with its history
    ddb = boto3.client("dynamodb")
    for item in ddb.scan(TableName="charthouse")["Items"]:
        if item["pk"]["S"].startswith("REL#"):
            ddb.delete_item(TableName="charthouse", Key={"pk": item["pk"], "sk": item["sk"]})
    assert api.call("GET", f"{NS}/web")[0] == 404
    assert api.call("POST", "/v1/clusters/prod/reconcile", {})[0] == 202
    api.drain()
    _, rel = api.call("GET", f"{NS}/web/history")
    assert [h["revision"] for h in rel["history"]] == [2, 1]
    assert api.call("GET", "/v1/clusters/prod/namespaces/other/releases/byhand")[0] == 200

    # the schedule queues one per cluster; an unknown cluster is a 404 on demand
    assert api.call("POST", "/v1/clusters/nope/reconcile", {})[0] == 404
    report = api.invoke("reconcile_clusters", scheduled_event("test/reconcile"))
    assert len(report["queued"]) == 1 and not report["failed"]
