"""Who am I, tokens, access keys, policies and the audit log through their routes: what an admin may do and a
caller without a policy may not, secrets shown once, bad input named."""

from __future__ import annotations

from chalicelib import bootstrap
from tests.functional.conftest import Api


def test_whoami_names_the_caller_and_its_rules(api: Api) -> None:
    status, me = api.call("GET", "/v1/whoami")
    assert status == 200 and me["admin"] is True and me["rules"] == []
    nobody = bootstrap.get().tokens.create("nobody")
    status, me = api.call("GET", "/v1/whoami", token=nobody)
    assert status == 200 and me["admin"] is False and me["rules"] == []
    assert api.call("GET", "/v1/whoami", token="")[0] == 401


def test_a_token_is_shown_once_and_works_until_deleted(api: Api) -> None:
    status, created = api.call("POST", "/v1/tokens", {"name": "ci"})
    assert status == 201 and created["token"].startswith("cht_")
    status, listed = api.call("GET", "/v1/tokens")
    assert status == 200 and created["token"] not in str(listed) and "ci" in str(listed)
    assert api.call("GET", "/v1/whoami", token=created["token"])[0] == 200
    assert api.call("DELETE", "/v1/tokens/ci")[0] == 204
    assert api.call("GET", "/v1/whoami", token=created["token"])[0] == 401


def test_token_bodies_are_checked(api: Api) -> None:
    status, body = api.call("POST", "/v1/tokens", {"name": "Not_A_Label"})
    assert status == 422 and body["error"]["details"]["field"] == "name"
    status, body = api.call("POST", "/v1/tokens", {"name": "ci", "scope": "all"})
    assert status in (400, 422) and "scope" in body["error"]["message"]


def test_only_an_admin_manages_tokens_policies_and_reads_the_audit(api: Api) -> None:
    nobody = bootstrap.get().tokens.create("nobody")
    for method, path, body in (
        ("GET", "/v1/tokens", None),
        ("POST", "/v1/tokens", {"name": "mine"}),
        ("GET", "/v1/policies", None),
        ("PUT", "/v1/policies/p", {"principals": ["token:nobody"], "rules": []}),
        ("GET", "/v1/audit", None),
    ):
        status, answer = api.call(method, path, body, token=nobody)
        assert status == 403, (method, path, answer)


def test_a_policy_round_trip(api: Api) -> None:
    body = {"principals": ["token:team-a"], "rules": [{"verbs": ["read"], "clusters": ["prod"], "namespaces": ["*"]}]}
    status, created = api.call("PUT", "/v1/policies/team-a", body)
    assert status == 201 and created["name"] == "team-a"
    assert api.call("PUT", "/v1/policies/team-a", body)[0] == 200
    status, got = api.call("GET", "/v1/policies/team-a")
    assert status == 200 and got == created
    assert [p["name"] for p in api.call("GET", "/v1/policies")[1]["policies"]] == ["team-a"]
    assert api.call("DELETE", "/v1/policies/team-a")[0] == 204
    assert api.call("GET", "/v1/policies/team-a")[0] == 404


def test_access_keys_belong_to_their_owner(api: Api) -> None:
    team = bootstrap.get().tokens.create("team-a")
    status, key = api.call("POST", "/v1/access-keys", {"description": "ci signing"}, token=team)
    assert status == 201 and key["secret_key"] and key["access_key"] == key["id"]
    status, mine = api.call("GET", "/v1/access-keys", token=team)
    assert status == 200 and [k["id"] for k in mine["access_keys"]] == [key["id"]]
    assert key["secret_key"] not in str(mine)
    other = bootstrap.get().tokens.create("team-b")
    assert api.call("GET", f"/v1/access-keys/{key['id']}", token=other)[0] == 404
    assert api.call("GET", f"/v1/access-keys/{key['id']}")[0] == 200  # an admin sees every key
    assert api.call("DELETE", f"/v1/access-keys/{key['id']}", token=team)[0] == 204
    assert api.call("GET", "/v1/access-keys", token=team)[1]["access_keys"] == []


def test_the_audit_query_is_checked(api: Api) -> None:
    api.call("POST", "/v1/tokens", {"name": "ci"})
    status, page = api.call("GET", "/v1/audit?result=ok")
    assert status == 200 and "entries" in page and "next_token" in page
    assert any(e.get("route") == "/v1/tokens" for e in page["entries"])
    status, body = api.call("GET", "/v1/audit?verb=install")
    assert status in (400, 422) and "verb" in body["error"]["message"]
    status, body = api.call("GET", "/v1/audit?since=yesterday")
    assert status == 422 and body["error"]["details"]["field"] == "since"
