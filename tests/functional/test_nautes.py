"""Nautes' deployment runtime API on a runtime: the seed's example request (a local repository and environment)
creates a runtime that syncs; list, get, the fixed destination, delete."""

from __future__ import annotations

from tests.fakes import FakeGit, FakeHelm
from tests.functional.conftest import Api

URL = "https://git.example.com/nautes/api-server.git"
DR = "/api/v1/products/nautes-labs/deploymentruntimes"
SEED = {  # the seed's example, as sent
    "projects_ref": ["api-server"],
    "manifest_source": {"code_repo": "api-server", "target_revision": "HEAD", "path": "manifests/development"},
    "destination": {"environment": "env-dev", "namespaces": ["dr-dev"]},
}
MANIFEST = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: '1'\n"


def settle(api: Api) -> None:
    while api.drain():
        pass


def test_the_seed_request_creates_a_runtime_that_syncs(api: Api, helm: FakeHelm, git: FakeGit) -> None:
    api.register("env-dev")
    git.commit(URL, {"manifests/development/settings.yaml": MANIFEST})
    status, err = api.call("POST", f"{DR}/dr-dev", SEED)
    assert status == 404 and "api-server" in err["error"]["message"], err  # the code repository is not registered
    status, repo = api.call(
        "PUT", "/v1/git-repositories/api-server", {"url": URL, "username": "u", "password": "p-123456"}
    )
    assert status == 201 and repo["credentials"] is True and "p-123456" not in str(repo), repo
    git.credentials[URL] = {"username": "u", "password": "p-123456"}

    status, out = api.call("POST", f"{DR}/dr-dev?insecure_skip_check=true", SEED)
    assert status == 200, out
    assert out == {"product": "nautes-labs", "name": "dr-dev", **SEED}
    settle(api)
    status, rt = api.call("GET", "/v1/runtimes/nautes-labs-dr-dev")
    assert rt["status"]["phase"] == "synced", rt["status"]
    assert rt["status"]["releases"]["dr-dev/nautes-labs-dr-dev"]["state"] == "synced"  # the manifests: one release
    assert (
        helm.releases["env-dev/dr-dev/nautes-labs-dr-dev"][-1]["chart"]["metadata"]["name"]
        == "nautes-labs-dr-dev-manifests"
    )

    status, listed = api.call("GET", DR)
    assert status == 200 and listed == {"items": [out]}
    assert api.call("GET", "/api/v1/products/other/deploymentruntimes")[1] == {"items": []}
    assert api.call("GET", f"{DR}/dr-dev")[1] == out
    moved = {**SEED, "destination": {"environment": "env-dev", "namespaces": ["elsewhere"]}}
    status, err = api.call("POST", f"{DR}/dr-dev", moved)
    assert status == 409, err
    assert api.call("DELETE", "/v1/git-repositories/api-server")[0] == 409

    status, _ = api.call("DELETE", f"{DR}/dr-dev")
    assert status == 200
    settle(api)
    assert not helm.releases.get("env-dev/dr-dev/nautes-labs-dr-dev")
    assert api.call("GET", f"{DR}/dr-dev")[0] == 404
    assert api.call("DELETE", "/v1/git-repositories/api-server")[0] == 204
