"""CCE's door: a cluster addressed by its name or the cluster_id Charthouse shows, an uploaded chart by its id, the
request's parameters and values checked naming CCE's fields, and the chart spec the door hands on."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from chalicelib import bootstrap
from chalicelib.api.routes import Ask
from chalicelib.compat import cce
from chalicelib.compat import cce_shapes as shapes
from chalicelib.errors import ChartVersionNotFound, ClusterNotFound, InvalidInput
from tests.functional.conftest import Api

ENTRY: dict[str, Any] = {"name": "hello", "version": "0.1.0", "digest": "d", "size": 1, "uploaded_at": 0.0}


class FakeRegistry:
    def __init__(self, *names: str) -> None:
        self.infos = [SimpleNamespace(name=n) for n in names]

    def get(self, name: str) -> Any:
        for info in self.infos:
            if info.name == name:
                return info
        raise ClusterNotFound(f"cluster {name} not found")

    def all(self) -> list[Any]:
        return self.infos


@pytest.fixture
def deps() -> Iterator[None]:
    fake = SimpleNamespace(
        registry=FakeRegistry("prod", "dev"),
        catalog=SimpleNamespace(uploads=SimpleNamespace(entries=lambda: [ENTRY])),
    )
    bootstrap.override(fake)  # type: ignore[arg-type]
    yield
    bootstrap.override(None)


def test_a_cluster_by_name_or_by_the_id_charthouse_shows(deps: None) -> None:
    assert cce.cluster_name("prod") == "prod"
    assert cce.cluster_name(shapes.cluster_uuid("dev")) == "dev"
    with pytest.raises(ClusterNotFound, match="no cluster nowhere"):
        cce.cluster_name("nowhere")
    unknown = cce._scope.targets(Ask({"cluster_id": "nowhere", "namespace": "apps"}, {}, {}))
    assert [(x.cluster, x.namespace) for x in unknown] == [("nowhere", "apps")]  # as given: refused as any other
    known = cce._scope.targets(Ask({"cluster_id": shapes.cluster_uuid("dev"), "namespace": "apps"}, {}, {}))
    assert [(x.cluster, x.namespace) for x in known] == [("dev", "apps")]  # the cluster the id names


def test_an_uploaded_chart_by_its_id(deps: None) -> None:
    assert cce._chart_entry(shapes.chart_uuid("hello", "0.1.0")) == ENTRY
    with pytest.raises(ChartVersionNotFound):
        cce._chart_entry(shapes.chart_uuid("hello", "9.9.9"))
    for missing in (None, "", 7):
        with pytest.raises(InvalidInput) as err:
            cce._chart_entry(missing)
        assert err.value.field == "chart_id"


def test_parameters_and_values_are_checked_naming_cces_fields() -> None:
    assert cce._parameters(None) == {} and cce._parameters({"no_hooks": True}) == {"no_hooks": True}
    for raw, field in (
        ("--dry-run", "parameters"),
        ({"bogus": 1}, "parameters.bogus"),
        ({"recreate": True}, "parameters.recreate"),
    ):
        with pytest.raises(InvalidInput) as err:
            cce._parameters(raw)
        assert err.value.field == field
    assert cce._values(None) == {} and cce._values({"a": 1}) == {"a": 1}
    with pytest.raises(InvalidInput) as err:
        cce._values("a: 1")
    assert err.value.field == "values"


def test_the_chart_spec_handed_on() -> None:
    body = {"values": {"replicas": 2}, "description": "first", "version": "0.1.0"}
    assert cce._chart_spec(ENTRY, body, {"no_hooks": True}) == {
        "chart": "uploaded/hello",
        "version": "0.1.0",
        "values": {"replicas": 2},
        "disable_hooks": True,
        "description": "first",
    }
    assert cce._chart_spec(ENTRY, {}, {}) == {"chart": "uploaded/hello", "version": "0.1.0", "values": {}}
    with pytest.raises(InvalidInput) as err:
        cce._chart_spec(ENTRY, {"version": "0.2.0"}, {})
    assert err.value.field == "version" and "0.1.0" in str(err.value)


def test_an_unknown_cluster_id_is_a_404(api: Api) -> None:
    api.register()
    status, out = api.call("GET", "/cce/cam/v3/clusters/nowhere/releases")
    assert (
        status == 404 and out["error"]["code"] == "ClusterNotFound" and "no cluster nowhere" in out["error"]["message"]
    )
