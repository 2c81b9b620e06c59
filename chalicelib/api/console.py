"""The web console: static files served by the service itself, under ``/ui``.

``GET /`` redirects to ``/ui/``; ``GET /ui`` answers the page (never cached); its scripts and styles are at
``/ui/v/<version>/<file>``, where ``<version>`` is a digest of every asset, so they are cached for a year and a
new deployment changes their URLs. A strict Content-Security-Policy allows only those files: no inline script or
style, no other origin. The pages call the public ``/v1`` API from the browser with the caller's own token;
these routes are public (they hold no data) and every answer about releases still passes the guard.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from typing import Any

from chalice.app import Blueprint, Response

from chalicelib.api import schemas as s
from chalicelib.api.routes import route
from chalicelib.core.authz import PUBLIC
from chalicelib.errors import NotFound

bp = Blueprint(__name__)
ASSETS = Path(__file__).resolve().parent / "console_assets"
INDEX = "index.html"
TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
CSP = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS: dict[str, str | list[str]] = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
IMMUTABLE = "public, max-age=31536000, immutable"


def _text(media: str, description: str) -> s.S:
    return {"description": description, "content": {media: {"schema": {"type": "string"}}}}


def _redirect(description: str) -> dict[str, s.S]:
    return {"302": {"description": description, "headers": {"Location": {"schema": {"type": "string"}}}}}


@functools.cache
def assets() -> dict[str, bytes]:
    """Every servable file (name -> bytes), read once per container."""
    return {p.name: p.read_bytes() for p in sorted(ASSETS.iterdir()) if p.suffix in TYPES or p.name == INDEX}


@functools.cache
def asset_version() -> str:
    """A digest of every asset: their URLs change whenever one of them does."""
    digest = hashlib.sha256()
    for name, data in assets().items():
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return digest.hexdigest()[:16]


def prefix(context: dict[str, Any] | None, path: str) -> str:
    """What stands before the route in the browser's URL: ``/prod`` on API Gateway's own domain (the stage), a
    base path mapping on a custom domain, nothing on ``chalice local``."""
    full = str((context or {}).get("path") or path)
    route_path = path.rstrip("/") or "/"
    full = full.rstrip("/") or "/"
    if route_path == "/":
        return "" if full == "/" else full
    if full.endswith(route_path):
        return full[: -len(route_path)]
    return ""


def _page(base: str) -> str:
    root = f"{base}/ui/v/{asset_version()}"
    return assets()[INDEX].decode().replace("{{ROOT}}", root).replace("{{BASE}}", base)


@route(bp, "GET", "/", verb=PUBLIC, summary="the web console (redirects to /ui/)", ok=_redirect("to the console"))
def root() -> Response:
    request = bp.current_request
    base = prefix(request.context, request.path)
    return Response(body="", status_code=302, headers={"Location": f"{base}/ui/", "Cache-Control": "no-store"})


@route(bp, "GET", "/ui", verb=PUBLIC, summary="the web console's page", ok={"200": _text("text/html", "the page")})
def index() -> Response:
    request = bp.current_request
    headers: dict[str, str | list[str]] = {
        "Content-Type": "text/html; charset=utf-8",
        "Cache-Control": "no-store",
        **SECURITY_HEADERS,
    }
    return Response(body=_page(prefix(request.context, request.path)), status_code=200, headers=headers)


@route(
    bp,
    "GET",
    "/ui/v/{version}/{asset}",
    verb=PUBLIC,
    summary="a script, style or image of the web console (cached for a year: the version is a digest)",
    ok={"200": _text("text/javascript", "the file")},
    errors=(404,),
)
def asset(version: str, asset: str) -> Response:
    data = assets().get(asset)
    suffix = Path(asset).suffix
    if data is None or suffix not in TYPES or version != asset_version():
        raise NotFound(f"no console file {asset} in version {version}")
    headers: dict[str, str | list[str]] = {
        "Content-Type": TYPES[suffix],
        "Cache-Control": IMMUTABLE,
        **SECURITY_HEADERS,
    }
    return Response(body=data.decode(), status_code=200, headers=headers)
