"""The OpenAPI 3.0 description of the HTTP API, served at GET /v1/openapi.json.

Every path comes from the routes' own declarations (``routes.TABLE``), every component from ``schemas``; request
body fields of the release verbs from ``domain/fields.py``. Nothing here is written twice.
"""

from __future__ import annotations

import importlib

from chalicelib.api import routes
from chalicelib.api import schemas as s

INFO: s.S = {
    "title": "Charthouse",
    "version": "1.0.0",
    "description": "Install, upgrade, roll back, list and uninstall Helm releases on many clusters.",
}
SECURITY_SCHEMES: s.S = {
    "sigv4": {
        "type": "apiKey",
        "name": "Authorization",
        "in": "header",
        "description": "AWS SigV4 (deployed stages: API Gateway's IAM authorizer)",
    },
    "bearer": {"type": "http", "scheme": "bearer", "description": "a token from POST /v1/tokens (local stages)"},
}


def spec() -> s.S:
    """The document of every declared route (the route modules are imported here, so that a process that never
    imported ``app`` gets the whole document too)."""
    for module in routes.ROUTE_MODULES:
        importlib.import_module(module)
    paths: s.S = {}
    for (method, path), declared in sorted(routes.TABLE.items(), key=lambda item: (item[0][1], item[0][0])):
        if declared.published:
            paths.setdefault(path, {})[method.lower()] = declared.operation()
    return {
        "openapi": "3.0.3",
        "info": INFO,
        "paths": paths,
        "components": {"schemas": s.COMPONENTS, "securitySchemes": SECURITY_SCHEMES},
    }
