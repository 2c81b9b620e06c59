"""Translation blueprints for the release APIs Charthouse replaces: each maps its API's requests onto the same core
operations, authorization, audit and redaction as /v1 (docs/COMPAT.md)."""
