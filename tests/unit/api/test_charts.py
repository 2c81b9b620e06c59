"""The repository and chart routes: the built-in ``uploaded`` repository, an upload (the archive as the body, or a
presigned slot), search with paging tokens that cannot be forged into a 500, show and delete with their fields
checked, and who may upload."""

from __future__ import annotations

import base64
import io
import json
import tarfile
from typing import Any

import pytest

from chalicelib import bootstrap
from chalicelib.api.charts import _offset
from chalicelib.errors import InvalidInput
from tests.functional.conftest import Api


def tgz(name: str = "demo", version: str = "1.0.0") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for path, data in (
            (f"{name}/Chart.yaml", f"apiVersion: v2\nname: {name}\nversion: {version}\n".encode()),
            (f"{name}/values.yaml", b"greeting: hi\n"),
        ):
            info = tarfile.TarInfo(path)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def upload(api: Api, data: bytes, query: str = "", token: str | None = None) -> tuple[int, Any]:
    auth = api.auth if token is None else {"Authorization": f"Bearer {token}"}
    resp = api.c.http.post(f"/v1/charts{query}", headers={"Content-Type": "application/gzip", **auth}, body=data)
    return resp.status_code, resp.json_body


@pytest.mark.parametrize(
    "token",
    [
        "not base64!",
        base64.urlsafe_b64encode(b"[1]").decode(),
        base64.urlsafe_b64encode(b'{"o": -1}').decode(),
        base64.urlsafe_b64encode(b'{"o": "3"}').decode(),
        base64.urlsafe_b64encode(b'{"x": 3}').decode(),
    ],
)
def test_a_paging_token_this_api_did_not_return_is_refused(token: str) -> None:
    with pytest.raises(InvalidInput) as err:
        _offset(token)
    assert err.value.field == "next_token"


def test_paging_tokens() -> None:
    assert _offset(None) == 0 and _offset(base64.urlsafe_b64encode(json.dumps({"o": 40}).encode()).decode()) == 40


def test_upload_search_show_and_delete(api: Api) -> None:
    first = tgz()
    status, chart = upload(api, first)
    assert status == 201 and chart["ref"] == "uploaded/demo"
    assert upload(api, first) == (200, chart)  # the same archive again: stored already
    for version in ("1.1.0", "1.2.0"):
        assert upload(api, tgz(version=version))[0] == 201
    status, page = api.call("GET", "/v1/charts?q=demo&versions=true&limit=2")
    assert status == 200 and len(page["charts"]) == 2 and page["next_token"]
    status, rest = api.call("GET", f"/v1/charts?q=demo&versions=true&limit=2&next_token={page['next_token']}")
    assert status == 200 and len(rest["charts"]) == 1 and rest["next_token"] is None
    status, shown = api.call("GET", "/v1/charts/uploaded/demo?info=chart,values&version=1.1.0")
    assert status == 200 and shown["version"] == "1.1.0" and "greeting" in str(shown["values"])
    assert api.call("DELETE", "/v1/charts/uploaded/demo?version=1.1.0")[0] == 204
    assert api.call("GET", "/v1/charts/uploaded/demo?version=1.1.0")[0] == 404


@pytest.mark.parametrize(
    ("method", "path", "field"),
    [
        ("GET", "/v1/charts/uploaded/demo?info=secrets", "info"),
        ("GET", "/v1/charts/uploaded/demo?format=xml", "format"),
        ("GET", "/v1/charts?repository=Not_A_Repo", "repository"),
        ("GET", "/v1/charts?versions=maybe", "versions"),
        ("DELETE", "/v1/charts/uploaded/demo", "version"),
        ("DELETE", "/v1/charts/stable/demo?version=1.0.0", "repository"),
    ],
)
def test_bad_chart_queries_name_the_field(api: Api, method: str, path: str, field: str) -> None:
    status, out = api.call(method, path)
    assert status == 422 and out["error"]["details"]["field"] == field, out


def test_an_upload_needs_the_charts_permission(api: Api) -> None:
    nobody = bootstrap.get().tokens.create("nobody")
    assert upload(api, tgz(), token=nobody)[0] == 403
    assert api.call("GET", "/v1/charts?q=demo")[1]["charts"] == []


def test_the_uploaded_repository_is_built_in(api: Api) -> None:
    status, repo = api.call("GET", "/v1/repositories/uploaded")
    assert status == 200 and repo["name"] == "uploaded"
    assert "uploaded" in [r["name"] for r in api.call("GET", "/v1/repositories")[1]["repositories"]]


def test_a_presigned_upload_slot(api: Api) -> None:
    status, slot = api.call("POST", "/v1/charts/uploads")
    assert status == 201 and slot["upload_id"].startswith("up-") and slot["method"] == "PUT"
    status, out = api.call("POST", "/v1/charts", {"upload_id": slot["upload_id"]})
    assert status == 422 and out["error"]["details"]["field"] == "upload_id"  # nothing was PUT yet
