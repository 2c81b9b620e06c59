"""Access records: clusters, bearer tokens, policies, repositories and uploaded charts, each under its own key."""

from __future__ import annotations

import pytest

from chalicelib.adapters.store import Store
from chalicelib.domain.models import ClusterInfo
from tests.emulated import raw_items


def cluster(name: str, **changes: object) -> ClusterInfo:
    fields: dict[str, object] = {
        "name": name,
        "auth": "token",
        "server": f"https://{name}:6443",
        "secret_id": f"charthouse/clusters/{name}",
        "description": "",
        "created_at": 1.0,
        "updated_at": 2.0,
        **changes,
    }
    return ClusterInfo(**fields)  # type: ignore[arg-type]


def test_clusters_put_get_list_delete(store: Store) -> None:
    for name in ("prod", "dev", "eks"):
        store.put_cluster(
            cluster(name, **({"auth": "eks", "eks": {"name": "e", "region": "eu-west-1"}} if name == "eks" else {}))
        )
    assert store.get_cluster("eks") == cluster("eks", auth="eks", eks={"name": "e", "region": "eu-west-1"})
    assert [c.name for c in store.list_clusters()] == ["dev", "eks", "prod"]
    store.put_cluster(cluster("dev", description="replaced"))
    assert store.get_cluster("dev") == cluster("dev", description="replaced")
    store.delete_cluster("dev")
    assert store.get_cluster("dev") is None and [c.name for c in store.list_clusters()] == ["eks", "prod"]


def test_tokens_are_found_by_hash_and_listed_by_exact_name(store: Store) -> None:
    store.put_token("h1", "ci", {"name": "ci", "hash": "h1"})
    store.put_token("h2", "ci-nightly", {"name": "ci-nightly", "hash": "h2"})
    assert store.get_token("h1") == {"name": "ci", "hash": "h1"}
    assert store.get_token("h3") is None
    assert store.list_tokens("ci") == [{"name": "ci", "hash": "h1"}]  # not ci-nightly, whose name begins alike
    assert [t["name"] for t in store.list_tokens()] == ["ci", "ci-nightly"]
    store.delete_token("h1")
    assert store.get_token("h1") is None and store.list_tokens("ci") == []


def test_policies_put_get_list_delete(store: Store) -> None:
    store.put_policy("readers", {"name": "readers", "rules": []})
    store.put_policy("admins", {"name": "admins", "rules": [{"verbs": ["*"]}]})
    assert store.get_policy("readers") == {"name": "readers", "rules": []}
    assert [p["name"] for p in store.list_policies()] == ["admins", "readers"]
    store.delete_policy("readers")
    assert store.get_policy("readers") is None and [p["name"] for p in store.list_policies()] == ["admins"]


def test_repositories_put_get_list_delete(store: Store) -> None:
    store.put_repository("stable", {"name": "stable", "url": "https://charts.example"})
    store.put_repository("stable", {"name": "stable", "url": "https://charts.example/v2"})
    assert store.get_repository("stable") == {"name": "stable", "url": "https://charts.example/v2"}
    assert store.list_repositories() == [{"name": "stable", "url": "https://charts.example/v2"}]
    store.delete_repository("stable")
    assert store.get_repository("stable") is None and store.list_repositories() == []


def test_uploaded_charts_are_kept_per_version_and_listed_per_chart(store: Store) -> None:
    for name, version in [("web", "1.0.0"), ("web", "1.1.0"), ("web-extra", "0.1.0")]:
        store.put_uploaded_chart(name, version, {"name": name, "version": version})
    assert store.get_uploaded_chart("web", "1.1.0") == {"name": "web", "version": "1.1.0"}
    assert store.get_uploaded_chart("web", "2.0.0") is None
    assert [e["version"] for e in store.list_uploaded_charts("web")] == ["1.0.0", "1.1.0"]
    assert len(store.list_uploaded_charts()) == 3
    store.delete_uploaded_chart("web", "1.0.0")
    assert [e["version"] for e in store.list_uploaded_charts("web")] == ["1.1.0"]


@pytest.mark.parametrize("count", [0, 3])
def test_kinds_of_record_never_mix(store: Store, count: int) -> None:
    for i in range(count):
        store.put_token(f"h{i}", f"n{i}", {"name": f"n{i}"})
        store.put_policy(f"n{i}", {"name": f"n{i}"})
        store.put_repository(f"n{i}", {"name": f"n{i}"})
        store.put_uploaded_chart(f"n{i}", "1.0.0", {"name": f"n{i}"})
        store.put_cluster(cluster(f"n{i}"))
    listed = [store.list_tokens(), store.list_policies(), store.list_repositories(), store.list_uploaded_charts()]
    assert [len(docs) for docs in listed] == [count] * 4 and len(store.list_clusters()) == count
    assert len(raw_items()) == 5 * count + (1 if count else 0)  # + the repositories' version, once one was written


def test_every_repository_write_bumps_the_version(store: Store) -> None:
    assert store.repositories_version() == (0, 0.0)
    store.put_repository("a", {"name": "a"})
    store.put_repository("a", {"name": "a", "url": "x"})
    store.delete_repository("a")
    version, bumped_at = store.repositories_version()
    assert version == 3 and bumped_at > 0 and store.get_repository("a") is None


def test_access_keys_are_listed_per_owner_and_signatures_claimed_once(store: Store) -> None:
    store.put_access_key("CHAK1", "token:a", {"id": "CHAK1", "owner": "token:a"})
    store.put_access_key("CHAK2", "token:ab", {"id": "CHAK2", "owner": "token:ab"})
    assert store.get_access_key("CHAK1") == {"id": "CHAK1", "owner": "token:a"}
    assert [d["id"] for d in store.list_access_keys("token:a")] == ["CHAK1"]  # not token:ab's
    assert {d["id"] for d in store.list_access_keys()} == {"CHAK1", "CHAK2"}
    store.delete_access_key("CHAK1")
    assert store.get_access_key("CHAK1") is None
    assert store.claim_signature("f" * 64, 2_000_000_000) is True
    assert store.claim_signature("f" * 64, 2_000_000_000) is False
