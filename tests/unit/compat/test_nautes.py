"""Nautes' deployment runtime shape, translated both ways (pure), and what the door refuses: bad bodies named in
Nautes' fields, a runtime declared through /v1 is no Nautes runtime, another product's runtime is not found."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.compat import nautes
from chalicelib.errors import InvalidInput
from tests.functional.conftest import Api

DR = "/api/v1/products/nautes-labs/deploymentruntimes"
SEED: dict[str, Any] = {
    "projects_ref": ["api-server"],
    "manifest_source": {"code_repo": "api-server", "target_revision": "v1.2", "path": "manifests/dev"},
    "destination": {"environment": "env-dev", "namespaces": ["dr-dev"]},
}


def test_a_deployment_runtime_becomes_a_pruning_runtime_on_a_registered_repository() -> None:
    assert nautes.to_runtime("dr-dev", SEED) == {
        "source": {"git": {"repository": "api-server", "revision": "v1.2", "path": "manifests/dev"}},
        "destination": {"cluster": "env-dev", "namespaces": ["dr-dev"]},
        "sync": {"prune": True},
    }
    bare = {"manifest_source": {"code_repo": "api-server"}, "destination": {"environment": "env-dev"}}
    runtime = nautes.to_runtime("dr-dev", bare)
    assert runtime["source"]["git"]["revision"] == "HEAD" and runtime["source"]["git"]["path"] == ""
    assert runtime["destination"]["namespaces"] == ["dr-dev"]  # the runtime's name by default


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**SEED, "manifest_source": "api-server"}, "manifest_source"),
        ({**SEED, "destination": None}, "destination"),
        ({**SEED, "manifest_source": {"code_repo": "Not A Repo"}}, "manifest_source.code_repo"),
        ({**SEED, "destination": {"environment": ""}}, "destination.environment"),
        ({**SEED, "destination": {"environment": "e", "cluster": "x"}}, "destination.cluster"),
        ({**SEED, "extra": 1}, "extra"),
    ],
)
def test_bad_bodies_name_the_nautes_field(body: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        nautes.to_runtime("dr-dev", body)
    assert err.value.field == field


def test_the_runtime_shown_in_nautes_shape() -> None:
    runtime = {
        "origin": {"api": "nautes", "product": "nautes-labs", "name": "dr-dev", "projects_ref": ["api-server"]},
        "source": {"git": {"repository": "api-server", "revision": "v1.2", "path": "manifests/dev"}},
        "destination": {"cluster": "env-dev", "namespaces": ["dr-dev"]},
    }
    assert nautes.to_item(runtime) == {"product": "nautes-labs", "name": "dr-dev", **SEED}


def test_names_join_product_and_runtime() -> None:
    assert nautes.runtime_name("nautes-labs", "dr-dev") == "nautes-labs-dr-dev"
    for product, name, field in (
        ("Bad_Product", "x", "product"),
        ("p", "x" * 64, "name"),
        ("p" * 40, "n" * 30, "name"),
    ):
        with pytest.raises(InvalidInput) as err:
            nautes.runtime_name(product, name)
        assert err.value.field == field


def test_only_runtimes_declared_through_nautes_in_that_product_are_found(api: Api) -> None:
    api.register("env-dev")
    api.call("PUT", "/v1/git-repositories/api-server", {"url": "https://git.example.com/n/api.git"})
    body = {"source": {"git": {"repository": "api-server"}}, "destination": {"cluster": "env-dev", "namespaces": ["a"]}}
    assert api.call("PUT", "/v1/runtimes/nautes-labs-dr-dev", body)[0] == 201  # the same name, through /v1
    status, out = api.call("GET", f"{DR}/dr-dev")
    assert status == 404 and "not found in product nautes-labs" in out["error"]["message"]
    assert api.call("GET", DR)[1] == {"items": []}
    status, out = api.call("POST", f"{DR}/dr-dev", {**SEED, "projects_ref": "api-server"})
    assert status == 422 and out["error"]["details"]["field"] == "projects_ref"
