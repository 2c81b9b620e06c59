"""The OpenAPI paths and schemas of repositories and charts (merged into ``openapi.spec``)."""

from __future__ import annotations

from chalicelib.api.openapi import BOOL, INT, NAME_PATTERN, NULLABLE_STR, PAGING, STR, S, _errors, _json, _op, _param
from chalicelib.core.catalog import SHOW_PARTS
from chalicelib.core.repositories import REPO_FIELDS

AUTH: S = {"type": "object", "properties": {k: BOOL for k in ("basic", "token", "client_certificate", "ca_bundle")}}
REPOSITORY: S = {
    "type": "object",
    "required": ["name", "url", "type", "auth", "index"],
    "properties": {
        "name": STR,
        "url": NULLABLE_STR,
        "type": {"type": "string", "enum": ["http", "oci", "uploaded"]},
        "description": STR,
        "auth": AUTH,
        "keyring": BOOL,
        "insecure_skip_tls_verify": BOOL,
        "pass_credentials": BOOL,
        "plain_http": BOOL,
        "created_at": NULLABLE_STR,
        "updated_at": NULLABLE_STR,
        "index": {
            "type": "object",
            "nullable": True,
            "properties": {"refreshed_at": NULLABLE_STR, "charts": INT, "versions": INT, "digest": STR},
        },
    },
}
_REPO_FIELD_DOCS = {
    "url": "https://... (a repository with index.yaml) or oci://host/path (a registry)",
    "username": "basic auth (with password)",
    "password": "basic auth (with username); never returned",
    "token": "bearer token; never returned",
    "client_certificate": "PEM, for mutual TLS (with client_key)",
    "client_key": "PEM private key; never returned",
    "ca_bundle": "PEM CA bundle to trust",
    "keyring": "base64 of a GnuPG public keyring (gpg --export) to verify signed charts with",
    "plain_http": "OCI registries served over plain HTTP",
    "description": "free text",
    "pass_credentials": "send credentials to chart URLs on other hosts too",
    "insecure_skip_tls_verify": "do not verify the server's certificate",
}
REPOSITORY_PUT: S = {
    "type": "object",
    "required": ["url"],
    "additionalProperties": False,
    "properties": {
        f: {
            **(BOOL if f in ("insecure_skip_tls_verify", "pass_credentials", "plain_http") else STR),
            "description": _REPO_FIELD_DOCS.get(f, ""),
        }
        for f in sorted(REPO_FIELDS)
    },
}
CHART: S = {
    "type": "object",
    "required": ["repository", "name", "version", "ref"],
    "properties": {
        "repository": STR,
        "name": STR,
        "version": STR,
        "ref": STR,
        "app_version": NULLABLE_STR,
        "description": NULLABLE_STR,
        "deprecated": BOOL,
        "created": NULLABLE_STR,
        "keywords": {"type": "array"},
        "digest": STR,
        "size": INT,
        "files": INT,
        "uploaded_at": NULLABLE_STR,
    },
}
CHART_SHOW: S = {
    "type": "object",
    "required": ["repository", "name", "version", "digest"],
    "properties": {
        "repository": STR,
        "name": STR,
        "version": STR,
        "digest": STR,
        "chart": {"type": "object"},
        "values": STR,
        "readme": STR,
        "crds": {"type": "array", "items": {"type": "object", "required": ["path", "content"]}},
    },
}
UPLOAD_SLOT: S = {
    "type": "object",
    "required": ["upload_id", "url", "method", "headers", "expires_at", "max_bytes"],
    "properties": {
        "upload_id": STR,
        "url": {"type": "string", "description": "presigned: keep it private"},
        "method": STR,
        "headers": {"type": "object"},
        "expires_at": STR,
        "max_bytes": INT,
    },
}
PATH_REPO = _param("repository", "path", {"type": "string", "pattern": NAME_PATTERN, "maxLength": 63})
PATH_CHART = _param("chart", "path", {"type": "string", "maxLength": 100})


def schemas() -> S:
    return {"Repository": REPOSITORY, "Chart": CHART, "ChartShow": CHART_SHOW, "UploadSlot": UPLOAD_SLOT}


def paths() -> S:
    repo: S = {"$ref": "#/components/schemas/Repository"}
    chart: S = {"$ref": "#/components/schemas/Chart"}
    content: S = {
        t: {"schema": {"type": "string", "format": "binary"}} for t in ("application/gzip", "application/octet-stream")
    }
    content["application/json"] = {
        "schema": {"type": "object", "required": ["upload_id"], "properties": {"upload_id": STR}}
    }
    upload = _op(
        "upload a packaged chart (.tgz) as the body, or finish a presigned upload with {upload_id}",
        {
            "201": _json(chart, "stored"),
            "200": _json(chart, "the same archive was already stored"),
            **_errors(400, 409, 413, 422, 503),
        },
        [_param("overwrite", schema=BOOL)],
    )
    upload["requestBody"] = {"required": True, "content": content}
    return {
        "/v1/repositories": {
            "get": _op(
                "chart repositories (the built-in 'uploaded' first)",
                {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["repositories"],
                            "properties": {"repositories": {"type": "array", "items": repo}},
                        }
                    ),
                    **_errors(503),
                },
            )
        },
        "/v1/repositories/{repository}": {
            "put": _op(
                "add or replace a repository (credentials go to Secrets Manager; an index is fetched)",
                {"200": _json(repo), "201": _json(repo, "created"), **_errors(400, 413, 422, 502, 503)},
                [PATH_REPO],
                REPOSITORY_PUT,
            ),
            "get": _op("a repository", {"200": _json(repo), **_errors(404, 422, 503)}, [PATH_REPO]),
            "delete": _op(
                "forget a repository and its credentials",
                {"204": {"description": "deleted"}, **_errors(404, 422, 503)},
                [PATH_REPO],
            ),
        },
        "/v1/repositories/{repository}/refresh": {
            "post": _op(
                "fetch the repository's index again", {"200": _json(repo), **_errors(404, 422, 502, 503)}, [PATH_REPO]
            )
        },
        "/v1/charts": {
            "get": _op(
                "search charts of HTTP repositories and uploads (name, description, keywords)",
                {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["charts", "next_token"],
                            "properties": {"charts": {"type": "array", "items": chart}, "next_token": NULLABLE_STR},
                        }
                    ),
                    **_errors(400, 404, 422, 502, 503),
                },
                [
                    _param("q"),
                    _param("repository"),
                    _param("versions", schema=BOOL, desc="every version"),
                    _param("devel", schema=BOOL, desc="include pre-releases"),
                    _param("version", desc="a version constraint"),
                    *PAGING,
                ],
            ),
            "post": upload,
        },
        "/v1/charts/uploads": {
            "post": _op(
                "a presigned upload slot for a large chart (then POST /v1/charts)",
                {"201": _json({"$ref": "#/components/schemas/UploadSlot"}, "created"), **_errors(503)},
            )
        },
        "/v1/charts/{repository}/{chart}": {
            "get": _op(
                "show a chart (like helm show)",
                {"200": _json({"$ref": "#/components/schemas/ChartShow"}), **_errors(400, 404, 422, 502, 503)},
                [
                    PATH_REPO,
                    PATH_CHART,
                    _param("version"),
                    _param("devel", schema=BOOL),
                    _param("info", desc=f"all, or comma-separated {','.join(SHOW_PARTS)} (default chart)"),
                ],
            ),
            "delete": _op(
                "delete one version of an uploaded chart",
                {"204": {"description": "deleted"}, **_errors(404, 422, 503)},
                [PATH_REPO, PATH_CHART, _param("version", required=True)],
            ),
        },
    }
