"""The cluster routes: register (201, then 200 when replaced), list, show, forget; credentials never answered."""

from __future__ import annotations

import json

from tests.emulated import KUBECONFIG
from tests.fakes import FakeHelm
from tests.functional.conftest import Api


def test_a_cluster_is_registered_listed_replaced_and_forgotten(api: Api, helm: FakeHelm) -> None:
    assert api.call("PUT", "/v1/clusters/prod", {"kubeconfig": KUBECONFIG, "description": "one"})[0] == 201
    status, again = api.call("PUT", "/v1/clusters/prod", {"kubeconfig": KUBECONFIG, "description": "two"})
    assert status == 200 and again["description"] == "two"
    status, listed = api.call("GET", "/v1/clusters")
    assert status == 200 and [c["name"] for c in listed["clusters"]] == ["prod"]
    assert "s3cr3t-token-value" not in json.dumps(listed) + json.dumps(again)  # the kubeconfig's token
    assert api.call("DELETE", "/v1/clusters/prod")[0] in (200, 202, 204)
    assert api.call("GET", "/v1/clusters/prod")[0] == 404


def test_a_bad_body_names_its_field(api: Api) -> None:
    status, out = api.call("PUT", "/v1/clusters/prod", {"kubeconfig": KUBECONFIG, "colour": "blue"})
    assert status == 422 and out["error"]["details"]["field"] == "colour"
    status, out = api.call("PUT", "/v1/clusters/Prod_1", {"kubeconfig": KUBECONFIG})
    assert status == 422 and out["error"]["details"]["field"] == "cluster"
